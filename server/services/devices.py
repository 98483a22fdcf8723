"""The camera and recorder inventory of an area (server/models/inventory.py): devices by serial,
and each device's history of deployments (deployments naming its serial as ``camera_id``)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import func
from sqlmodel import Session, col, select

from ..errors import ValidationError
from ..models import Deployment, Device, Location, Program, utcnow
from ..models.inventory import DEVICE_KINDS, DEVICE_STATUSES
from . import crud


def norm_serial(serial: Optional[str]) -> str:
    """A serial as deployments are matched with it: no spaces around, upper case."""
    return (serial or "").strip().upper()


def devices_of(s: Session, area_id: str) -> list[Device]:
    return list(s.exec(select(Device).where(Device.area_id == area_id).order_by(Device.kind, Device.serial)))


def _check(s: Session, area_id: str, fields: dict[str, Any], device: Optional[Device]) -> dict[str, Any]:
    errors = []
    serial = (fields.get("serial") or "").strip()
    if not serial:
        errors.append({"field": "serial", "message": "required"})
    elif len(serial) > 100:
        errors.append({"field": "serial", "message": "at most 100 characters"})
    if fields.get("kind") not in DEVICE_KINDS:
        errors.append({"field": "kind", "message": "camera or acoustic"})
    if fields.get("status") not in DEVICE_STATUSES:
        errors.append({"field": "status", "message": "unknown status"})
    for key, n in (("make", 100), ("model", 200), ("notes", 2000)):
        if fields.get(key) and len(fields[key]) > n:
            errors.append({"field": key, "message": f"at most {n} characters"})
    if errors:
        raise ValidationError("the device was not saved", details=errors)
    same = s.exec(select(Device).where(Device.area_id == area_id,
                                       func.upper(func.trim(Device.serial)) == norm_serial(serial))).first()
    if same is not None and (device is None or same.id != device.id):
        raise ValidationError(f"the area already has a device with serial {serial}",
                              details=[{"field": "serial", "message": "already in the inventory"}])
    return {**fields, "serial": serial}


def create_device(s: Session, area_id: str, fields: dict[str, Any]) -> Device:
    """A new device of the area (audited, committed)."""
    fields = _check(s, area_id, fields, None)
    return crud.create(s, Device(area_id=area_id, **fields), area_id)


def update_device(s: Session, device: Device, fields: dict[str, Any]) -> Device:
    fields = _check(s, device.area_id, fields, device)
    fields["updated_at"] = utcnow()
    return crud.update(s, device, fields, device.area_id)


def deployments_of_device(s: Session, device: Device) -> list[tuple[Deployment, Program, Location]]:
    """Every deployment of the device's area that names its serial, newest first."""
    return list(s.exec(select(Deployment, Program, Location)
                       .join(Program, col(Program.id) == Deployment.program_id)
                       .join(Location, col(Location.id) == Deployment.location_id)
                       .where(Program.area_id == device.area_id,
                              func.upper(func.trim(Deployment.camera_id)) == norm_serial(device.serial))
                       .order_by(col(Deployment.deployment_start).desc())).all())


def current_use(s: Session, area_id: str, now: Optional[datetime] = None) -> dict[str, str]:
    """{normalised serial: location name} of the area's deployments still in the field."""
    now = now or utcnow()
    rows = s.exec(select(Deployment.camera_id, Location.name)
                  .join(Program, col(Program.id) == Deployment.program_id)
                  .join(Location, col(Location.id) == Deployment.location_id)
                  .where(Program.area_id == area_id, col(Deployment.camera_id).is_not(None),
                         Deployment.deployment_start <= now,
                         (col(Deployment.deployment_end).is_(None)) | (Deployment.deployment_end >= now))).all()
    return {norm_serial(serial): name for serial, name in rows}


def register_from_deployment(s: Session, area_id: str, dep: Deployment) -> Optional[Device]:
    """Add the deployment's camera to the inventory when its serial is not there yet (in this
    transaction), so a device entered with a deployment shows up in the inventory."""
    serial = norm_serial(dep.camera_id)
    if not serial:
        return None
    found = s.exec(select(Device).where(Device.area_id == area_id,
                                        func.upper(func.trim(Device.serial)) == serial)).first()
    if found is not None:
        return found
    model = dep.camera_model or None
    device = Device(area_id=area_id, kind=dep.kind if dep.kind in DEVICE_KINDS else "camera",
                    serial=(dep.camera_id or "").strip(), model=model, status="deployed")
    return crud.create(s, device, area_id, commit=False)
