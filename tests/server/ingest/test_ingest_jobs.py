"""Jobs after ingest: retime (clock offset / time zone change), resequence (gap change), derivatives; the demo."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlmodel import select

from ingest_helpers import jpeg_bytes, make_deployment, make_thumbnails, reconyx_dir, write
from server.ingest.demo import ingest_demo_media
from server.ingest.derivatives import thumb_key
from server.ingest.pipeline import ingest_path
from server.jobs import drain, enqueue
from server.models import Job, Media, Sequence
from server.demo import SAMPLE_MEDIA
from server.timeutil import as_utc


def _times(world):
    with world.session() as s:
        return {m.file_name: (m.captured_at_raw, as_utc(m.captured_at), m.flags)
                for m in s.exec(select(Media))}


def _n_sequences(world):
    with world.session() as s:
        return len(s.exec(select(Sequence)).all())


def test_clock_offset_change_retimes_reversibly(app, client, world, shared_dir):
    start = datetime(2021, 4, 11, 18, 0, tzinfo=timezone.utc)
    area, program, dep = make_deployment(world, start=start, end=start + timedelta(hours=1), tz="Europe/Brussels")
    ingest_path(app, reconyx_dir(shared_dir), deployment_id=dep.id, workers=0)
    assert make_thumbnails(app) >= 1  # one job per batch of rows
    before = _times(world)
    assert all(flags == [] for _, _, flags in before.values())
    manager = world.headers(world.user("boss", roles={area.id: "manager"}))
    # The camera was 2 hours slow: the photos move out of the deployment window.
    r = client.patch(f"/api/v1/deployments/{dep.id}", json={"clock_offset_s": 7200}, headers=manager)
    assert r.status_code == 200, r.json
    assert drain(app.config) == 1
    after = _times(world)
    for name, (raw, t, flags) in after.items():
        assert raw == before[name][0]  # the raw device time never changes
        assert t == before[name][1] + timedelta(hours=2)
        assert flags == ["outside_window"]
    assert _n_sequences(world) == 1
    # A time zone change is applied the same way; undoing both restores the original times.
    client.patch(f"/api/v1/deployments/{dep.id}", json={"clock_offset_s": 0, "timezone": "UTC"}, headers=manager)
    drain(app.config)
    assert all(t == before[n][1] + timedelta(hours=2) for n, (_, t, _) in _times(world).items())
    client.patch(f"/api/v1/deployments/{dep.id}", json={"timezone": "Europe/Brussels"}, headers=manager)
    drain(app.config)
    assert _times(world) == before
    with world.session() as s:
        assert {j.status for j in s.exec(select(Job))} == {"done"}


def test_gap_change_resequences_and_keeps_sequence_ids(app, client, world, tmp_path):
    # Photos without maker notes (a Reconyx burst stays one event whatever the gap: its own numbers say so).
    area, program, dep = make_deployment(world, start=datetime(2026, 3, 1, tzinfo=timezone.utc))
    for i in range(10):
        write(tmp_path / f"card/IMG_{i}.JPG", jpeg_bytes(f"2026:03:02 06:15:{i:02d}", color=(i * 20, 9, 9)))
    ingest_path(app, tmp_path / "card", deployment_id=dep.id, workers=0)
    make_thumbnails(app)
    with world.session() as s:
        (seq,) = s.exec(select(Sequence)).all()
        seq.review_status = "reviewed"
        s.add(seq)
    manager = world.headers(world.user("boss", roles={area.id: "manager"}))
    assert client.patch(f"/api/v1/programs/{program.id}", json={"sequence_gap_s": 0}, headers=manager).status_code == 200
    drain(app.config)
    assert _n_sequences(world) == 10  # a gap of 0 s: every photo is its own event
    client.patch(f"/api/v1/programs/{program.id}", json={"sequence_gap_s": 60}, headers=manager)
    drain(app.config)
    with world.session() as s:
        seqs = s.exec(select(Sequence)).all()
        assert len(seqs) == 1 and seqs[0].media_count == 10
        # Resequencing twice in a row changes nothing (idempotent), and keeps the id.
    with world.session() as s:
        enqueue(s, "resequence", {"deployment_id": dep.id})
    drain(app.config)
    with world.session() as s:
        assert [x.id for x in s.exec(select(Sequence))] == [seqs[0].id]


def test_derivatives_job_remakes_missing_thumbnails(app, world, shared_dir):
    _, _, dep = make_deployment(world, start=datetime(2021, 4, 1, tzinfo=timezone.utc))
    ingest_path(app, reconyx_dir(shared_dir), deployment_id=dep.id, workers=0)
    assert make_thumbnails(app) >= 1
    derivs = app.extensions["saola.derivatives"]
    with world.session() as s:
        shas = [m.sha256 for m in s.exec(select(Media))]
    for sha in shas:
        derivs.delete(thumb_key(sha))
    with world.session() as s:
        enqueue(s, "derivatives", {"deployment_id": dep.id})
    drain(app.config)
    assert all(derivs.exists(thumb_key(sha)) for sha in shas)
    with world.session() as s:
        job = s.exec(select(Job).where(Job.kind == "derivatives").order_by(Job.created_at.desc())).first()
        assert job.params == {"deployment_id": dep.id} and job.status == "done"
        assert job.result == {"media": 10, "with_derivatives": 10, "undecodable": 0, "missing": 0}


def test_demo_media(app, world):
    area = world.area("DEMO", "Demo")
    program = world.program(area.id, name="Camera traps 2026")
    info = {"area_id": area.id, "program_id": program.id}
    first = ingest_demo_media(app, info, SAMPLE_MEDIA)
    assert (first["ingested"], first["skipped"], first["sequences"]) == (8, 0, 3), first["summary"]
    again = ingest_demo_media(app, info, SAMPLE_MEDIA)
    assert again["deployment_id"] == first["deployment_id"] and again["duplicates"] == 8
    with world.session() as s:
        media = s.exec(select(Media)).all()
        assert {m.camera_serial for m in media} == {"SAOLA-CAM-01"} and all(m.has_derivatives for m in media)
        assert sum(1 for m in media if m.flags) == 0
