"""Operating intervals of a camera trap or recorder from its field visits (trapping effort).

A device is assumed to work from deployment until a visit finds it broken.
If the visit records the time of the last image (or recording), the device
worked until then; otherwise nobody knows when it stopped, so the whole time
since the previous visit counts as malfunction: effort is never overstated.
"""
from __future__ import annotations

from .validation import parse_datetime


def _when(visit: dict):
    return parse_datetime(visit.get("visit_time") or visit.get("end_time"))


def _working(visit: dict) -> bool:
    return bool(visit.get("camera_working", visit.get("recorder_working", True)))


def operating_intervals(deployment: dict, visits: list[dict]) -> list[dict]:
    """Intervals {start, end, status: operating|malfunction, reason} in time order.

    ``deployment`` is a deployment record (start_time); ``visits`` are its
    service and retrieval records in any order. Nothing after a retrieval
    counts. Raises ValueError naming the record when a time is missing.
    """
    start = parse_datetime(deployment.get("start_time"))
    if start is None:
        raise ValueError("deployment start_time is missing or not an ISO date-time with offset")
    dated = []
    for i, v in enumerate(visits):
        t = _when(v)
        if t is None:
            raise ValueError(f"visit {i + 1} ({v.get('record_type', 'visit')}) has no valid visit_time/end_time")
        dated.append((t, i, v))
    dated.sort(key=lambda x: (x[0], x[1]))

    intervals: list[dict] = []

    def add(a, b, status, reason=None):
        if b <= a:
            return
        if intervals and intervals[-1]["status"] == status == "operating" and intervals[-1]["_end"] == a:
            intervals[-1]["_end"] = b
            return
        intervals.append({"_start": a, "_end": b, "status": status, "reason": reason})

    cursor = start
    for t, _, v in dated:
        if t < cursor:
            continue  # a visit before the deployment started is a data-entry slip; ignore it
        if _working(v):
            add(cursor, t, "operating")
        else:
            last = parse_datetime(v.get("last_image_time") or v.get("last_recording_time"))
            stop = last if last is not None and cursor <= last <= t else cursor
            add(cursor, stop, "operating")
            reason = v.get("malfunction") or "unknown"
            if v.get("malfunction_notes"):
                reason = f"{reason}: {v['malfunction_notes']}"
            add(stop, t, "malfunction", reason)
        cursor = t
        if v.get("record_type") == "retrieval" or "end_time" in v:
            break
    return [
        {"start": i["_start"].isoformat(), "end": i["_end"].isoformat(), "status": i["status"], "reason": i["reason"]}
        for i in intervals
    ]
