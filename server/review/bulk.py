"""Bulk actions on a grid selection: one transaction, one audited review action, one undo.

A selection is a list of media (or of sequences, in the grid's sequence mode)
with the version each tile showed (server/review/grid.py). Applying:

1. every id is loaded and checked through the access-scope helper: a missing
   id or one of another protected area is 404, a role below biologist 403,
   for the whole request, and nothing is written;
2. a tile whose version changed since the page was loaded (someone reviewed,
   labelled, favoured it or its boxes changed) is left as it is and reported;
3. the others change in one transaction with bulk statements: species (with a
   count), blank, human, vehicle and "unidentifiable" labels, boxes deleted
   (machine boxes dismissed, drawn ones removed), favourite marks set or cleared;
4. one audit entry (``review_action``) records who, when, the summary and
   what undo needs.

Labels in media mode are media-level labels of each photo; a sequence whose
every photo now carries a person's label becomes reviewed (or blank when every
label is blank). In sequence mode labels are event-level, as on the sequence
page. Undo restores every tile still as the action left it (its version
unchanged) and names the others, never overwriting later work.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import bindparam, delete, insert, update
from sqlmodel import Session, select

from .. import audit
from ..auth.permissions import check_row
from ..errors import NotFound, ValidationError
from ..models import Detection, Media, Observation, Sequence, Taxon, User, new_id, utcnow
from ..timeutil import as_utc
from . import grid
from .actions import _coerce
from .queue import HUMAN_MODEL

KIND = "bulk"
MAX_ITEMS = 10_000
LABELS = {"species": "animal", "blank": "blank", "human": "human", "vehicle": "vehicle",
          "unidentifiable": "unknown"}
ACTIONS = (*LABELS, "delete_boxes", "favorite", "unfavorite")
_COUNTED = ("species", "human", "vehicle", "unidentifiable")


def _bad(field: str, message: str, detail: str) -> ValidationError:
    return ValidationError(message, details=[{"field": field, "message": detail}])


def _check(session: Session, mode: str, action: str, items: dict[str, str], taxon_id: Optional[str],
           count: Optional[int]) -> None:
    if mode not in grid.MODES:
        raise _bad("mode", f"mode must be one of {', '.join(grid.MODES)}", "unknown mode")
    if action not in ACTIONS:
        raise _bad("action", f"action must be one of {', '.join(ACTIONS)}, got {action!r}", "unknown action")
    if not items:
        raise _bad("items", "nothing selected", "empty")
    if len(items) > MAX_ITEMS:
        raise _bad("items", f"at most {MAX_ITEMS} items per bulk action, got {len(items)}", "too many")
    if action == "species":
        if not taxon_id:
            raise _bad("taxon_id", "choose a species for a species label", "required")
        if session.get(Taxon, taxon_id) is None:
            raise _bad("taxon_id", f"no taxon with id {taxon_id!r}", "unknown")
    elif taxon_id:
        raise _bad("taxon_id", f"a species goes only with the species action, not {action}", "not a species label")
    if count is not None:
        if action not in _COUNTED:
            raise _bad("count", f"a count goes with a species, human, vehicle or unidentifiable label, not {action}",
                       "no count here")
        if not 1 <= count <= 10000:
            raise _bad("count", "count must be a whole number from 1 to 10000", "out of range")


def _load(session: Session, mode: str, ids: list[str]) -> dict[str, Any]:
    """The rows of the selection, locked for this transaction where the database can."""
    model = Media if mode == "media" else Sequence
    rows: dict[str, Any] = {}
    for part in grid._chunks(ids):
        stmt = select(model).where(model.id.in_(part)).with_for_update()
        for r in session.exec(stmt.options(grid.LEAN_MEDIA) if mode == "media" else stmt):
            rows[r.id] = r
    missing = [i for i in ids if i not in rows]
    what = "photo or video" if mode == "media" else "sequence"
    if missing:
        raise NotFound(f"no {what} with id {missing[0]!r}" + (f" (and {len(missing) - 1} more)"
                                                               if len(missing) > 1 else ""))
    if mode == "media":
        for i in ids:
            if rows[i].kind not in grid.KINDS:
                raise NotFound(f"no {what} with id {i!r}")
    return rows


def _area(session: Session, mode: str, rows: dict[str, Any]) -> str:
    """Check every row through the access-scope helper (404 / 403 for the whole request); the one area."""
    what = "media" if mode == "media" else "sequence"
    areas: set[str] = set()
    for ident, row in rows.items():
        acc = check_row(session, row, "biologist", what=what)
        if acc.area_id is None:  # loose media (administrators only) are not reviewed
            raise NotFound(f"no {what} with id {ident!r}")
        areas.add(acc.area_id)
    if len(areas) > 1:
        raise _bad("items", f"a bulk action works in one protected area; this selection spans {len(areas)}: "
                   "filter the grid by protected area", "several protected areas")
    return areas.pop()


class _Snapshot:
    """The selection's current state and each tile's version (server/review/grid.py)."""

    def __init__(self, session: Session, mode: str, rows: dict[str, Any]):
        self.mode = mode
        if mode == "media":
            seq_ids = list({m.sequence_id for m in rows.values() if m.sequence_id})
            # Every media of the sequences touched: a sequence's status follows all its photos.
            self.by_seq = grid.sequence_media(session, seq_ids)
            media = {m.id: m for ms in self.by_seq.values() for m in ms}
            media.update(rows)
        else:
            self.by_seq = grid.sequence_media(session, list(rows))
            media = {m.id: m for ms in self.by_seq.values() for m in ms}
        self.state = grid.load_state(session, list(media.values()),
                                     with_sequences=list(rows) if mode == "sequence" else ())
        self.rows = rows

    def version(self, ident: str) -> str:
        row = self.rows[ident]
        if self.mode == "media":
            return grid.media_version(self.state, row)
        return grid.sequence_version(self.state, row, self.by_seq.get(ident, []))

    def media_of(self, ident: str) -> list[Media]:
        return [self.rows[ident]] if self.mode == "media" else self.by_seq.get(ident, [])


def _changed_reason(session: Session, snap: _Snapshot, ident: str) -> str:
    row = snap.rows[ident]
    seq = snap.state.sequences.get(row.sequence_id if snap.mode == "media" else row.id)
    who = seq.reviewed_by if seq is not None and seq.reviewed_by else None
    return "changed since the page was loaded" + (f" (last reviewed by {who})" if who else "")


class _Writer:
    """Collects the rows one bulk action writes, then writes them with bulk statements."""

    def __init__(self, session: Session, user: User, action_id: str):
        self.session, self.user, self.action_id = session, user, action_id
        self.now = utcnow()
        self.new_obs: list[dict[str, Any]] = []
        self.drop_obs: list[str] = []
        self.dismiss: list[str] = []
        self.drop_boxes: list[str] = []
        self.favorites: list[dict[str, Any]] = []
        self.statuses: list[dict[str, Any]] = []
        self._template = {c.name: None for c in Observation.__table__.columns}

    def observation(self, **values) -> str:
        oid = new_id()
        self.new_obs.append({**self._template, "id": oid, "classification_method": "human",
                             "classified_by": self.user.username, "classification_timestamp": self.now,
                             "extra": {"bulk_action": self.action_id}, "revision": 1, "created_at": self.now,
                             "updated_at": self.now, **values})
        return oid

    def flush(self) -> None:
        conn = self.session.connection()
        ot, dt, mt, st = (Observation.__table__, Detection.__table__, Media.__table__, Sequence.__table__)
        for part in grid._chunks(self.drop_obs):
            conn.execute(delete(ot).where(ot.c.id.in_(part)))
        for part in grid._chunks(self.new_obs):
            conn.execute(insert(ot), part)
        for part in grid._chunks(self.dismiss):
            conn.execute(update(dt).where(dt.c.id.in_(part)).values(dismissed=True, review_status="rejected"))
        for part in grid._chunks(self.drop_boxes):
            conn.execute(delete(dt).where(dt.c.id.in_(part)))
        if self.favorites:
            conn.execute(update(mt).where(mt.c.id == bindparam("mid")).values(
                favorite=bindparam("fav"), favorite_by=bindparam("by"), favorite_at=bindparam("at")), self.favorites)
        if self.statuses:
            conn.execute(update(st).where(st.c.id == bindparam("sid")).values(
                review_status=bindparam("status"), reviewed_by=bindparam("by"), reviewed_at=bindparam("at")),
                self.statuses)


def _seq_fields(seq: Sequence) -> list:
    return [seq.review_status, seq.reviewed_by, grid._iso(seq.reviewed_at)]


def _label_media(w: _Writer, snap: _Snapshot, todo: list[str], otype: str, taxon_id, count,
                 record: dict, skipped: list) -> list[str]:
    """Media-level labels of each photo; then the status of their sequences (see the module docstring)."""
    done = []
    types_after: dict[str, list[str]] = {mid: [o.observation_type for o in obs]
                                         for mid, obs in snap.state.media_obs.items()}
    for mid in todo:
        m = snap.rows[mid]
        seq = snap.state.sequences.get(m.sequence_id)
        when = m.captured_at or (seq.event_start if seq is not None else None)
        if when is None:
            skipped.append({"id": mid, "reason": "has no capture time: set the deployment's clock first"})
            continue
        old = snap.state.media_obs[mid]
        w.drop_obs += [o.id for o in old]
        oid = w.observation(deployment_id=m.deployment_id, sequence_id=m.sequence_id, media_id=mid,
                            event_start=when, event_end=when, observation_level="media", observation_type=otype,
                            taxon_id=taxon_id, count=count)
        record[mid] = {"created": [oid], "deleted": [audit.snapshot(o) for o in old]}
        types_after[mid] = [otype]
        done.append(mid)
    touched = {snap.rows[mid].sequence_id for mid in done if snap.rows[mid].sequence_id}
    seq_record = {}
    for sid in touched:
        seq = snap.state.sequences[sid]
        labels = [types_after.get(m.id, []) for m in snap.by_seq.get(sid, [])]
        flat = [t for ts in labels for t in ts]
        new = None
        if labels and all(labels):
            new = "blank" if all(t == "blank" for t in flat) else "reviewed"
        elif seq.review_status == "blank" and any(t != "blank" for t in flat):
            new = "reviewed"
        if new is None or new == seq.review_status:
            continue
        dropped = []
        if new == "reviewed":  # an animal in one photo: the sequence is no longer blank
            dropped = [o for o in snap.state.event_obs.get(sid, [])
                       if o.observation_level == "event" and o.observation_type == "blank"]
            w.drop_obs += [o.id for o in dropped]
        seq_record[sid] = {"before": _seq_fields(seq), "after": [new, w.user.username, w.now.isoformat()],
                           "deleted": [audit.snapshot(o) for o in dropped]}
        w.statuses.append({"sid": sid, "status": new, "by": w.user.username, "at": w.now})
    record["__sequences__"] = seq_record
    return done


def _label_sequences(w: _Writer, snap: _Snapshot, todo: list[str], otype: str, taxon_id, count,
                     record: dict) -> list[str]:
    """Event-level labels, as the sequence page's Accept (or Blank) does to each sequence."""
    seq_record = {}
    for sid in todo:
        seq = snap.rows[sid]
        obs = snap.state.event_obs.get(sid, [])
        # A blank replaces every label of a person; a label replaces the event labels and any blank.
        old = obs if otype == "blank" else [o for o in obs if o.observation_level == "event"
                                            or o.observation_type == "blank"]
        w.drop_obs += [o.id for o in old]
        oid = w.observation(deployment_id=seq.deployment_id, sequence_id=sid, event_start=seq.event_start,
                            event_end=seq.event_end, observation_level="event", observation_type=otype,
                            taxon_id=taxon_id, count=count)
        record[sid] = {"created": [oid], "deleted": [audit.snapshot(o) for o in old]}
        status = "blank" if otype == "blank" else "reviewed"
        seq_record[sid] = {"before": _seq_fields(seq), "after": [status, w.user.username, w.now.isoformat()],
                           "deleted": []}
        w.statuses.append({"sid": sid, "status": status, "by": w.user.username, "at": w.now})
    record["__sequences__"] = seq_record
    return list(todo)


def _delete_boxes(w: _Writer, snap: _Snapshot, todo: list[str], record: dict) -> list[str]:
    for ident in todo:
        boxes = [d for m in snap.media_of(ident) for d in snap.state.boxes[m.id]]
        drawn = [d for d in boxes if d.model == HUMAN_MODEL]
        machine = [d for d in boxes if d.model != HUMAN_MODEL]
        w.drop_boxes += [d.id for d in drawn]
        w.dismiss += [d.id for d in machine]
        record[ident] = {"boxes": [[d.id, d.dismissed, d.review_status] for d in machine],
                         "deleted_boxes": [audit.snapshot(d) for d in drawn]}
    return list(todo)


def _favorite(w: _Writer, snap: _Snapshot, todo: list[str], on: bool, record: dict) -> list[str]:
    for ident in todo:
        before = []
        for m in snap.media_of(ident):
            if m.favorite == on:
                continue
            before.append([m.id, m.favorite, m.favorite_by, grid._iso(m.favorite_at)])
            w.favorites.append({"mid": m.id, "fav": on, "by": w.user.username if on else None,
                                "at": w.now if on else None})
        record[ident] = {"favorites": before}
    return list(todo)


def apply(session: Session, user: User, mode: str, action: str, items: dict[str, str],
          taxon_id: Optional[str] = None, count: Optional[int] = None) -> dict[str, Any]:
    """Apply ``action`` to the selection ``items`` (id -> the version the page showed) as one review action.

    Returns the action id (for undo), how many tiles changed, and the tiles
    left alone with the reason (changed since the page was loaded, no time).
    """
    _check(session, mode, action, items, taxon_id, count)
    ids = list(items)
    rows = _load(session, mode, ids)
    area_id = _area(session, mode, rows)
    snap = _Snapshot(session, mode, rows)
    skipped = [{"id": i, "reason": _changed_reason(session, snap, i)} for i in ids if snap.version(i) != items[i]]
    changed = {s["id"] for s in skipped}
    todo = [i for i in ids if i not in changed]
    action_id = new_id()
    w = _Writer(session, user, action_id)
    record: dict[str, Any] = {}
    if action in LABELS:
        label_count = count if action in _COUNTED else None
        if mode == "media":
            done = _label_media(w, snap, todo, LABELS[action], taxon_id, label_count, record, skipped)
        else:
            done = _label_sequences(w, snap, todo, LABELS[action], taxon_id, label_count, record)
    elif action == "delete_boxes":
        done = _delete_boxes(w, snap, todo, record)
    else:
        done = _favorite(w, snap, todo, action == "favorite", record)
    w.flush()
    sequences = record.pop("__sequences__", {})
    session.expire_all()  # the rows changed through bulk statements: read them again (in chunks, not one by one)
    model = Media if mode == "media" else Sequence
    lean = [grid.LEAN_MEDIA] if mode == "media" else []
    after = _Snapshot(session, mode, {r.id: r for r in grid._in(session, lambda p: select(model).options(*lean).where(
        model.id.in_(p)), done)})
    for ident in done:
        record[ident]["version"] = after.version(ident)
    media_n = sum(len(snap.media_of(i)) for i in done)
    summary = {"mode": mode, "action": action, "taxon_id": taxon_id, "count": count, "items": len(done),
               "media": media_n, "skipped": len(skipped)}
    audit.record(session, "review", "review_action", action_id, area_id=area_id,
                 after={"kind": KIND, "sequence_id": None, "summary": summary, "changes": [],
                        "bulk": {"mode": mode, "action": action, "items": record, "sequences": sequences}})
    session.commit()
    return {"action_id": action_id, "action": action, "mode": mode, "applied": len(done), "media": media_n,
            "skipped": skipped[:500], "skipped_count": len(skipped)}


# ---- undo ------------------------------------------------------------------------------------------------
def _insert_snapshots(session: Session, model, snaps: list[dict]) -> None:
    rows = [_coerce(model, s) for s in snaps]
    for part in grid._chunks(rows):
        session.connection().execute(insert(model.__table__), part)


def undo(session: Session, user: User, entry, info: dict[str, Any]) -> dict[str, Any]:
    """Undo a bulk action: every tile still as the action left it is restored; the others are named."""
    data = info.get("bulk") or {}
    mode, items, sequences = data.get("mode", "media"), data.get("items", {}), data.get("sequences", {})
    model = Media if mode == "media" else Sequence
    rows: dict[str, Any] = {}
    lean = [grid.LEAN_MEDIA] if mode == "media" else []
    for part in grid._chunks(list(items)):
        for r in session.exec(select(model).options(*lean).where(model.id.in_(part)).with_for_update()):
            rows[r.id] = r
    snap = _Snapshot(session, mode, rows)
    restorable, not_restored = [], []
    for ident, rec in items.items():
        if ident not in rows:
            not_restored.append({"id": ident, "reason": "it no longer exists"})
        elif snap.version(ident) != rec["version"]:
            not_restored.append({"id": ident, "reason": _changed_reason(session, snap, ident).replace(
                "since the page was loaded", "since")})
        else:
            restorable.append(ident)
    conn = session.connection()
    ot, dt, mt, st = (Observation.__table__, Detection.__table__, Media.__table__, Sequence.__table__)
    created = [oid for i in restorable for oid in items[i].get("created", [])]
    for part in grid._chunks(created):
        conn.execute(delete(ot).where(ot.c.id.in_(part)))
    _insert_snapshots(session, Observation, [s for i in restorable for s in items[i].get("deleted", [])])
    boxes = [{"did": d, "dis": dis, "rs": rs} for i in restorable for d, dis, rs in items[i].get("boxes", [])]
    if boxes:
        conn.execute(update(dt).where(dt.c.id == bindparam("did")).values(
            dismissed=bindparam("dis"), review_status=bindparam("rs")), boxes)
    _insert_snapshots(session, Detection, [s for i in restorable for s in items[i].get("deleted_boxes", [])])
    favs = [{"mid": m, "fav": fav, "by": by, "at": as_utc(datetime.fromisoformat(at)) if at else None}
            for i in restorable for m, fav, by, at in items[i].get("favorites", [])]
    if favs:
        conn.execute(update(mt).where(mt.c.id == bindparam("mid")).values(
            favorite=bindparam("fav"), favorite_by=bindparam("by"), favorite_at=bindparam("at")), favs)
    # A sequence goes back when one of its tiles does and nobody changed its status since.
    back = set(restorable) if mode == "sequence" else {rows[i].sequence_id for i in restorable}
    statuses, seq_obs = [], []
    for sid, rec in sequences.items():
        seq = snap.state.sequences.get(sid) or session.get(Sequence, sid)
        if sid not in back or seq is None or _seq_fields(seq)[:2] != rec["after"][:2] \
                or as_utc(seq.reviewed_at) != as_utc(datetime.fromisoformat(rec["after"][2])):
            continue
        status, by, at = rec["before"]
        statuses.append({"sid": sid, "status": status, "by": by,
                         "at": as_utc(datetime.fromisoformat(at)) if at else None})
        seq_obs += rec.get("deleted", [])
    if statuses:
        conn.execute(update(st).where(st.c.id == bindparam("sid")).values(
            review_status=bindparam("status"), reviewed_by=bindparam("by"), reviewed_at=bindparam("at")), statuses)
    _insert_snapshots(session, Observation, seq_obs)
    audit.record(session, "undo", "review_action", entry.entity_id, area_id=entry.area_id,
                 after={"kind": KIND, "sequence_id": None, "restored": len(restorable),
                        "not_restored": not_restored[:1000], "not_restored_count": len(not_restored)})
    session.commit()
    session.expire_all()
    return {"action_id": entry.entity_id, "kind": KIND, "sequence_id": None, "restored": len(restorable),
            "not_restored": not_restored[:200], "not_restored_count": len(not_restored)}
