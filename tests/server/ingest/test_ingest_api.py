"""Upload, list and fetch media through the API, with permissions (SQLite and PostgreSQL)."""
from __future__ import annotations

import io
import zipfile
from datetime import datetime, timezone

from PIL import Image

from ingest_helpers import jpeg_bytes, make_deployment, make_thumbnails, reconyx_dir
from server.ingest.pipeline import ingest_path


def _fetch(client, url, headers):
    """(status, mimetype, bytes) of a file response, closing it (send_file keeps the file open)."""
    with client.get(url, headers=headers) as r:
        return r.status_code, r.mimetype, r.data


def _multipart(files) -> tuple[bytes, str]:
    """A multipart/form-data body with one ``files`` part per (name, bytes).

    Built here rather than by the test client, whose spooled temporary file for large
    bodies is never closed (a ResourceWarning, an error under this suite's settings).
    """
    boundary = "saola-test-boundary-7d3f"
    out = io.BytesIO()
    for name, data in files:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
                  "Content-Type: application/octet-stream\r\n\r\n".encode())
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def _upload(client, dep_id, headers, files):
    body, ctype = _multipart(files)
    return client.post(f"/api/v1/deployments/{dep_id}/media", headers=headers, data=body, content_type=ctype)


def test_upload_list_and_fetch(app, client, world, shared_dir):
    area, program, dep = make_deployment(world, start=datetime(2021, 4, 1, tzinfo=timezone.utc), tz="Europe/Brussels")
    ranger = world.headers(world.user("lan", roles={area.id: "ranger"}))
    photos = sorted(reconyx_dir(shared_dir).glob("*.JPG"))[:4]
    files = [(f"DCIM/100RECNX/{p.name}", p.read_bytes()) for p in photos]
    files += [("DCIM/100RECNX/NOEXIF.JPG", jpeg_bytes(exif=False)), ("DCIM/junk.JPG", b"not a photo"),
              ("../../../etc/cron.JPG", jpeg_bytes(color=(3, 3, 3)))]
    r = _upload(client, dep.id, ranger, files)
    assert r.status_code == 201, r.json
    rep = r.json
    assert (rep["ingested"], rep["duplicates"], rep["sequences"]) == (5, 0, 1)
    reasons = {s["path"]: s["reason"] for s in rep["skipped"]}
    assert reasons["DCIM/junk.JPG"].startswith("not a JPEG file")
    assert "escapes the upload folder" in reasons["../../../etc/cron.JPG"]
    assert rep["flag_counts"] == {"no_timestamp": 1}
    # The same upload again stores nothing.
    again = _upload(client, dep.id, ranger, files[:4])
    assert again.status_code == 200 and again.json["duplicates"] == 4 and again.json["ingested"] == 0

    r = client.get(f"/api/v1/media?deployment_id={dep.id}&limit=2", headers=ranger)
    assert r.status_code == 200 and r.json["total"] == 5 and len(r.json["items"]) == 2 and r.json["next_offset"] == 2
    first = r.json["items"][0]
    assert first["file_name"] == photos[0].name and first["camera_model"] == "HYPERFIRE 2 COVERT"
    assert first["captured_at"].startswith("2021-04-11T18:43:09")
    assert client.get("/api/v1/media?flag=no_timestamp", headers=ranger).json["total"] == 1
    assert client.get("/api/v1/media?kind=video", headers=ranger).json["total"] == 0
    window = client.get("/api/v1/media?start=2021-04-11T18:43:10Z&end=2021-04-11T18:43:10.5Z", headers=ranger).json
    assert {m["file_name"] for m in window["items"]} == {photos[1].name, photos[2].name} or window["total"] >= 1
    assert client.get("/api/v1/media?start=2021-04-12T00:00:00Z&end=2021-04-11T00:00:00Z",
                      headers=ranger).status_code == 422
    assert client.get("/api/v1/media?flag=bogus", headers=ranger).status_code == 422

    detail = client.get(f"/api/v1/media/{first['id']}", headers=ranger).json
    assert detail["meta"]["exif"]["Image Make"] == "RECONYX"
    status, _, data = _fetch(client, f"/api/v1/media/{first['id']}/file", ranger)
    assert status == 200 and data == photos[0].read_bytes()
    # The thumbnail: a placeholder until the background job made it (the upload did not decode).
    status, mimetype, data = _fetch(client, f"/api/v1/media/{first['id']}/thumbnail", ranger)
    assert status == 200 and mimetype == "image/svg+xml"
    make_thumbnails(app)
    status, mimetype, data = _fetch(client, f"/api/v1/media/{first['id']}/thumbnail", ranger)
    assert status == 200 and mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(data)).size == (256, 180)
    status, mimetype, data = _fetch(client, f"/api/v1/media/{first['id']}/review", ranger)
    assert status == 200 and mimetype == "image/jpeg"
    assert 320 < max(Image.open(io.BytesIO(data)).size) <= 2048

    seqs = client.get(f"/api/v1/sequences?deployment_id={dep.id}", headers=ranger).json
    assert seqs["total"] == 1 and seqs["items"][0]["media_count"] == 4
    one = client.get(f"/api/v1/sequences/{seqs['items'][0]['id']}", headers=ranger)
    assert one.status_code == 200 and one.json["event_start"].startswith("2021-04-11T18:43:09")


def test_permissions(client, world, tmp_path):
    area, _, dep = make_deployment(world)
    other = world.area("CT", "Cat Tien")
    viewer = world.headers(world.user("viewer", roles={area.id: "viewer"}))
    outsider = world.headers(world.user("outsider", roles={other.id: "manager"}))
    admin = world.headers(world.user("root", admin=True))
    files = [("IMG1.JPG", jpeg_bytes())]
    assert _upload(client, dep.id, viewer, files).status_code == 403
    assert _upload(client, dep.id, outsider, files).status_code == 404
    assert client.post(f"/api/v1/deployments/{dep.id}/media", data={}).status_code == 401
    r = _upload(client, dep.id, admin, files)
    assert r.status_code == 201
    mid = client.get("/api/v1/media", headers=viewer).json["items"][0]["id"]
    assert _fetch(client, f"/api/v1/media/{mid}/thumbnail", viewer)[0] == 200
    assert client.get("/api/v1/media", headers=outsider).json["total"] == 0
    for suffix in ("", "/file", "/thumbnail", "/review"):
        assert _fetch(client, f"/api/v1/media/{mid}{suffix}", outsider)[0] == 404, suffix
    assert client.get(f"/api/v1/sequences?deployment_id={dep.id}", headers=outsider).json["total"] == 0
    # Media matched to no deployment belong to no area: administrators only.
    write_dir = tmp_path / "card"
    write_dir.mkdir()
    (write_dir / "LOST.JPG").write_bytes(jpeg_bytes(serial="NOBODY", color=(9, 99, 9)))
    ingest_path(client.application, write_dir, workers=0)
    assert client.get("/api/v1/media?flag=no_deployment", headers=admin).json["total"] == 1
    assert client.get("/api/v1/media?flag=no_deployment", headers=viewer).json["total"] == 0


def test_upload_errors(client, world):
    area, program, dep = make_deployment(world)
    manager = world.headers(world.user("boss", roles={area.id: "manager"}))
    r = client.post(f"/api/v1/deployments/{dep.id}/media", headers=manager, content_type="multipart/form-data",
                    data={})
    assert r.status_code == 422 and "no files in the upload" in r.json["error"]["message"]
    acoustic = world.deployment(program, location_name="LP1", kind="acoustic")
    r = _upload(client, acoustic.id, manager, [("IMG1.JPG", jpeg_bytes())])
    assert r.status_code == 422 and "is an acoustic deployment and every file is a photo or video" in \
        r.json["error"]["message"]
    assert _upload(client, "no-such-id", manager, [("a.jpg", b"x")]).status_code == 404


def test_upload_zip(client, world):
    area, _, dep = make_deployment(world)
    manager = world.headers(world.user("boss", roles={area.id: "manager"}))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(3):
            zf.writestr(f"DCIM/IMG_{i}.JPG", jpeg_bytes(f"2026:03:02 06:15:0{i}", color=(i * 60, 2, 2)))
        zf.writestr("../evil.JPG", jpeg_bytes(color=(7, 7, 7)))
    r = _upload(client, dep.id, manager, [("card.zip", buf.getvalue())])
    assert r.status_code == 201 and r.json["ingested"] == 3
    assert {s["path"]: s["reason"] for s in r.json["skipped"]}["card.zip!../evil.JPG"].startswith("unsafe path in zip")
    names = {m["file_path"] for m in client.get("/api/v1/media", headers=manager).json["items"]}
    assert names == {f"card.zip!DCIM/IMG_{i}.JPG" for i in range(3)}
