"""Line-transect and acoustic summaries on hand-computed cases (no database)."""
from __future__ import annotations

from datetime import datetime

import pytest

from server.analytics.acoustic import detections_per_hour, index_trends
from server.analytics.loaders import Sighting, Walk
from server.analytics.transect import distance_histogram, effort, encounter_rates

WALKS = [Walk("w1", "T1", datetime(2026, 1, 1, 6), 2.0), Walk("w2", "T1", datetime(2026, 1, 8, 6), 1.5),
         Walk("w3", "T2", datetime(2026, 1, 9, 6), 0.5)]
SIGHTINGS = [Sighting("w1", "Sus scrofa", 3, 12.0, None), Sighting("w2", "Sus scrofa", None, 0.0, None),
             Sighting("w3", "Sus scrofa", 1, None, "dung"), Sighting("w1", "Macaca", 5, 25.0, None)]


def test_effort_and_encounter_rates():
    assert effort(WALKS) == [{"transect": "T1", "walks": 2, "km": 3.5}, {"transect": "T2", "walks": 1, "km": 0.5}]
    rates = {r["species"]: r for r in encounter_rates(WALKS, SIGHTINGS)}
    assert rates["Sus scrofa"] == {"species": "Sus scrofa", "encounters": 3, "individuals": 5, "km": 4.0,
                                   "encounters_per_km": 0.75, "individuals_per_km": 1.25}
    direct = {r["species"]: r["encounters"] for r in encounter_rates(WALKS, SIGHTINGS, signs=False)}
    assert direct == {"Macaca": 1, "Sus scrofa": 2}
    assert encounter_rates([], SIGHTINGS)[0]["encounters_per_km"] is None  # no effort: no rate


def test_distance_histogram_bins_and_truncation():
    assert distance_histogram(SIGHTINGS, 10) == [{"from_m": 0.0, "to_m": 10.0, "count": 1},
                                                 {"from_m": 10.0, "to_m": 20.0, "count": 1},
                                                 {"from_m": 20.0, "to_m": 30.0, "count": 1}]
    assert [b["count"] for b in distance_histogram(SIGHTINGS, 10, truncation_m=20)] == [1, 1]
    assert [b["count"] for b in distance_histogram(SIGHTINGS, 5, species="Sus scrofa")] == [1, 0, 1]
    with pytest.raises(ValueError, match="bin width"):
        distance_histogram(SIGHTINGS, 0)


def test_index_trends_and_detections_per_hour():
    minutes = [("A", datetime(2026, 1, 1, 5, m), {"aci": 100.0 + m, "ndsi": 0.5, "h": None}) for m in range(3)]
    minutes.append(("A", datetime(2026, 1, 2, 5, 0), {"aci": 90.0}))
    rows = index_trends(minutes)
    assert [(r["day"], r["minutes"], r["aci"], r["ndsi"], r["h"]) for r in rows] == [
        ("2026-01-01", 3, 101.0, 0.5, None), ("2026-01-02", 1, 90.0, None, None)]
    assert [r["aci"] for r in index_trends(minutes, "hour")] == [98.25]
    dets = [("A", datetime(2026, 1, 1, 5, 10), "gunshot"), ("A", datetime(2026, 1, 2, 5, 50), "gunshot"),
            ("B", datetime(2026, 1, 1, 23, 59), "Polyplectron germaini")]
    per_hour = {(r["label"], r["hour"]): r["detections"] for r in detections_per_hour(dets)}
    assert per_hour[("gunshot", 5)] == 2 and per_hour[("Polyplectron germaini", 23)] == 1
    assert sum(per_hour.values()) == 3 and len(per_hour) == 48
    with pytest.raises(ValueError, match="period"):
        index_trends(minutes, "week")
