"""Sequences (bursts / events): consecutive media of a deployment closer than the gap.

Two media of one deployment belong to the same sequence when the time between
them (ordered by corrected capture time) is less than the program's
``sequence_gap_s``. When the camera numbered its bursts itself (Reconyx maker
notes: "3 of 10", event number; see :mod:`server.ingest.makernotes`), the
camera's numbers decide for two consecutive photos that both carry them: the
next photo of the same burst stays in the sequence even after a long pause, and
photo 1 of a new burst starts a new sequence even within the gap. Resequencing is idempotent and keeps the ids (and review
status) of sequences whose members did not change, so running it after every
ingest, clock-offset change or gap change is safe.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Iterable, Optional

from sqlalchemy import bindparam, delete, insert, update
from sqlmodel import Session, select

from ..models import Deployment, Media, Program, Sequence, new_id
from ..timeutil import as_utc


def group_times(times: Iterable[datetime], gap_s: float) -> list[int]:
    """Group index of each time in an ascending list: a new group starts at a gap of ``gap_s`` or more."""
    out: list[int] = []
    prev: Optional[datetime] = None
    g = -1
    for t in times:
        if prev is None or (t - prev).total_seconds() >= gap_s:
            g += 1
        out.append(g)
        prev = t
    return out


# A burst the camera numbered never spans more than this (a counter reset is not one burst).
MAX_BURST_SPAN_S = 3600


def same_burst(a: Optional[dict], b: Optional[dict], seconds: float) -> Optional[bool]:
    """Whether the camera says photo ``b`` continues ``a``'s burst (None: it does not say).

    ``a`` and ``b`` are ``Media.meta["camera"]`` dicts; ``seconds`` the time between them.
    """
    if not isinstance(a, dict) or not isinstance(b, dict):
        return None
    ia, na, ib, nb = (a.get("sequence_index"), a.get("sequence_count"), b.get("sequence_index"),
                      b.get("sequence_count"))
    if not all(isinstance(v, int) for v in (ia, na, ib, nb)):
        return None
    if seconds >= MAX_BURST_SPAN_S:
        return False
    ea, eb = a.get("event_number"), b.get("event_number")
    if ea is not None and eb is not None:
        return ea == eb  # photos of one second may come in any order: the event number decides
    return ib > ia and nb == na


def group_media(times: list[datetime], bursts: list[Optional[dict]], gap_s: float) -> list[int]:
    """Group index of each medium (ascending times): the camera's burst numbers where both
    neighbours have them (:func:`same_burst`), else a new group at a gap of ``gap_s`` or more."""
    out: list[int] = []
    g = -1
    for i, t in enumerate(times):
        if i == 0:
            g += 1
        else:
            seconds = (t - times[i - 1]).total_seconds()
            verdict = same_burst(bursts[i - 1], bursts[i], seconds)
            if verdict is None:
                verdict = seconds < gap_s
            if not verdict:
                g += 1
        out.append(g)
    return out


def resequence(session: Session, deployment_id: str, gap_s: Optional[int] = None) -> int:
    """Recompute the sequences of one deployment in ``session``; returns how many there are."""
    if gap_s is None:
        dep = session.get(Deployment, deployment_id)
        program = session.get(Program, dep.program_id) if dep else None
        gap_s = program.sequence_gap_s if program else 60
    # Only the "camera" part of the metadata (the maker's burst numbers), not the whole EXIF set.
    camera = Media.__table__.c.meta["camera"]
    rows = session.exec(select(Media.id, Media.captured_at, Media.sequence_id, camera)
                        .where(Media.deployment_id == deployment_id, Media.captured_at.is_not(None))
                        .order_by(Media.captured_at, Media.file_path, Media.id)).all()
    existing = {s.id: s for s in session.exec(select(Sequence).where(Sequence.deployment_id == deployment_id))}
    groups: list[list[tuple[str, datetime, Optional[str]]]] = []
    for (mid, t, sid, _), g in zip(rows, group_media([as_utc(r[1]) for r in rows], [r[3] for r in rows], gap_s)):
        if g == len(groups):
            groups.append([])
        groups[g].append((mid, as_utc(t), sid))
    used: set[str] = set()
    changes: list[dict] = []
    new_rows: list[dict] = []
    for members in groups:
        # Keep the id most members already had, so reviews stay attached to unchanged events.
        votes = Counter(sid for _, _, sid in members if sid in existing and sid not in used)
        sid = votes.most_common(1)[0][0] if votes else None
        start, end = members[0][1], members[-1][1]
        if sid is None:
            # Plain rows, inserted in one statement (thousands of events on a big card).
            sid = new_id()
            new_rows.append({"id": sid, "deployment_id": deployment_id, "event_start": start, "event_end": end,
                             "media_count": len(members), "review_status": "unreviewed", "reviewed_by": None,
                             "reviewed_at": None})
        else:
            seq = existing[sid]
            if (as_utc(seq.event_start), as_utc(seq.event_end), seq.media_count) != (start, end, len(members)):
                seq.event_start, seq.event_end, seq.media_count = start, end, len(members)
                session.add(seq)
        used.add(sid)
        changes.extend({"mid": mid, "sid": sid} for mid, _, old in members if old != sid)
    session.flush()
    if new_rows:
        session.connection().execute(insert(Sequence.__table__), new_rows)
    if changes:
        stmt = update(Media.__table__).where(Media.__table__.c.id == bindparam("mid")).values(
            sequence_id=bindparam("sid"))
        session.connection().execute(stmt, changes)
    # Media that lost their time (or moved away) leave their sequence.
    session.connection().execute(update(Media.__table__).where(
        Media.__table__.c.deployment_id == deployment_id, Media.__table__.c.captured_at.is_(None),
        Media.__table__.c.sequence_id.is_not(None)).values(sequence_id=None))
    stale = [sid for sid in existing if sid not in used]
    if stale:
        session.connection().execute(update(Media.__table__).where(
            Media.__table__.c.sequence_id.in_(stale)).values(sequence_id=None))
        session.connection().execute(delete(Sequence.__table__).where(Sequence.__table__.c.id.in_(stale)))
    return len(groups)
