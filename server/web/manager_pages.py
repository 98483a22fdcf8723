"""Manager pages of one protected area: overview (effort, species, alerts), map,
deployment calendar. They need the manager role in that area.

The map uses Leaflet, installed from the npm registry at setup time into
server/web/vendor/ (never committed; see scripts/setup.sh) and served from
/vendor/. No tile server is needed: the map draws the area's GeoJSON on a
plain background. Without Leaflet the page falls back to an SVG drawing.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, jsonify, render_template, send_from_directory

from ..auth.permissions import load_area
from ..db import get_session
from ..errors import NotFound
from ..models import ProtectedArea
from ..review.overview import area_overview, calendar, map_features
from . import login_required

bp = Blueprint("manager_pages", __name__)
VENDOR = Path(__file__).resolve().parent / "vendor" / "node_modules"
LEAFLET = VENDOR / "leaflet" / "dist"


def _area(area_id: str) -> ProtectedArea:
    """The area of a manager page (server/auth/permissions.py: 404 for non-members, 403 below manager)."""
    return load_area(get_session(), area_id, "manager")[0]


@bp.route("/areas/<area_id>/overview")
@login_required
def overview(area_id: str):
    area = _area(area_id)
    o = area_overview(get_session(), area.id)
    zones = {r["deployment"].id: r["deployment"].timezone for r in o["deployments"]}
    return render_template("overview.html", area=area, o=o, zones=zones)


def leaflet_installed() -> bool:
    return (LEAFLET / "leaflet.js").is_file()


@bp.route("/areas/<area_id>/map")
@login_required
def area_map(area_id: str):
    area = _area(area_id)
    return render_template("map.html", area=area, leaflet=leaflet_installed(),
                           features=map_features(get_session(), area.id, area.boundary))


@bp.route("/areas/<area_id>/map.geojson")
@login_required
def area_geojson(area_id: str):
    area = _area(area_id)
    return jsonify(map_features(get_session(), area.id, area.boundary))


@bp.route("/areas/<area_id>/calendar")
@login_required
def calendar_page(area_id: str):
    area = _area(area_id)
    return render_template("calendar.html", area=area, cal=calendar(get_session(), area.id))


@bp.route("/vendor/leaflet/<path:filename>")
def leaflet_file(filename: str):
    """Leaflet's distribution files (installed by scripts/setup.sh from npm)."""
    if not leaflet_installed():
        raise NotFound("Leaflet is not installed: run scripts/setup.sh (npm install into server/web/vendor)")
    return send_from_directory(LEAFLET, filename, max_age=86400)
