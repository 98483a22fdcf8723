"""``saola ingest`` from the command line: summary, report file, errors, station/species layout."""
from __future__ import annotations

import errno
import json
import os
from datetime import datetime, timezone

from sqlmodel import select

from ingest_helpers import jpeg_bytes, write
from server.ingest import process
from server.models import Deployment, Location, Media, Observation, Taxon
from server.services.taxa import refresh_search_text
from server.timeutil import as_utc


def _card(root):
    write(root / "DCIM/100RECNX/IMG_0001.JPG", jpeg_bytes("2026:03:02 06:15:01", serial="H2-77", color=(1, 50, 1)))
    write(root / "DCIM/100RECNX/IMG_0002.JPG", jpeg_bytes("2026:03:02 06:15:02", serial="H2-77", color=(2, 50, 1)))
    write(root / "DCIM/100RECNX/IMG_0003.JPG", jpeg_bytes("2026:02:01 06:15:02", serial="H2-77", color=(3, 50, 1)))
    write(root / "DCIM/100RECNX/notes.txt", b"x")
    return root


def test_card_from_the_command_line(runner, world, tmp_path):
    assert runner.invoke(["areas", "add", "PNKB", "Phong Nha-Ke Bang"]).exit_code == 0
    res = runner.invoke(["deployments", "add", "--area", "PNKB", "--program", "CT 2026", "--location", "S07",
                         "--start", "2026-03-01T08:00", "--serial", "H2-77"])
    dep_id = res.output.strip().splitlines()[-1]
    card = _card(tmp_path / "card")
    report = tmp_path / "report.json"
    res = runner.invoke(["ingest", str(card), "--deployment", dep_id, "--workers", "0", "--report", str(report)])
    assert res.exit_code == 0, res.output
    out = res.output
    assert "ingested: 3 (3 images)" in out
    assert "skipped DCIM/100RECNX/notes.txt: not a media file (.txt)" in out
    assert "outside the deployment window: 1" in out and "IMG_0003.JPG" in out
    assert "sequences: 2 in 1 deployment(s)" in out
    assert "100%" in res.stderr  # the progress bar, on stderr
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["ingested"] == 3 and data["skipped"] == [{"path": "DCIM/100RECNX/notes.txt",
                                                         "reason": "not a media file (.txt)"}]
    # Automatic matching by serial gives the same deployment; nothing is stored twice.
    res = runner.invoke(["ingest", str(card), "--quiet", "--workers", "0"])
    assert res.exit_code == 0 and "duplicates: 3 (already stored, not stored again)" in res.output
    assert res.stderr == ""


def test_errors_are_clear(runner, tmp_path, monkeypatch):
    card = _card(tmp_path / "card")
    res = runner.invoke(["ingest", str(card), "--deployment", "nope", "--quiet"])
    assert res.exit_code == 1 and "no deployment with id 'nope'" in res.output
    res = runner.invoke(["ingest", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "does not exist" in res.output
    res = runner.invoke(["ingest", str(card), "--layout", "station/species", "--quiet"])
    assert res.exit_code == 1 and "needs --area and --program" in res.output
    res = runner.invoke(["ingest", str(card), "--area", "PNKB", "--quiet"])
    assert res.exit_code == 1 and "only used with --layout station/species" in res.output

    def full(path, data, durable):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(process, "atomic_write", full)
    res = runner.invoke(["ingest", str(card), "--quiet", "--workers", "0"])
    assert res.exit_code == 1
    assert "Error: disk full while storing DCIM/100RECNX/IMG_0001.JPG: no space left on the device" in res.output


def _taxa(world):
    with world.session() as s:
        for sci, vi, en in (("Muntiacus vaginalis", "Mang thường", "Northern red muntjac"),
                            ("Sus scrofa", "Lợn rừng", "Wild boar")):
            t = Taxon(scientific_name=sci, vietnamese_name=vi, english_name=en, taxon_group="mammal")
            refresh_search_text(t)
            s.add(t)


def test_station_species_layout(runner, world, tmp_path):
    area = world.area()
    _taxa(world)
    root = tmp_path / "sorted"
    write(root / "S01/Muntiacus vaginalis/a.JPG", jpeg_bytes("2026:03:02 06:15:01", color=(10, 1, 1)))
    write(root / "S01/Muntiacus vaginalis/b.JPG", jpeg_bytes("2026:03:02 06:15:02", color=(11, 1, 1)))
    write(root / "S01/mang thuong/c.JPG", jpeg_bytes("2026:03:04 18:00:00", color=(12, 1, 1)))  # Vietnamese name
    write(root / "S01/Blank/d.JPG", jpeg_bytes("2026:03:05 12:00:00", color=(13, 1, 1)))
    write(root / "S02/Pseudoryx nghetinhensis/e.JPG", jpeg_bytes("2026:03:10 09:00:00", color=(14, 1, 1)))
    write(root / "S02/Sus_scrofa/f.JPG", jpeg_bytes("2026:03:11 09:00:00", color=(15, 1, 1)))
    write(root / "S02/g.JPG", jpeg_bytes("2026:03:12 09:00:00", color=(16, 1, 1)))
    write(root / "stray.JPG", jpeg_bytes(color=(17, 1, 1)))
    args = ["ingest", str(root), "--layout", "station/species", "--area", "PNKB", "--program", "Sorted 2026",
            "--workers", "0", "--quiet"]
    res = runner.invoke(args)
    assert res.exit_code == 0, res.output
    out = res.output
    assert "stations: 2 (2 new location(s), 2 new deployment(s))" in out
    assert "ingested: 7" in out and "observations: 5 created from folder names, 0 already there" in out
    assert "unknown species folder 'Pseudoryx nghetinhensis': 1 photo(s) stored without an observation" in out
    assert "skipped stray.JPG: not inside a station folder" in out
    with world.session() as s:
        locs = {loc.name: loc for loc in s.exec(select(Location).where(Location.area_id == area.id))}
        assert set(locs) == {"S01", "S02"}
        s01 = s.exec(select(Deployment).where(Deployment.location_id == locs["S01"].id)).one()
        # The new deployment's window spans its photos (Asia/Ho_Chi_Minh, UTC+7).
        assert as_utc(s01.deployment_start) == datetime(2026, 3, 1, 23, 15, 1, tzinfo=timezone.utc)
        assert as_utc(s01.deployment_end) == datetime(2026, 3, 5, 5, 0, tzinfo=timezone.utc)
        obs = s.exec(select(Observation, Media, Taxon).join(Media, Media.id == Observation.media_id)
                     .join(Taxon, Taxon.id == Observation.taxon_id, isouter=True)).all()
        got = sorted((m.file_name, o.observation_type, t.scientific_name if t else None, o.classification_method)
                     for o, m, t in obs)
        assert got == [("a.JPG", "animal", "Muntiacus vaginalis", "human"),
                       ("b.JPG", "animal", "Muntiacus vaginalis", "human"),
                       ("c.JPG", "animal", "Muntiacus vaginalis", "human"),
                       ("d.JPG", "blank", None, "human"), ("f.JPG", "animal", "Sus scrofa", "human")]
        assert all(o.sequence_id is not None and o.extra["source"] == "station/species folder" for o, _, _ in obs)
        assert not any("outside_window" in m.flags for m in s.exec(select(Media)))
    res = runner.invoke(args)
    assert "duplicates: 7" in res.output and "observations: 0 created from folder names, 5 already there" in res.output
    assert "stations: 2 (0 new location(s), 0 new deployment(s))" in res.output
    with world.session() as s:
        assert len(s.exec(select(Observation)).all()) == 5
