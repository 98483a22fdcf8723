"""The patrol and walk summary (SMART-like, issue 14 item 5); stdlib only, tested headless.

On stop the app adds to the walk what a patrol report needs: distance, walking
time (pauses excluded) and the walk's records by type (observations by sign type,
threats by threat type). The team roster, patrol type, start and end were entered
or set earlier. Only fields the walk's protocol version has are added, so a walk
recorded under line_transect 1.0 (an older server's definition) stays valid.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime

# Summary fields computed on stop (line_transect 1.1).
COMPUTED = ("distance_m", "walking_time_min", "record_counts")


def record_counts(store, walk_id: str) -> list[dict]:
    """[{"record": "observation"|"threat", "type": sign or threat type, "count": n}], most frequent first."""
    counts: Counter = Counter()
    for entity, key in (("observation", "sign_type"), ("threat", "threat_type")):
        for rec in store.records(entity, walk_id=walk_id):
            counts[(entity, rec["data"].get(key) or rec["record_type"])] += 1
    ordered = sorted(counts.items(), key=lambda kv: (kv[0][0] != "observation", -kv[1], kv[0][1]))
    return [{"record": entity, "type": kind, "count": n} for (entity, kind), n in ordered]


def walking_seconds(walk: dict, end_iso: str | None = None) -> float:
    """Seconds walked from the start to ``end_iso`` (the end time being recorded), pauses excluded.

    Without ``end_iso``: the store's live figure. With it, the same sum as the store
    makes once the walk has ended at that time, so the summary agrees with the walk.
    """
    if not end_iso:
        return float(walk.get("walking_s") or 0.0)
    start = datetime.fromisoformat(walk["started_at"]).timestamp()
    end = datetime.fromisoformat(end_iso).timestamp()
    paused = float(walk.get("paused_total_s") or 0.0)
    if walk.get("paused_at"):
        paused += max(0.0, end - walk["paused_at"])
    return max(0.0, end - start - paused)


def computed_summary(store, walk: dict, field_names, end_iso: str | None = None) -> dict:
    """The summary fields of ``walk`` (from ``store.get_walk``) that the protocol's ``field_names`` include.

    ``end_iso``: the end time about to be recorded (walking time up to then).
    """
    values = {
        "distance_m": round(float(walk.get("distance_m") or 0.0), 1),
        "walking_time_min": round(walking_seconds(walk, end_iso) / 60.0, 1),
        "record_counts": record_counts(store, walk["id"]),
    }
    names = set(field_names)
    return {k: v for k, v in values.items() if k in names and v != []}


def duration_text(minutes: float | None) -> str:
    """"2 h 05 min" style, language-neutral."""
    if minutes is None:
        return "—"
    m = int(round(minutes))
    return f"{m // 60} h {m % 60:02d} min" if m >= 60 else f"{m} min"


def local_time(iso: str | None) -> str:
    """The wall-clock time of an ISO date-time as recorded ("07:05"), or "—"."""
    if not iso:
        return "—"
    try:
        return datetime.fromisoformat(iso).strftime("%H:%M")
    except ValueError:
        return str(iso)
