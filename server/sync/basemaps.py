"""Offline basemaps: one MBTiles file per protected area, for the field app's map (and the web map).

An MBTiles file is an SQLite database with a ``metadata`` table (name, value) and a ``tiles``
table or view (zoom_level, tile_column, tile_row, tile_data) whose rows are numbered the TMS way
(row 0 at the bottom). A manager uploads one for their area; the server checks it is a real,
readable raster MBTiles that covers the area, stores it under
``DATA_DIR/basemaps/<area id>/<sha256>.mbtiles`` with a small ``basemap.json`` beside it, serves
single tiles (XYZ numbering, as web maps ask) and the whole file for tablets to download with its
size and SHA-256 (HTTP Range: a broken download resumes).

Replacing a basemap writes the new file, then swaps ``basemap.json`` atomically, then removes the
old file: a reader sees the old map or the new one, never half of either, and a refused upload
leaves the stored map as it was.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sqlite3
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import NotFound, SaolaError

#: Raster tile formats the field app can draw, with their MIME type and the bytes each tile starts with.
FORMATS = {"png": ("image/png", b"\x89PNG\r\n\x1a\n"), "jpg": ("image/jpeg", b"\xff\xd8\xff"),
           "jpeg": ("image/jpeg", b"\xff\xd8\xff"), "webp": ("image/webp", b"RIFF")}
MAX_ZOOM = 22
#: Pixels a basemap tile may have when the report map decodes it (tiles are 256 or 512 px square).
TILE_PIXELS = 2048 * 2048
SQLITE_MAGIC = b"SQLite format 3\x00"
META = "basemap.json"
CHUNK = 1024 * 1024
# Web Mercator's latitude limit: tiles do not reach beyond it.
MAX_LAT = 85.0511287798
_AREA_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class BasemapError(SaolaError):
    """The uploaded file is not a usable MBTiles basemap (422, the message says why)."""

    status = 422
    code = "invalid_mbtiles"


def _invalid(message: str, code: str = "invalid_mbtiles") -> BasemapError:
    return BasemapError(message, code=code)


# ---- reading an MBTiles file ------------------------------------------------------------------
def _connect_ro(path: Path) -> sqlite3.Connection:
    # immutable=1: stored basemaps are content-addressed and never change, so SQLite need not lock.
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False)


def tile_bounds(z: int, x_min: int, x_max: int, row_min: int, row_max: int) -> list[float]:
    """WGS84 bounds [west, south, east, north] of the TMS tile block (columns x_min..x_max, rows row_min..row_max)."""
    n = 2 ** z

    def lat(y_xyz: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y_xyz / n))))

    # TMS row r is XYZ row n-1-r: the top edge of the highest row is the north bound.
    north = lat(n - 1 - row_max)
    south = lat(n - row_min)
    return [x_min / n * 360 - 180, south, (x_max + 1) / n * 360 - 180, north]


def _parse_bounds(text: str) -> list[float]:
    try:
        w, s, e, n = (float(v) for v in text.split(","))
    except ValueError:
        raise _invalid(f"metadata 'bounds' must be 'west,south,east,north' in degrees, got {text[:80]!r}") from None
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise _invalid(f"metadata 'bounds' {text[:80]!r} is not a box on Earth (west < east within ±180, "
                       "south < north within ±90)")
    return [w, s, e, n]


def inspect(path: str | os.PathLike) -> dict[str, Any]:
    """Check ``path`` is a raster MBTiles file and describe it; :class:`BasemapError` otherwise.

    Returns name, format, media_type, bounds [w, s, e, n], center [lon, lat, zoom], minzoom,
    maxzoom and tile_count.
    """
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(len(SQLITE_MAGIC))
    if head != SQLITE_MAGIC:
        raise _invalid("not an MBTiles file: MBTiles files are SQLite databases, and this one does not start "
                       "with the SQLite header (was a PNG, a zip or a GeoTIFF sent?)")
    try:
        db = _connect_ro(path)
    except sqlite3.Error as e:
        raise _invalid(f"the MBTiles file cannot be opened: {e}") from None
    try:
        return _inspect(db)
    except sqlite3.DatabaseError as e:  # "database disk image is malformed", "file is not a database"
        raise _invalid(f"the MBTiles file is damaged: {e}", "corrupt_mbtiles") from None
    finally:
        db.close()


def _inspect(db: sqlite3.Connection) -> dict[str, Any]:
    check = db.execute("PRAGMA quick_check").fetchone()[0]
    if check != "ok":
        raise _invalid(f"the MBTiles file is damaged (SQLite integrity check: {check[:200]})", "corrupt_mbtiles")
    kinds = dict(db.execute("SELECT name, type FROM sqlite_master WHERE name IN ('metadata', 'tiles')"))
    missing = [t for t in ("metadata", "tiles") if t not in kinds]
    if missing:
        raise _invalid(f"not an MBTiles file: no {' and no '.join(repr(m) for m in missing)} table")
    columns = {r[1] for r in db.execute("PRAGMA table_info(tiles)")}
    need = {"zoom_level", "tile_column", "tile_row", "tile_data"}
    if not need <= columns:
        raise _invalid(f"not an MBTiles file: the tiles table lacks {', '.join(sorted(need - columns))}")
    meta_cols = {r[1] for r in db.execute("PRAGMA table_info(metadata)")}
    if not {"name", "value"} <= meta_cols:
        raise _invalid("not an MBTiles file: the metadata table needs 'name' and 'value' columns")
    meta = {str(k): str(v) for k, v in db.execute("SELECT name, value FROM metadata") if k is not None and v is not None}
    stats = db.execute("SELECT COUNT(*), MIN(zoom_level), MAX(zoom_level) FROM tiles").fetchone()
    count, minzoom, maxzoom = stats
    if not count:
        raise _invalid("the MBTiles file has no tiles", "empty_mbtiles")
    if not (isinstance(minzoom, int) and isinstance(maxzoom, int) and 0 <= minzoom <= maxzoom <= MAX_ZOOM):
        raise _invalid(f"tile zoom levels {minzoom}..{maxzoom} are outside 0..{MAX_ZOOM}")
    sample = db.execute("SELECT tile_data FROM tiles WHERE zoom_level=? LIMIT 1", (maxzoom,)).fetchone()[0]
    sample = bytes(sample or b"")
    fmt = (meta.get("format") or "").strip().lower()
    if not fmt:  # optional in MBTiles 1.0/1.1: tell by the first bytes
        fmt = next((k for k, (_, magic) in FORMATS.items() if sample.startswith(magic)), "")
    if fmt == "pbf":
        raise _invalid("vector tiles (pbf) cannot be drawn by the field app: export raster tiles (png, jpg, webp)",
                       "unsupported_tile_format")
    if fmt not in FORMATS:
        raise _invalid(f"tile format {fmt or 'unknown'!r} is not one of png, jpg, webp", "unsupported_tile_format")
    media_type, magic = FORMATS[fmt]
    if not sample.startswith(magic) or (fmt == "webp" and sample[8:12] != b"WEBP"):
        raise _invalid(f"the tiles are not {fmt} images although the metadata says so", "unsupported_tile_format")
    if meta.get("bounds"):
        bounds = _parse_bounds(meta["bounds"])
    else:  # optional in MBTiles: the block of tiles at the lowest zoom
        x0, x1, r0, r1 = db.execute("SELECT MIN(tile_column), MAX(tile_column), MIN(tile_row), MAX(tile_row) "
                                    "FROM tiles WHERE zoom_level=?", (minzoom,)).fetchone()
        bounds = tile_bounds(minzoom, x0, x1, r0, r1)
    w, s, e, n = bounds
    center = [(w + e) / 2, (s + n) / 2, min(maxzoom, max(minzoom, 14))]
    return {"name": meta.get("name") or "", "format": "jpg" if fmt == "jpeg" else fmt, "media_type": media_type,
            "bounds": [round(v, 7) for v in bounds], "center": [round(center[0], 7), round(center[1], 7), center[2]],
            "minzoom": minzoom, "maxzoom": maxzoom, "tile_count": count,
            "attribution": meta.get("attribution") or ""}


def geometry_bbox(geometry: Any) -> list[float] | None:
    """[w, s, e, n] of a GeoJSON geometry (or Feature / FeatureCollection), None when it has no coordinates."""
    xs: list[float] = []
    ys: list[float] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "FeatureCollection":
                for f in node.get("features") or []:
                    walk(f)
            elif node.get("type") == "Feature":
                walk(node.get("geometry"))
            elif node.get("type") == "GeometryCollection":
                for g in node.get("geometries") or []:
                    walk(g)
            else:
                walk(node.get("coordinates"))
        elif isinstance(node, (list, tuple)):
            if len(node) >= 2 and all(isinstance(v, (int, float)) for v in node[:2]):
                xs.append(float(node[0]))
                ys.append(float(node[1]))
            else:
                for c in node:
                    walk(c)

    walk(geometry)
    return [min(xs), min(ys), max(xs), max(ys)] if xs else None


def overlaps(a: list[float], b: list[float]) -> bool:
    """Whether two [w, s, e, n] boxes share any area or edge."""
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


# ---- storing ----------------------------------------------------------------------------------
def area_dir(data_dir: str | os.PathLike, area_id: str) -> Path:
    """The folder holding an area's basemap (the id is checked: it becomes a path)."""
    if not _AREA_ID.match(area_id or ""):
        raise ValueError(f"area id {area_id!r} cannot name a folder")
    return Path(data_dir) / "basemaps" / area_id


def current(data_dir: str | os.PathLike, area_id: str) -> dict[str, Any] | None:
    """The stored basemap's description (with ``path``), or None when the area has none."""
    folder = area_dir(data_dir, area_id)
    try:
        info = json.loads((folder / META).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    path = folder / f"{info['sha256']}.mbtiles"
    if not path.is_file():  # removed by hand: treat as none rather than serve a broken link
        return None
    info["path"] = path
    return info


def require(data_dir: str | os.PathLike, area_id: str) -> dict[str, Any]:
    """:func:`current`, or 404 ``no_basemap``."""
    info = current(data_dir, area_id)
    if info is None:
        raise NotFound("this protected area has no offline basemap yet: a manager uploads an MBTiles file "
                       "(PUT /api/v1/areas/<area_id>/basemap)", code="no_basemap")
    return info


def receive(stream: BinaryIO, folder: Path, limit: int) -> tuple[Path, int, str]:
    """Write ``stream`` to a temporary file in ``folder`` (at most ``limit`` bytes): (path, size, sha256).

    413 ``too_large`` past the limit; the temporary file is removed on any failure (a full disk too).
    """
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".mbtiles")
    h, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as f:
            for block in iter(lambda: stream.read(CHUNK), b""):
                size += len(block)
                if size > limit:
                    raise SaolaError(f"basemap too large (limit {limit // (1024 * 1024)} MiB, BASEMAP_MAX_MB)",
                                     status=413, code="too_large")
                h.update(block)
                f.write(block)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    if size == 0:
        Path(name).unlink(missing_ok=True)
        raise _invalid("the request body is empty: send the MBTiles file's bytes", "empty_body")
    return Path(name), size, h.hexdigest()


def install(data_dir: str | os.PathLike, area_id: str, tmp: Path, size: int, sha256: str, *,
            boundary: Any = None, uploaded_by: str | None = None) -> dict[str, Any]:
    """Check the received file ``tmp`` and make it the area's basemap; returns its description.

    A file that is not a usable MBTiles, or that does not reach the area's boundary, is refused
    (422) and removed; the stored basemap stays as it was.
    """
    folder = area_dir(data_dir, area_id)
    try:
        info = inspect(tmp)
        area_box = geometry_bbox(boundary) if boundary else None
        if area_box is not None and not overlaps(info["bounds"], area_box):
            raise _invalid(f"the basemap covers {info['bounds']} (west, south, east, north), outside this protected "
                           f"area's boundary {[round(v, 5) for v in area_box]}: wrong file?", "basemap_outside_area")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    old = current(data_dir, area_id)
    final = folder / f"{sha256}.mbtiles"
    os.replace(tmp, final)
    info.update({"sha256": sha256, "size_bytes": size, "uploaded_by": uploaded_by,
                 "uploaded_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    meta_tmp = folder / f".{META}.tmp"
    with open(meta_tmp, "w", encoding="utf-8") as f:
        json.dump(info, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(meta_tmp, folder / META)
    if old is not None and old["path"] != final:
        Path(old["path"]).unlink(missing_ok=True)
    return info


def remove(data_dir: str | os.PathLike, area_id: str) -> bool:
    """Delete the area's basemap; False when there was none."""
    info = current(data_dir, area_id)
    if info is None:
        return False
    folder = area_dir(data_dir, area_id)
    (folder / META).unlink(missing_ok=True)
    Path(info["path"]).unlink(missing_ok=True)
    return True


def read_tile(info: dict[str, Any], z: int, x: int, y: int) -> bytes | None:
    """Tile ``z/x/y`` (XYZ numbering, row 0 at the top) of a stored basemap, or None."""
    n = 2 ** z if 0 <= z <= MAX_ZOOM else 0
    if not (0 <= x < n and 0 <= y < n):
        return None
    db = _connect_ro(Path(info["path"]))
    try:
        row = db.execute("SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                         (z, x, n - 1 - y)).fetchone()
    finally:
        db.close()
    return bytes(row[0]) if row and row[0] is not None else None


def public(info: dict[str, Any]) -> dict[str, Any]:
    """The description as the API shows it (no server paths)."""
    return {k: v for k, v in info.items() if k != "path"}


# ---- a picture of the map, for printed maps (the annual report) ---------------------------------
def _merc_y(lat: float, z: int) -> float:
    """Web Mercator row (XYZ, fractional, tile units) of latitude ``lat`` at zoom ``z``."""
    lat = max(-MAX_LAT, min(MAX_LAT, lat))
    r = math.radians(lat)
    return (1 - math.asinh(math.tan(r)) / math.pi) / 2 * 2 ** z


def _merc_x(lon: float, z: int) -> float:
    return (lon + 180) / 360 * 2 ** z


def mosaic(info: dict[str, Any], box: list[float], max_tiles: int = 36, size: int = 256):
    """The basemap's tiles under ``box`` [w, s, e, n] as one RGB picture in plain longitude/latitude.

    Picks the most detailed zoom of the file at which ``box`` needs at most ``max_tiles`` tiles, reads
    those tiles (missing ones stay white), and resamples the Mercator rows so that the picture's rows
    are evenly spaced in latitude, as a lon/lat plot draws them. Returns (numpy array H×W×3, extent
    [w, e, s, n]) for matplotlib's ``imshow``, or None when the file has no tile under ``box``.
    Read-only and offline: nothing but the stored MBTiles file is read.
    """

    import numpy as np
    from PIL import Image

    from classifiers.safe_image import open_image

    w, s, e, n = box
    s, n = max(s, -MAX_LAT), min(n, MAX_LAT)
    if not (w < e and s < n):
        return None
    db = _connect_ro(Path(info["path"]))
    try:
        zoom = None
        for z in range(int(info["maxzoom"]), int(info["minzoom"]) - 1, -1):
            x0, x1 = int(_merc_x(w, z)), int(_merc_x(e, z))
            y0, y1 = int(_merc_y(n, z)), int(_merc_y(s, z))
            if (x1 - x0 + 1) * (y1 - y0 + 1) <= max_tiles:
                zoom = z
                break
        if zoom is None:
            return None
        last = 2 ** zoom - 1
        x0, x1, y0, y1 = max(0, x0), min(last, x1), max(0, y0), min(last, y1)
        canvas = Image.new("RGB", ((x1 - x0 + 1) * size, (y1 - y0 + 1) * size), (255, 255, 255))
        found = 0
        for x, row, data in db.execute(
                "SELECT tile_column, tile_row, tile_data FROM tiles WHERE zoom_level=? AND tile_column BETWEEN ? AND ? "
                "AND tile_row BETWEEN ? AND ?", (zoom, x0, x1, last - y1, last - y0)):
            try:
                tile = open_image(bytes(data), limit=TILE_PIXELS).convert("RGB")  # a tile is 256-512 px: no bomb
            except Exception:  # noqa: BLE001 - a damaged tile is left white rather than failing the report
                continue
            if tile.size != (size, size):
                tile = tile.resize((size, size))
            canvas.paste(tile, ((x - x0) * size, (last - row - y0) * size))
            found += 1
    finally:
        db.close()
    if not found:
        return None
    pixels = np.asarray(canvas)
    # Crop to the box: columns are linear in longitude; rows are linear in Mercator y, so each output
    # row (evenly spaced in latitude, north first) takes the Mercator row of its latitude.
    px0 = int(round((_merc_x(w, zoom) - x0) * size))
    px1 = max(px0 + 1, int(round((_merc_x(e, zoom) - x0) * size)))
    height = max(2, int(round((_merc_y(s, zoom) - _merc_y(n, zoom)) * size)))
    lats = np.linspace(n, s, height)
    rows = np.array([(_merc_y(float(lat), zoom) - y0) * size for lat in lats])
    rows = np.clip(rows.astype(int), 0, pixels.shape[0] - 1)
    picture = pixels[rows][:, max(0, px0):min(pixels.shape[1], px1)]
    return picture, [w, e, s, n]
