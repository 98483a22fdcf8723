"""Resolving sync conflicts from the web page: both versions side by side.

A conflict's two versions are full sync documents (envelope keys plus the
protocol record under ``data``); fields are compared flattened the way the
sync service does (envelope keys prefixed ``@``). ``mine`` keeps the version
the device sent, ``theirs`` the server's, ``merge`` is a three-way merge
against the base revision the device started from: each field only one side
changed takes that side, and the biologist chooses each overlapping field.
Applying the result (new revision, SyncChange row for devices to pull, audit)
is the sync service's job: :func:`server.sync.service.resolve_conflict`.
"""
from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from ..errors import ValidationError
from ..models import SyncChange, SyncConflict, User

RESOLUTIONS = ("mine", "theirs", "merge")


def flatten(doc: dict | None) -> dict[str, Any]:
    """Envelope keys as ``@key`` and record fields as ``key`` (the sync service's field names)."""
    if not doc:
        return {}
    flat = {f"@{k}": v for k, v in doc.items() if k != "data"}
    flat.update((doc.get("data") or {}).items())
    return flat


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    doc = {k[1:]: v for k, v in flat.items() if k.startswith("@")}
    doc["data"] = {k: v for k, v in flat.items() if not k.startswith("@")}
    return doc


def base_version(session: Session, conflict: SyncConflict) -> dict[str, Any]:
    """The document both sides started from (empty when the device's edit had no base)."""
    if conflict.base_revision <= 0:
        return {}
    ch = session.exec(select(SyncChange).where(SyncChange.record_id == conflict.record_id,
                                               SyncChange.revision == conflict.base_revision)
                      .order_by(SyncChange.seq.desc())).first()
    return ch.data or {} if ch is not None else {}


def differing_fields(conflict: SyncConflict) -> list[str]:
    """Flat field names whose values differ between the two versions, overlapping ones first."""
    srv, cli = flatten(conflict.server_version), flatten(conflict.client_version)
    diff = sorted(k for k in set(srv) | set(cli) if srv.get(k) != cli.get(k))
    overlap = [k for k in conflict.fields if k in diff]
    return overlap + [k for k in diff if k not in overlap]


def merged_version(conflict: SyncConflict, base: dict, choices: dict[str, str] | None) -> dict[str, Any]:
    """Three-way merge; ``choices`` maps every overlapping field to ``server`` or ``client``."""
    choices = choices or {}
    missing = [f for f in conflict.fields if f not in choices]
    if missing:
        raise ValidationError(f"choose the server or the device value for: {', '.join(missing)}",
                              details=[{"field": f, "message": "no choice"} for f in missing])
    bad = {f: v for f, v in choices.items() if v not in ("server", "client")}
    if bad:
        raise ValidationError(f"each choice must be server or client, got {bad}")
    b, srv, cli = flatten(base), flatten(conflict.server_version), flatten(conflict.client_version)
    out = dict(srv)
    for k in set(srv) | set(cli):
        if k in conflict.fields:
            src = cli if choices[k] == "client" else srv
        elif cli.get(k) != b.get(k):  # only the device changed it
            src = cli
        else:
            continue
        if k in src:
            out[k] = src[k]
        else:
            out.pop(k, None)
    return unflatten(out)


def resolve(session: Session, user: User, conflict: SyncConflict, resolution: str,
            choices: dict[str, str] | None = None) -> dict[str, Any]:
    """Resolve through the sync service and commit; returns the service's answer."""
    from ..sync.service import resolve_conflict

    if resolution not in RESOLUTIONS:
        raise ValidationError(f"resolution must be one of {', '.join(RESOLUTIONS)}, got {resolution!r}",
                              details=[{"field": "resolution", "message": "unknown resolution"}])
    merged = None
    if resolution == "merge":
        if conflict.client_version == {"_deleted": True} or conflict.server_version == {"_deleted": True}:
            raise ValidationError("a deleted record cannot be merged field by field: keep one version")
        merged = merged_version(conflict, base_version(session, conflict), choices)
    answer = resolve_conflict(session, conflict, resolution, user, merged=merged)
    session.commit()
    return answer
