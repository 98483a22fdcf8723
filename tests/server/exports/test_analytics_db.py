"""Analyses over the database (loaders, local times, malfunctions) and the `saola analytics` command."""
from __future__ import annotations

import csv
import io
import json

import pytest

from server.analytics.registry import Options, options_from, run
from server.errors import ValidationError


def _run(world, survey, name, **opts):
    with world.session() as s:
        return run(s, name, [survey.program_id], Options(**opts))


def test_camera_operation_uses_local_days_and_malfunctions(world, survey):
    t = _run(world, survey, "camera-operation")
    rows = {r["station"]: r for r in t.rows}
    assert set(rows) == {"S01", "S02"}  # S03 is an acoustic recorder
    s02 = rows["S02"]
    assert [s02[f"2026-01-{d:02d}"] for d in range(1, 14)] == [
        None, 0.5, 1.0, 1.0, 0.5, 0.0, 0.5, 1.0, 1.0, 1.0, 1.0, 0.5, None]
    assert rows["S01"]["2026-01-01"] == round(14 / 24, 6) and rows["S01"]["2026-01-20"] == round(10 / 24, 6)
    nights = {r["station"]: r["trap_nights"] for r in _run(world, survey, "trap-nights").rows}
    assert nights == {"S01": 19.0, "S02": 8.0}


def test_record_table_rai_and_occupancy(world, survey):
    rt = _run(world, survey, "record-table")
    assert [(r["station"], r["species"], r["date_time"]) for r in rt.rows] == [
        ("S01", "Sus scrofa", "2026-01-03 21:00:00"), ("S02", "Muntiacus vuquangensis", "2026-01-05 05:30:00")]
    # the unreviewed machine label on m1 is a duplicate of the human record (same station, species, time)
    assert len(_run(world, survey, "record-table", include_machine=True).rows) == 2
    rai = {r["species"]: r["rai"] for r in _run(world, survey, "rai").rows}
    assert rai == {"Muntiacus vuquangensis": round(100 / 27, 6), "Sus scrofa": round(100 / 27, 6)}
    occ = {r["species"]: r["naive_occupancy"] for r in _run(world, survey, "naive-occupancy").rows}
    assert occ == {"Muntiacus vuquangensis": 0.5, "Sus scrofa": 0.5}
    dh = _run(world, survey, "detection-history", species="Sus scrofa", occasion_length=7)
    s01 = [r for r in dh.rows if r["station"] == "S01"][0]
    assert (s01["o1"], s01["o2"], s01["o3"]) == (1, 0, 0) and s01["effort_o1"] == round(14 / 24 + 6, 6)
    with pytest.raises(ValidationError, match="needs a species"):
        _run(world, survey, "detection-history")
    # a year with no effort gives empty tables, not errors
    assert _run(world, survey, "trap-nights", year=2025).rows == [{"station": "S01", "trap_nights": 0},
                                                                   {"station": "S02", "trap_nights": 0}]


def test_transect_and_acoustic_summaries(world, survey):
    assert _run(world, survey, "transect-effort").rows == [{"transect": "T1", "walks": 1, "km": 1.85}]
    er = {r["species"]: r for r in _run(world, survey, "encounter-rates").rows}
    assert er["Sus scrofa"]["individuals"] == 3 and er["Sus scrofa"]["encounters_per_km"] == round(1 / 1.85, 6)
    assert set(er) == {"Sus scrofa", "Muntiacus vuquangensis"}
    assert {r["species"] for r in _run(world, survey, "encounter-rates", signs=False).rows} == {"Sus scrofa"}
    hist = _run(world, survey, "distance-histogram", bin_m=10.0).rows
    assert hist == [{"from_m": 0.0, "to_m": 10.0, "count": 1}, {"from_m": 10.0, "to_m": 20.0, "count": 1}]
    per_hour = _run(world, survey, "detections-per-hour").rows
    assert {(r["label"], r["hour"]) for r in per_hour if r["detections"]} == {
        ("Polyplectron germaini", 12), ("gunshot", 12)}


def test_options_from_strings_and_errors():
    o = options_from({"min_delta": "30", "compared_to": "last-independent-record", "include_effort": "false",
                      "year": "2026"})
    assert (o.min_delta, o.include_effort, o.year) == (30.0, False, 2026)
    with pytest.raises(ValidationError, match="unknown option 'colour'"):
        options_from({"colour": "red"})
    with pytest.raises(ValidationError, match="option occasion_length"):
        options_from({"occasion_length": "two"})
    with pytest.raises(ValidationError, match="compared_to"):
        options_from({"compared_to": "yesterday"})


def test_cli_record_table_csv_and_plot(runner, survey, tmp_path):
    res = runner.invoke(["analytics", "record-table", "--program", survey.program_id, "--min-delta", "60",
                         "--compared-to", "last-record"])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.output)))
    assert [r["species"] for r in rows] == ["Sus scrofa", "Muntiacus vuquangensis"]
    out = tmp_path / "rai.json"
    png = tmp_path / "diel.png"
    res = runner.invoke(["analytics", "diel-activity", "--area", "PNKB", "--out", str(out), "--plot", str(png)])
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["analysis"] == "diel-activity"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    res = runner.invoke(["analytics", "detection-history", "--program", survey.program_id],
                        catch_exceptions=True)
    assert res.exit_code != 0 and "needs a species" in res.output
