"""Offline basemaps of protected areas (MBTiles): upload, description, tiles, whole-file download.

Every route loads the area through the access-scope helper (server/auth/permissions.py):
members of the area read (viewers and above: rangers download it to their tablets), managers
upload and delete. The checks and storage are in :mod:`server.sync.basemaps`.
"""
from __future__ import annotations

from flask import current_app, jsonify, request, send_file

from .. import audit
from ..auth.permissions import current_user, load_area
from ..db import get_session
from ..errors import NotFound
from ..sync import basemaps
from .core import endpoint

TAGS = ["basemaps"]


def _data_dir() -> str:
    return current_app.config["DATA_DIR"]


def _links(area_id: str) -> dict:
    base = f"/api/v1/areas/{area_id}/basemap"
    return {"download_url": f"{base}.mbtiles", "tile_url": base + "/{z}/{x}/{y}"}


@endpoint("/areas/<area_id>/basemap", ["PUT"], summary="Upload the area's offline basemap (MBTiles; managers)",
          tags=TAGS, content_type="application/vnd.sqlite3", raw=True, status=201,
          responses={413: "File over BASEMAP_MAX_MB", 507: "Server disk full"},
          description="The body is the MBTiles file itself. It must be an SQLite MBTiles with metadata and "
          "tiles tables, raster tiles (png, jpg or webp), valid bounds and, when the area has a boundary, "
          "cover part of it. Replaces the previous basemap atomically; a refused file changes nothing.")
def put_basemap(area_id: str):
    s = get_session()
    area, _ = load_area(s, area_id, "manager")
    limit = int(current_app.config["BASEMAP_MAX_MB"]) * 1024 * 1024
    if request.content_length is not None and request.content_length > limit:
        from ..errors import SaolaError

        raise SaolaError(f"basemap too large: {request.content_length} bytes (limit {limit // (1024 * 1024)} MiB, "
                         "BASEMAP_MAX_MB)", status=413, code="too_large")
    folder = basemaps.area_dir(_data_dir(), area.id)
    tmp, size, sha = basemaps.receive(request.stream, folder, limit)
    before = basemaps.current(_data_dir(), area.id)
    info = basemaps.install(_data_dir(), area.id, tmp, size, sha, boundary=area.boundary,
                            uploaded_by=current_user().username)
    audit.record(s, "update" if before else "create", "basemap", area.id, area_id=area.id,
                 before=basemaps.public(before) if before else None, after=basemaps.public(info))
    s.commit()
    return jsonify({**basemaps.public(info), **_links(area.id)}), 201


@endpoint("/areas/<area_id>/basemap", summary="The area's offline basemap: size, SHA-256, bounds, zoom levels",
          tags=TAGS, raw=True)
def get_basemap(area_id: str):
    area, _ = load_area(get_session(), area_id)
    info = basemaps.require(_data_dir(), area.id)
    return jsonify({**basemaps.public(info), **_links(area.id)})


@endpoint("/areas/<area_id>/basemap", ["DELETE"], summary="Remove the area's offline basemap (managers)",
          tags=TAGS, status=204)
def delete_basemap(area_id: str):
    s = get_session()
    area, _ = load_area(s, area_id, "manager")
    before = basemaps.current(_data_dir(), area.id)
    if before is None or not basemaps.remove(_data_dir(), area.id):
        raise NotFound("this protected area has no offline basemap", code="no_basemap")
    audit.record(s, "delete", "basemap", area.id, area_id=area.id, before=basemaps.public(before))
    s.commit()
    return None


@endpoint("/areas/<area_id>/basemap.mbtiles", summary="Download the area's basemap file (HTTP Range resumes)",
          tags=TAGS, raw=True, produces=("application/vnd.sqlite3",),
          responses={206: "The rest of the file from the Range asked for", 304: "Not modified (ETag)",
                     416: "Range not satisfiable"},
          description="The MBTiles file, with ETag and X-Content-SHA256 set to its SHA-256. Send "
          "'Range: bytes=N-' (and 'If-Range: \"<sha256>\"') to resume a broken download: 206 with the rest.")
def download_basemap(area_id: str):
    area, _ = load_area(get_session(), area_id)
    info = basemaps.require(_data_dir(), area.id)
    resp = send_file(info["path"], mimetype="application/vnd.sqlite3", conditional=True, etag=info["sha256"],
                     max_age=0, as_attachment=True, download_name=f"{area.code}.mbtiles")
    resp.headers["X-Content-SHA256"] = info["sha256"]
    resp.headers["Accept-Ranges"] = "bytes"
    return resp


@endpoint("/areas/<area_id>/basemap/<int:z>/<int:x>/<int:y>", summary="One basemap tile (XYZ numbering)",
          tags=TAGS, raw=True, produces=("image/*",))
def basemap_tile(area_id: str, z: int, x: int, y: int):
    area, _ = load_area(get_session(), area_id)
    info = basemaps.require(_data_dir(), area.id)
    data = basemaps.read_tile(info, z, x, y)
    if data is None:
        raise NotFound(f"no tile {z}/{x}/{y} in this basemap (zoom {info['minzoom']}..{info['maxzoom']})",
                       code="no_tile")
    resp = current_app.response_class(data, mimetype=info["media_type"])
    # Content-addressed: the same URL may change only when the basemap is replaced (the ETag says so).
    resp.headers["Cache-Control"] = "private, max-age=3600"
    resp.headers["ETag"] = f'"{info["sha256"][:16]}-{z}-{x}-{y}"'
    return resp
