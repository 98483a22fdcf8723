"""Push and pull.

Merge rules for a mutation whose base revision is older than the record's:

* the revisions made since the base were all made by the same device (its own
  earlier edits, pushed before it learnt their revision): apply as is;
* otherwise compare field by field against the base version (kept in the
  change log): fields only the client changed, or changed to the same value
  on both sides, merge automatically; a field both sides changed differently
  makes a conflict record with both versions, and the stored record is left
  as it is — a stale edit never overwrites and is never dropped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import func
from sqlmodel import Session, select

from .. import audit
from ..auth.policy import restore_generalised
from ..i18n import in_both
from ..models import Program, ServerState, SyncChange, SyncConflict, User, utcnow
from . import merge
from .batch import PushBatch, Record, lock_change_log
from .documents import ENTITIES, DocumentError, new_values, project, validate_document

PROTOCOL_VERSION = "1.0"
OPS = ("create", "update", "delete")
_UUID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.:-]{7,63}$")
HORIZON_KEY = "sync.tombstone_horizon_seq"


@dataclass
class Mutation:
    mutation_id: str
    entity: str
    record_id: str
    op: str
    base_revision: int
    data: Any
    device_time: str | None
    gps_time: str | None


def parse_mutation(raw: Any) -> Mutation:
    """Check one mutation's envelope; DocumentError names what is wrong."""
    if not isinstance(raw, dict):
        raise DocumentError("each mutation must be a JSON object")
    mid = raw.get("mutation_id")
    if not isinstance(mid, str) or not _UUID.match(mid):
        raise DocumentError("mutation_id must be a string id (8-64 characters)")
    entity = raw.get("entity")
    if entity not in ENTITIES:
        raise DocumentError(f"entity must be one of {', '.join(ENTITIES)}, got {entity!r}")
    rid = raw.get("record_id")
    if not isinstance(rid, str) or not _UUID.match(rid):
        raise DocumentError("record_id must be a string id (8-64 characters)")
    op = raw.get("op")
    if op == "upsert":
        op = "update"
    if op not in OPS:
        raise DocumentError(f"op must be create, update or delete, got {op!r}")
    base = raw.get("base_revision", 0)
    if not isinstance(base, int) or isinstance(base, bool) or base < 0:
        raise DocumentError("base_revision must be an integer >= 0")
    return Mutation(mid, entity, rid, op, base, raw.get("data"), raw.get("device_time"), raw.get("gps_time"))


def _answer(m: Mutation | None, mutation_id: str, status: str, **kw) -> dict:
    out = {"mutation_id": mutation_id, "status": status, "revision": kw.get("revision"), "seq": kw.get("seq")}
    if m is not None:
        out["record_id"] = m.record_id
        out["entity"] = m.entity
    for k in ("errors", "conflict_id", "merged_fields", "message", "server_data", "server_deleted"):
        if kw.get(k) is not None:
            out[k] = kw[k]
    return out


def _own_history(s: Session, m: Mutation, current: int, device_id: str | None) -> bool:
    """True when every revision after the base was made by this device."""
    if not device_id:
        return False
    others = s.exec(select(func.count()).select_from(SyncChange).where(
        SyncChange.record_id == m.record_id, SyncChange.revision > m.base_revision,
        SyncChange.revision <= current, (SyncChange.device_id != device_id) | SyncChange.device_id.is_(None))).one()
    return others == 0


def apply_mutation(b: PushBatch, raw: Any) -> dict:
    """Apply one mutation of batch ``b`` and return its answer (also remembered, unless malformed)."""
    mid = raw.get("mutation_id") if isinstance(raw, dict) else None
    if isinstance(mid, str):
        seen = b.answer_for(mid)
        if seen is not None:
            return {**seen, "status": "duplicate", "original_status": seen.get("status")}
    try:
        m = parse_mutation(raw)
    except DocumentError as e:
        return _answer(None, mid if isinstance(mid, str) else "", "rejected", errors=e.errors, message=str(e))
    answer = _decide(b, m)
    b.remember(m.mutation_id, answer)
    return answer


def _decide(b: PushBatch, m: Mutation) -> dict:
    row = b.record(ENTITIES[m.entity], m.record_id)
    if row is not None and m.op != "delete":
        # A position the device only received generalised (auth/policy.py) is not a new fix.
        m.data = restore_generalised(m.data, row.data)
    doc = m.data if m.op != "delete" else None
    try:
        if m.op != "delete":
            validate_document(doc, b.protocol)
        program_id = (doc or {}).get("program_id") or (row.program_id if row is not None else None)
        program = b.program(program_id) if program_id else None
        if program is None:
            raise DocumentError(f"unknown program {program_id!r}")
        if not b.may_write(program.area_id):
            raise DocumentError("you are not a ranger (or above) in this program's protected area",
                                [{"field": "program_id", **in_both("not a member of this protected area")}])
        if row is not None and row.program_id != program.id:
            old = b.program(row.program_id)
            if old is None or old.area_id != program.area_id:
                raise DocumentError("a record cannot move to another protected area")
    except DocumentError as e:
        return _answer(m, m.mutation_id, "rejected", errors=e.errors, message=str(e))

    if row is None:
        if m.op == "delete":
            return _answer(m, m.mutation_id, "applied", revision=0, message="nothing to delete")
        return _write(b, m, program, None, doc)
    if m.entity == "walk":
        foreign = merge.foreign_recording_change(row.device_id, b.device_id, row.data if not row.deleted else None,
                                                 doc)
        if foreign:
            b.flush()  # the conflict reads the change log
            return _conflict(b, m, program, row, merge.base_version(b.s, m.record_id, m.base_revision),
                             doc if doc is not None else merge.DELETED, foreign,
                             note=f"this walk was recorded on another device; only that device changes its "
                                  f"{', '.join(foreign)}")

    current = row.revision
    if m.base_revision > current:
        return _answer(m, m.mutation_id, "rejected", message=f"base_revision {m.base_revision} is ahead of the "
                       f"server's revision {current}")
    if m.base_revision == current:
        return _write(b, m, program, row, doc)
    b.flush()  # a stale base: what follows reads the change log
    if _own_history(b.s, m, current, b.device_id):
        return _write(b, m, program, row, doc)

    base = merge.base_version(b.s, m.record_id, m.base_revision)
    server_doc = row.data if not row.deleted else None
    if m.op == "delete":
        server_changed = merge.changed(base, server_doc)
        if not server_changed:
            return _write(b, m, program, row, None)
        return _conflict(b, m, program, row, base, merge.DELETED, sorted(server_changed))
    cmp = merge.compare(base, server_doc, doc)
    client_changed = cmp.client_changed
    if row.deleted or cmp.overlap:
        return _conflict(b, m, program, row, base, doc, cmp.overlap or ["_deleted"])
    merged_doc = merge.merge(base, server_doc, doc)
    try:
        validate_document(merged_doc, b.protocol)
    except DocumentError as e:
        return _conflict(b, m, program, row, base, doc, client_changed, note=str(e))
    return _write(b, m, program, row, merged_doc, merged_fields=client_changed)


def _write(b: PushBatch, m: Mutation, program: Program, row: Record | None, doc: dict | None,
           merged_fields: list[str] | None = None) -> dict:
    """Write the record's next revision (``doc``; None deletes) with its change-log and audit entries."""
    model = ENTITIES[m.entity]
    created = row is None
    new = Record(**(new_values(m.entity, m.record_id, doc or {}) if row is None else row.values()))
    try:
        if doc is not None:
            project(b, m.entity, new, doc, program)
            new.deleted = False
        else:
            new.deleted = True
    except DocumentError as e:
        return _answer(m, m.mutation_id, "rejected", errors=e.errors, message=str(e))
    new.revision = (new.revision or 0) + 1
    if created or not new.device_id:
        # The device that made the record stays its device (the change log names every later writer).
        new.device_id = b.device_id
    if created:
        new.created_by = b.user.id
    new.updated_at = utcnow()
    if m.entity != "walk":
        new.media_pending = bool(new.photos) and not b.photos_present(new.photos)
    if m.entity == "deployment":
        b.flush()  # effort is computed from the stored visits: write out what is pending first
        b.begin_write(orm=True)  # and written through the ORM
    b.save_record(model, new, created)
    if m.entity == "deployment":
        from . import deployments

        deployments.apply(b.s, program, new, b.user)
        b.forget_orm_records()
    answer = _answer(m, m.mutation_id, "applied", revision=new.revision, merged_fields=merged_fields,
                     server_data=doc if merged_fields else None)
    b.add_change({"area_id": program.area_id, "entity": m.entity, "record_id": m.record_id,
                  "revision": new.revision, "op": "delete" if doc is None else "upsert", "data": doc,
                  "device_id": b.device_id, "user_id": b.user.id}, answer)
    b.add_audit(audit.entry_values("delete" if doc is None else ("create" if created else "update"),
                                   model.__tablename__, m.record_id, area_id=program.area_id,
                                   before=audit.snapshot_values(row.values()) if row is not None else None,
                                   after=audit.snapshot_values(new.values()) if doc is not None else None,
                                   who=b.who))
    return answer


def write_version(s: Session, user: User, m: Mutation, program: Program) -> dict:
    """Write ``m.data`` (None deletes) as the record's next revision outside a push (a resolved
    conflict), with its change-log and audit entries, in the caller's transaction; a push answer."""
    b = PushBatch(s, user, None)
    lock_change_log(s)
    model = ENTITIES[m.entity]
    try:
        answer = _write(b, m, program, b.record(model, m.record_id), m.data)
        b.finish_mutation()
    except BaseException:
        b.abandon_mutation()
        raise
    b.flush()
    for obj in list(s.identity_map.values()):  # the caller's copy of the row predates this write
        if isinstance(obj, model) and getattr(obj, "id", None) == m.record_id:
            s.expire(obj)
    return answer


def _photos_present(s: Session, shas: list[str]) -> bool:
    from ..models import Media

    found = s.exec(select(func.count()).select_from(Media).where(Media.sha256.in_(shas))).one()
    return found >= len(set(shas))


def _conflict(b: PushBatch, m: Mutation, program: Program, row: Record, base: dict, client_doc: dict,
              fields: list[str], note: str | None = None) -> dict:
    s = b.s
    last = s.exec(select(SyncChange).where(SyncChange.record_id == m.record_id)
                  .order_by(SyncChange.revision.desc())).first()
    server_user = None
    if last is not None and last.user_id:
        u = s.get(User, last.user_id)
        server_user = u.username if u else None
    b.begin_write(orm=True)
    c = SyncConflict(area_id=program.area_id, entity=m.entity, record_id=m.record_id, base_revision=m.base_revision,
                     server_revision=row.revision, server_version=row.data if not row.deleted else {"_deleted": True},
                     client_version=client_doc, fields=fields, client_user=b.user.username,
                     client_device=b.device_id, server_user=server_user)
    s.add(c)
    s.flush()
    b.add_audit(audit.entry_values("create", "sync_conflict", c.id, area_id=program.area_id,
                                   after=audit.snapshot(c), who=b.who))
    return _answer(m, m.mutation_id, "conflict", revision=row.revision, conflict_id=c.id,
                   server_data=row.data if not row.deleted else None, server_deleted=bool(row.deleted),
                   message=note or f"changed on the server too: {', '.join(fields)}")


def push(session_factory: Callable[[], Any], user: User, device_id: str | None, mutations: list) -> list[dict]:
    """Apply a batch in one transaction with a savepoint per mutation; one answer per mutation, in order.

    A mutation that fails unexpectedly is rolled back to its savepoint and
    answered ``rejected``; the others still apply. If the whole transaction
    fails to commit, nothing was applied and the device retries the batch; a
    full disk stops the batch at once (507, nothing rejected for it).
    See :mod:`server.sync.batch` for what is looked up once and written in bulk.
    """
    import logging

    from ..dberrors import is_disk_full

    answers = []
    with session_factory() as s:
        b = PushBatch(s, s.get(User, user.id), device_id)
        if mutations:
            lock_change_log(s)
        b.prefetch(mutations)
        for raw in mutations:
            try:
                answer = apply_mutation(b, raw)
                b.finish_mutation()
            except Exception as e:  # a bug or a constraint: answer it, keep the rest of the batch
                if is_disk_full(e):  # not the mutation's fault: the whole push answers 507, the device retries
                    raise
                logging.getLogger("saola.sync").exception("mutation failed")
                b.abandon_mutation()
                mid = raw.get("mutation_id") if isinstance(raw, dict) else ""
                answer = _answer(None, mid if isinstance(mid, str) else "", "rejected",
                                 message=f"server error: {type(e).__name__}: {e}")
            answers.append(answer)
        b.flush()
        b.close()
    return answers


# ---- pull -------------------------------------------------------------------------------
class CursorTooOld(Exception):
    """The cursor is older than the tombstone horizon: the device must resync from zero."""


def horizon(s: Session) -> int:
    st = s.get(ServerState, HORIZON_KEY)
    return int(st.value) if st is not None and st.value is not None else 0


def pull(s: Session, area_ids: list[str] | None, since: int, limit: int,
         redact: Callable[[list[SyncChange]], dict[Any, Any]] | None = None) -> dict:
    """Changes after ``since`` in ``area_ids`` (None: all), oldest first, one page.

    ``redact(rows)`` gives the data each change may carry to the caller, by seq
    (server/auth/policy.py ``redact_changes``: sensitive positions generalised).
    """
    h = horizon(s)
    if 0 < since < h:
        raise CursorTooOld(f"cursor {since} is older than the tombstone horizon {h}: resync from 0")
    stmt = select(SyncChange).where(SyncChange.seq > since)
    if area_ids is not None:
        stmt = stmt.where(SyncChange.area_id.in_(area_ids))
    rows = list(s.exec(stmt.order_by(SyncChange.seq).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_since = rows[-1].seq if rows else since
    data: dict[Any, Any] = redact(rows) if redact is not None else {r.seq: r.data for r in rows}
    owners = record_owners(s, rows)
    return {
        "protocol_version": PROTOCOL_VERSION,
        "changes": [{"seq": r.seq, "entity": r.entity, "record_id": r.record_id, "revision": r.revision,
                     "op": r.op, "data": data[r.seq], "at": r.at.isoformat(),
                     **owners.get(r.record_id, {"device_id": None, "owner": None})} for r in rows],
        "next_since": next_since,
        "has_more": more,
    }


def record_owners(s: Session, rows: list[SyncChange]) -> dict[str, dict[str, str | None]]:
    """For each record of ``rows``: the device that made it and its maker's user name.

    Tablets keep records of other devices as read-only references (a walk is only ever
    continued, stopped or changed by the tablet that records it), and show a ranger's own
    records apart from the team's.
    """
    out: dict[str, dict[str, str | None]] = {}
    for model in {ENTITIES[e] for e in {r.entity for r in rows} if e in ENTITIES}:
        ids = [r.record_id for r in rows if ENTITIES.get(r.entity) is model]
        for i in range(0, len(ids), 500):  # bounded IN lists
            for rid, device, user_id in s.exec(select(model.id, model.device_id, model.created_by)
                                               .where(model.id.in_(ids[i:i + 500]))):
                out[rid] = {"device_id": device, "owner": user_id}
    names = {u.id: u.username for u in s.exec(select(User).where(
        User.id.in_({o["owner"] for o in out.values() if o["owner"]})))} if out else {}
    for o in out.values():
        o["owner"] = names.get(o["owner"]) if o["owner"] else None
    return out


def compact(s: Session, keep_seq: int) -> dict:
    """Drop superseded changes and tombstones with seq <= ``keep_seq``; moves the horizon there.

    The latest change of every live record is kept, so a resync from 0 still
    returns every record; devices with a cursor below the horizon get 410.
    """
    latest = {r.record_id: r.seq for r in s.exec(
        select(SyncChange.record_id, func.max(SyncChange.seq).label("seq")).group_by(SyncChange.record_id))}
    removed = 0
    for ch in s.exec(select(SyncChange).where(SyncChange.seq <= keep_seq)):
        if latest.get(ch.record_id) != ch.seq or ch.op == "delete":
            s.delete(ch)
            removed += 1
    st = s.get(ServerState, HORIZON_KEY) or ServerState(key=HORIZON_KEY)
    st.value = max(horizon(s), keep_seq)
    st.updated_at = utcnow()
    s.add(st)
    return {"removed": removed, "horizon": st.value}
