"""Ingest into an S3 media store and serving from it, against an S3-compatible server over HTTP
(moto's server mode, tests/s3_server.py), on SQLite and PostgreSQL: originals and thumbnails land in
the bucket (worker processes included), nothing in the local media folder; the API serves the
thumbnail from S3, the original by a presigned link or, with links off, streamed with HTTP Range."""
from __future__ import annotations

import hashlib
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlmodel import select

from ingest_helpers import jpeg_bytes, make_deployment, make_thumbnails, mp4_bytes, write
from server.ingest.derivatives import thumb_key
from server.ingest.pipeline import ingest_path
from server.models import Media


@pytest.fixture
def s3_app(app_config, s3_server):
    from server import create_app

    url = f"s3://{s3_server.bucket()}/pnkb"
    return create_app({**app_config, **s3_server.config(url)})


def _card(tmp_path: Path) -> Path:
    card = tmp_path / "card" / "DCIM" / "100RECNX"
    for i in range(6):
        write(card / f"IMG_{i:04d}.JPG", jpeg_bytes(f"2026:03:02 06:15:{i:02d}", size=(640, 480),
                                                    color=(20 * i, 90, 40)))
    write(card / "MOV_0001.MP4", mp4_bytes(datetime(2026, 3, 2, 6, 20), 5.0))
    write(card / "notes.txt", b"not media")
    return tmp_path / "card"


@pytest.mark.parametrize("workers", [0, 2])
def test_s3_ingest_stores_originals_and_thumbnails_in_the_bucket(s3_app, world, s3_server, tmp_path, workers):
    _, _, dep = make_deployment(world, start=datetime(2026, 3, 1, tzinfo=timezone.utc))
    rep = ingest_path(s3_app, _card(tmp_path), deployment_id=dep.id, workers=workers)
    assert (rep.ingested, len(rep.skipped)) == (7, 1), rep
    media_store, derivatives = s3_app.extensions["saola.media"], s3_app.extensions["saola.derivatives"]
    assert media_store.remote and derivatives.remote
    # Thumbnails: made by the background job, from the bucket's originals into the bucket.
    assert make_thumbnails(s3_app) >= 1  # one job per batch of rows
    with world.session() as s:
        rows = list(s.exec(select(Media)))
    assert len(rows) == 7
    for m in rows:
        # Read back from S3 itself (not the cache): the bytes hash to the row's SHA-256.
        assert media_store.sha256(m.storage_key) == m.sha256
        if m.kind == "image":
            assert m.has_derivatives and derivatives.exists(thumb_key(m.sha256))
    local = Path(s3_app.config["MEDIA_DIR"])
    assert not local.exists() or not [p for p in local.rglob("*") if p.is_file()]  # nothing on the local disk
    scratch = Path(s3_app.config["DATA_DIR"]) / "tmp"
    assert not scratch.exists() or not list(scratch.iterdir())
    # Ingesting the card again stores nothing twice.
    again = ingest_path(s3_app, tmp_path / "card", deployment_id=dep.id, workers=workers)
    assert (again.ingested, again.duplicates) == (0, 7)


def test_s3_thumbnail_and_original_served_from_the_bucket(s3_app, world, s3_server, tmp_path):
    area, _, dep = make_deployment(world, start=datetime(2026, 3, 1, tzinfo=timezone.utc))
    ingest_path(s3_app, _card(tmp_path), deployment_id=dep.id, workers=0)
    make_thumbnails(s3_app)
    admin = world.user("admin", admin=True)
    headers = world.headers(admin)
    test_client = s3_app.test_client()

    class client:  # noqa: N801 - reads each answer whole and closes it (file handles of send_file)
        @staticmethod
        def get(url, headers):
            r = test_client.get(url, headers=headers)
            r.get_data()
            r.close()
            return r

    with world.session() as s:
        photo = s.exec(select(Media).where(Media.kind == "image").order_by(Media.file_name)).first()
        video = s.exec(select(Media).where(Media.kind == "video")).first()
    cache = Path(s3_app.config["DATA_DIR"]) / "s3-cache"

    # The thumbnail: the JPEG the derivative job made, from the bucket's derivatives.
    r = client.get(f"/api/v1/media/{photo.id}/thumbnail", headers=headers)
    assert r.status_code == 200 and r.mimetype == "image/jpeg"
    thumb = s3_app.extensions["saola.derivatives"]
    assert hashlib.sha256(r.data).hexdigest() == thumb.sha256(thumb_key(photo.sha256))

    # The original download: a presigned link to the bucket, whose bytes are the original's.
    r = client.get(f"/api/v1/media/{video.id}/file", headers=headers)
    assert r.status_code == 302 and r.headers["Cache-Control"] == "private, no-store"
    link = r.headers["Location"]
    assert link.startswith(s3_server.endpoint) and "Signature=" in link
    with urllib.request.urlopen(link) as got:
        assert hashlib.sha256(got.read()).hexdigest() == video.sha256
    assert not list(cache.rglob(f"{video.sha256}*"))  # never copied through the server

    # Links off: the server streams the original from S3, answering Range requests.
    s3_app.config["S3_PRESIGN_S"] = 0
    whole = client.get(f"/api/v1/media/{video.id}/file", headers=headers)
    assert whole.status_code == 200 and hashlib.sha256(whole.data).hexdigest() == video.sha256
    assert whole.headers["Accept-Ranges"] == "bytes"
    part = client.get(f"/api/v1/media/{video.id}/file", headers={**headers, "Range": "bytes=10-19"})
    assert part.status_code == 206 and part.data == whole.data[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(whole.data)}"
    tail = client.get(f"/api/v1/media/{video.id}/file", headers={**headers, "Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.data == whole.data[-5:]
    out = client.get(f"/api/v1/media/{video.id}/file", headers={**headers, "Range": f"bytes={10**9}-"})
    assert out.status_code == 416
    etag = whole.headers["ETag"].strip('"')
    assert client.get(f"/api/v1/media/{video.id}/file",
                      headers={**headers, "If-None-Match": f'"{etag}"'}).status_code == 304
    assert not list(cache.rglob(f"{video.sha256}*"))

    # A viewer never gets a link to the unmodified original: a re-encoded copy (no EXIF) instead.
    s3_app.config["S3_PRESIGN_S"] = 300
    viewer = world.user("viewer", roles={area.id: "viewer"})
    r = client.get(f"/api/v1/media/{photo.id}/file", headers=world.headers(viewer))
    assert r.status_code == 200 and r.headers["Cache-Control"] == "private, no-store"
    assert hashlib.sha256(r.data).hexdigest() != photo.sha256 and r.data[:2] == b"\xff\xd8"

    # A missing object answers 404 naming the media.
    s3_app.extensions["saola.media"].delete(video.storage_key)
    r = client.get(f"/api/v1/media/{video.id}/file", headers=headers)
    assert r.status_code == 404 and "missing from the media store" in r.get_json()["error"]["message"]
