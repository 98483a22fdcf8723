"""Resolving sync conflicts: a biologist picks a version of a field record.

``mine`` keeps the version the device sent (client_version), ``theirs`` the
version the server held (server_version), ``merge`` starts from the server's
version, takes the device's changes to fields nobody else touched, and lets
the biologist choose each overlapping field. The chosen version is written to
the record with a new revision and a SyncChange row, so every tablet pulls it.
"""
from __future__ import annotations

from typing import Any

from sqlmodel import Session, SQLModel

from .. import audit
from ..errors import Conflict, NotFound, ValidationError
from ..models import FieldObservation, SurveyWalk, SyncChange, SyncConflict, User, utcnow
from .actions import _coerce

RECORDS: dict[str, type[SQLModel]] = {
    "field_observation": FieldObservation, "field_observations": FieldObservation,
    "observation": FieldObservation, "survey_walk": SurveyWalk, "survey_walks": SurveyWalk,
    "walk": SurveyWalk, "walks": SurveyWalk,
}
# Never taken from either version: identity, ownership and bookkeeping.
FIXED = {"id", "revision", "created_at", "updated_at", "program_id", "created_by", "device_id"}
RESOLUTIONS = ("mine", "theirs", "merge")


def record_class(conflict: SyncConflict) -> type[SQLModel]:
    cls = RECORDS.get(conflict.entity)
    if cls is None:
        raise ValidationError(f"conflicts on {conflict.entity!r} records cannot be resolved here")
    return cls


def differing_fields(conflict: SyncConflict) -> list[str]:
    """Fields whose values differ between the two versions, overlapping ones first."""
    keys = sorted(set(conflict.server_version) | set(conflict.client_version))
    diff = [k for k in keys if k not in FIXED
            and conflict.server_version.get(k) != conflict.client_version.get(k)]
    overlap = [k for k in conflict.fields if k in diff]
    return overlap + [k for k in diff if k not in overlap]


def merged_version(conflict: SyncConflict, resolution: str, choices: dict[str, str] | None) -> dict[str, Any]:
    """The version ``resolution`` asks for; ``choices`` maps overlapping fields to server|client."""
    if resolution not in RESOLUTIONS:
        raise ValidationError(f"resolution must be one of {', '.join(RESOLUTIONS)}, got {resolution!r}",
                              details=[{"field": "resolution", "message": "unknown resolution"}])
    server, client = dict(conflict.server_version), dict(conflict.client_version)
    if resolution == "theirs":
        return server
    if resolution == "mine":
        return {**server, **client}
    choices = choices or {}
    missing = [f for f in conflict.fields if f not in choices]
    if missing:
        raise ValidationError(f"choose server or client for: {', '.join(missing)}",
                              details=[{"field": f, "message": "no choice"} for f in missing])
    bad = {f: v for f, v in choices.items() if v not in ("server", "client")}
    if bad:
        raise ValidationError(f"each choice must be server or client: {bad}")
    out = dict(server)
    for k, v in client.items():
        if k not in conflict.fields:
            out[k] = v
    for f in conflict.fields:
        src = client if choices[f] == "client" else server
        if f in src:
            out[f] = src[f]
    return out


def resolve(session: Session, user: User, conflict: SyncConflict, resolution: str,
            choices: dict[str, str] | None = None) -> SQLModel:
    """Apply the chosen version, bump the record's revision, log a SyncChange, audit, commit."""
    if conflict.status != "open":
        raise Conflict(f"this conflict was already resolved by {conflict.resolved_by}")
    cls = record_class(conflict)
    row = session.get(cls, conflict.record_id)
    if row is None:
        raise NotFound(f"the {conflict.entity} {conflict.record_id} no longer exists")
    version = merged_version(conflict, resolution, choices)
    before = audit.snapshot(row)
    for k, v in _coerce(cls, {k: v for k, v in version.items() if k not in FIXED}).items():
        setattr(row, k, v)
    row.revision = (row.revision or 0) + 1
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    after = audit.snapshot(row)
    session.add(SyncChange(area_id=conflict.area_id, entity=conflict.entity, record_id=row.id,
                           revision=row.revision, op="upsert", data=after))
    c_before = audit.snapshot(conflict)
    conflict.status, conflict.resolution = "resolved", resolution
    conflict.resolved_by, conflict.resolved_at = user.username, utcnow()
    session.add(conflict)
    session.flush()
    audit.record(session, "update", row.__tablename__, row.id, area_id=conflict.area_id, before=before, after=after)
    audit.record(session, "update", "sync_conflict", conflict.id, area_id=conflict.area_id, before=c_before,
                 after=audit.snapshot(conflict))
    session.commit()
    return row
