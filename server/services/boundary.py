"""A protected area's boundary from a file: GeoJSON, KML (or KMZ) or a zipped Shapefile.

The file is read with GDAL (pyogrio, whose wheels bundle GDAL and PROJ), its polygons are
merged into one Polygon or MultiPolygon, reprojected to WGS84 longitude/latitude (pyproj)
when the file names another coordinate system (a Shapefile's ``.prj``, a GeoJSON ``crs``
member), repaired when invalid (shapely's ``make_valid``: a self-intersecting ring becomes
valid polygons) and rounded to 1e-7 degrees (about 1 cm). What is stored is the GeoJSON
geometry that ``ProtectedArea.boundary`` and the API's ``AreaIn`` accept
(:func:`server.bounds.check_boundary`).

Every refusal is a :class:`BoundaryError` with a machine code and a message in the
request's language: unsupported format, unreadable file, no polygon, unknown or wrong
projection, geometry that cannot be repaired, and zips that are bombs, hold unsafe paths
(``../``, absolute, links) or not exactly one Shapefile. A zip is checked from its
directory and then read member by member with a byte limit, so a member that lies about
its size cannot fill the disk either.
"""
from __future__ import annotations

import json
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..bounds import MAX_BOUNDARY_POSITIONS, check_boundary
from ..i18n import gettext as _

#: Largest boundary file accepted (a detailed national park outline is well under 5 MiB).
MAX_FILE_BYTES = 20 * 1024 * 1024
#: A zipped Shapefile: at most this many members, this much once unpacked, this ratio per member.
ZIP_MAX_MEMBERS = 64
ZIP_MAX_TOTAL_BYTES = 200 * 1024 * 1024
ZIP_MAX_RATIO = 200.0
ZIP_RATIO_MIN_BYTES = 1024 * 1024
SHAPEFILE_PARTS = {".shp", ".shx", ".dbf", ".prj", ".cpg"}
FORMATS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".kml": "KML", ".kmz": "KMZ", ".zip": "Shapefile"}
#: Stored precision in degrees (about 1 cm on the ground).
GRID = 1e-7


class BoundaryError(ValueError):
    """A boundary file refused: ``code`` for programs, ``message`` (translated) for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Boundary:
    """A boundary read from a file, and what the page tells the user about it."""

    geometry: dict[str, Any]
    format: str
    source_crs: str | None  # as the file declared it (None: not declared, taken as WGS84)
    reprojected: bool
    polygons: int
    area_km2: float
    repaired: str | None = None  # why the geometry was invalid, when it was repaired
    ignored: dict[str, int] = field(default_factory=dict)  # non-polygon features left out, by type


def read_boundary(filename: str, data: bytes) -> Boundary:
    """The boundary in ``data`` (the uploaded file called ``filename``); BoundaryError when refused."""
    ext = PurePosixPath(filename or "").suffix.lower()
    fmt = FORMATS.get(ext)
    if fmt is None:
        raise BoundaryError("unsupported_format",
                            _("Unsupported file type '{ext}': upload a GeoJSON (.geojson), KML (.kml, .kmz) or "
                              "zipped Shapefile (.zip) file.", ext=ext or filename or "?"))
    if not data:
        raise BoundaryError("empty", _("The file is empty."))
    if len(data) > MAX_FILE_BYTES:
        raise BoundaryError("too_large", _("The file is larger than {n} MiB: simplify the boundary first.",
                                           n=MAX_FILE_BYTES // (1024 * 1024)))
    with tempfile.TemporaryDirectory(prefix="saola-boundary-") as tmp:
        if fmt == "Shapefile":
            path = _unpack_shapefile(data, Path(tmp))
        else:
            path = Path(tmp) / ("boundary" + ext)
            path.write_bytes(data)
        geoms, crs, ignored = _read_polygons(path, fmt)
    return _finish(geoms, crs, fmt, ignored)


# ---- zipped Shapefile -------------------------------------------------------------------------
def _unpack_shapefile(data: bytes, folder: Path) -> Path:
    """Check the zip and write the one Shapefile's parts into ``folder``; the .shp path."""
    import io

    from ..ingest.sources import safe_member_name

    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise BoundaryError("bad_zip", _("The .zip file cannot be opened: it is damaged or not a zip.")) from None
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > ZIP_MAX_MEMBERS:
            raise BoundaryError("zip_refused", _("The zip holds {n} files (at most {limit}): upload only the "
                                                 "Shapefile's parts.", n=len(infos), limit=ZIP_MAX_MEMBERS))
        total = sum(i.file_size for i in infos)
        if total > ZIP_MAX_TOTAL_BYTES:
            raise BoundaryError("zip_bomb", _("The zip would unpack to {mib} MiB (at most {limit} MiB): refused.",
                                              mib=total // (1024 * 1024), limit=ZIP_MAX_TOTAL_BYTES // (1024 * 1024)))
        parts: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            safe = safe_member_name(info.filename)
            if safe is None or stat.S_ISLNK(info.external_attr >> 16):
                raise BoundaryError("zip_unsafe", _("The zip holds an unsafe path ({name}): refused.",
                                                    name=info.filename[:80]))
            if info.file_size >= ZIP_RATIO_MIN_BYTES and info.file_size > ZIP_MAX_RATIO * max(info.compress_size, 1):
                raise BoundaryError("zip_bomb", _("The zip member {name} is compressed {ratio}:1, like a zip bomb: "
                                                  "refused.", name=safe[:80],
                                                  ratio=int(info.file_size / max(info.compress_size, 1))))
            name = PurePosixPath(safe)
            if name.name.startswith(".") or "__MACOSX" in name.parts:
                continue
            if name.suffix.lower() in SHAPEFILE_PARTS:
                parts.setdefault(name.suffix.lower() + "|" + str(name.with_suffix("")).lower(), info)
        stems = {key.split("|", 1)[1] for key in parts if key.startswith(".shp|")}
        if len(stems) != 1:
            raise BoundaryError("zip_shapefiles",
                                _("The zip must hold exactly one Shapefile (.shp with its .shx and .dbf); "
                                  "it holds {n}.", n=len(stems)))
        stem = stems.pop()
        for ext in (".shx", ".dbf"):
            if ext + "|" + stem not in parts:
                raise BoundaryError("zip_shapefiles", _("The Shapefile in the zip lacks its {ext} file.", ext=ext))
        budget = ZIP_MAX_TOTAL_BYTES
        for ext in SHAPEFILE_PARTS:
            part = parts.get(ext + "|" + stem)
            if part is None:
                continue
            target = folder / ("boundary" + ext)
            with zf.open(part) as src, open(target, "wb") as out:
                while True:  # bounded: a member may lie about its size in the directory
                    chunk = src.read(1024 * 1024)
                    if not chunk:
                        break
                    budget -= len(chunk)
                    if budget < 0:
                        raise BoundaryError("zip_bomb", _("The zip unpacks to more than it declares: refused."))
                    out.write(chunk)
    return folder / "boundary.shp"


# ---- reading ----------------------------------------------------------------------------------
def _read_polygons(path: Path, fmt: str) -> tuple[list, str | None, dict[str, int]]:
    """The polygon geometries (shapely) of every layer, the declared CRS, ignored feature types."""
    import pyogrio
    import shapely
    from pyogrio import raw

    try:
        layers = [str(name) for name, _gtype in pyogrio.list_layers(str(path))]
    except Exception as e:  # GDAL's own errors (DataSourceError...)
        raise BoundaryError("unreadable", _("The file could not be read as {fmt}: {detail}",
                                            fmt=fmt, detail=_gdal_text(e, path))) from None
    geoms: list = []
    crs: str | None = None
    ignored: dict[str, int] = {}
    for layer in layers:
        try:
            meta, _fids, wkb, _fields = raw.read(str(path), layer=layer, columns=[], force_2d=True)
        except Exception as e:
            raise BoundaryError("unreadable", _("The file could not be read as {fmt}: {detail}",
                                                fmt=fmt, detail=_gdal_text(e, path))) from None
        if wkb is None:
            continue
        crs = crs or meta.get("crs")
        for g in shapely.from_wkb([w for w in wkb if w is not None]):
            kind = shapely.get_type_id(g)
            if kind in (3, 6):  # Polygon, MultiPolygon
                geoms.append(g)
            elif kind == 7:  # GeometryCollection: its polygons
                parts = [p for p in shapely.get_parts(g) if shapely.get_type_id(p) in (3, 6)]
                geoms.extend(parts)
            else:
                ignored[g.geom_type] = ignored.get(g.geom_type, 0) + 1
    if not geoms:
        found = ", ".join(f"{n} {t}" for t, n in sorted(ignored.items())) or _("nothing")
        raise BoundaryError("no_polygon", _("The file holds no polygon (found: {found}): a boundary must be an "
                                            "area, not lines or points.", found=found))
    return geoms, crs, ignored


def _gdal_text(e: Exception, path: Path) -> str:
    """GDAL's message without the temporary folder's path (and its tips about drivers)."""
    text = " ".join(str(e).replace(f"'{path}' ", "").replace(str(path), path.name).split())
    text = text.split("; It might help", 1)[0]
    return text[:300] or type(e).__name__


def _is_wgs84(crs) -> bool:
    return crs.to_epsg() == 4326 or crs.equals("OGC:CRS84", ignore_axis_order=True) or \
        crs.equals("EPSG:4326", ignore_axis_order=True)


def _finish(geoms: list, declared: str | None, fmt: str, ignored: dict[str, int]) -> Boundary:
    import pyproj
    import shapely

    geom = shapely.union_all(geoms)
    reprojected = False
    if declared:
        try:
            crs = pyproj.CRS.from_user_input(declared)
        except pyproj.exceptions.CRSError:
            raise BoundaryError("unknown_crs", _("The file's coordinate system is not recognised ({crs}).",
                                                 crs=declared[:120])) from None
        if not _is_wgs84(crs):
            try:
                tr = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
                geom = shapely.transform(geom, lambda xy: _project(tr, xy))
            except (pyproj.exceptions.ProjError, ValueError) as e:
                raise BoundaryError("bad_crs", _("The boundary cannot be converted from {crs} to longitude/latitude: "
                                                 "{detail}", crs=crs.name, detail=str(e)[:200])) from None
            reprojected = True
        declared = crs.to_string() if crs.to_epsg() is None else f"EPSG:{crs.to_epsg()}"
    xmin, ymin, xmax, ymax = shapely.bounds(geom)
    if not (-180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90) or any(
            map(lambda v: v != v, (xmin, ymin, xmax, ymax))):
        if declared and reprojected:
            msg = _("The coordinates do not fall on the Earth after converting them from {crs}: the file's "
                    "projection is wrong.", crs=declared)
        else:
            msg = _("The coordinates are not longitude/latitude and the file does not say its projection (a "
                    "Shapefile needs its .prj file; a GeoJSON file must be in longitude/latitude).")
        raise BoundaryError("wrong_projection", msg)
    return _repair(geom, fmt, declared, reprojected, ignored)


def _project(tr, xy):
    import numpy as np

    x, y = tr.transform(xy[:, 0], xy[:, 1], errcheck=True)
    return np.column_stack([x, y])


def repair_geometry(geom) -> tuple[Any, str | None]:
    """(a valid polygonal geometry, why the input was invalid or None); BoundaryError if none is left."""
    import shapely

    reason = None
    if not shapely.is_valid(geom):
        reason = shapely.is_valid_reason(geom)
        geom = shapely.make_valid(geom)
        polys = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)]
        geom = shapely.union_all(polys) if polys else None
        if geom is None or geom.is_empty or geom.area == 0:
            raise BoundaryError("invalid_geometry", _("The boundary polygon is invalid ({reason}) and cannot be "
                                                      "repaired: fix it in a GIS program.", reason=reason))
    # Rounded point by point, so a valid polygon keeps its rings as drawn; only when rounding
    # itself breaks it (two points merging) is the topology-preserving mode used.
    rounded = shapely.set_precision(geom, GRID, mode="pointwise")
    geom = rounded if shapely.is_valid(rounded) else shapely.set_precision(geom, GRID)
    if geom.is_empty:
        raise BoundaryError("invalid_geometry", _("The boundary polygon has no area."))
    return geom, reason


def _repair(geom, fmt: str, declared: str | None, reprojected: bool, ignored: dict[str, int]) -> Boundary:
    import shapely

    geom, reason = repair_geometry(geom)
    geometry = as_geojson(geom)
    return Boundary(geometry=geometry, format=fmt, source_crs=declared, reprojected=reprojected,
                    polygons=len(shapely.get_parts(geom)), area_km2=area_km2(geom), repaired=reason,
                    ignored=ignored)


def as_geojson(geom) -> dict[str, Any]:
    """The GeoJSON geometry of a shapely polygon, checked as the API checks a boundary."""
    import shapely

    n = shapely.get_num_coordinates(geom)
    if n > MAX_BOUNDARY_POSITIONS:
        raise BoundaryError("too_detailed", _("The boundary has {n} points (at most {limit}): simplify it first.",
                                              n=n, limit=MAX_BOUNDARY_POSITIONS))
    geometry = json.loads(shapely.to_geojson(geom))
    try:
        return check_boundary(geometry)
    except ValueError as e:  # cannot happen after the checks above; kept as the last word
        raise BoundaryError("invalid_geometry", str(e)) from None


def area_km2(geom) -> float:
    """The geodesic area of a lon/lat polygon, in km²."""
    import pyproj

    area, _perimeter = pyproj.Geod(ellps="WGS84").geometry_area_perimeter(geom)
    return round(abs(area) / 1e6, 2)


def normalise(geometry: dict[str, Any] | None) -> tuple[dict[str, Any] | None, str | None]:
    """A boundary sent as GeoJSON (API or form): repaired when invalid, rounded; (geometry, reason)."""
    if geometry is None:
        return None, None
    import shapely

    try:
        geom = shapely.from_geojson(json.dumps(geometry))
    except shapely.errors.GEOSException as e:
        raise BoundaryError("invalid_geometry", _("The boundary is not a readable polygon: {detail}",
                                                  detail=str(e)[:200])) from None
    geom, reason = repair_geometry(shapely.force_2d(geom))
    return as_geojson(geom), reason

