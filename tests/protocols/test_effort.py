"""Operating intervals (trapping effort) from camera-trap and recorder visits."""
from __future__ import annotations

import pytest

from protocols import operating_intervals

DEP = {"start_time": "2026-02-01T10:00:00+07:00"}


def span(i):
    return i["start"], i["end"], i["status"]


def test_working_all_along():
    visits = [{"record_type": "service", "visit_time": "2026-02-15T10:00:00+07:00", "camera_working": True},
              {"record_type": "retrieval", "end_time": "2026-03-01T10:00:00+07:00", "camera_working": True}]
    assert [span(i) for i in operating_intervals(DEP, visits)] == [
        ("2026-02-01T10:00:00+07:00", "2026-03-01T10:00:00+07:00", "operating")]


def test_malfunction_from_last_image_until_the_visit_then_operating_again():
    visits = [
        {"record_type": "retrieval", "end_time": "2026-03-01T10:00:00+07:00", "camera_working": True},
        {"record_type": "service", "visit_time": "2026-02-15T10:00:00+07:00", "camera_working": False,
         "malfunction": "battery_empty", "malfunction_notes": "Hết pin",
         "last_image_time": "2026-02-10T03:00:00+07:00"},
    ]  # any order
    got = operating_intervals(DEP, visits)
    assert [span(i) for i in got] == [
        ("2026-02-01T10:00:00+07:00", "2026-02-10T03:00:00+07:00", "operating"),
        ("2026-02-10T03:00:00+07:00", "2026-02-15T10:00:00+07:00", "malfunction"),
        ("2026-02-15T10:00:00+07:00", "2026-03-01T10:00:00+07:00", "operating"),
    ]
    assert got[1]["reason"] == "battery_empty: Hết pin"


def test_unknown_stop_time_counts_the_whole_period_as_malfunction():
    visits = [{"record_type": "service", "visit_time": "2026-02-10T10:00:00+07:00", "camera_working": True},
              {"record_type": "retrieval", "end_time": "2026-02-20T10:00:00+07:00", "camera_working": False}]
    got = operating_intervals(DEP, visits)
    assert [i["status"] for i in got] == ["operating", "malfunction"]
    assert got[1]["start"] == "2026-02-10T10:00:00+07:00" and got[1]["reason"] == "unknown"


def test_recorder_retrieval_and_nothing_after_retrieval():
    visits = [{"record_type": "retrieval", "end_time": "2026-02-20T10:00:00+07:00", "recorder_working": False,
               "malfunction": "water_damage", "last_recording_time": "2026-02-18T05:00:00+07:00"},
              {"record_type": "service", "visit_time": "2026-03-20T10:00:00+07:00", "camera_working": True}]
    got = operating_intervals(DEP, visits)
    assert [span(i)[2] for i in got] == ["operating", "malfunction"]
    assert got[-1]["end"] == "2026-02-20T10:00:00+07:00"


def test_bad_times_are_named():
    with pytest.raises(ValueError, match="deployment start_time"):
        operating_intervals({}, [])
    with pytest.raises(ValueError, match="visit 1 \\(service\\) has no valid visit_time"):
        operating_intervals(DEP, [{"record_type": "service", "visit_time": "yesterday"}])
