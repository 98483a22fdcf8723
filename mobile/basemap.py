"""The offline basemap on the tablet: an MBTiles file read with sqlite3, downloaded once, resumably.

The server provisions one MBTiles file per protected area (server/sync/basemaps.py) and
describes it in the sync reference (size, SHA-256, bounds, zoom levels, download URL). The app
downloads it once, over Wi-Fi, into ``<store>/basemaps/<area id>.mbtiles``:

- the bytes go to ``<name>.part``; a broken download resumes from the bytes already there
  (``Range: bytes=N-`` with ``If-Range`` on the file's SHA-256, so a file replaced on the
  server meanwhile is downloaded whole again instead of being spliced);
- the finished file is checked (SHA-256, then that it is a readable raster MBTiles) before it
  replaces the map in use, so a corrupt or wrong file never takes the place of a good one;
- a full disk stops the download with a message and keeps the part for later.

Tile math (Web Mercator, 256-pixel tiles, XYZ numbering; MBTiles rows are TMS, counted from
the bottom) is here too, without Kivy, so the map widget and the benchmarks share it.
Stdlib only (``requests`` is imported lazily by the caller's session).
"""
from __future__ import annotations

import hashlib
import math
import os
import sqlite3
import threading
from pathlib import Path
from typing import Callable

from .i18n import N_, tr

TILE = 256
MAX_LAT = 85.0511287798
SQLITE_MAGIC = b"SQLite format 3\x00"
FORMATS = {"png": b"\x89PNG\r\n\x1a\n", "jpg": b"\xff\xd8\xff", "jpeg": b"\xff\xd8\xff", "webp": b"RIFF"}
CHUNK = 256 * 1024

MSG_NOT_MBTILES = N_("The map file is not an MBTiles basemap ({problem}). The map in use was kept; ask the "
                     "station to upload a correct file.")
MSG_CORRUPT = N_("The map file is damaged ({problem}). The map in use was kept; download it again.")
MSG_CHECKSUM = N_("The downloaded map does not match the server's (SHA-256 differs): it will be downloaded again.")
MSG_DISK_FULL = N_("The tablet's storage is full: the map download stopped at {done} of {total}. Free some "
                   "space and tap Download again; it continues where it stopped.")
MSG_NETWORK = N_("The map download stopped at {done} of {total} (no connection to the server). Tap Download "
                 "again when back on Wi-Fi: it continues where it stopped.")


class BasemapProblem(Exception):
    """A basemap file or download problem; ``message(lang)`` is for the ranger."""

    def __init__(self, msgid: str, **params):
        super().__init__(tr(msgid, "en", **params))
        self.msgid, self.params = msgid, params

    def message(self, lang: str) -> str:
        """The problem in ``lang``."""
        return tr(self.msgid, lang, **self.params)


def human_size(n: int | float) -> str:
    """Bytes as "12.3 MB" (decimal units, as tablets show storage)."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


# ---- tile math ----------------------------------------------------------------------------------
def world_size(z: int) -> int:
    """Pixels across the whole world at zoom ``z``."""
    return TILE * (2 ** z)


def lonlat_to_px(lon: float, lat: float, z: int) -> tuple[float, float]:
    """World pixel (x to the east, y to the south) of a point at zoom ``z``."""
    lat = max(-MAX_LAT, min(MAX_LAT, lat))
    size = world_size(z)
    x = (lon + 180.0) / 360.0 * size
    s = math.sin(math.radians(lat))
    y = (0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * size
    return x, y


def px_to_lonlat(x: float, y: float, z: int) -> tuple[float, float]:
    """The point at world pixel (x, y) at zoom ``z``: (lon, lat)."""
    size = world_size(z)
    lon = x / size * 360.0 - 180.0
    n = math.pi - 2 * math.pi * y / size
    lat = math.degrees(math.atan(math.sinh(n)))
    return lon, lat


def metres_per_px(lat: float, z: int) -> float:
    """Ground metres of one pixel at latitude ``lat`` and zoom ``z``."""
    return 156543.03392 * math.cos(math.radians(lat)) / (2 ** z)


# ---- the MBTiles file ----------------------------------------------------------------------------
class MBTiles:
    """A read-only MBTiles file; :meth:`tile` takes XYZ numbers. Thread-safe (one lock)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.info = check_file(self.path)
        self._db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        self._lock = threading.Lock()

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """Tile bytes, or None where the file has none."""
        n = 2 ** z
        if not (0 <= x < n and 0 <= y < n):
            return None
        with self._lock:
            try:
                row = self._db.execute("SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                                       (z, x, n - 1 - y)).fetchone()
            except sqlite3.DatabaseError:
                return None  # a page damaged after the check: draw no tile rather than crash the map
        return bytes(row[0]) if row and row[0] is not None else None

    def close(self) -> None:
        with self._lock:
            self._db.close()


def check_file(path: str | os.PathLike) -> dict:
    """Describe a raster MBTiles file (format, bounds, minzoom, maxzoom), or raise :class:`BasemapProblem`."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise BasemapProblem(MSG_CORRUPT, problem=str(exc)) from None
    if head != SQLITE_MAGIC:
        raise BasemapProblem(MSG_NOT_MBTILES, problem="not an SQLite file")
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BasemapProblem(MSG_CORRUPT, problem=str(exc)) from None
    try:
        if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BasemapProblem(MSG_CORRUPT, problem="integrity check failed")
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE name IN ('metadata', 'tiles')")}
        if names != {"metadata", "tiles"}:
            raise BasemapProblem(MSG_NOT_MBTILES, problem="no metadata or tiles table")
        meta = dict(db.execute("SELECT name, value FROM metadata"))
        minzoom, maxzoom = db.execute("SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles").fetchone()
        if minzoom is None:
            raise BasemapProblem(MSG_NOT_MBTILES, problem="no tiles")
        sample = db.execute("SELECT tile_data FROM tiles LIMIT 1").fetchone()[0] or b""
    except sqlite3.DatabaseError as exc:
        raise BasemapProblem(MSG_CORRUPT, problem=str(exc)) from None
    finally:
        db.close()
    fmt = str(meta.get("format") or "").lower()
    if fmt not in FORMATS or not bytes(sample).startswith(FORMATS[fmt]):
        raise BasemapProblem(MSG_NOT_MBTILES, problem=f"tile format {fmt or '?'}")
    try:
        bounds = [float(v) for v in str(meta.get("bounds") or "").split(",")]
        if len(bounds) != 4:
            raise ValueError
    except ValueError:
        bounds = [-180.0, -MAX_LAT, 180.0, MAX_LAT]
    return {"format": fmt, "bounds": bounds, "minzoom": int(minzoom), "maxzoom": int(maxzoom),
            "name": meta.get("name") or ""}


# ---- download --------------------------------------------------------------------------------------
def basemap_path(store_root: str | os.PathLike, area_id: str) -> Path:
    """Where an area's basemap lives on the tablet."""
    return Path(store_root) / "basemaps" / f"{area_id}.mbtiles"


def download(session, url: str, dest: str | os.PathLike, size: int, sha256: str, *, headers: dict | None = None,
             on_progress: Callable[[int, int], None] | None = None, timeout: float = 30.0,
             chunk: int = CHUNK) -> str:
    """Download ``url`` into ``dest``, resuming a previous ``dest.part``; returns the stored file's SHA-256.

    ``size``/``sha256`` are the server's description; ``on_progress(done, total)`` is called
    from this (background) thread. A part is resumed only for the same file (its SHA-256 is
    kept beside it); a file replaced on the server since the description was read arrives
    whole (its ``X-Content-SHA256`` is then the one checked and returned). The finished file
    is checked before it replaces ``dest``.
    Raises :class:`BasemapProblem` (network, full disk, checksum, bad file): the part stays for
    a resume unless its bytes are wrong.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    part_sha = dest.with_name(dest.name + ".part.sha256")  # which file the part's bytes belong to
    have = part.stat().st_size if part.exists() else 0
    if have and (have > size or not part_sha.exists() or part_sha.read_text().strip() != sha256):
        part.unlink()  # a part of some other file: start again
        have = 0
    part_sha.write_text(sha256)
    hdrs = dict(headers or {})
    if have:
        hdrs["Range"] = f"bytes={have}-"
        hdrs["If-Range"] = f'"{sha256}"'
    total = size
    done = have
    try:
        resp = session.get(url, headers=hdrs, stream=True, timeout=timeout)
    except Exception:  # requests' ConnectionError, Timeout
        raise BasemapProblem(MSG_NETWORK, done=human_size(done), total=human_size(total)) from None
    try:
        served_sha = (getattr(resp, "headers", None) or {}).get("X-Content-SHA256")
        if resp.status_code == 200:
            done = 0  # the server sends it whole (first try, or the file changed): start over
            mode = "wb"
            if served_sha and served_sha != sha256:
                # Replaced on the server since the reference was read: take the new one whole.
                sha256 = served_sha
                size = total = int(resp.headers.get("Content-Length") or size)
                part_sha.write_text(sha256)
        elif resp.status_code == 206 and have:
            mode = "ab"
        elif resp.status_code == 416 and have == size:
            mode = None  # nothing left to send: the part is complete
        else:
            raise BasemapProblem(MSG_NETWORK, done=human_size(done), total=human_size(total))
        if mode is not None:
            import errno

            blocks = iter(resp.iter_content(chunk))
            with open(part, mode) as f:
                while True:
                    try:
                        block = next(blocks)
                    except StopIteration:
                        break
                    except Exception:  # the connection broke mid-body: keep what arrived
                        raise BasemapProblem(MSG_NETWORK, done=human_size(done), total=human_size(total)) from None
                    if not block:
                        continue
                    try:
                        f.write(block)
                    except OSError as exc:
                        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                            raise BasemapProblem(MSG_DISK_FULL, done=human_size(done),
                                                 total=human_size(total)) from None
                        raise
                    done += len(block)
                    if on_progress:
                        on_progress(done, total)
                f.flush()
                os.fsync(f.fileno())
    finally:
        resp.close()
    if part.stat().st_size < size:
        raise BasemapProblem(MSG_NETWORK, done=human_size(part.stat().st_size), total=human_size(total))
    h = hashlib.sha256()
    with open(part, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    if h.hexdigest() != sha256:
        part.unlink(missing_ok=True)
        raise BasemapProblem(MSG_CHECKSUM)
    try:
        check_file(part)
    except BasemapProblem:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, dest)
    part_sha.unlink(missing_ok=True)
    return sha256
