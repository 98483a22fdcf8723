"""Maker notes through ingest, review and export (issue 16, item 1), on SQLite and PostgreSQL: the real
Reconyx burst matched by the serial only its maker notes carry, burst numbers beating time gaps, the
review item's camera line and Camtrap DP's cameraID/cameraModel."""
from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone

from sqlmodel import select

import makernote_files as mf
from ingest_helpers import make_deployment, reconyx_dir, write
from server.exports.camtrap_dp import export_camtrap_dp
from server.ingest import ingest_path
from server.models import Location, Media, Sequence


def test_real_burst_matched_by_maker_note_serial_with_saola_ingest(runner, world, shared_dir):
    assert runner.invoke(["areas", "add", "PNKB", "Phong Nha-Ke Bang"]).exit_code == 0
    res = runner.invoke(["deployments", "add", "--area", "PNKB", "--program", "CT 2021", "--location", "MICA 318",
                         "--start", "2021-04-01T00:00", "--end", "2021-05-01T00:00", "--serial", "H2RXEM06043616",
                         "--timezone", "Europe/Brussels"])
    assert res.exit_code == 0, res.output
    dep_id = res.output.strip().splitlines()[-1]
    res = runner.invoke(["ingest", str(reconyx_dir(shared_dir)), "--workers", "0"])  # no --deployment
    assert res.exit_code == 0, res.output
    assert "ingested: 10" in res.output and "no_deployment" not in res.output
    assert "sequences: 1 in 1 deployment(s)" in res.output
    with world.session() as s:
        media = list(s.exec(select(Media).order_by(Media.file_name)))
        assert len(media) == 10 and {m.deployment_id for m in media} == {dep_id}
        assert {m.camera_serial for m in media} == {"H2RXEM06043616"} and all(m.flags == [] for m in media)
        assert [m.meta["camera"]["sequence_index"] for m in media] == list(range(1, 11))
        assert media[0].meta["camera"]["user_label"] == "MICA 318"
        assert media[0].meta["camera"]["trigger_mode"] == "motion"
        seqs = list(s.exec(select(Sequence)))
        assert len(seqs) == 1 and seqs[0].media_count == 10


def test_out_of_window_serial_stays_unmatched(app, world, shared_dir):
    make_deployment(world, serial="H2RXEM06043616", start=datetime(2022, 1, 1, tzinfo=timezone.utc))
    rep = ingest_path(app, reconyx_dir(shared_dir), workers=0)
    assert rep.flag_counts == {"outside_window": 10}


def _burst_card(card, start: datetime):
    """Event 1: three photos 90 s apart (past a 60 s gap); event 2: one photo 1 s after; then two
    photos without maker notes 10 s apart."""
    def clock(t):
        return (t.second, t.minute, t.hour, t.month, t.day, t.year)

    def weekday(t):
        return (t.weekday() + 1) % 7 + 1  # Sunday = 1

    shots = [(start + timedelta(seconds=90 * i), (i + 1, 3), 1) for i in range(3)]
    shots.append((start + timedelta(seconds=181), (1, 1), 2))
    for n, (t, seq, event) in enumerate(shots):
        note = mf.hyperfire2(serial="H2-BURST", seq=seq, event=event, clock=clock(t), weekday=weekday(t))
        write(card / f"RCNX{n:04d}.JPG", mf.photo("RECONYX", "HF2X", note, color=(n * 30, 10, 10)))
    for n in range(2):
        t = start + timedelta(seconds=400 + 10 * n)
        write(card / f"IMG{n}.JPG", mf.photo("OTHER", "CAM", when=t.strftime("%Y:%m:%d %H:%M:%S"),
                                             serial="H2-BURST", color=(10, n * 60, 10)))


def test_maker_burst_numbers_beat_time_gaps(app, world, tmp_path):
    _, _, dep = make_deployment(world, serial="H2-BURST", start=datetime(2026, 1, 1, tzinfo=timezone.utc), gap=60)
    _burst_card(tmp_path / "card", datetime(2026, 2, 3, 10, 0, 0))
    rep = ingest_path(app, tmp_path / "card", workers=0)
    assert rep.ingested == 6 and rep.flag_counts == {}
    with world.session() as s:
        by_name = {m.file_name: m for m in s.exec(select(Media))}
        assert {m.timestamp_source for m in by_name.values()} == {"makernote", "exif"}
        first = {by_name[f"RCNX000{i}.JPG"].sequence_id for i in range(3)}
        assert len(first) == 1  # 90 s apart, one burst by the camera's numbers
        assert by_name["RCNX0003.JPG"].sequence_id not in first  # a new event 1 s later
        assert by_name["IMG0.JPG"].sequence_id == by_name["IMG1.JPG"].sequence_id  # no numbers: the gap rule
        seqs = list(s.exec(select(Sequence).where(Sequence.deployment_id == dep.id)))
        assert sorted(q.media_count for q in seqs) == [1, 2, 3]


def test_review_item_and_camtrap_dp_export_carry_the_camera(app, client, world, shared_dir, tmp_path):
    area, program, dep = make_deployment(world, serial=None, start=datetime(2021, 4, 1, tzinfo=timezone.utc),
                                         tz="Europe/Brussels")
    with world.session() as s:
        loc = s.get(Location, dep.location_id)
        loc.latitude, loc.longitude = 17.5, 106.2
        s.add(loc)
    ingest_path(app, reconyx_dir(shared_dir), deployment_id=dep.id, workers=0)
    user = world.user("bio", roles={area.id: "biologist"})
    with world.session() as s:
        seq_id = s.exec(select(Sequence.id)).one()
    res = client.get(f"/api/v1/review/sequences/{seq_id}", headers=world.headers(user))
    assert res.status_code == 200, res.get_json()
    cams = [m["camera"] for m in res.get_json()["item"]["media"]]
    assert cams[0] == {"make": "RECONYX", "model": "HYPERFIRE 2 COVERT", "serial": "H2RXEM06043616",
                       "sequence_index": 1, "sequence_count": 10, "event_number": 4, "trigger_mode": "motion",
                       "temperature_c": 2, "moon_phase": "new", "battery_v": cams[0]["battery_v"],
                       "ambient_light": 0, "user_label": "MICA 318"}
    assert [c["sequence_index"] for c in cams] == list(range(1, 11))
    with world.session() as s:  # the manager states the sampling design (Camtrap DP metadata)
        p = s.get(type(program), program.id)
        p.settings = {**(p.settings or {}), "sampling_design": "targeted"}
    with world.session() as s:
        export_camtrap_dp(s, tmp_path / "out", program_id=program.id, media_mode="link", base_url="https://x.test/m")
    with open(tmp_path / "out" / "deployments.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["cameraID"] == "H2RXEM06043616"
    assert rows[0]["cameraModel"] == "Reconyx-HYPERFIRE 2 COVERT"
