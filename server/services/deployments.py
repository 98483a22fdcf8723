"""Creating and changing deployments, shared by the API and the CLI."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from ..bounds import check_date
from ..errors import ValidationError
from ..models import Deployment, Location, OperatingInterval, Program
from ..timeutil import as_utc, to_utc


def find_or_create_location(session: Session, area_id: str, name: str, latitude: float | None = None,
                            longitude: float | None = None) -> tuple[Location, bool]:
    """The area's location called ``name``, created when missing; (location, created)."""
    loc = session.exec(select(Location).where(Location.area_id == area_id, Location.name == name)).first()
    if loc is not None:
        if latitude is not None and loc.latitude is None:
            loc.latitude, loc.longitude = latitude, longitude
        return loc, False
    loc = Location(area_id=area_id, name=name, latitude=latitude, longitude=longitude)
    session.add(loc)
    session.flush()
    return loc, True


def normalise_times(fields: dict[str, Any], tz: str) -> None:
    """Turn deployment_start/end into aware UTC (naive values are local in ``tz``) and check order."""
    for key in ("deployment_start", "deployment_end"):
        v = fields.get(key)
        if isinstance(v, datetime):
            check_date(v, key)  # the CLI and imports come here too, not only the API's schemas
            fields[key] = to_utc(v, tz)
    start, end = fields.get("deployment_start"), fields.get("deployment_end")
    if start is not None and end is not None and as_utc(end) <= as_utc(start):
        raise ValidationError("deployment_end must be after deployment_start",
                              details=[{"field": "deployment_end", "message": "before start"}])


def check_location(session: Session, program: Program, location_id: str) -> Location:
    loc = session.get(Location, location_id)
    if loc is None or loc.area_id != program.area_id:
        raise ValidationError(f"no location {location_id!r} in this program's protected area",
                              details=[{"field": "location_id", "message": "unknown location"}])
    return loc


def build_deployment(session: Session, program: Program, fields: dict[str, Any], *, location_id: str | None = None,
                     location: dict[str, Any] | None = None) -> Deployment:
    """A new (flushed) deployment of ``program`` at an existing or new location."""
    fields = dict(fields)
    if location_id is not None:
        check_location(session, program, location_id)
    else:
        loc, _ = find_or_create_location(session, program.area_id, location["name"], location.get("latitude"),
                                         location.get("longitude"))
        location_id = loc.id
    normalise_times(fields, fields.get("timezone") or "Asia/Ho_Chi_Minh")
    dep = Deployment(program_id=program.id, location_id=location_id, **fields)
    session.add(dep)
    session.flush()
    return dep


def intervals_of(session: Session, deployment_id: str) -> list[OperatingInterval]:
    return list(session.exec(select(OperatingInterval).where(OperatingInterval.deployment_id == deployment_id)
                             .order_by(OperatingInterval.start)))


def add_interval(session: Session, dep: Deployment, start: datetime, end: datetime, status: str,
                 reason: str | None) -> OperatingInterval:
    """Record a working / not-working interval, inside the deployment window."""
    check_date(start, "start")
    check_date(end, "end")
    start, end = to_utc(start, dep.timezone), to_utc(end, dep.timezone)
    if end <= start:
        raise ValidationError("interval end must be after its start")
    d_start, d_end = as_utc(dep.deployment_start), as_utc(dep.deployment_end)
    if start < d_start or (d_end is not None and end > d_end):
        raise ValidationError("interval lies outside the deployment window "
                              f"({d_start.isoformat()} – {d_end.isoformat() if d_end else 'open'})",
                              details=[{"field": "start", "message": "outside deployment"}])
    row = OperatingInterval(deployment_id=dep.id, start=start, end=end, status=status, reason=reason)
    session.add(row)
    session.flush()
    return row
