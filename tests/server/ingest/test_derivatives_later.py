"""Decode once, derivatives later (issue 16, item 2), on SQLite and PostgreSQL: ingest stores and indexes
without decoding; thumbnails come from the camera's embedded preview or from the background job; pages
get a placeholder meanwhile; a failing job keeps the original and row and retries; people stay blurred."""
from __future__ import annotations

import errno
import hashlib
import io
import struct

import pytest
from PIL import Image
from sqlmodel import select

from ingest_helpers import jpeg_bytes, make_deployment, make_thumbnails, write
from server.ingest import derivatives as deriv
from server.ingest import pipeline, process
from server.ingest.derivatives import thumb_key
from server.ingest.pipeline import ingest_path
from server.models import Detection, Job, Media
from signin import sign_in


@pytest.fixture(autouse=True)
def one_batch(monkeypatch):
    # Batches also close every BATCH_SECONDS: on a loaded machine a card could make two jobs.
    monkeypatch.setattr(pipeline, "BATCH_SECONDS", float("inf"))


def _jpeg(size, color=(60, 120, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", quality=75)
    return buf.getvalue()


def with_preview(photo_size=(1024, 768), preview_size=(320, 240), when="2026:03:02 06:15:01") -> tuple[bytes, bytes]:
    """(photo, its preview): a JPEG whose EXIF block (written byte by byte) has IFD0 (Make, Model,
    EXIF IFD with DateTimeOriginal) and IFD1 holding a JPEG preview, as trail cameras write."""
    preview = _jpeg(preview_size, (200, 30, 30))
    make, model, date = b"TestMake\x00", b"TestCam\x00", when.encode() + b"\x00"
    ifd0_off, n0 = 8, 3
    exif_off = ifd0_off + 2 + 12 * n0 + 4
    ifd1_off = exif_off + 2 + 12 + 4
    data_off = ifd1_off + 2 + 12 * 3 + 4
    make_off, model_off = data_off, data_off + len(make)
    date_off = model_off + len(model)
    prev_off = date_off + len(date)
    t = b"II*\x00" + struct.pack("<I", ifd0_off)
    t += struct.pack("<H", n0) + struct.pack("<HHII", 0x010F, 2, len(make), make_off) + struct.pack(
        "<HHII", 0x0110, 2, len(model), model_off) + struct.pack("<HHII", 0x8769, 4, 1, exif_off) + struct.pack(
        "<I", ifd1_off)
    t += struct.pack("<H", 1) + struct.pack("<HHII", 0x9003, 2, len(date), date_off) + struct.pack("<I", 0)
    t += struct.pack("<H", 3) + struct.pack("<HHIHH", 0x0103, 3, 1, 6, 0) + struct.pack(
        "<HHII", 0x0201, 4, 1, prev_off) + struct.pack("<HHII", 0x0202, 4, 1, len(preview)) + struct.pack("<I", 0)
    t += make + model + date + preview
    app1 = b"Exif\x00\x00" + t
    main = _jpeg(photo_size)
    return main[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + main[2:], preview


def _media(world) -> dict[str, Media]:
    with world.session() as s:
        return {m.file_name: m for m in s.exec(select(Media))}


def _jobs(world, kind="derivatives") -> list[Job]:
    with world.session() as s:
        return list(s.exec(select(Job).where(Job.kind == kind).order_by(Job.created_at)))


def test_embedded_preview_becomes_the_thumbnail_without_a_job(app, world, tmp_path):
    _, _, dep = make_deployment(world)
    photo, preview = with_preview()
    write(tmp_path / "card/P1.JPG", photo)
    square, _ = with_preview(preview_size=(320, 320))  # another shape than the photo: not used
    write(tmp_path / "card/P2.JPG", square)
    big, _ = with_preview(preview_size=(640, 480))  # larger than a thumbnail: scaled from the preview
    write(tmp_path / "card/P3.JPG", big)
    rep = ingest_path(app, tmp_path / "card", deployment_id=dep.id, workers=0)
    assert rep.ingested == 3 and rep.derivatives_pending == 1
    m = _media(world)
    derivs = app.extensions["saola.derivatives"]
    assert m["P1.JPG"].has_derivatives and m["P1.JPG"].meta["derivatives"] == "exif_preview"
    assert derivs.path(thumb_key(m["P1.JPG"].sha256)).read_bytes() == preview  # the camera's own bytes
    assert m["P3.JPG"].has_derivatives
    with Image.open(derivs.path(thumb_key(m["P3.JPG"].sha256))) as t:
        assert t.size == (320, 240) and t.getpixel((100, 100))[0] > 150  # the red preview, not the photo
    assert not m["P2.JPG"].has_derivatives and m["P2.JPG"].meta["derivatives"] == "pending"
    jobs = _jobs(world)
    assert len(jobs) == 1 and jobs[0].params["media_ids"] == [m["P2.JPG"].id]


def test_pages_get_a_placeholder_until_the_job_made_the_thumbnail(app, client, world, tmp_path):
    area, _, dep = make_deployment(world)
    write(tmp_path / "card/IMG1.JPG", jpeg_bytes("2026:03:02 06:15:01", size=(640, 480)))
    write(tmp_path / "card/BIG.JPG", jpeg_bytes("2026:03:02 06:15:02", size=(2400, 1800), color=(9, 90, 9)))
    ingest_path(app, tmp_path / "card", deployment_id=dep.id, workers=0)
    m = _media(world)
    world.user("bio", roles={area.id: "biologist"})
    assert sign_in(client, "bio").status_code == 302
    r = client.get(f"/review/media/{m['IMG1.JPG'].id}/thumb.jpg")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"
    assert r.headers["X-Saola-Pending"] == "1" and r.headers["Cache-Control"] == "no-store"
    # The review image of a review-sized photo is the original itself: no waiting for it.
    r = client.get(f"/review/media/{m['IMG1.JPG'].id}/review.jpg")
    assert r.status_code == 200 and "X-Saola-Pending" not in r.headers
    assert hashlib.sha256(r.data).hexdigest() == m["IMG1.JPG"].sha256
    # A photo over 2048 px needs a review copy: placeholder too, until the job made it.
    r = client.get(f"/review/media/{m['BIG.JPG'].id}/review.jpg")
    assert r.headers.get("X-Saola-Pending") == "1"
    assert make_thumbnails(app) == 1
    for name, size, longest in (("IMG1.JPG", "thumb", 320), ("BIG.JPG", "review", 1600)):
        r = client.get(f"/review/media/{m[name].id}/{size}.jpg?pending=1")
        assert r.status_code == 200 and r.mimetype == "image/jpeg" and "X-Saola-Pending" not in r.headers
        with Image.open(io.BytesIO(r.data)) as im:
            assert max(im.size) == longest
    job = _jobs(world)[0]
    assert job.status == "done" and job.result["with_derivatives"] == 2


def test_failing_job_keeps_original_and_row_and_retries(app, world, tmp_path, monkeypatch):
    _, _, dep = make_deployment(world)
    data = jpeg_bytes("2026:03:02 06:15:01")
    write(tmp_path / "card/IMG1.JPG", data)
    ingest_path(app, tmp_path / "card", deployment_id=dep.id, workers=0)
    real = process.atomic_write

    def disk_full(path, blob, durable):
        if "/thumb/" in path or "/review/" in path:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, blob, durable)

    monkeypatch.setattr(process, "atomic_write", disk_full)
    assert make_thumbnails(app) == 1
    (job,) = _jobs(world)
    assert job.status == "queued" and job.attempts == 1 and "could not be written" in (job.error or "")
    m = _media(world)["IMG1.JPG"]
    assert not m.has_derivatives and m.meta["derivatives"] == "pending" and m.flags == []
    assert app.extensions["saola.media"].path(m.storage_key).read_bytes() == data
    monkeypatch.setattr(process, "atomic_write", real)
    assert make_thumbnails(app) == 1
    assert _jobs(world)[0].status == "done"
    m = _media(world)["IMG1.JPG"]
    assert m.has_derivatives and app.extensions["saola.derivatives"].exists(thumb_key(m.sha256))


def test_undecodable_photo_is_flagged_and_not_retried(app, world, tmp_path, monkeypatch):
    _, _, dep = make_deployment(world)
    write(tmp_path / "card/IMG1.JPG", jpeg_bytes("2026:03:02 06:15:01"))
    ingest_path(app, tmp_path / "card", deployment_id=dep.id, workers=0)

    def broken(*a, **kw):
        raise deriv.DerivativeError("cannot decode the image: broken data stream")

    monkeypatch.setattr(deriv, "make_derivatives", broken)
    make_thumbnails(app)
    (job,) = _jobs(world)
    assert job.status == "done" and job.result["undecodable"] == 1
    m = _media(world)["IMG1.JPG"]
    assert m.flags == ["corrupt"] and not m.has_derivatives and m.meta["derivatives"] == "failed"
    assert "cannot decode the image: broken data stream" in m.meta["ingest_notes"]


def test_people_stay_blurred_for_viewers_while_thumbnails_are_pending(app, client, world, tmp_path):
    area, _, dep = make_deployment(world)
    write(tmp_path / "card/IMG1.JPG", jpeg_bytes("2026:03:02 06:15:01", size=(400, 300)))
    write(tmp_path / "card/IMG2.JPG", jpeg_bytes("2026:03:02 06:15:02", size=(400, 300), color=(1, 2, 3)))
    ingest_path(app, tmp_path / "card", deployment_id=dep.id, workers=0)
    m = _media(world)
    with world.session() as s:
        s.add(Detection(media_id=m["IMG1.JPG"].id, model="md_test@1.0", category="person", confidence=0.9,
                        bbox_x=0.1, bbox_y=0.1, bbox_width=0.3, bbox_height=0.5))
    world.user("vera", roles={area.id: "viewer"})
    assert sign_in(client, "vera").status_code == 302
    # The person's photo: rendered with the box blurred (the privacy rule), never the clear thumbnail.
    r = client.get(f"/review/media/{m['IMG1.JPG'].id}/thumb.jpg")
    assert r.status_code == 200 and r.mimetype == "image/jpeg" and r.headers["Cache-Control"] == "private, no-store"
    # The other photo: the placeholder until the job ran, then the thumbnail.
    r = client.get(f"/review/media/{m['IMG2.JPG'].id}/thumb.jpg")
    assert r.headers.get("X-Saola-Pending") == "1"
    make_thumbnails(app)
    r = client.get(f"/review/media/{m['IMG2.JPG'].id}/thumb.jpg")
    assert r.mimetype == "image/jpeg" and "X-Saola-Pending" not in r.headers
    # Made later, the clear thumbnail is still never what a viewer gets of the person's photo.
    clear = app.extensions["saola.derivatives"].path(thumb_key(m["IMG1.JPG"].sha256)).read_bytes()
    r = client.get(f"/review/media/{m['IMG1.JPG'].id}/thumb.jpg")
    assert r.status_code == 200 and r.data != clear


def test_saola_ingest_thumbnails_now(runner, world, tmp_path):
    assert runner.invoke(["areas", "add", "PNKB", "Phong Nha-Ke Bang"]).exit_code == 0
    res = runner.invoke(["deployments", "add", "--area", "PNKB", "--program", "CT", "--location", "S1",
                         "--start", "2026-03-01T08:00", "--serial", "CAM-1"])
    dep_id = res.output.strip().splitlines()[-1]
    write(tmp_path / "card/IMG1.JPG", jpeg_bytes("2026:03:02 06:15:01"))
    res = runner.invoke(["ingest", str(tmp_path / "card"), "--deployment", dep_id, "--workers", "0",
                         "--thumbnails", "now", "--quiet"])
    assert res.exit_code == 0, res.output
    assert "thumbnails: 1 to be made in the background" in res.output and "thumbnails made: 1" in res.output
    with world.session() as s:
        assert s.exec(select(Media.has_derivatives)).one() is True
