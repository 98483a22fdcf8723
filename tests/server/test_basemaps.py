"""Offline basemaps (server/sync/basemaps.py, server/api/basemaps.py): a manager uploads an MBTiles
file for an area; members read its description, its tiles and the whole file (HTTP Range resumes);
bad files are refused with a specific 422 and the stored basemap stays as it was. Both databases."""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from mbtiles_maker import BACH_MA, lonlat_to_tile, make_mbtiles, tile_image

BOUNDARY = {"type": "Polygon", "coordinates": [[[107.80, 16.15], [107.95, 16.15], [107.95, 16.25],
                                                [107.80, 16.25], [107.80, 16.15]]]}


class Park:
    def __init__(self, world):
        from server.models import ProtectedArea

        self.area = world.area("BM", "Bạch Mã")
        with world.session() as s:
            s.get(ProtectedArea, self.area.id).boundary = BOUNDARY
        self.other = world.area("SL", "Sao La")
        self.manager = world.user("manager", roles={self.area.id: "manager"})
        self.ranger = world.user("ranger", roles={self.area.id: "ranger"})
        self.outsider = world.user("outsider", roles={self.other.id: "manager"})
        self.h = {who: world.headers(getattr(self, who)) for who in ("manager", "ranger", "outsider")}
        self.base = f"/api/v1/areas/{self.area.id}/basemap"


@pytest.fixture
def park(world):
    return Park(world)


def _put(client, park, data: bytes, who="manager"):
    return client.put(park.base, data=data, headers={**park.h[who], "Content-Type": "application/vnd.sqlite3"})


def _get(client, url, headers):
    """GET and close (file responses hold the file open until closed)."""
    r = client.get(url, headers=headers)
    r.get_data()
    r.close()
    return r


def _good(tmp_path, name="good.mbtiles", **kw) -> bytes:
    return make_mbtiles(tmp_path / name, **kw).read_bytes()


def _stored_files(app, park) -> list[str]:
    folder = Path(app.config["DATA_DIR"]) / "basemaps" / park.area.id
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_upload_describe_tiles_and_resumable_download(app, client, park, tmp_path):
    data = _good(tmp_path)
    r = _put(client, park, data)
    assert r.status_code == 201, r.get_json()
    info = r.get_json()
    sha = hashlib.sha256(data).hexdigest()
    assert info["sha256"] == sha and info["size_bytes"] == len(data)
    assert info["format"] == "png" and (info["minzoom"], info["maxzoom"]) == (12, 14)
    assert info["bounds"] == list(BACH_MA) and info["uploaded_by"] == "manager"
    assert info["download_url"].endswith("/basemap.mbtiles") and "{z}/{x}/{y}" in info["tile_url"]
    assert "path" not in info

    # Rangers read the description and the tiles; XYZ rows in the URL, TMS rows in the file.
    r = client.get(park.base, headers=park.h["ranger"])
    assert r.status_code == 200 and r.get_json()["sha256"] == sha
    x, y = lonlat_to_tile(107.86, 16.2, 14)
    r = client.get(f"{park.base}/14/{x}/{y}", headers=park.h["ranger"])
    assert r.status_code == 200 and r.mimetype == "image/png"
    assert r.data == tile_image(14, x, y)
    r = client.get(f"{park.base}/14/0/0", headers=park.h["ranger"])
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "no_tile"
    assert client.get(f"{park.base}/30/0/0", headers=park.h["ranger"]).status_code == 404

    # The whole file, then the rest of it after a break (Range + If-Range on the SHA-256 ETag).
    r = _get(client, f"{park.base}.mbtiles", park.h["ranger"])
    assert r.status_code == 200 and r.data == data
    assert r.headers["X-Content-SHA256"] == sha and r.headers["Accept-Ranges"] == "bytes"
    assert int(r.headers["Content-Length"]) == len(data)
    cut = len(data) // 3
    r = _get(client, f"{park.base}.mbtiles", {**park.h["ranger"], "Range": f"bytes={cut}-", "If-Range": f'"{sha}"'})
    assert r.status_code == 206 and r.data == data[cut:]
    assert r.headers["Content-Range"] == f"bytes {cut}-{len(data) - 1}/{len(data)}"
    # A resume against a file that changed meanwhile gets the whole new file, not a mixed one.
    r = _get(client, f"{park.base}.mbtiles", {**park.h["ranger"], "Range": f"bytes={cut}-", "If-Range": '"0000"'})
    assert r.status_code == 200 and r.data == data

    # The sync reference carries the basemap and the area's boundary for the field map.
    r = client.get(f"/api/v1/sync/reference?area_id={park.area.id}", headers=park.h["ranger"])
    ref = r.get_json()
    assert ref["basemap"]["sha256"] == sha and ref["basemap"]["size_bytes"] == len(data)
    assert ref["area"]["boundary"] == BOUNDARY and ref["area"]["code"] == "BM"


def test_replacing_keeps_one_file_and_delete_removes_it(app, client, park, tmp_path):
    first = _good(tmp_path, "a.mbtiles")
    second = _good(tmp_path, "b.mbtiles", zooms=(12, 13))
    assert _put(client, park, first).status_code == 201
    r = _put(client, park, second)
    assert r.status_code == 201 and r.get_json()["maxzoom"] == 13
    assert _stored_files(app, park) == sorted(["basemap.json", f"{hashlib.sha256(second).hexdigest()}.mbtiles"])
    assert _get(client, f"{park.base}.mbtiles", park.h["ranger"]).data == second
    assert client.delete(park.base, headers=park.h["ranger"]).status_code == 403
    assert client.delete(park.base, headers=park.h["manager"]).status_code == 204
    r = client.get(park.base, headers=park.h["ranger"])
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "no_basemap"
    assert _get(client, f"{park.base}.mbtiles", park.h["ranger"]).status_code == 404
    assert _stored_files(app, park) == []
    ref = client.get(f"/api/v1/sync/reference?area_id={park.area.id}", headers=park.h["ranger"]).get_json()
    assert ref["basemap"] is None


def test_roles_through_the_access_helper(client, park, tmp_path):
    data = _good(tmp_path)
    r = _put(client, park, data, "ranger")
    assert r.status_code == 403 and "manager" in r.get_json()["error"]["message"]
    assert _put(client, park, data, "outsider").status_code == 404
    assert _put(client, park, data).status_code == 201
    for url in (park.base, f"{park.base}.mbtiles", f"{park.base}/12/0/0"):
        r = _get(client, url, park.h["outsider"])
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found", url
    assert client.get(park.base).status_code == 401


def _no_tiles_table(path: Path) -> bytes:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    db.commit()
    db.close()
    return path.read_bytes()


def _corrupt(data: bytes) -> bytes:
    # Overwrite the middle of the file (B-tree pages of the tiles) with garbage.
    mid = len(data) // 2
    return data[:4096] + bytes((i * 37) % 251 for i in range(len(data) - 4096 - 100)) + data[-100:] \
        if len(data) > 8192 else data[:mid]


def _bad_files(tmp_path) -> dict:
    good = _good(tmp_path)
    return {
        "a PNG": (tile_image(1, 0, 0), "invalid_mbtiles", "SQLite header"),
        "no tiles table": (_no_tiles_table(tmp_path / "nt.mbtiles"), "invalid_mbtiles", "no 'tiles' table"),
        "corrupt": (_corrupt(good), "corrupt_mbtiles", "damaged"),
        "truncated": (good[: len(good) // 2], "corrupt_mbtiles", "damaged"),
        "vector tiles": (_good(tmp_path, "v.mbtiles", metadata={"format": "pbf"}, tile_bytes=lambda z, x, y: b"\x1a\x00"),
                         "unsupported_tile_format", "vector tiles"),
        "tiles not images": (_good(tmp_path, "t.mbtiles", tile_bytes=lambda z, x, y: b"<html>nope</html>"),
                             "unsupported_tile_format", "not png images"),
        "bounds not numbers": (_good(tmp_path, "b.mbtiles", metadata={"bounds": "west,south,east,north"}),
                               "invalid_mbtiles", "bounds"),
        "bounds upside down": (_good(tmp_path, "u.mbtiles", metadata={"bounds": "107.9,16.2,107.8,16.1"}),
                               "invalid_mbtiles", "not a box on Earth"),
        "another country": (_good(tmp_path, "o.mbtiles", bounds=(2.29, 48.85, 2.30, 48.86), zooms=(14,)),
                            "basemap_outside_area", "outside this protected area"),
        "no tiles": (_good(tmp_path, "e.mbtiles", zooms=()), "empty_mbtiles", "no tiles"),
        "empty body": (b"", "empty_body", "empty"),
    }


def test_bad_files_are_refused_and_the_stored_basemap_is_kept(app, client, park, tmp_path):
    good = _good(tmp_path, "kept.mbtiles")
    assert _put(client, park, good).status_code == 201
    files = _stored_files(app, park)
    for what, (data, code, words) in _bad_files(tmp_path).items():
        r = _put(client, park, data)
        err = r.get_json()["error"]
        assert r.status_code == 422, (what, r.status_code, err)
        assert err["code"] == code and words in err["message"], (what, err)
        # Nothing lost or half-written: the same files, the same map.
        assert _stored_files(app, park) == files, what
        assert _get(client, f"{park.base}.mbtiles", park.h["ranger"]).data == good, what


def test_size_limit(app, client, park, tmp_path):
    app.config["BASEMAP_MAX_MB"] = 1
    big = _good(tmp_path, "big.mbtiles") + b"\0" * (1024 * 1024)
    r = _put(client, park, big)
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "too_large"
    assert _stored_files(app, park) == []


def test_a_body_without_length_is_cut_at_the_limit(tmp_path):
    """Chunked uploads have no Content-Length to check first: reading stops at the limit, no file left."""
    import io

    from server.errors import SaolaError
    from server.sync.basemaps import receive

    with pytest.raises(SaolaError) as e:
        receive(io.BytesIO(b"x" * 3_000_000), tmp_path / "area", 2_000_000)
    assert e.value.status == 413
    assert list((tmp_path / "area").iterdir()) == []


def test_a_basemap_without_bounds_gets_them_from_its_tiles(client, park, tmp_path):
    r = _put(client, park, _good(tmp_path, write_bounds=False))
    assert r.status_code == 201, r.get_json()
    w, s, e, n = r.get_json()["bounds"]
    # The block of zoom-12 tiles holding the box: a little larger than the box itself.
    assert w <= BACH_MA[0] and s <= BACH_MA[1] and e >= BACH_MA[2] and n >= BACH_MA[3]
    assert e - w < 0.2 and n - s < 0.2
