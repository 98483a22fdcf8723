"""camtrapR-grade analytics on small cases computed by hand (no database)."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from server.analytics.camtrap import (LAST_INDEPENDENT, LAST_RECORD, Record, StationPeriod, camera_operation,
                                      detection_history, diel_activity, naive_occupancy, record_table,
                                      relative_abundance, species_accumulation, trap_nights)


def t(day: int, hh: int, mm: int = 0, month: int = 1) -> datetime:
    return datetime(2026, month, day, hh, mm)


CHAIN = [Record("A", "Muntiacus", t(5, 0, m)) for m in (0, 30)] + [
    Record("A", "Muntiacus", t(5, h, m)) for h, m in ((1, 0), (1, 30), (2, 0))]


def test_record_table_last_record_counts_from_any_record():
    rows = record_table(CHAIN, 60, LAST_RECORD)
    # every gap is 30 min to the previous record, so only the first is independent
    assert [(r.time, r.delta_s) for r in rows] == [(t(5, 0), 0.0)]


def test_record_table_last_independent_record_and_exact_threshold():
    rows = record_table(CHAIN, 60, LAST_INDEPENDENT)
    # 01:00 is exactly 60 min after 00:00: independent (camtrapR uses >=)
    assert [(r.time, r.delta_s) for r in rows] == [(t(5, 0), 0.0), (t(5, 1), 3600.0), (t(5, 2), 3600.0)]


def test_record_table_duplicates_species_and_stations():
    recs = CHAIN + [Record("A", "Muntiacus", t(5, 0), record_id="dup"),  # same station, species, time
                    Record("A", "Sus scrofa", t(5, 0, 10)), Record("B", "Muntiacus", t(5, 0, 10))]
    rows = record_table(recs, 60, LAST_RECORD)
    assert [(r.station, r.species, r.time) for r in rows] == [
        ("A", "Muntiacus", t(5, 0)), ("A", "Sus scrofa", t(5, 0, 10)), ("B", "Muntiacus", t(5, 0, 10))]
    # threshold 0 keeps everything but the duplicate
    assert len(record_table(recs, 0)) == 7
    assert len(record_table(recs, 0, remove_duplicates=False)) == 8


def test_record_table_rejects_bad_options():
    with pytest.raises(ValueError, match="compared_to"):
        record_table(CHAIN, 60, "previous")
    with pytest.raises(ValueError, match="min_delta_min"):
        record_table(CHAIN, -1)


# Station A: set up 30 Jan 12:00, retrieved 2 Feb 06:00 (across the month end), broken 31 Jan 18:00 - 1 Feb 06:00.
# Station B: 1 Feb 00:00 - 3 Feb 00:00 (retrieved at midnight). Station C: 30 Jan 23:00 - 31 Jan 01:00 (across
# midnight), never records anything.
PERIODS = [
    StationPeriod("A", t(30, 12), t(2, 6, month=2), problems=[(t(31, 18), t(1, 6, month=2))]),
    StationPeriod("B", t(1, 0, month=2), t(3, 0, month=2)),
    StationPeriod("C", t(30, 23), t(31, 1)),
]
NA = None


def test_camera_operation_fractions_failure_midnight_and_month_end():
    op = camera_operation(PERIODS)
    assert op.days == [date(2026, 1, 30), date(2026, 1, 31), date(2026, 2, 1), date(2026, 2, 2), date(2026, 2, 3)]
    assert op.row("A") == [0.5, 0.75, 0.75, 0.25, NA]
    assert op.row("B") == [NA, NA, 1.0, 1.0, NA]  # retrieved at midnight: camtrapR ends 1 s earlier, 3 Feb NA
    assert op.row("C") == pytest.approx([1 / 24, 1 / 24, NA, NA, NA]) and op.row("C")[2] is None
    assert trap_nights(op) == {"A": 2.25, "B": 2.0, "C": round(2 / 24, 6)}


def test_camera_operation_date_only_form():
    op = camera_operation(PERIODS, fractional=False)
    assert op.row("A") == [1.0, 0.0, 0.0, 1.0, NA]
    assert op.row("B") == [NA, NA, 1.0, 1.0, 1.0]
    assert op.row("C") == [1.0, 1.0, NA, NA, NA]


def test_camera_operation_two_cameras_at_a_station_are_a_union():
    op = camera_operation([StationPeriod("A", t(1, 0), t(1, 12)), StationPeriod("A", t(1, 6), t(1, 18))])
    assert op.row("A") == [0.75]


RECORDS = [Record("A", "Muntiacus", t(31, 10)), Record("B", "Muntiacus", t(2, 20, month=2)),
           Record("A", "Sus scrofa", t(30, 13)), Record("A", "Muntiacus", t(31, 10, 30))]


def test_detection_history_by_station_with_effort():
    op = camera_operation(PERIODS)
    rows = record_table(RECORDS, 60, LAST_RECORD)
    dh = detection_history(rows, op, "Muntiacus", occasion_length=2, day1="station")
    assert dh.occasions == 2
    assert dh.history == [[1, 0], [1, NA], [0, NA]]
    assert dh.effort == [[1.25, 1.0], [2.0, NA], [pytest.approx(2 / 24), NA]]
    assert dh.occasion_starts[1] == ["2026-02-01", "2026-02-03"]
    assert naive_occupancy(dh) == {"species": "Muntiacus", "stations_surveyed": 3, "stations_detected": 2,
                                   "naive_occupancy": 0.666667}


def test_detection_history_from_survey_start_and_without_effort():
    op = camera_operation(PERIODS)
    rows = record_table(RECORDS, 60, LAST_RECORD)
    dh = detection_history(rows, op, "Muntiacus", occasion_length=2, day1="survey")
    assert dh.occasions == 3
    assert dh.history == [[1, 0, NA], [NA, 1, NA], [0, NA, NA]]
    strict = detection_history(rows, op, "Muntiacus", occasion_length=2, day1="station", include_effort=False)
    assert strict.effort == [[1.25, 1.0], [2.0, NA], [pytest.approx(2 / 24), NA]]
    counts = detection_history(record_table(RECORDS, 0), op, "Muntiacus", occasion_length=5, day1="survey",
                               output="count")
    assert counts.history == [[2], [1], [0]]
    with pytest.raises(ValueError, match="occasion_length"):
        detection_history(rows, op, "Muntiacus", occasion_length=0)


def test_relative_abundance_index():
    op = camera_operation(PERIODS)
    rows = record_table(RECORDS, 60, LAST_RECORD)
    total = 2.25 + 2.0 + 2 / 24
    rai = {r["species"]: r["rai"] for r in relative_abundance(rows, op)}
    assert rai == {"Muntiacus": round(100 * 2 / total, 6), "Sus scrofa": round(100 * 1 / total, 6)}
    per_station = relative_abundance(rows, op, by_station=True)
    c = [r for r in per_station if r["station"] == "C" and r["species"] == "Muntiacus"][0]
    assert c["events"] == 0 and c["rai"] == 0.0  # a station with effort and no detections


def test_species_accumulation_exact():
    rows = record_table(RECORDS, 60)
    curve = species_accumulation(rows, units=["A", "B", "C"])
    assert curve == [{"units": 1, "richness": 1.0}, {"units": 2, "richness": 1.666667}, {"units": 3, "richness": 2.0}]


def test_diel_activity_bins():
    rows = record_table(RECORDS, 0)
    bins = diel_activity(rows)
    assert len(bins) == 24 and bins[10]["records"] == 2 and bins[13]["records"] == 1 and bins[20]["records"] == 1
    assert sum(b["records"] for b in diel_activity(rows, "Muntiacus", bins=4)) == 3
