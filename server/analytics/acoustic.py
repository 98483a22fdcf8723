"""Acoustic summaries: daily trends of acoustic indices, and sound detections per hour of the day."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Iterable

INDICES = ("aci", "adi", "aei", "bi", "ndsi", "h")


def index_trends(minutes: Iterable[tuple[str, datetime, dict]], period: str = "day") -> list[dict]:
    """Mean of each index per station and day (or ``'hour'`` of the day, pooled over days)."""
    if period not in ("day", "hour"):
        raise ValueError(f"period must be 'day' or 'hour', got {period!r}")
    sums: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for station, t, values in minutes:
        key = (station, t.date().isoformat() if period == "day" else t.hour)
        for k, v in values.items():
            if v is not None:
                sums[key][k].append(v)
    out = []
    for (station, when), vals in sorted(sums.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        row = {"station": station, period: when, "minutes": max((len(v) for v in vals.values()), default=0)}
        for k in INDICES:
            row[k] = round(sum(vals[k]) / len(vals[k]), 6) if vals.get(k) else None
        out.append(row)
    return out


def detections_per_hour(detections: Iterable[tuple[str, datetime, str]], label: str | None = None) -> list[dict]:
    """Number of detections per label and hour of the day (0-23), local time."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * 24)
    for _station, t, lab in detections:
        if label is None or lab == label:
            counts[lab][t.hour] += 1
    return [{"label": lab, "hour": h, "detections": c} for lab in sorted(counts) for h, c in enumerate(counts[lab])]
