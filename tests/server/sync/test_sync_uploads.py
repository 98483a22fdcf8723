"""Resumable uploads: every bad request gets a specific answer and nothing half-written is kept."""
import hashlib

from sqlmodel import select

from server.models import Media


def _start(client, h, data, **kw):
    body = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "file_name": "p.jpg",
            "media_type": "image/jpeg", **kw}
    return client.post("/api/v1/uploads", json=body, headers=h)


def _patch(client, h, up_id, offset, chunk):
    hdrs = dict(h, **{"Content-Type": "application/offset+octet-stream"})
    if offset is not None:
        hdrs["Upload-Offset"] = str(offset)
    return client.patch(f"/api/v1/uploads/{up_id}", data=chunk, headers=hdrs)


def test_upload_errors(field, client, world):
    h = field.device(field.ranger, "tab-1")
    data = b"\xff\xd8" + bytes(range(256)) * 40
    assert _start(client, h, data, sha256="zz").status_code == 422
    assert _start(client, h, data, size=0).status_code == 422
    assert _start(client, h, data, media_type="application/x-msdownload").status_code == 422
    r = _start(client, h, data)
    assert r.status_code == 201 and r.json["offset"] == 0
    up = r.json["id"]
    # the same bytes again resume the same upload
    assert _start(client, h, data).json["id"] == up
    assert _patch(client, h, up, None, data[:100]).status_code == 422  # no Upload-Offset
    r = _patch(client, h, up, 50, data[:100])
    assert r.status_code == 409 and r.json["error"]["details"]["offset"] == 0
    r = _patch(client, h, up, 0, data + b"extra")
    assert r.status_code == 422 and "past the declared size" in r.json["error"]["message"]
    assert client.get(f"/api/v1/uploads/{up}", headers=h).json["offset"] == 0  # nothing kept
    assert _patch(client, h, "no-such-upload", 0, data).status_code == 404
    # another user cannot see or write this upload
    other = field.device(field.ranger2, "tab-2")
    assert client.get(f"/api/v1/uploads/{up}", headers=other).status_code == 404
    assert _patch(client, other, up, 0, data).status_code == 404
    r = _patch(client, h, up, 0, data[:1000])
    assert r.status_code == 200 and r.headers["Upload-Offset"] == "1000"
    r = _patch(client, h, up, 1000, data[1000:])
    assert r.status_code == 200 and r.json["media_id"]
    with world.session() as s:
        assert s.exec(select(Media)).one().size_bytes == len(data)
    # once complete, starting the same bytes answers "complete" at once
    again = _start(client, h, data).json
    assert again["offset"] == len(data) and again["media_id"] == r.json["media_id"]
