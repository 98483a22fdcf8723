"""From the camera's clock to true UTC, reversibly.

``Media.captured_at_raw`` keeps the time exactly as the device wrote it (naive
local clock time). The stored ``captured_at`` is derived from it with the
deployment's clock offset (seconds added to the device clock) and time zone
(or the UTC offset the file itself states, e.g. EXIF OffsetTimeOriginal), so
changing either on the deployment recomputes every time from the raw value:
see :func:`server.ingest.jobs.retime`.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional

from ..timeutil import as_utc, zone

# Cameras whose battery died restart at 1970-01-01 or 2000-01-01 (or their own
# firmware date); no real camera-trap photo predates this.
CLOCK_RESET_BEFORE = datetime(2005, 1, 1)
FUTURE_SLACK = timedelta(days=2)


def correct_time(raw: Optional[datetime], tz: str, clock_offset_s: int = 0,
                 file_offset_min: Optional[int] = None) -> tuple[Optional[datetime], Optional[int]]:
    """(aware UTC time, UTC offset in minutes of the local time) for a raw device time.

    ``file_offset_min`` (the offset the file states) wins over ``tz``; the clock
    offset is applied first, to the device's own clock.
    """
    if raw is None:
        return None, None
    local = raw + timedelta(seconds=clock_offset_s)
    if file_offset_min is not None:
        offset = file_offset_min
    else:
        utcoff = local.replace(tzinfo=zone(tz)).utcoffset()
        offset = int(utcoff.total_seconds() // 60) if utcoff is not None else 0
    return (local - timedelta(minutes=offset)).replace(tzinfo=timezone.utc), offset


def time_flags(raw: Optional[datetime], captured_at: Optional[datetime], now: Optional[datetime] = None) -> list[str]:
    """Flags about the time itself: no_timestamp, clock_reset, future_time."""
    if raw is None:
        return ["no_timestamp"]
    if raw < CLOCK_RESET_BEFORE:
        return ["clock_reset"]
    now = now or datetime.now(timezone.utc)
    if captured_at is not None and captured_at > now + FUTURE_SLACK:
        return ["future_time"]
    return []


def in_window(t: Optional[datetime], start: Optional[datetime], end: Optional[datetime]) -> bool:
    """Whether ``t`` lies in the deployment window [start, end] (an open end is open)."""
    if t is None:
        return False
    t, start, end = as_utc(t), as_utc(start), as_utc(end)
    return (start is None or t >= start) and (end is None or t <= end)


#: A gap this long splits a camera's photos into separate runs (a deployment has no such hole).
OUTLIER_GAP = timedelta(days=60)
#: A run of photos far from the rest is a stray timestamp when it holds at most this share of the photos
#: (or at most :data:`OUTLIER_FEW` photos) and the deployment's run is several times larger.
OUTLIER_SHARE = 0.05
OUTLIER_FEW = 2


def photo_window(times: list[datetime]) -> tuple[Optional[datetime], Optional[datetime], list[datetime]]:
    """(start, end, outliers) of a deployment window made from its photos' times.

    The times are split where two consecutive photos are more than :data:`OUTLIER_GAP` apart;
    the run with the most photos is the deployment, and runs holding at most
    :data:`OUTLIER_SHARE` of the photos (or :data:`OUTLIER_FEW`), with the deployment's run at
    least three times larger, are clear outliers (a card's stray file dated years
    away, a clock set wrong for one burst): left out of the window and returned, so they can
    be flagged. When the other runs are larger than that, nothing is called an outlier and the
    window spans every photo.
    """
    ordered = sorted(times)
    if not ordered:
        return None, None, []
    runs: list[list[datetime]] = [[ordered[0]]]
    for prev, cur in zip(ordered, ordered[1:]):
        if cur - prev > OUTLIER_GAP:
            runs.append([])
        runs[-1].append(cur)
    main = max(runs, key=len)
    others = [r for r in runs if r is not main]
    if not others or any(len(r) > max(OUTLIER_FEW, OUTLIER_SHARE * len(ordered)) or len(main) < 3 * len(r)
                         for r in others):
        return ordered[0], ordered[-1], []
    return main[0], main[-1], [t for r in others for t in r]
