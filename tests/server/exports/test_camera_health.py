"""Camera health checks (issue 15, item 6), each on a synthetic deployment with that one fault; a
healthy deployment and a quiet one give no findings."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from server.analytics.health import DeploymentShots, Shot, check_deployment, summary

SETUP = datetime(2026, 3, 1, 8, 0)
RETRIEVAL = datetime(2026, 3, 31, 8, 0)
NOW = datetime(2026, 6, 1)
HOURS = (1, 5, 9, 13, 17, 22)  # six events a day, two of them at night


def healthy(days: int = 30, hours=HOURS, blank=False) -> list[Shot]:
    shots = []
    for d in range(days):
        for h in hours:
            t = datetime(2026, 3, 1) + timedelta(days=d, hours=h)
            if SETUP < t < RETRIEVAL:
                for k in range(3):  # a burst of three
                    shots.append(Shot(t + timedelta(seconds=2 * k), order=""))
    return [replace(s, raw=s.time, order=f"DCIM/IMG_{i:05d}.JPG", blank=blank) for i, s in enumerate(shots)]


def dep(shots, setup=SETUP, retrieval=RETRIEVAL) -> DeploymentShots:
    return DeploymentShots("d1", "S01", setup, retrieval, shots, NOW)


def checks(shots, **kw) -> dict:
    return {f.check: f for f in check_deployment(dep(shots, **kw), malfunctions=kw.pop("malfunctions", ()))}


def test_healthy_and_quiet_deployments_have_no_findings():
    assert check_deployment(dep(healthy())) == []
    # one event every three days and a ten-day silence: the station's rate explains it
    quiet = [s for s in healthy(hours=(9,)) if (s.time.day % 3 == 0 and not 10 <= s.time.day < 20)]
    assert check_deployment(dep(quiet)) == []


def test_clock_reset_before_2010():
    shots = healthy()
    bad = {i for i, s in enumerate(shots) if datetime(2026, 3, 10) <= s.time < datetime(2026, 3, 12)}
    reset = datetime(2000, 1, 1)
    shots = [replace(s, raw=reset + timedelta(minutes=i), time=reset + timedelta(minutes=i), flags=("clock_reset",))
             if i in bad else s for i, s in enumerate(shots)]
    f = checks(shots)["clock_before_2010"]
    assert f.category == "clock" and f.count == len(bad)
    # the effort between the last good photo before and the first good one after is unknown
    assert f.intervals == [(datetime(2026, 3, 9, 22, 0, 4), datetime(2026, 3, 12, 1, 0))]


def test_clock_in_the_future():
    shots = healthy()
    shots[-3:] = [replace(s, time=datetime(2031, 1, 1) + timedelta(seconds=i), raw=datetime(2031, 1, 1))
                  for i, s in enumerate(shots[-3:])]
    f = checks(shots)["clock_future"]
    assert f.count == 3 and f.intervals[0][1] == RETRIEVAL


def test_clock_running_backwards():
    shots = healthy()
    # from file 300 on the camera's clock was set back five days
    shots = [replace(s, time=s.time - timedelta(days=5)) if i >= 300 else s for i, s in enumerate(shots)]
    f = checks(shots)["clock_backwards"]
    assert f.count == 1 and f.details["worst_hours"] == 117.0
    assert f.intervals == [(shots[300].time, shots[299].time)]


def test_dead_battery_or_full_card():
    shots = [s for s in healthy() if s.time < datetime(2026, 3, 21)]
    found = checks(shots)
    f = found["stopped_early"]
    assert f.category == "battery_or_card" and set(found) == {"stopped_early"}
    assert f.intervals == [(datetime(2026, 3, 20, 22, 0, 4), RETRIEVAL)]
    assert "last 10.4 days" in f.message


def test_knocked_over_long_silence():
    shots = [s for s in healthy() if not datetime(2026, 3, 10) <= s.time < datetime(2026, 3, 16)]
    found = checks(shots)
    assert set(found) == {"long_gap"}
    assert found["long_gap"].intervals == [(datetime(2026, 3, 9, 22, 0, 4), datetime(2026, 3, 16, 1, 0))]
    # once recorded as a malfunction, the finding says so
    again = check_deployment(dep(shots), malfunctions=[(datetime(2026, 3, 9, 22), datetime(2026, 3, 16, 1))])
    assert [f.recorded for f in again] == [True] and not found["long_gap"].recorded


def test_covered_run_of_blank_frames():
    shots = [replace(s, blank=datetime(2026, 3, 10) <= s.time < datetime(2026, 3, 13)) for s in healthy()]
    found = checks(shots)
    assert set(found) == {"blank_run"}
    assert found["blank_run"].count == 54 and found["blank_run"].category == "knocked_or_covered"


def test_false_triggers_busy_days_and_mostly_blank():
    shots = healthy()
    day5 = [Shot(datetime(2026, 3, 5, 11) + timedelta(seconds=20 * i), order=f"DCIM/B{i:05d}.JPG", blank=True)
            for i in range(400)]
    found = checks(shots + day5)
    assert found["false_triggers"].intervals == [(datetime(2026, 3, 5), datetime(2026, 3, 6))]
    assert "mostly_blank" not in found  # 400 blank of 940 screened
    windy = [replace(s, blank=True) for s in healthy()] + [replace(s, blank=False) for s in healthy()[:40]]
    f = checks(windy)["mostly_blank"]
    assert f.category == "false_triggers" and f.intervals == [] and f.details["blank_share"] > 0.8


def test_broken_infrared_flash():
    f = checks(healthy(hours=(7, 9, 13, 17)))["no_night_photos"]
    assert f.category == "infrared" and len(f.intervals) == 30
    assert f.intervals[0] == (datetime(2026, 3, 1, 20), datetime(2026, 3, 2, 4))
    assert "no_night_photos" not in checks(healthy())


def test_setup_dates_disagree_with_the_photos():
    found = checks(healthy(), setup=datetime(2026, 2, 20, 8))
    assert found["late_first_photo"].intervals == [(datetime(2026, 2, 20, 8), datetime(2026, 3, 1, 9))]
    early = checks(healthy(), setup=datetime(2026, 3, 3, 8))
    assert early["photos_before_setup"].count == 36 and early["photos_before_setup"].intervals == []
    late = checks(healthy(), retrieval=datetime(2026, 3, 29, 8))
    assert late["photos_after_retrieval"].count > 0


def test_summary_counts_categories_and_keys_are_stable():
    shots = [s for s in healthy() if s.time < datetime(2026, 3, 21)]
    found = check_deployment(dep(shots))
    assert summary(found) == {"clock": 0, "battery_or_card": 1, "knocked_or_covered": 0, "false_triggers": 0,
                              "infrared": 0, "setup": 0}
    assert found[0].key == "stopped_early@20260320T220004"
    assert found[0].as_dict()["intervals"] == [{"start": "2026-03-20 22:00:04", "end": "2026-03-31 08:00:00"}]
