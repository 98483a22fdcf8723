"""camtrapR conventions Saola follows (issue 15, fixes a-f): records outside the deployment window and
videos, the date-only (noon) convention, retrieval at midnight, removeDuplicateRecords = FALSE, and
unknown species names. Pure cases by hand, then the database on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import hashlib
import io
from datetime import date, datetime, timedelta, timezone

import pytest

from server.analytics import camtrap
from server.analytics.camtrap import (LAST_INDEPENDENT, LAST_RECORD, Record, StationPeriod, camera_operation,
                                      record_table, station_nights, trap_nights)
from server.analytics.registry import Options, run
from server.errors import ValidationError

NA = None


def t(day: int, hh: int, mm: int = 0, ss: int = 0, month: int = 1) -> datetime:
    return datetime(2026, month, day, hh, mm, ss)


# ---- (d) retrieval exactly at midnight -----------------------------------------------------------
def test_retrieval_at_midnight_leaves_that_day_na_as_camtrapr():
    # camtrapR cameraOperation: interval(setup, retrieval - 1 s), days touching it are set up.
    op = camera_operation([StationPeriod("A", t(1, 12), t(3, 0)), StationPeriod("B", t(1, 0), t(3, 0, 0, 1))])
    assert op.days == [date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)]
    assert op.row("A") == [0.5, 1.0, NA]
    assert op.row("B")[2] == pytest.approx(1 / 86400)  # one second past midnight: set up, that second counts
    # A's occasions end with its last set-up day (2 Jan): its second occasion has no effort
    from server.analytics.camtrap import detection_history
    dh = detection_history([], op, "X", occasion_length=2)
    assert dh.effort[0] == [1.5, None] and dh.effort[1][1] == pytest.approx(1 / 86400)


# ---- (c) camtrapR's date-only convention: setup and retrieval at noon -----------------------------
PERIODS = [
    StationPeriod("A", t(30, 12), t(2, 6, month=2), problems=[(t(31, 18), t(1, 6, month=2))]),
    StationPeriod("B", t(1, 0, month=2), t(3, 0, month=2)),
    StationPeriod("C", t(30, 23), t(31, 1)),
]


def test_noon_convention_is_camtrapr_given_dates():
    op = camera_operation(PERIODS, convention=camtrap.NOON)
    assert op.days == [date(2026, 1, 30), date(2026, 1, 31), date(2026, 2, 1), date(2026, 2, 2), date(2026, 2, 3)]
    # setup 30 Jan and retrieval 2 Feb at noon; the problem's days (31 Jan, 1 Feb) whole
    assert op.row("A") == [0.5, 0.0, 0.0, 0.5, NA]
    assert op.row("B") == [NA, NA, 0.5, 1.0, 0.5]
    assert op.row("C") == [0.5, 0.5, NA, NA, NA]
    assert trap_nights(op) == {"A": 1.0, "B": 2.0, "C": 1.0}
    assert station_nights(PERIODS, convention="noon") == {"A": 1.0, "B": 2.0, "C": 1.0}
    # the three conventions differ on the same periods, and each is named
    whole = camera_operation(PERIODS, convention=camtrap.WHOLE_DAYS)
    assert whole.row("A") == [1.0, 0.0, 0.0, 1.0, NA] and whole.row("C") == [1.0, 1.0, NA, NA, NA]
    assert set(camtrap.CONVENTIONS) == {"exact", "noon", "whole-days"}
    with pytest.raises(ValueError, match="convention"):
        camera_operation(PERIODS, convention="dates")


def test_noon_convention_turns_operating_windows_into_whole_day_problems():
    p = StationPeriod("A", t(1, 8), t(6, 8), operating=[(t(1, 8), t(3, 15))])
    op = camera_operation([p], convention="noon")
    assert op.row("A") == [0.5, 1.0, 0.0, 0.0, 0.0, 0.0]


# ---- (e) removeDuplicateRecords = FALSE ------------------------------------------------------------
def test_keeping_duplicates_follows_camtrapr_independence():
    recs = [Record("A", "M", t(5, 0), record_id="a"), Record("A", "M", t(5, 0), record_id="b"),
            Record("A", "M", t(5, 0, 30), record_id="c"), Record("A", "M", t(5, 0, 30), record_id="d"),
            Record("A", "M", t(5, 2), record_id="e"), Record("A", "M", t(5, 2), record_id="f")]
    kept = record_table(recs, 60, LAST_RECORD, remove_duplicates=False)
    # 00:00 twice (first records: delta 0); 00:30 twice is 30 min after 00:00: neither copy independent;
    # 02:00 twice, each measured against the earlier records (00:30): both kept with the same delta
    assert [(r.record_id, r.delta_s) for r in kept] == [("a", 0.0), ("b", 0.0), ("e", 5400.0), ("f", 5400.0)]
    assert [(r.record_id, r.delta_s) for r in record_table(recs, 60, LAST_RECORD)] == [("a", 0.0), ("e", 5400.0)]
    indep = record_table(recs, 60, LAST_INDEPENDENT, remove_duplicates=False)
    assert [(r.record_id, r.delta_s) for r in indep] == [("a", 0.0), ("b", 0.0), ("e", 7200.0), ("f", 7200.0)]
    assert len(record_table(recs, 0, remove_duplicates=False)) == 6


# ---- database: (a) outside the window and videos, (e), (f), (c) notes ------------------------------
def utc(*a) -> datetime:
    return datetime(*a, tzinfo=timezone.utc)


@pytest.fixture
def stray(app, world, survey):
    """A card's stray file dated 2025 (flagged outside the window) and a video, both labelled wild boar."""
    from server.models import Media, Observation

    with world.session() as s:
        def media(name, at, kind, mtype, flags, seq=None):
            data = f"{name}-{at}".encode()
            m = Media(sha256=hashlib.sha256(data).hexdigest(), kind=kind, deployment_id=survey.ids["d1"],
                      file_name=name, media_type=mtype, size_bytes=len(data), storage_key=f"x/{name}",
                      captured_at=at, utc_offset_min=420, flags=flags, sequence_id=seq)
            s.add(m)
            s.flush()
            return m

        out = media("IMG_9999.JPG", utc(2025, 11, 11, 1), "image", "image/jpeg", ["outside_window"])
        vid = media("MOV_0001.MP4", utc(2026, 1, 10, 15), "video", "video/mp4", [])
        for m in (out, vid):
            s.add(Observation(deployment_id=survey.ids["d1"], media_id=m.id, event_start=m.captured_at,
                              event_end=m.captured_at, observation_level="media",
                              taxon_id=survey.ids["taxa"]["Sus scrofa"], classification_method="human"))
    return survey


def _run(world, survey, name, **opts):
    with world.session() as s:
        return run(s, name, [survey.program_id], Options(**opts))


def test_media_outside_the_window_are_not_records_and_videos_only_on_request(world, stray):
    rt = _run(world, stray, "record-table", min_delta=0)
    boar = [r for r in rt.rows if r["species"] == "Sus scrofa"]
    assert [r["date_time"] for r in boar] == ["2026-01-03 21:00:00"]
    assert rt.notes["left_out"] == {"outside_window": 1, "video": 1} and rt.notes["video"] is False
    rai = {r["species"]: r["events"] for r in _run(world, stray, "rai", min_delta=0).rows}
    assert rai["Sus scrofa"] == 1
    with_video = _run(world, stray, "record-table", min_delta=0, video=True)
    assert [r["date_time"] for r in with_video.rows if r["species"] == "Sus scrofa"] == [
        "2026-01-03 21:00:00", "2026-01-10 22:00:00"]
    assert with_video.notes["left_out"] == {"outside_window": 1}


def test_outputs_name_their_convention(world, survey):
    for name in ("camera-operation", "trap-nights", "rai", "naive-occupancy"):
        notes = _run(world, survey, name, convention="noon").notes
        assert notes["convention"] == "noon" and "12:00" in notes["convention_means"], name
    assert _run(world, survey, "trap-nights").notes["convention"] == "exact"
    assert _run(world, survey, "trap-nights", fractional=False).notes["convention"] == "whole-days"
    nights = {r["station"]: r["trap_nights"] for r in _run(world, survey, "trap-nights", convention="noon").rows}
    # S01 1-20 Jan, S02 2-12 Jan with a malfunction 5-7 Jan (whole days) -> 19 and 10 - 3
    assert nights == {"S01": 19.0, "S02": 7.0}


def test_unknown_species_is_an_error_naming_close_matches(world, survey):
    with pytest.raises(ValidationError, match="unknown species 'Sus scrofe'.*'Sus scrofa'"):
        _run(world, survey, "detection-history", species="Sus scrofe")
    with pytest.raises(ValidationError, match="unknown species 'Zzzz'"):
        _run(world, survey, "diel-activity", species="Zzzz")
    # any name of the reference stands for its taxon
    dh = _run(world, survey, "detection-history", species="Lợn rừng", occasion_length=7)
    assert dh.notes["species"] == "Sus scrofa"


def test_cli_unknown_species_exits_non_zero_and_options(runner, world, stray):
    res = runner.invoke(["analytics", "naive-occupancy", "--program", stray.program_id, "--species", "Sus scrof"])
    assert res.exit_code != 0 and "Sus scrofa" in res.output and "unknown species" in res.output
    res = runner.invoke(["analytics", "record-table", "--program", stray.program_id, "--min-delta", "0",
                         "--video", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert '"video": true' in res.output and "2026-01-10 22:00:00" in res.output
    res = runner.invoke(["analytics", "trap-nights", "--program", stray.program_id, "--convention", "noon"])
    assert res.exit_code == 0, res.output
    assert {r["station"]: r["trap_nights"] for r in csv.DictReader(io.StringIO(res.output))} == {
        "S01": "19.0", "S02": "7.0"}


def test_api_convention_video_and_duplicates(client, world, stray):
    admin_headers = world.headers(world.user("viewer1", roles={stray.area_id: "viewer"}))
    r = client.get(f"/api/v1/analytics/trap-nights?program_id={stray.program_id}&convention=noon",
                   headers=admin_headers)
    assert r.status_code == 200 and r.get_json()["notes"]["convention"] == "noon"
    r = client.get(f"/api/v1/analytics/record-table?program_id={stray.program_id}&video=true&min_delta=0"
                   "&remove_duplicates=false", headers=admin_headers)
    assert r.status_code == 200
    assert r.get_json()["notes"]["remove_duplicates"] is False and r.get_json()["notes"]["video"] is True
    r = client.get(f"/api/v1/analytics/detection-history?program_id={stray.program_id}&species=Sus%20scrofe",
                   headers=admin_headers)
    assert r.status_code == 422 and "Sus scrofa" in r.get_json()["error"]["message"]


def test_date_only_periods_keep_their_days():
    p = [StationPeriod("A", t(1, 23, 59), t(2, 0, 1))]
    assert camera_operation(p, convention="noon").row("A") == [0.5, 0.5]
    assert camera_operation(p).row("A") == [pytest.approx(60 / 86400), pytest.approx(60 / 86400)]
    assert timedelta(0) < (p[0].end - p[0].start)
