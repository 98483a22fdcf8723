"""Camera-trap and recorder forms from the tablet become deployments and effort.

A ``deployment`` record (camera_trap or acoustic_recorder protocol) creates or
updates the Deployment with the same id (station → Location by name, serial,
start, height, heading, bait, habitat...). Service visits and the retrieval
(records that name the deployment) set its end and its malfunction intervals,
computed by :func:`protocols.operating_intervals` — the same rule the app shows:
a camera found broken with no last-image time counts as broken since the
previous visit, so effort is never overstated.
"""
from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

import protocols

from ..models import Deployment, FieldObservation, OperatingInterval, Program, User
from ..services.deployments import find_or_create_location
from .documents import _time

FIELD_REASON = "[field] "
VISIT_TYPES = ("service", "retrieval")


def _deployment_id(fo: FieldObservation) -> str | None:
    doc = fo.data or {}
    rec = doc.get("data") or {}
    return rec.get("deployment_id") or doc.get("deployment_id")


def apply(s: Session, program: Program, fo: FieldObservation, user: User | None) -> None:
    """Reflect a synced camera/recorder form in the deployment tables (no-op for other records)."""
    if not fo.protocol.startswith(("camera_trap@", "acoustic_recorder@")) or fo.deleted:
        return
    if fo.record_type == "deployment":
        _upsert_deployment(s, program, fo, user)
        dep_id = fo.id
    elif fo.record_type in VISIT_TYPES:
        dep_id = _deployment_id(fo)
    else:
        return
    dep = s.get(Deployment, dep_id) if dep_id else None
    if dep is not None and dep.program_id == program.id:
        _refresh_effort(s, program, dep)


def _upsert_deployment(s: Session, program: Program, fo: FieldObservation, user: User | None) -> None:
    rec: dict[str, Any] = (fo.data or {}).get("data") or {}
    loc = rec.get("location") or {}
    location, _ = find_or_create_location(s, program.area_id, str(rec.get("station_id") or "unnamed station"),
                                          loc.get("lat"), loc.get("lon"))
    acoustic = fo.protocol.startswith("acoustic_recorder@")
    fields = {
        "program_id": program.id, "location_id": location.id, "kind": "acoustic" if acoustic else "camera",
        "deployment_start": _time(rec.get("start_time")) or fo.observed_at,
        "camera_id": rec.get("recorder_serial") if acoustic else rec.get("camera_serial"),
        "camera_model": rec.get("recorder_model") if acoustic else rec.get("camera_model"),
        "camera_height": rec.get("height_m"), "camera_heading": _int(rec.get("heading_deg")),
        "bait_use": bool(rec.get("bait")), "habitat": rec.get("habitat"), "feature_type": rec.get("feature_type"),
        "sd_card": rec.get("sd_card"), "deployment_comments": rec.get("note"),
    }
    if rec.get("timezone"):
        fields["timezone"] = rec["timezone"]
    dep = s.get(Deployment, fo.id)
    if dep is None:
        dep = Deployment(id=fo.id, setup_by=user.username if user else None, **fields)
    else:
        for k, v in fields.items():
            setattr(dep, k, v)
    if acoustic:
        dep.settings = {**(dep.settings or {}), **{k: rec[k] for k in ("schedule", "duty_on_min", "duty_off_min",
                                                                        "gain_db", "sample_rate_hz") if k in rec}}
    s.add(dep)
    s.flush()


def _int(v) -> int | None:
    return int(round(v)) % 360 if isinstance(v, (int, float)) else None


def _refresh_effort(s: Session, program: Program, dep: Deployment) -> None:
    """Recompute the deployment's end and field-recorded malfunction intervals from its visits."""
    setup = s.get(FieldObservation, dep.id)
    visits = [v for v in s.exec(select(FieldObservation).where(
        FieldObservation.program_id == program.id, FieldObservation.record_type.in_(VISIT_TYPES),
        FieldObservation.deleted.is_(False))) if _deployment_id(v) == dep.id]
    start_rec = ((setup.data or {}).get("data") if setup is not None else None) or {
        "start_time": dep.deployment_start.isoformat()}
    visit_recs = [{**((v.data or {}).get("data") or {}), "record_type": v.record_type} for v in visits]
    try:
        intervals = protocols.operating_intervals(start_rec, visit_recs)
    except ValueError:
        return  # a visit without a usable time: keep the intervals as they were
    for old in s.exec(select(OperatingInterval).where(OperatingInterval.deployment_id == dep.id)):
        if (old.reason or "").startswith(FIELD_REASON):
            s.delete(old)
    for i in intervals:
        if i["status"] == "malfunction":
            s.add(OperatingInterval(deployment_id=dep.id, start=_time(i["start"]), end=_time(i["end"]),
                                    status="malfunction", reason=FIELD_REASON + (i["reason"] or "unknown")))
    retrieval = [v for v in visit_recs if v["record_type"] == "retrieval" and v.get("end_time")]
    if retrieval:
        dep.deployment_end = max(_time(v["end_time"]) for v in retrieval)
    s.add(dep)
    s.flush()
