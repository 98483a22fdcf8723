"""The clock-correction tool (as Timelapse has it): a photo, the true time it shows, the offset.

A camera set to the wrong time (a reset battery, the wrong year, summer time) writes every
photo with the same error. Whoever corrects it picks a photo whose true time they know (a
photo of a watch or a phone taken at set-up, a known event) and types that time;
:func:`preview` says the offset (true time minus the camera's clock reading) and what it
would do to the deployment's sequences; :func:`apply` stores it on the deployment and queues
the ``retime`` job, which recomputes every time from the raw camera readings
(server/ingest/jobs.py), so nothing is lost: :func:`undo` puts the previous offset back the
same way. Each correction is kept in ``Deployment.settings["clock_corrections"]`` (who,
when, which photo, from which offset to which) and audited.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import func
from sqlmodel import Session, select

from ..bounds import MAX_CLOCK_OFFSET_S
from ..errors import ValidationError
from ..ingest.jobs import FILE_STATED_OFFSET
from ..ingest.timefix import correct_time, in_window
from ..models import Deployment, Job, Media, Sequence, User, utcnow
from ..timeutil import format_local, format_raw
from . import crud

#: The largest correction the tool accepts (the API's clock_offset_s bound).
MAX_OFFSET_S = MAX_CLOCK_OFFSET_S
#: Sequences listed in a preview (the first ones in time); the counts cover all of them.
PREVIEW_ROWS = 200
HISTORY = "clock_corrections"


def _photo(s: Session, dep: Deployment, media_id: str) -> Media:
    m = s.get(Media, media_id)
    if m is None or m.deployment_id != dep.id:
        raise ValidationError("choose a photo of this deployment", details=[{"field": "media_id",
                                                                             "message": "not in this deployment"}])
    if m.captured_at_raw is None:
        raise ValidationError(f"{m.file_name} has no camera time: choose another photo",
                              details=[{"field": "media_id", "message": "no camera time"}])
    return m


def offset_for(s: Session, dep: Deployment, media_id: str, true_time: datetime) -> tuple[Media, int]:
    """(the photo, the clock offset in seconds) that makes ``media_id`` show ``true_time`` (naive,
    the deployment's local time)."""
    m = _photo(s, dep, media_id)
    if true_time.tzinfo is not None:
        true_time = true_time.replace(tzinfo=None)
    offset = round((true_time - m.captured_at_raw.replace(tzinfo=None)).total_seconds())
    if abs(offset) > MAX_OFFSET_S:
        raise ValidationError("the true time is more than 60 years from the camera's time: check the date",
                              details=[{"field": "true_time", "message": "too far"}])
    return m, offset


def describe_offset(seconds: int) -> dict[str, int]:
    """An offset split for people: sign, days, hours, minutes, seconds."""
    sign = -1 if seconds < 0 else 1
    d, rest = divmod(abs(seconds), 86400)
    h, rest = divmod(rest, 3600)
    mi, sec = divmod(rest, 60)
    return {"sign": sign, "days": d, "hours": h, "minutes": mi, "seconds": sec}


def preview(s: Session, dep: Deployment, media_id: str, true_time: datetime) -> dict[str, Any]:
    """What applying the offset would do: the offset, the photo's time before and after, and each
    sequence's local start and end now and after (the first :data:`PREVIEW_ROWS`), how many
    media would fall outside the deployment window."""
    m, offset = offset_for(s, dep, media_id, true_time)
    tz = dep.timezone or "UTC"

    def new_time(raw: Optional[datetime], source: Optional[str], file_off: Optional[int]) -> Optional[datetime]:
        return correct_time(raw, tz, offset, file_off if source in FILE_STATED_OFFSET else None)[0]

    photo_after = new_time(m.captured_at_raw, m.timestamp_source, m.utc_offset_min)
    # Each sequence's first and last camera reading (retime keeps the order within a deployment).
    rows = s.exec(select(Sequence.id, Sequence.event_start, Sequence.event_end, Sequence.media_count,
                         func.min(Media.captured_at_raw), func.max(Media.captured_at_raw))  # type: ignore[call-overload]
                  .join(Media, Media.sequence_id == Sequence.id)
                  .where(Sequence.deployment_id == dep.id)
                  .group_by(Sequence.id, Sequence.event_start, Sequence.event_end, Sequence.media_count)
                  .order_by(Sequence.event_start).limit(PREVIEW_ROWS)).all()
    seqs = []
    for sid, start, end, count, raw0, raw1 in rows:
        src = (None, None)  # sequences of a camera read with its zone (a file's own offset is shown per photo)
        seqs.append({"id": sid, "media": count, "start": format_local(start, tz), "end": format_local(end, tz),
                     "new_start": format_local(new_time(raw0, *src), tz),
                     "new_end": format_local(new_time(raw1, *src), tz)})
    outside = 0
    total = 0
    for raw, source, file_off in s.exec(select(Media.captured_at_raw, Media.timestamp_source, Media.utc_offset_min)
                                        .where(Media.deployment_id == dep.id, Media.captured_at_raw.is_not(None))):
        total += 1
        if not in_window(new_time(raw, source, file_off), dep.deployment_start, dep.deployment_end):
            outside += 1
    n_seq = s.exec(select(func.count()).select_from(Sequence).where(Sequence.deployment_id == dep.id)).one()
    return {"media_id": m.id, "file_name": m.file_name, "camera_time": format_raw(m.captured_at_raw),
            "current_offset_s": dep.clock_offset_s or 0, "offset_s": offset, "offset": describe_offset(offset),
            "change_s": offset - (dep.clock_offset_s or 0),
            "photo_now": format_local(m.captured_at, tz), "photo_after": format_local(photo_after, tz),
            "sequences": seqs, "sequences_total": n_seq, "media_total": total, "outside_window_after": outside}


def history(dep: Deployment) -> list[dict[str, Any]]:
    """The deployment's clock corrections, oldest first."""
    settings = dep.settings if isinstance(dep.settings, dict) else {}
    return list(settings.get(HISTORY) or [])


def _set_offset(s: Session, dep: Deployment, area_id: str, new: int, entry: dict[str, Any],
                user: User, hist: list[dict[str, Any]]) -> Job:
    from ..jobs import enqueue

    settings = dict(dep.settings) if isinstance(dep.settings, dict) else {}
    settings[HISTORY] = hist + [entry]
    old = dep.clock_offset_s or 0
    crud.update(s, dep, {"clock_offset_s": new, "settings": settings}, area_id, commit=False)
    job = enqueue(s, "retime", {"deployment_id": dep.id, "clock_offset_s": new, "previous_offset_s": old},
                  area_id=area_id, created_by=user.id, commit=False)
    s.flush()
    return job


def apply(s: Session, dep: Deployment, area_id: str, user: User, media_id: str, true_time: datetime) -> Job:
    """Store the offset that makes the photo show ``true_time`` and queue the retime job (in this
    transaction: commit, then dispatch the job)."""
    m, offset = offset_for(s, dep, media_id, true_time)
    entry = {"at": utcnow().isoformat(timespec="seconds"), "by": user.username, "media_id": m.id,
             "file_name": m.file_name, "camera_time": format_raw(m.captured_at_raw),
             "true_time": true_time.replace(tzinfo=None).isoformat(sep=" ", timespec="seconds"),
             "from_s": dep.clock_offset_s or 0, "to_s": offset, "action": "correct"}
    return _set_offset(s, dep, area_id, offset, entry, user, history(dep))


def undo(s: Session, dep: Deployment, area_id: str, user: User) -> Job:
    """Put back the offset the last correction replaced (itself recorded, so it can be redone)."""
    hist = history(dep)
    idx = next((i for i in range(len(hist) - 1, -1, -1)
                if hist[i].get("action") == "correct" and not hist[i].get("undone")), None)
    if idx is None:
        raise ValidationError("there is no clock correction to undo")
    last = hist[idx]
    hist[idx] = {**last, "undone": True}
    entry = {"at": utcnow().isoformat(timespec="seconds"), "by": user.username, "from_s": dep.clock_offset_s or 0,
             "to_s": last["from_s"], "action": "undo", "file_name": last.get("file_name")}
    return _set_offset(s, dep, area_id, int(last["from_s"]), entry, user, hist)


def parse_true_time(text: str) -> datetime:
    """The typed true time: ``YYYY-MM-DD HH:MM[:SS]`` or the browser's ``YYYY-MM-DDTHH:MM[:SS]``."""
    value = (text or "").strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            t = datetime.strptime(value, fmt)
        except ValueError:
            continue
        if t.year < 1990 or t > datetime.now() + timedelta(days=2):
            raise ValidationError("the true time must lie between 1990 and today",
                                  details=[{"field": "true_time", "message": "out of range"}])
        return t
    raise ValidationError("enter the true time as YYYY-MM-DD HH:MM:SS",
                          details=[{"field": "true_time", "message": "bad format"}])
