"""Small MBTiles files made in the tests (Pillow draws the tiles): good ones and broken ones.

Used by the server's basemap tests and the field app's map scenarios; nothing is downloaded.
"""
from __future__ import annotations

import io
import math
import sqlite3
from pathlib import Path

# A box inside Bạch Mã National Park (west, south, east, north), where the app's demo walk runs.
BACH_MA = (107.83, 16.17, 107.89, 16.22)


def lonlat_to_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """XYZ tile (x, y; y from the top) holding a point at zoom ``z``."""
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    lat_r = math.radians(lat)
    y = int((1 - math.asinh(math.tan(lat_r)) / math.pi) / 2 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tile_image(z: int, x: int, y: int, fmt: str = "png", size: int = 256) -> bytes:
    """A recognisable tile: green land, a grid line on its edges and its z/x/y written on it."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (size, size), (200 + (x * 7) % 40, 225, 190 + (y * 11) % 50))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, size - 1, size - 1], outline=(90, 120, 90))
    d.text((8, 8), f"{z}/{x}/{y}", fill=(40, 60, 40))
    buf = io.BytesIO()
    img.save(buf, {"png": "PNG", "jpg": "JPEG", "webp": "WEBP"}[fmt])
    return buf.getvalue()


def make_mbtiles(path: str | Path, bounds=BACH_MA, zooms=(12, 13, 14), fmt: str = "png",
                 metadata: dict | None = None, write_bounds: bool = True, tile_bytes=None) -> Path:
    """Write an MBTiles file covering ``bounds`` at ``zooms``; returns its path.

    ``metadata`` adds or overrides metadata rows (a value of None leaves the row out);
    ``tile_bytes(z, x, y)`` replaces the drawn tiles (e.g. with non-image bytes).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    db.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
    db.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
    meta = {"name": "Bạch Mã test basemap", "format": fmt, "minzoom": str(min(zooms, default=0)),
            "maxzoom": str(max(zooms, default=0)),
            "type": "baselayer", "version": "1"}
    if write_bounds:
        meta["bounds"] = ",".join(str(v) for v in bounds)
    meta.update(metadata or {})
    db.executemany("INSERT INTO metadata VALUES (?, ?)", [(k, v) for k, v in meta.items() if v is not None])
    w, s, e, n = bounds
    for z in zooms:
        x0, y0 = lonlat_to_tile(w, n, z)
        x1, y1 = lonlat_to_tile(e, s, z)
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                data = tile_bytes(z, x, y) if tile_bytes else tile_image(z, x, y, fmt)
                db.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, 2 ** z - 1 - y, data))
    db.commit()
    db.close()
    return path
