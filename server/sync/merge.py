"""Field-level three-way merge of sync documents, and the resolution of sync conflicts.

The one place both questions are answered, for every path: sync push (a stale
edit merges or becomes a conflict), the web conflicts page and the API
(``POST /api/v1/sync/conflicts/<id>/resolve``).

Documents are compared flattened: envelope keys as ``@key`` (``@program_id``)
and the protocol record's fields as ``key`` (``count``). Against the base
revision both sides started from:

* a field only the device changed takes the device's value;
* a field only the server changed, or both changed to the same value, keeps
  the server's value;
* a field both changed to different values *overlaps*: push makes a conflict
  record instead of guessing, and a biologist resolves it: ``mine`` (the
  device's version), ``theirs`` (the server's) or ``merge`` (the merge above,
  with a ``server``/``client`` choice for each overlapping field, or a whole
  merged document written by hand).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from ..models import SyncChange, SyncConflict, User

RESOLUTIONS = ("mine", "theirs", "merge")
CHOICES = ("server", "client")
DELETED = {"_deleted": True}  # the version of a side that deleted the record


def flatten(doc: Mapping[str, Any] | None) -> dict[str, Any]:
    """Envelope keys as ``@key`` and record fields as ``key``."""
    if not doc:
        return {}
    flat = {f"@{k}": v for k, v in doc.items() if k != "data"}
    flat.update((doc.get("data") or {}).items())
    return flat


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    """The document of a flattened field map (inverse of :func:`flatten`)."""
    doc = {k[1:]: v for k, v in flat.items() if k.startswith("@")}
    doc["data"] = {k: v for k, v in flat.items() if not k.startswith("@")}
    return doc


def changed(base: Mapping[str, Any] | None, doc: Mapping[str, Any] | None) -> set[str]:
    """Flat field names whose value in ``doc`` differs from ``base`` (added and removed ones too)."""
    b, d = flatten(base), flatten(doc)
    return {k for k in set(b) | set(d) if b.get(k) != d.get(k)}


@dataclass(frozen=True)
class Comparison:
    """What each side changed since the base, and where they disagree."""

    client_changed: list[str]
    server_changed: list[str]
    overlap: list[str]  # changed on both sides to different values


def compare(base: Mapping[str, Any] | None, server: Mapping[str, Any] | None,
            client: Mapping[str, Any] | None) -> Comparison:
    """Compare both versions with the base they started from."""
    cli_ch, srv_ch = changed(base, client), changed(base, server)
    cli, srv = flatten(client), flatten(server)
    overlap = sorted(k for k in cli_ch & srv_ch if cli.get(k) != srv.get(k))
    return Comparison(sorted(cli_ch), sorted(srv_ch), overlap)


def merge(base: Mapping[str, Any] | None, server: Mapping[str, Any] | None, client: Mapping[str, Any] | None,
          choices: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The three-way merged document.

    Fields named in ``choices`` take the chosen side (``server`` or ``client``);
    every other field the device changed since ``base`` takes the device's
    value; the rest keep the server's. A field missing on the chosen side is
    removed. Callers make sure every overlapping field has a choice.
    """
    choices = choices or {}
    srv, cli = flatten(server), flatten(client)
    take_client = {k for k in changed(base, client) if k not in choices}
    take_client |= {k for k, side in choices.items() if side == "client"}
    out = dict(srv)
    for k in take_client:
        if k in cli:
            out[k] = cli[k]
        else:
            out.pop(k, None)
    for k, side in choices.items():
        if side == "server" and k not in srv:
            out.pop(k, None)
    return unflatten(out)


# A walk's fields that only the tablet which recorded it may change (flattened names): its GPS
# track and what is measured from it. Another tablet's version of them is an empty or stale copy.
RECORDING_FIELDS = ("track", "start_time", "end_time", "@status", "@distance_m")


def foreign_recording_change(recording_device: str | None, device_id: str | None,
                             server: Mapping[str, Any] | None, client: Mapping[str, Any] | None) -> list[str]:
    """The recording fields another device's version of a walk would change (empty: nothing of the recording).

    ``recording_device`` made the walk; a push from any other device (or none) that
    would delete the walk or change its track, times, status or distance is kept as a
    conflict for a biologist instead of being written: the second tablet that received
    a walk must never shrink or replace the track of the tablet that walked it.
    """
    if not recording_device or device_id == recording_device or server is None:
        return []
    if client is None:
        return ["_deleted"]
    srv, cli = flatten(server), flatten(client)
    return [k for k in RECORDING_FIELDS if srv.get(k) != cli.get(k)]


def base_version(session: Session, record_id: str, base_revision: int) -> dict[str, Any]:
    """The document at ``base_revision`` from the change log; empty when there was no base
    or the change log no longer has it (compacted), so every field counts as changed."""
    if base_revision <= 0:
        return {}
    ch = session.exec(select(SyncChange).where(SyncChange.record_id == record_id,
                                               SyncChange.revision == base_revision)
                      .order_by(SyncChange.seq.desc())).first()
    return (ch.data or {}) if ch is not None else {}


def differing_fields(conflict: SyncConflict) -> list[str]:
    """Flat field names whose values differ between the conflict's two versions, overlapping ones first."""
    srv, cli = flatten(conflict.server_version), flatten(conflict.client_version)
    diff = sorted(k for k in set(srv) | set(cli) if srv.get(k) != cli.get(k))
    overlap = [k for k in conflict.fields if k in diff]
    return overlap + [k for k in diff if k not in overlap]


def resolution_document(session: Session, conflict: SyncConflict, resolution: str,
                        choices: Mapping[str, str] | None = None,
                        merged: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The version a resolution stores: None for ``theirs`` (the server's stays), ``DELETED`` to delete.

    Raises ValidationError (422) naming the problem for an unknown resolution,
    choices or a merged document given with ``mine``/``theirs``, both given,
    a missing or unknown field choice, or a field merge of a deleted record.
    """
    from ..errors import ValidationError

    if resolution not in RESOLUTIONS:
        raise ValidationError(f"resolution must be one of {', '.join(RESOLUTIONS)}, got {resolution!r}",
                              details=[{"field": "resolution", "message": "unknown resolution"}])
    if resolution != "merge":
        extra = [k for k, v in (("choices", choices), ("merged", merged)) if v is not None]
        if extra:
            raise ValidationError(f"{' and '.join(extra)} only go with resolution merge",
                                  details=[{"field": k, "message": "only with merge"} for k in extra])
        return None if resolution == "theirs" else dict(conflict.client_version)
    if choices is not None and merged is not None:
        raise ValidationError("give either choices (per field) or merged (a whole document), not both",
                              details=[{"field": "merged", "message": "not with choices"}])
    if merged is not None:
        return merged
    if DELETED in (conflict.client_version, conflict.server_version):
        raise ValidationError("a deleted record cannot be merged field by field: keep one version",
                              details=[{"field": "resolution", "message": "record deleted on one side"}])
    choices = dict(choices or {})
    missing = [f for f in conflict.fields if f not in choices]
    if missing:
        raise ValidationError(f"choose the server or the device value for: {', '.join(missing)}",
                              details=[{"field": f"choices.{f}", "message": "no choice"} for f in missing])
    unknown = sorted(f for f in choices if f not in conflict.fields)
    if unknown:
        raise ValidationError(f"these fields are not in conflict: {', '.join(unknown)} "
                              f"(in conflict: {', '.join(conflict.fields)})",
                              details=[{"field": f"choices.{f}", "message": "not in conflict"} for f in unknown])
    bad = {f: v for f, v in choices.items() if v not in CHOICES}
    if bad:
        raise ValidationError(f"each choice must be server or client, got {bad}",
                              details=[{"field": f"choices.{f}", "message": "server or client"} for f in bad])
    base = base_version(session, conflict.record_id, conflict.base_revision)
    return merge(base, conflict.server_version, conflict.client_version, choices)


def resolve(session: Session, user: User, conflict: SyncConflict, resolution: str,
            choices: Mapping[str, str] | None = None, merged: dict[str, Any] | None = None) -> dict[str, Any]:
    """Resolve ``conflict`` in the caller's transaction (the caller commits).

    ``theirs`` keeps the server's version; ``mine`` and ``merge`` write the
    chosen version as a new revision with a change devices pull, like a push.
    The conflict is marked resolved and audited. Returns ``{"revision": n}``.
    409 when the conflict is already resolved, 422 for a bad request or a
    version that is not a valid document.
    """
    from ..errors import Conflict, ValidationError
    from .documents import ENTITIES, DocumentError, validate_document

    if conflict.status != "open":
        raise Conflict("this conflict is already resolved")
    doc = resolution_document(session, conflict, resolution, choices, merged)
    row = session.get(ENTITIES[conflict.entity], conflict.record_id)
    answer: dict[str, Any] = {"revision": row.revision if row is not None else None}
    if doc is not None:
        if doc != DELETED:
            try:
                validate_document(doc)
            except DocumentError as e:
                raise ValidationError(f"the {resolution} version is not a valid document: {e}",
                                      details=e.errors) from None
        answer = _apply(session, user, conflict, row, doc)
    from .. import audit
    from ..models import utcnow

    before = audit.snapshot(conflict)
    conflict.status, conflict.resolution = "resolved", resolution
    conflict.resolved_by, conflict.resolved_at = user.username, utcnow()
    session.add(conflict)
    session.flush()
    audit.record(session, "update", "sync_conflict", conflict.id, area_id=conflict.area_id, before=before,
                 after=audit.snapshot(conflict))
    return answer


def _apply(session: Session, user: User, conflict: SyncConflict, row: Any, doc: dict[str, Any]) -> dict[str, Any]:
    # Imported here: the sync service imports this module for the push merge.
    from ..errors import ValidationError
    from ..models import Program
    from .service import Mutation, write_version

    data = None if doc == DELETED else doc
    program_id = (data or {}).get("program_id") or (row.program_id if row is not None else None)
    program = session.get(Program, program_id) if program_id else None
    if program is None or program.area_id != conflict.area_id:
        raise ValidationError("the chosen version names a program outside the conflict's protected area",
                              details=[{"field": "@program_id", "message": "unknown program"}])
    m = Mutation(mutation_id=f"resolve-{conflict.id}", entity=conflict.entity, record_id=conflict.record_id,
                 op="delete" if data is None else "update", base_revision=row.revision if row is not None else 0,
                 data=data, device_time=None, gps_time=None)
    answer = write_version(session, user, m, program)
    if answer["status"] != "applied":
        raise ValidationError(answer.get("message") or "could not apply that version",
                              details=answer.get("errors"))
    return answer
