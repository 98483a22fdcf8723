"""Confidence-threshold triage: mark blank every sequence whose highest machine confidence is below X.

As AddaxAI and Timelapse offer it: a biologist picks a threshold, looks at how
many sequences and media it touches and at a sample of them (the most
confident first, the likeliest to hide an animal), then applies it as ONE
review action, audited and undone with one undo.

A sequence qualifies when it is unreviewed, carries no label of a person, a
detector processed at least one of its images, and no live box (animal,
person or vehicle, machine or drawn) reaches the threshold. A sequence no
detector has processed is never blanked: "no box" says nothing about it.

Applying takes the previewed sequence ids. Each is loaded through the
access-scope helper (404 for an id outside the user's areas, 403 below
biologist: nothing is written then) and checked again; one that changed
since the preview (reviewed by someone, a new box above the threshold) is
left as it is and reported. The writes are bulk statements in one
transaction. Undo restores every sequence nobody touched since and names the
others, never overwriting their later review.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Iterable

from sqlalchemy import and_, bindparam, delete, distinct, exists, func, insert, update
from sqlmodel import Session, select

from .. import audit
from ..auth.permissions import check_row
from ..errors import NotFound, ValidationError
from ..models import Deployment, Detection, Location, Media, Observation, Sequence, User, new_id, utcnow
from ..timeutil import as_utc, format_local
from .queue import BLANK_CATEGORY, ORDER, QueueFilter, _image_detection, detector_ran, queue_stmt

KIND = "triage_blank"
MAX_SEQUENCES = 50_000  # one action; more is a narrower filter (a program, a deployment, dates)
SAMPLE = 12
_CHUNK = 500


def _chunks(items: list, n: int = _CHUNK) -> Iterable[list]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def check_threshold(threshold: float) -> float:
    if not 0 < threshold <= 1:
        raise ValidationError(f"threshold must be above 0 and at most 1, got {threshold}",
                              details=[{"field": "threshold", "message": "out of range"}])
    return float(threshold)


def _person_label():
    return exists().where(Observation.sequence_id == Sequence.id, Observation.classification_method == "human")


def _box_at_or_above(threshold: float):
    return _image_detection(Detection.category != BLANK_CATEGORY, Detection.confidence >= threshold)


def qualifies(threshold: float) -> list:
    """Conditions on Sequence of a sequence the triage may blank (see the module docstring)."""
    return [Sequence.review_status == "unreviewed", ~_person_label(), detector_ran(),
            ~_box_at_or_above(threshold)]


def _unreviewed(flt: QueueFilter) -> QueueFilter:
    return QueueFilter(**{**flt.as_dict(), "review_status": "unreviewed"}, area_ids=flt.area_ids)


def preview(session: Session, flt: QueueFilter, threshold: float, thumb_url: Callable[[Media], str] | None = None,
            sample: int = SAMPLE) -> dict[str, Any]:
    """What applying the triage to the unreviewed sequences of ``flt`` would touch.

    Returns the sequence ids (in queue order), how many sequences and media,
    how many unreviewed sequences no detector processed (left alone), and a
    sample of the candidates, most confident first, with thumbnails.
    """
    threshold = check_threshold(threshold)
    base = queue_stmt(_unreviewed(flt))
    cand = base.where(*qualifies(threshold)).with_only_columns(Sequence.id).subquery()
    live = and_(Detection.media_id == Media.id, Detection.dismissed.is_(False), Detection.category != BLANK_CATEGORY)
    rows = session.exec(select(cand.c.id, func.count(distinct(Media.id)), func.max(Detection.confidence))
                        .select_from(cand).join(Media, Media.sequence_id == cand.c.id)
                        .outerjoin(Detection, live).group_by(cand.c.id)).all()
    if len(rows) > MAX_SEQUENCES:
        raise ValidationError(f"{len(rows)} sequences are below the threshold; one triage takes at most "
                              f"{MAX_SEQUENCES}: narrow the filter (a deployment, dates)",
                              details=[{"field": "threshold", "message": "too many sequences"}])
    not_screened = session.exec(base.where(~detector_ran()).with_only_columns(func.count())).one()
    by_id = {sid: (n, conf) for sid, n, conf in rows}
    ordered = list(session.exec(base.where(*qualifies(threshold)).with_only_columns(Sequence.id).order_by(*ORDER)))
    place = {sid: i for i, sid in enumerate(ordered)}
    picked = sorted(by_id, key=lambda sid: (-(by_id[sid][1] or 0.0), place.get(sid, 0)))[:sample]
    return {"threshold": threshold, "sequences": len(ordered), "media": sum(n for n, _ in by_id.values()),
            "not_screened": not_screened, "sequence_ids": ordered,
            "sample": _sample(session, picked, by_id, thumb_url),
            "evaluation": evaluation(session, flt, threshold)}


def evaluation(session: Session, flt: QueueFilter, threshold: float) -> dict[str, Any]:
    """What the threshold would have done to the sequences people have already reviewed in the filter's
    program(s), deployment or area: animal and person sequences it would have hidden (by species) and the
    true blanks it would have removed (server/stats/ai_eval.py). Shown before the triage is applied."""
    from ..analytics.monitoring import load_ai_items
    from ..models import Program
    from ..stats.ai_eval import triage_cost

    threshold = check_threshold(threshold)
    if flt.deployment_id:
        dep = session.get(Deployment, flt.deployment_id)
        pids = [dep.program_id] if dep is not None else []
    elif flt.program_id:
        pids = [flt.program_id]
    elif flt.area_id:
        pids = list(session.exec(select(Program.id).where(Program.area_id == flt.area_id)))
    else:
        pids = []
    items = load_ai_items(session, pids, deployment_id=flt.deployment_id) if pids else []
    if not items:
        return {"threshold": threshold, "reviewed": 0}
    row = triage_cost(items, (threshold,))[0]
    return {"reviewed": len(items), **row}


def _sample(session: Session, ids: list[str], by_id: dict, thumb_url) -> list[dict[str, Any]]:
    if not ids:
        return []
    seqs = {s.id: s for s in session.exec(select(Sequence).where(Sequence.id.in_(ids)))}
    deps = {d.id: (d, loc) for d, loc in session.exec(
        select(Deployment, Location).join(Location, Location.id == Deployment.location_id)
        .where(Deployment.id.in_({s.deployment_id for s in seqs.values()})))}
    media: dict[str, list[Media]] = {i: [] for i in ids}
    for m in session.exec(select(Media).where(Media.sequence_id.in_(ids), Media.kind == "image")
                          .order_by(Media.captured_at, Media.file_name)):
        media[m.sequence_id].append(m)
    out = []
    for sid in ids:
        seq = seqs[sid]
        dep, loc = deps[seq.deployment_id]
        out.append({"sequence_id": sid, "location": loc.name, "event_start": as_utc(seq.event_start).isoformat(),
                    "event_start_local": format_local(seq.event_start, dep.timezone),
                    "media_count": by_id[sid][0], "max_confidence": by_id[sid][1],
                    "thumbnails": [thumb_url(m) for m in media[sid][:3]] if thumb_url else []})
    return out


def apply(session: Session, user: User, sequence_ids: list[str], threshold: float) -> dict[str, Any]:
    """Blank the previewed sequences that still qualify, as one undoable review action.

    Every id is checked through the access-scope helper first (biologist in its
    area; all in one protected area); nothing is written when one fails.
    """
    threshold = check_threshold(threshold)
    ids = list(dict.fromkeys(sequence_ids))
    if not ids:
        raise ValidationError("no sequences given", details=[{"field": "sequence_ids", "message": "empty"}])
    if len(ids) > MAX_SEQUENCES:
        raise ValidationError(f"at most {MAX_SEQUENCES} sequences per triage, got {len(ids)}",
                              details=[{"field": "sequence_ids", "message": "too many"}])
    rows: dict[str, Sequence] = {}
    areas: set[str] = set()
    for part in _chunks(ids):
        for seq in session.exec(select(Sequence).where(Sequence.id.in_(part))):
            rows[seq.id] = seq
    missing = [i for i in ids if i not in rows]
    if missing:
        raise NotFound(f"no sequence with id {missing[0]!r}" + (f" (and {len(missing) - 1} more)"
                                                                if len(missing) > 1 else ""))
    for sid in ids:
        acc = check_row(session, rows[sid], "biologist", what="sequence")  # 404 / 403 per item
        if acc.area_id is None:
            raise NotFound(f"no sequence with id {sid!r}")
        areas.add(acc.area_id)
    if len(areas) > 1:
        raise ValidationError(f"a triage works in one protected area; these sequences lie in {len(areas)}",
                              details=[{"field": "sequence_ids", "message": "several protected areas"}])
    area_id = areas.pop()
    still: set[str] = set()
    for part in _chunks(ids):
        still |= set(session.exec(select(Sequence.id).where(Sequence.id.in_(part), *qualifies(threshold))))
    now = utcnow()
    conn = session.connection()
    t = Sequence.__table__
    done: set[str] = set()
    for part in _chunks([sid for sid in ids if sid in still]):
        # Guarded by the status and RETURNING what changed: a review landing meanwhile is never overwritten.
        done |= set(conn.execute(update(t).where(t.c.id.in_(part), t.c.review_status == "unreviewed")
                                 .values(review_status="blank", reviewed_by=user.username, reviewed_at=now)
                                 .returning(t.c.id)).scalars())
    skipped = [{"sequence_id": sid, "reason": _why_not(session, rows[sid], threshold)}
               for sid in ids if sid not in done]
    todo = [sid for sid in ids if sid in done]
    template = {c.name: None for c in Observation.__table__.columns}
    obs_rows, obs_ids, befores = [], [], {}
    for sid in todo:
        seq = rows[sid]
        oid = new_id()
        obs_ids.append(oid)
        if seq.reviewed_by or seq.reviewed_at:
            befores[sid] = [seq.reviewed_by, as_utc(seq.reviewed_at).isoformat() if seq.reviewed_at else None]
        obs_rows.append({**template, "id": oid, "deployment_id": seq.deployment_id, "sequence_id": sid,
                         "event_start": seq.event_start, "event_end": seq.event_end, "observation_level": "event",
                         "observation_type": "blank", "classification_method": "human",
                         "classified_by": user.username, "classification_timestamp": now,
                         "observation_tags": f"triage:below {threshold:g}",
                         "extra": {"triage": {"threshold": threshold}}, "revision": 1, "created_at": now,
                         "updated_at": now})
    media_n = 0
    for part in _chunks(todo):
        media_n += session.exec(select(func.count()).select_from(Media).where(Media.sequence_id.in_(part))).one()
    for part in _chunks(obs_rows):
        conn.execute(insert(Observation.__table__), part)
    action_id = new_id()
    summary = {"threshold": threshold, "sequences": len(todo), "media": media_n, "skipped": len(skipped)}
    # One summarising entry for the whole action (per-record entries for thousands of rows would
    # dwarf the change); it holds what undo needs.
    audit.record(session, "review", "review_action", action_id, area_id=area_id,
                 after={"kind": KIND, "sequence_id": None, "summary": summary, "changes": [],
                        "triage": {"sequences": todo, "observations": obs_ids, "reviewed_at": now.isoformat(),
                                   "before": befores}})
    session.commit()
    for seq in rows.values():  # the rows were changed by bulk statements: read them again when needed
        session.expire(seq)
    return {"action_id": action_id, "blanked": len(todo), "media": media_n, "skipped": skipped[:200],
            "skipped_count": len(skipped)}


def _why_not(session: Session, seq: Sequence, threshold: float) -> str:
    """Why a previewed sequence no longer qualifies (for the report)."""
    if seq.review_status != "unreviewed" or session.exec(
            select(Observation.id).where(Observation.sequence_id == seq.id,
                                         Observation.classification_method == "human").limit(1)).first():
        return "reviewed since the preview" + (f" by {seq.reviewed_by}" if seq.reviewed_by else "")
    if session.exec(select(Sequence.id).where(Sequence.id == seq.id, ~detector_ran())).first():
        return "no detector has processed it"
    return f"it has a box at or above {threshold:g}"


def undo(session: Session, user: User, entry, info: dict[str, Any]) -> dict[str, Any]:
    """Undo a triage: every sequence still as the triage left it goes back to unreviewed (its blank
    label removed); the others were reviewed since and are named, not overwritten."""
    data = info.get("triage") or {}
    seq_ids: list[str] = data.get("sequences", [])
    obs_ids: list[str] = data.get("observations", [])
    at = as_utc(datetime.fromisoformat(data["reviewed_at"])) if data.get("reviewed_at") else None
    befores = data.get("before", {})
    obs_of = dict(zip(seq_ids, obs_ids))
    restorable, not_restored = [], []
    for part in _chunks(seq_ids):
        seqs = {s.id: s for s in session.exec(select(Sequence).where(Sequence.id.in_(part)))}
        labels: dict[str, list[str]] = {}
        for oid, sid in session.exec(select(Observation.id, Observation.sequence_id).where(
                Observation.sequence_id.in_(part), Observation.classification_method == "human")):
            labels.setdefault(sid, []).append(oid)
        for sid in part:
            seq = seqs.get(sid)
            if seq is None:
                not_restored.append({"sequence_id": sid, "reason": "the sequence no longer exists"})
            elif (seq.review_status != "blank" or seq.reviewed_by != user.username
                  or as_utc(seq.reviewed_at) != at or labels.get(sid) != [obs_of[sid]]):
                who = seq.reviewed_by or "someone"
                not_restored.append({"sequence_id": sid, "reason": f"reviewed since by {who}",
                                     "review_status": seq.review_status})
            else:
                restorable.append(sid)
    conn = session.connection()
    t = Sequence.__table__
    plain = [sid for sid in restorable if sid not in befores]
    for part in _chunks(plain):
        conn.execute(update(t).where(t.c.id.in_(part)).values(review_status="unreviewed", reviewed_by=None,
                                                               reviewed_at=None))
    earlier = [{"sid": sid, "by": befores[sid][0],
                "at": datetime.fromisoformat(befores[sid][1]) if befores[sid][1] else None}
               for sid in restorable if sid in befores]
    if earlier:
        conn.execute(update(t).where(t.c.id == bindparam("sid")).values(
            review_status="unreviewed", reviewed_by=bindparam("by"), reviewed_at=bindparam("at")), earlier)
    for part in _chunks([obs_of[sid] for sid in restorable]):
        conn.execute(delete(Observation.__table__).where(Observation.__table__.c.id.in_(part)))
    audit.record(session, "undo", "review_action", entry.entity_id, area_id=entry.area_id,
                 after={"kind": KIND, "sequence_id": None, "restored": len(restorable),
                        "not_restored": not_restored[:1000], "not_restored_count": len(not_restored)})
    session.commit()
    return {"action_id": entry.entity_id, "kind": KIND, "sequence_id": None, "restored": len(restorable),
            "not_restored": not_restored[:200], "not_restored_count": len(not_restored)}
