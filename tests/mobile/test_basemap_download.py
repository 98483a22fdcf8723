"""The tablet's basemap download (mobile/basemap.py) against the real server routes (server/api/basemaps.py,
through Flask's test client): interrupted downloads resume from their bytes, a file replaced on the
server meanwhile is fetched whole, a wrong checksum or a wrong file never replaces the map in use, a
full disk is told and keeps the part. Both databases (the ``app`` fixture)."""
from __future__ import annotations

import errno
import hashlib
import sqlite3

import pytest
from mbtiles_maker import lonlat_to_tile, make_mbtiles, tile_image

from mobile import basemap
from mobile.basemap import MSG_CHECKSUM, MSG_DISK_FULL, MSG_NETWORK, MSG_NOT_MBTILES, BasemapProblem, MBTiles


class Resp:
    def __init__(self, status, data, cut_after=None, headers=None):
        self.status_code, self.data, self.cut_after, self.headers = status, data, cut_after, headers or {}

    def iter_content(self, chunk):
        sent = 0
        for i in range(0, len(self.data), chunk):
            block = self.data[i:i + chunk]
            if self.cut_after is not None and sent + len(block) > self.cut_after:
                yield block[: self.cut_after - sent]
                raise ConnectionError("connection reset by peer")  # what requests raises mid-body
            sent += len(block)
            yield block

    def close(self):
        pass


class ClientSession:
    """A requests-like session over the Flask test client; can cut the body after N bytes."""

    def __init__(self, client, cut_after=None):
        self.client, self.cut_after, self.sent_headers = client, cut_after, []

    def get(self, url, headers=None, stream=False, timeout=None):
        self.sent_headers.append(dict(headers or {}))
        r = self.client.get(url.replace("http://tablet.test", ""), headers=headers)
        data = r.get_data()
        r.close()
        return Resp(r.status_code, data, self.cut_after, dict(r.headers))


@pytest.fixture
def served(app, client, world, tmp_path):
    area = world.area("BM", "Bạch Mã")
    manager = world.user("manager", roles={area.id: "manager"})
    ranger = world.user("ranger", roles={area.id: "ranger"})
    h = world.headers(manager)

    def upload(name, **kw):
        data = make_mbtiles(tmp_path / name, **kw).read_bytes()
        r = client.put(f"/api/v1/areas/{area.id}/basemap", data=data, headers={**h, "Content-Type": "application/vnd.sqlite3"})
        assert r.status_code == 201, r.get_json()
        return r.get_json()

    info = upload("first.mbtiles")
    return {"area": area, "info": info, "upload": upload, "auth": world.headers(ranger)}


def _fetch(session, served, dest, info=None, **kw):
    info = info or served["info"]
    return basemap.download(session, "http://tablet.test" + info["download_url"], dest, info["size_bytes"],
                            info["sha256"], headers=served["auth"], chunk=4096, **kw)


def test_an_interrupted_download_resumes_from_its_bytes(client, served, tmp_path):
    info = served["info"]
    dest = tmp_path / "tablet" / "basemaps" / "A.mbtiles"
    progress = []
    with pytest.raises(BasemapProblem) as e:
        _fetch(ClientSession(client, cut_after=info["size_bytes"] // 3), served, dest,
               on_progress=lambda d, t: progress.append((d, t)))
    assert e.value.msgid == MSG_NETWORK and "tiếp từ chỗ đã dừng" in e.value.message("vi")
    part = dest.with_name(dest.name + ".part")
    assert part.stat().st_size == info["size_bytes"] // 3 and not dest.exists()
    assert progress[-1] == (info["size_bytes"] // 3, info["size_bytes"])
    session = ClientSession(client)
    assert _fetch(session, served, dest) == info["sha256"]
    assert session.sent_headers[-1]["Range"] == f"bytes={info['size_bytes'] // 3}-"
    assert session.sent_headers[-1]["If-Range"] == f'"{info["sha256"]}"'
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == info["sha256"] and not part.exists()
    tiles = MBTiles(dest)
    x, y = lonlat_to_tile(107.86, 16.2, 14)
    assert tiles.tile(14, x, y) == tile_image(14, x, y)
    tiles.close()


def test_a_file_replaced_on_the_server_is_fetched_whole(client, served, tmp_path):
    dest = tmp_path / "A.mbtiles"
    with pytest.raises(BasemapProblem):
        _fetch(ClientSession(client, cut_after=5000), served, dest)
    old = served["info"]
    newer = served["upload"]("second.mbtiles", zooms=(12, 13))
    # The tablet still has the old description: If-Range no longer matches, the new file comes whole,
    # never the old part spliced with the new file's tail.
    session = ClientSession(client)
    assert _fetch(session, served, dest, info=old) == newer["sha256"]
    assert session.sent_headers[-1]["If-Range"] == f'"{old["sha256"]}"'
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == newer["sha256"]
    # A part of another file is never resumed for this one.
    with pytest.raises(BasemapProblem):
        _fetch(ClientSession(client, cut_after=5000), served, tmp_path / "B.mbtiles", info=newer)
    session = ClientSession(client)
    _fetch(session, served, tmp_path / "B.mbtiles", info=dict(newer, sha256=old["sha256"]))
    assert "Range" not in session.sent_headers[-1]


def test_a_wrong_checksum_or_a_wrong_file_never_replaces_the_map_in_use(client, served, tmp_path):
    dest = tmp_path / "A.mbtiles"
    _fetch(ClientSession(client), served, dest)
    good = dest.read_bytes()
    class Garbling(ClientSession):  # a proxy or a bad link changes a byte on the way
        def get(self, *a, **kw):
            r = super().get(*a, **kw)
            r.data = r.data[:5000] + bytes([r.data[5000] ^ 0xFF]) + r.data[5001:]
            return r

    dest.unlink()
    dest.write_bytes(good)
    with pytest.raises(BasemapProblem) as e:
        _fetch(Garbling(client), served, dest)
    assert e.value.msgid == MSG_CHECKSUM and dest.read_bytes() == good
    assert not dest.with_name(dest.name + ".part").exists()  # wrong bytes are not kept for a resume

    class PngServer:
        def get(self, url, headers=None, stream=False, timeout=None):
            return Resp(200, tile_image(1, 0, 0))

    png = tile_image(1, 0, 0)
    with pytest.raises(BasemapProblem) as e:
        basemap.download(PngServer(), "http://x/y", dest, len(png), hashlib.sha256(png).hexdigest())
    assert e.value.msgid == MSG_NOT_MBTILES and "Bản đồ đang dùng được giữ nguyên" in e.value.message("vi")
    assert dest.read_bytes() == good


def test_a_full_disk_stops_the_download_and_keeps_the_part(client, served, tmp_path, monkeypatch):
    dest = tmp_path / "A.mbtiles"
    real_open = open
    limit = 10_000

    class FullDisk:
        def __init__(self, f):
            self.f, self.n = f, 0

        def write(self, b):
            if self.n + len(b) > limit:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.n += len(b)
            return self.f.write(b)

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.f.close()

    monkeypatch.setattr(basemap, "open", lambda p, mode="r", *a, **k: FullDisk(real_open(p, mode, *a, **k))
                        if "a" in mode or "w" in mode else real_open(p, mode, *a, **k), raising=False)
    with pytest.raises(BasemapProblem) as e:
        _fetch(ClientSession(client), served, dest)
    assert e.value.msgid == MSG_DISK_FULL and "Bộ nhớ máy tính bảng đã đầy" in e.value.message("vi")
    part = dest.with_name(dest.name + ".part")
    assert 0 < part.stat().st_size <= limit
    monkeypatch.undo()
    _fetch(ClientSession(client), served, dest)  # space freed: it continues
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == served["info"]["sha256"]


def test_check_file_refuses_broken_files(tmp_path):
    good = make_mbtiles(tmp_path / "g.mbtiles", zooms=(12,))
    assert basemap.check_file(good)["format"] == "png"
    half = tmp_path / "half.mbtiles"
    half.write_bytes(good.read_bytes()[:3000])
    with pytest.raises(BasemapProblem) as e:
        basemap.check_file(half)
    assert e.value.msgid == basemap.MSG_CORRUPT
    empty = tmp_path / "e.mbtiles"
    sqlite3.connect(empty).execute("CREATE TABLE x (a)").connection.close()
    with pytest.raises(BasemapProblem) as e:
        basemap.check_file(empty)
    assert e.value.msgid == MSG_NOT_MBTILES
