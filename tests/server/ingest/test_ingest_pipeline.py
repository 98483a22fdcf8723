"""Ingest end to end on SQLite and PostgreSQL: real Reconyx photos, bad cards, zips, crashes, full disks."""
from __future__ import annotations

import errno
import hashlib
import os
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select

from ingest_helpers import avi_bytes, jpeg_bytes, make_deployment, make_thumbnails, mp4_bytes, reconyx_dir, write
from server.ingest import pipeline, process
from server.ingest.derivatives import review_key, thumb_key
from server.ingest.pipeline import ingest_path
from server.models import AuditLog, Media, Sequence
from server.timeutil import as_utc


def _media(world) -> list[Media]:
    with world.session() as s:
        return list(s.exec(select(Media).order_by(Media.file_path)))


def _by_name(world) -> dict[str, Media]:
    return {m.file_name: m for m in _media(world)}


def _sequences(world, dep_id=None) -> list[Sequence]:
    with world.session() as s:
        stmt = select(Sequence).order_by(Sequence.event_start)
        if dep_id:
            stmt = stmt.where(Sequence.deployment_id == dep_id)
        return list(s.exec(stmt))


def _no_tmp_files(root: Path) -> bool:
    return not [p for p in root.rglob(".tmp-*")]


def test_reconyx_card_is_one_sequence_and_reingest_is_a_noop(app, world, shared_dir, monkeypatch):
    # Batches also close every BATCH_SECONDS: on a loaded machine the card could take longer than
    # that, so the one-batch assertion below holds only with the clock out of the way.
    monkeypatch.setattr(pipeline, "BATCH_SECONDS", float("inf"))
    _, _, dep = make_deployment(world, start=datetime(2021, 4, 1, tzinfo=timezone.utc), tz="Europe/Brussels")
    src = reconyx_dir(shared_dir)
    rep = ingest_path(app, src, deployment_id=dep.id, workers=0)
    assert (rep.ingested, rep.duplicates, rep.skipped, rep.outside_window) == (10, 0, [], 0)
    media = _media(world)
    assert len(media) == 10
    assert {m.camera_model for m in media} == {"HYPERFIRE 2 COVERT"}
    assert all(m.deployment_id == dep.id and m.flags == [] for m in media)
    # Ingest decodes nothing: no embedded preview on this card, so a background job makes the thumbnails.
    assert all(not m.has_derivatives and m.meta["derivatives"] == "pending" for m in media)
    assert rep.derivatives_pending == 10 and len(rep.derivative_jobs) == 1
    assert "thumbnails: 10 to be made in the background (1 job(s); the photos are stored and indexed now)" \
        in rep.summary_lines()
    assert make_thumbnails(app) == 1
    media = _media(world)
    assert all(m.has_derivatives and m.meta["derivatives"] == "made" for m in media)
    # Camera local time (Brussels, CEST) becomes UTC; the raw time is kept as written.
    first = media[0]
    assert first.captured_at_raw == datetime(2021, 4, 11, 20, 43, 9)
    assert as_utc(first.captured_at) == datetime(2021, 4, 11, 18, 43, 9, tzinfo=timezone.utc)
    assert first.utc_offset_min == 120
    seqs = _sequences(world)
    assert len(seqs) == 1 and seqs[0].media_count == 10
    assert as_utc(seqs[0].event_start) == datetime(2021, 4, 11, 18, 43, 9, tzinfo=timezone.utc)
    assert as_utc(seqs[0].event_end) == datetime(2021, 4, 11, 18, 43, 15, tzinfo=timezone.utc)
    assert {m.sequence_id for m in media} == {seqs[0].id}
    # Originals stored unmodified under ab/cd/<sha256>.jpg; a thumbnail each, no review copy (2048 px).
    store, derivs = app.extensions["saola.media"], app.extensions["saola.derivatives"]
    for m in media:
        data = (src / m.file_name).read_bytes()
        assert m.sha256 == hashlib.sha256(data).hexdigest()
        assert m.storage_key == f"{m.sha256[:2]}/{m.sha256[2:4]}/{m.sha256}.jpg"
        assert store.path(m.storage_key).read_bytes() == data
        with Image.open(derivs.path(thumb_key(m.sha256))) as t:
            assert t.size == (256, 180)  # 1/8 DCT scaling of 2048 x 1440
        assert not derivs.exists(review_key(m.sha256))
    assert "ingested: 10 (10 images)" in rep.summary_lines()
    # One summarising audit entry for the batch.
    with world.session() as s:
        entries = list(s.exec(select(AuditLog).where(AuditLog.entity == "media")))
    assert len(entries) == 1 and entries[0].after["count"] == 10
    again = ingest_path(app, src, deployment_id=dep.id, workers=0)
    assert (again.ingested, again.duplicates) == (0, 10)
    assert "duplicates: 10 (already stored, not stored again)" in again.summary_lines()
    assert len(_media(world)) == 10 and [s.id for s in _sequences(world)] == [seqs[0].id]


def _bad_card(root: Path) -> Path:
    card = root / "card"
    good = [write(card / f"DCIM/100TEST/GOOD{i}.JPG", jpeg_bytes(f"2026:03:02 06:15:0{i}", color=(i * 40, 90, 30)))
            for i in range(1, 4)]
    write(card / "DCIM/100TEST/NOEXIF.JPG", jpeg_bytes(exif=False, color=(1, 2, 3)))
    full = jpeg_bytes("2026:03:02 07:00:00", size=(640, 480), color=(9, 9, 200))
    write(card / "DCIM/100TEST/TRUNC.JPG", full[: len(full) * 2 // 3])
    write(card / "DCIM/100TEST/GARBAGE.JPG", b"this is not a photo at all" * 10)
    write(card / "DCIM/100TEST/CMYK.JPG", jpeg_bytes("2026:03:02 08:00:00", mode="CMYK"))
    write(card / "DCIM/100TEST/GREY.JPG", jpeg_bytes("2026:03:02 08:30:00", mode="L"))
    write(card / "DCIM/100TEST/ROT.JPG", jpeg_bytes("2026:03:02 09:00:00", orientation=6, color=(5, 5, 5)))
    write(card / "DCIM/100TEST/R1970.JPG", jpeg_bytes("1970:01:01 00:00:12", color=(70, 70, 70)))
    write(card / "DCIM/100TEST/R2000.JPG", jpeg_bytes("2000:01:01 00:03:00", color=(20, 70, 70)))
    write(card / "DCIM/100TEST/OLD.JPG", jpeg_bytes("2025:06:01 12:00:00", color=(20, 20, 70)))
    write(card / "DCIM/100TEST/notes.txt", b"battery 80%")
    write(card / "DCIM/100TEST/EMPTY.JPG", b"")
    write(card / "REC/A0001.WAV", b"RIFF....WAVEfmt ")
    write(card / "DCIM/100TEST/CLIP1.MP4", mp4_bytes(datetime(2026, 3, 2, 10, 0, 0), 10.0))
    write(card / "DCIM/100TEST/CLIP2.AVI", avi_bytes("THU MAR 05 14:30:12 2026\n"))
    assert len(good) == 3
    return card


def test_bad_inputs_each_get_a_line_and_valid_files_are_all_stored(app, world, tmp_path):
    _, _, dep = make_deployment(world, start=datetime(2026, 3, 1, tzinfo=timezone.utc))
    card = _bad_card(tmp_path)
    rep = ingest_path(app, card, deployment_id=dep.id, workers=0)
    lines = "\n".join(rep.summary_lines())
    assert "skipped DCIM/100TEST/GARBAGE.JPG: not a JPEG file" in lines
    assert "skipped DCIM/100TEST/notes.txt: not a media file (.txt)" in lines
    assert "skipped DCIM/100TEST/EMPTY.JPG: empty file (0 bytes)" in lines
    # A recording on a camera card: not for this deployment.
    assert "skipped REC/A0001.WAV: " in lines
    assert "flagged clock_reset: 2 file(s)" in lines
    assert "flagged no_timestamp: 1 file(s)" in lines and "NOEXIF.JPG" in lines
    assert "flagged corrupt: 1 file(s)" in lines and "TRUNC.JPG" in lines
    assert "outside the deployment window: 3" in lines  # two reset clocks and the 2025 photo
    media = _by_name(world)
    assert set(media) == {"GOOD1.JPG", "GOOD2.JPG", "GOOD3.JPG", "NOEXIF.JPG", "TRUNC.JPG", "CMYK.JPG", "GREY.JPG",
                          "ROT.JPG", "R1970.JPG", "R2000.JPG", "OLD.JPG", "CLIP1.MP4", "CLIP2.AVI"}
    assert rep.ingested == 13 and rep.by_kind == {"image": 11, "video": 2}
    assert media["NOEXIF.JPG"].captured_at is None and media["NOEXIF.JPG"].flags == ["no_timestamp"]
    assert media["TRUNC.JPG"].flags == ["corrupt"] and not media["TRUNC.JPG"].has_derivatives
    assert set(media["R1970.JPG"].flags) == {"clock_reset", "outside_window"}
    assert media["OLD.JPG"].flags == ["outside_window"] and media["OLD.JPG"].deployment_id == dep.id
    assert make_thumbnails(app) >= 1  # one job per batch of rows
    assert not _by_name(world)["TRUNC.JPG"].has_derivatives
    derivs = app.extensions["saola.derivatives"]
    with Image.open(derivs.path(thumb_key(media["CMYK.JPG"].sha256))) as t:
        assert t.mode == "RGB"
    with Image.open(derivs.path(thumb_key(media["ROT.JPG"].sha256))) as t:
        assert t.size[0] < t.size[1]  # stored landscape, tagged rotate-90: shown portrait
    assert media["ROT.JPG"].width == 96 and media["ROT.JPG"].orientation == 6  # originals untouched
    clip = media["CLIP1.MP4"]
    assert clip.kind == "video" and clip.duration_s == 10.0 and clip.media_type == "video/mp4"
    assert as_utc(clip.captured_at) == datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc)
    assert media["CLIP2.AVI"].duration_s == pytest.approx(10.0, abs=0.01)
    # Videos and photos of the same morning share sequences only when close in time.
    assert media["GOOD1.JPG"].sequence_id == media["GOOD3.JPG"].sequence_id != clip.sequence_id
    assert media["NOEXIF.JPG"].sequence_id is None


def test_zip_with_escaping_paths_and_a_bomb_in_worker_processes(app, world, tmp_path):
    _, _, dep = make_deployment(world)
    z = tmp_path / "upload" / "card.zip"
    z.parent.mkdir()
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(10):
            zf.writestr(f"DCIM/100RECNX/IMG_{i:04d}.JPG", jpeg_bytes(f"2026:03:02 06:15:{i:02d}", color=(i * 20, 5, 5)))
        zf.writestr("../../escaped.JPG", jpeg_bytes(color=(1, 200, 1)))
        zf.writestr("DCIM/bomb.JPG", b"\xff\xd8\xff" + b"\x00" * (8 * 1024 * 1024))
    rep = ingest_path(app, z, deployment_id=dep.id, workers=2)
    assert rep.ingested == 10 and rep.fatal is None
    lines = "\n".join(rep.summary_lines())
    assert "skipped ../../escaped.JPG: unsafe path in zip (escapes the target folder): refused" in lines
    assert "skipped DCIM/bomb.JPG: compression ratio" in lines and "zip bomb" in lines
    assert not (tmp_path / "escaped.JPG").exists() and not (tmp_path.parent / "escaped.JPG").exists()
    assert len(_media(world)) == 10 and len(_sequences(world)) == 1
    make_thumbnails(app)
    assert all(m.has_derivatives for m in _media(world))


def test_same_bytes_twice_on_a_card_are_stored_once(app, world, tmp_path):
    _, _, dep = make_deployment(world)
    data = jpeg_bytes()
    write(tmp_path / "card/A/IMG1.JPG", data)
    write(tmp_path / "card/B/IMG1_copy.jpeg", data)
    rep = ingest_path(app, tmp_path / "card", deployment_id=dep.id, workers=0)
    assert (rep.ingested, rep.duplicates) == (1, 1)
    assert len(_media(world)) == 1


def test_batches_also_close_on_time(app, world, tmp_path, monkeypatch):
    """A slow card still commits rows as it goes: a batch closes after BATCH_SECONDS even when short."""
    _, _, dep = make_deployment(world)
    for i in range(3):
        write(tmp_path / f"card/IMG_{i:04d}.JPG", jpeg_bytes(f"2026:03:02 06:{i:02d}:00", color=(i * 40, 9, 9)))
    monkeypatch.setattr(pipeline, "BATCH_SECONDS", -1.0)  # every file is "late": one batch each
    rep = ingest_path(app, tmp_path / "card", deployment_id=dep.id, workers=0)
    assert rep.ingested == 3 and len(_media(world)) == 3
    with world.session() as s:
        entries = list(s.exec(select(AuditLog).where(AuditLog.entity == "media")))
    assert sorted(e.after["count"] for e in entries) == [1, 1, 1]


def test_crash_mid_card_then_rerun_finishes_without_duplicates(app, world, tmp_path, monkeypatch):
    _, _, dep = make_deployment(world)
    for i in range(12):
        write(tmp_path / f"card/IMG_{i:04d}.JPG", jpeg_bytes(f"2026:03:02 06:{i:02d}:00", color=(i * 20, 9, 9)))
    monkeypatch.setattr(pipeline, "BATCH_SIZE", 4)
    monkeypatch.setattr(pipeline, "BATCH_SECONDS", float("inf"))  # batches of exactly 4, however slow
    real_write = pipeline.BatchWriter._write
    calls = {"n": 0}

    def crashing_write(self, placed):
        calls["n"] += 1
        if calls["n"] == 2:  # the process dies while writing the second batch of rows
            raise RuntimeError("simulated crash")
        return real_write(self, placed)

    monkeypatch.setattr(pipeline.BatchWriter, "_write", crashing_write)
    with pytest.raises(RuntimeError, match="simulated crash"):
        ingest_path(app, tmp_path / "card", deployment_id=dep.id, workers=0)
    assert len(_media(world)) == 4  # first batch committed; the second batch's files are stored, rowless
    store = app.extensions["saola.media"]
    assert len(list(store.iter_keys())) == 8
    monkeypatch.setattr(pipeline.BatchWriter, "_write", real_write)
    rep = ingest_path(app, tmp_path / "card", deployment_id=dep.id, workers=0)
    assert (rep.ingested, rep.duplicates, rep.fatal) == (8, 4, None)
    make_thumbnails(app)
    media = _media(world)
    assert len(media) == 12 and len({m.sha256 for m in media}) == 12
    assert sorted(store.iter_keys()) == sorted(m.storage_key for m in media)
    for m in media:  # no half-written record: every row complete, every file intact
        assert hashlib.sha256(store.path(m.storage_key).read_bytes()).hexdigest() == m.sha256
        assert m.has_derivatives and m.captured_at is not None and m.sequence_id is not None
    assert _no_tmp_files(store.root) and _no_tmp_files(app.extensions["saola.derivatives"].root)


def test_missing_derivatives_are_completed_on_rerun(app, world, tmp_path):
    _, _, dep = make_deployment(world)
    write(tmp_path / "card/IMG1.JPG", jpeg_bytes())
    ingest_path(app, tmp_path / "card", deployment_id=dep.id, workers=0)
    assert make_thumbnails(app) == 1
    m = _media(world)[0]
    thumb = app.extensions["saola.derivatives"].path(thumb_key(m.sha256))
    thumb.unlink()
    rep = ingest_path(app, tmp_path / "card", deployment_id=dep.id, workers=0)
    assert rep.duplicates == 1 and rep.derivatives_pending == 1
    assert make_thumbnails(app) == 1 and thumb.is_file()


def test_disk_full_stops_with_a_clear_line_and_rerun_completes(app, world, tmp_path, monkeypatch):
    _, _, dep = make_deployment(world)
    for i in range(5):
        write(tmp_path / f"card/IMG_{i:04d}.JPG", jpeg_bytes(f"2026:03:02 06:00:0{i}", color=(i * 50, 1, 1)))
    real = process.atomic_write
    media_root = str(app.extensions["saola.media"].root)
    count = {"n": 0}

    def full_disk(path, data, durable):
        if path.startswith(media_root):
            count["n"] += 1
            if count["n"] >= 3:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(path, data, durable)

    monkeypatch.setattr(process, "atomic_write", full_disk)
    rep = ingest_path(app, tmp_path / "card", deployment_id=dep.id, workers=0)
    assert rep.fatal is not None and rep.fatal.startswith("disk full while storing IMG_0002.JPG")
    assert "run the same command again" in rep.fatal
    assert rep.summary_lines()[-1].startswith("STOPPED: disk full")
    assert rep.ingested == 2 and len(_media(world)) == 2
    monkeypatch.setattr(process, "atomic_write", real)
    again = ingest_path(app, tmp_path / "card", deployment_id=dep.id, workers=0)
    assert (again.ingested, again.duplicates, again.fatal) == (3, 2, None)
    assert len(_media(world)) == 5


def test_matching_by_camera_serial_and_window(app, world, tmp_path):
    area = world.area()
    _, program, jan = make_deployment(world, area=area, serial="CAM-A", start=datetime(2026, 1, 1, tzinfo=timezone.utc),
                                      end=datetime(2026, 1, 31, tzinfo=timezone.utc), station="S01")
    mar = world.deployment(program, location_name="S02", deployment_start=datetime(2026, 3, 1, tzinfo=timezone.utc),
                           deployment_end=datetime(2026, 3, 31, tzinfo=timezone.utc), camera_id="cam-a ",
                           clock_offset_s=-3600)
    card = tmp_path / "card"
    write(card / "JAN.JPG", jpeg_bytes("2026:01:10 10:00:00", serial="CAM-A", color=(1, 1, 1)))
    write(card / "MAR.JPG", jpeg_bytes("2026:03:10 10:00:00", serial="CAM-A", color=(2, 2, 2)))
    write(card / "MAY.JPG", jpeg_bytes("2026:05:10 10:00:00", serial="CAM-A", color=(3, 3, 3)))
    write(card / "OTHER.JPG", jpeg_bytes("2026:03:10 10:00:00", serial="CAM-Z", color=(4, 4, 4)))
    write(card / "NOSERIAL.JPG", jpeg_bytes("2026:03:10 10:00:00", serial=None, color=(5, 5, 5)))
    rep = ingest_path(app, card, workers=0)
    m = _by_name(world)
    assert m["JAN.JPG"].deployment_id == jan.id and m["JAN.JPG"].flags == []
    assert m["MAR.JPG"].deployment_id == mar.id
    # March's camera was an hour fast: its clock offset applies (10:00 local -> 02:00 UTC after -1 h).
    assert as_utc(m["MAR.JPG"].captured_at) == datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc)
    assert m["MAY.JPG"].deployment_id is None and m["MAY.JPG"].flags == ["outside_window"]
    assert m["OTHER.JPG"].flags == ["no_deployment"] and m["NOSERIAL.JPG"].flags == ["no_deployment"]
    assert rep.ingested == 5 and rep.outside_window == 1
    assert "flagged no_deployment: 2 file(s)" in "\n".join(rep.summary_lines())


def test_new_photos_queue_detection_when_a_detector_is_configured(app, world, tmp_path):
    area, _, dep = make_deployment(world)
    app.config["DETECTOR_MODEL"] = "megadetector-test"
    for i in range(3):
        write(tmp_path / f"card/IMG_{i}.JPG", jpeg_bytes(f"2026:03:02 06:15:0{i}", color=(i * 70, 3, 3)))
    write(tmp_path / "card/CLIP.MP4", mp4_bytes(datetime(2026, 3, 2, 6, 16), 5.0))
    ingest_path(app, tmp_path / "card", deployment_id=dep.id, workers=0)
    from server.models import Job

    with world.session() as s:
        jobs = list(s.exec(select(Job).where(Job.kind == "detect")))
        ids = {m.id for m in s.exec(select(Media).where(Media.kind == "image"))}
        (clip,) = s.exec(select(Media.id).where(Media.kind == "video")).all()
    # Photos in one job, the video in a job of its own (decoding never holds the photos up).
    photos = [j for j in jobs if set(j.params["media_ids"]) == ids]
    videos = [j for j in jobs if j.params["media_ids"] == [clip]]
    assert len(jobs) == 2 and len(photos) == 1 and len(videos) == 1
    assert all(j.area_id == area.id and j.params["model"] == "megadetector-test" for j in jobs)
    ingest_path(app, tmp_path / "card", deployment_id=dep.id, workers=0)  # duplicates queue nothing
    with world.session() as s:
        assert len(list(s.exec(select(Job).where(Job.kind == "detect")))) == 2


def test_worker_processes_are_spawned_when_threads_run(app, world, tmp_path, monkeypatch):
    # A server (waitress threads) must not fork: the pool then spawns fresh interpreters.
    _, _, dep = make_deployment(world)
    for i in range(8):
        write(tmp_path / f"card/IMG_{i}.JPG", jpeg_bytes(f"2026:03:02 06:15:0{i}", color=(i * 30, 3, 3)))
    monkeypatch.setattr(pipeline.threading, "active_count", lambda: 3)
    assert pipeline._pool_context().get_start_method() == "spawn"
    rep = ingest_path(app, tmp_path / "card", deployment_id=dep.id, workers=2)
    assert (rep.ingested, rep.fatal) == (8, None)
    make_thumbnails(app)
    assert all(m.has_derivatives for m in _media(world))


def test_odd_file_names_and_exif_text_are_stored_on_both_databases(app, world, tmp_path):
    _, _, dep = make_deployment(world)
    card = tmp_path / "card"
    card.mkdir()
    # A name that is not UTF-8 (as some cameras' FAT cards hold) and EXIF text with NULs.
    (card / os.fsdecode(b"IMG_\xff\xfe.JPG")).write_bytes(jpeg_bytes(make="ACME\x00\x00", model="Cam\x00X"))
    rep = ingest_path(app, card, deployment_id=dep.id, workers=0)
    assert rep.ingested == 1, rep.summary_lines()
    (m,) = _media(world)
    assert m.file_name == "IMG_??.JPG"
    assert m.camera_make == "ACME" and m.camera_model == "Cam" and "\x00" not in m.meta["exif"]["Image Model"]


def test_rows_another_ingest_wrote_meanwhile_count_as_duplicates(app, world, tmp_path, monkeypatch):
    # Two ingests of overlapping cards at once: the second's batch insert hits the unique sha256.
    _, _, dep = make_deployment(world)
    for i in range(3):
        write(tmp_path / f"card/IMG_{i}.JPG", jpeg_bytes(f"2026:03:02 06:15:0{i}", color=(i * 70, 8, 8)))
    ingest_path(app, tmp_path / "card", deployment_id=dep.id, workers=0)
    write(tmp_path / "card/IMG_3.JPG", jpeg_bytes("2026:03:02 06:15:04", color=(250, 8, 8)))
    real_select = pipeline.select
    hidden = {"n": 0}

    def blind_select(*cols):  # the first existence check misses what the "other" ingest wrote
        stmt = real_select(*cols)
        if len(cols) == 3 and hidden["n"] == 0:
            hidden["n"] += 1
            return stmt.where(Media.id == "nothing")
        return stmt

    monkeypatch.setattr(pipeline, "select", blind_select)
    rep = ingest_path(app, tmp_path / "card", deployment_id=dep.id, workers=0)
    assert (rep.ingested, rep.duplicates, rep.fatal) == (1, 3, None)
    assert len(_media(world)) == 4


def test_media_stored_without_a_deployment_are_assigned_when_ingested_again_with_one(app, world, tmp_path):
    card = tmp_path / "card"
    for i in range(3):
        write(card / f"IMG_{i}.JPG", jpeg_bytes(f"2026:03:02 06:15:0{i}", serial="UNKNOWN-CAM", color=(i * 80, 4, 4)))
    first = ingest_path(app, card, workers=0)
    assert first.flag_counts == {"no_deployment": 3}
    _, _, dep = make_deployment(world, start=datetime(2026, 3, 1, tzinfo=timezone.utc))
    again = ingest_path(app, card, deployment_id=dep.id, workers=0)
    assert (again.ingested, again.duplicates, again.assigned) == (0, 3, 3)
    assert "3 assigned to a deployment now" in again.summary_lines()[1]
    media = _media(world)
    assert {m.deployment_id for m in media} == {dep.id} and all(m.flags == [] for m in media)
    assert len(_sequences(world, dep.id)) == 1 and all(m.sequence_id for m in media)


def test_files_of_the_wrong_kind_for_the_deployment_are_skipped(app, world, tmp_path):
    from server.errors import ValidationError

    area, program, cam = make_deployment(world)
    acoustic = world.deployment(program, location_name="LP1", kind="acoustic")
    write(tmp_path / "card/IMG_1.JPG", jpeg_bytes())
    write(tmp_path / "card/clip.mp4", mp4_bytes(datetime(2026, 3, 2, 6, 0), 3.0))
    with pytest.raises(ValidationError, match="acoustic deployment and every file is a photo or video"):
        ingest_path(app, tmp_path / "card", deployment_id=acoustic.id, workers=0)
    assert _media(world) == []
    rep = ingest_path(app, tmp_path / "card", deployment_id=cam.id, workers=0)
    assert rep.ingested == 2


def test_big_files_are_streamed_and_removed_folders_are_made_again(app, world, tmp_path, monkeypatch):
    import shutil

    _, _, dep = make_deployment(world)
    monkeypatch.setattr(process, "IN_MEMORY_MAX", 1000)  # every test photo counts as "big"
    write(tmp_path / "card/IMG_1.JPG", jpeg_bytes(color=(1, 99, 1)))
    write(tmp_path / "card/CLIP.AVI", avi_bytes())
    rep = ingest_path(app, tmp_path / "card", deployment_id=dep.id, workers=0)
    make_thumbnails(app)
    assert rep.ingested == 2 and all(m.has_derivatives or m.kind == "video" for m in _media(world))
    # Someone empties the derivatives folder while the server runs (folders this process
    # made before): re-running makes the thumbnail again.
    thumbs = app.extensions["saola.derivatives"].root / "thumb"
    shutil.rmtree(thumbs)
    monkeypatch.setattr(process, "IN_MEMORY_MAX", 64 * 1024 * 1024)
    again = ingest_path(app, tmp_path / "card", deployment_id=dep.id, workers=0)
    assert again.duplicates == 2 and not again.skipped
    make_thumbnails(app)
    (photo,) = [m for m in _media(world) if m.kind == "image"]
    assert app.extensions["saola.derivatives"].exists(thumb_key(photo.sha256))
