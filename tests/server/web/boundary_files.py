"""Boundary files the tests write: one park outline as GeoJSON, KML and a zipped Shapefile, in
WGS84 longitude/latitude and in UTM zone 48N (EPSG:32648, metres), plus broken ones.

The Shapefile and KML are written with pyogrio (GDAL), the reprojection with pyproj, as a GIS
program would. ``PARK`` is the outline every good file holds (a 0.2 x 0.2 degree square near
Phong Nha-Ke Bang, about 460 km²).
"""
from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pyproj
import shapely
from pyogrio import raw

PARK = shapely.Polygon([(106.0, 17.5), (106.2, 17.5), (106.2, 17.7), (106.0, 17.7), (106.0, 17.5)])
PARK_KM2 = 469.0  # about; tests compare within a few per cent
# A ring that crosses itself (a bow tie): invalid, repaired into two triangles.
BOW_TIE = {"type": "Polygon", "coordinates": [[[106.0, 17.5], [106.2, 17.7], [106.2, 17.5], [106.0, 17.7],
                                                [106.0, 17.5]]]}


def utm48(geom):
    """``geom`` (lon/lat) in EPSG:32648 metres."""
    tr = pyproj.Transformer.from_crs(4326, 32648, always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def geojson(crs: int = 4326, geom=None) -> bytes:
    """A FeatureCollection; in another CRS it carries the (pre-RFC 7946) ``crs`` member GIS programs write."""
    geom = geom if geom is not None else PARK
    if crs == 32648:
        geom = utm48(geom)
    doc = {"type": "FeatureCollection",
           "features": [{"type": "Feature", "properties": {"name": "park"},
                         "geometry": json.loads(shapely.to_geojson(geom))}]}
    if crs != 4326:
        doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{crs}"}}
    return json.dumps(doc).encode()


def _write(driver: str, suffix: str, geom, crs: int, folder: Path) -> Path:
    path = folder / f"park{suffix}"
    raw.write(str(path), np.array([shapely.to_wkb(geom)], dtype=object), [], [], driver=driver,
              geometry_type="Polygon", crs=f"EPSG:{crs}")
    return path


def kml(geom=None) -> bytes:
    """A KML document (always WGS84) written by GDAL."""
    with tempfile.TemporaryDirectory() as tmp:
        return _write("KML", ".kml", geom if geom is not None else PARK, 4326, Path(tmp)).read_bytes()


def shapefile_zip(crs: int = 4326, *, prj: bool = True, folder_in_zip: str = "park/") -> bytes:
    """A zipped Shapefile (.shp, .shx, .dbf, .prj, .cpg), in ``crs``; ``prj`` False drops the .prj."""
    geom = utm48(PARK) if crs == 32648 else PARK
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        _write("ESRI Shapefile", ".shp", geom, crs, Path(tmp))
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for p in sorted(Path(tmp).iterdir()):
                if p.suffix == ".prj" and not prj:
                    continue
                z.write(p, folder_in_zip + p.name)
    return buf.getvalue()


def zip_bomb() -> bytes:
    """A zip whose .dbf member unpacks 64 MiB of zeros from about 64 KiB (1000:1)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("park.shp", b"\0" * 100)
        z.writestr("park.shx", b"\0" * 100)
        z.writestr("park.dbf", b"\0" * (64 * 1024 * 1024))
    return buf.getvalue()


def traversal_zip() -> bytes:
    """A good Shapefile zip plus a member that would land outside the extraction folder."""
    buf = io.BytesIO(shapefile_zip())
    with zipfile.ZipFile(buf, "a") as z:
        z.writestr("../../etc/cron.d/evil.prj", b"owned")
    return buf.getvalue()


def points_geojson() -> bytes:
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [106.1, 17.6]}}]}
    return json.dumps(doc).encode()
