"""Manager pages of one protected area: overview (effort, species, alerts), map,
deployment calendar with the camera health findings (each recorded as a malfunction in
one step). They need the manager role in that area.

The map uses Leaflet, installed from the npm registry at setup time into
server/web/vendor/ (never committed; see scripts/setup.sh) and served from
/vendor/. No tile server is needed: the map draws the area's GeoJSON on a
plain background. Without Leaflet the page falls back to an SVG drawing.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, flash, jsonify, redirect, render_template, send_from_directory, url_for
from sqlmodel import select

from protocols.i18n import N_

from ..auth.permissions import load_area
from ..db import get_session
from ..errors import NotFound, SaolaError
from ..i18n import gettext as _
from ..models import Deployment, Program, ProtectedArea
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
    from flask import current_app

    from ..sync import basemaps

    area = _area(area_id)
    # The area's offline basemap (MBTiles uploaded by a manager) is served by Saola's own tile route:
    # no tile server on the internet.
    info = basemaps.current(current_app.config["DATA_DIR"], area.id)
    basemap = {**basemaps.public(info), "tile_url": f"/api/v1/areas/{area.id}/basemap/{{z}}/{{x}}/{{y}}"} \
        if info else None
    features = map_features(get_session(), area.id, area.boundary)
    # Species the stations can be coloured by (their RAI), from the features themselves.
    rai_species = sorted({sp for f in features["features"] for sp in (f["properties"].get("rai") or {})})
    return render_template("map.html", area=area, leaflet=leaflet_installed(), basemap=basemap,
                           features=features, rai_species=rai_species)


@bp.route("/areas/<area_id>/map/stations/<location_id>/photos.json")
@login_required
def station_photos_json(area_id: str, location_id: str):
    """The station's last photos for its map popup: thumbnails through the review pages' image route,
    which loads each through the access-scope helper and shows it as server/auth/policy.py allows
    (people blurred below biologist); times in the deployment's local time."""
    from ..auth.permissions import load_in_area
    from ..models import Location
    from ..review.overview import station_photos
    from ..timeutil import format_local

    area = _area(area_id)
    s = get_session()
    loc = load_in_area(s, Location, location_id, "manager", what="station").row
    if loc.area_id != area.id:
        raise NotFound(f"no station with id {location_id!r} in this protected area")
    photos = station_photos(s, loc.id)
    zones = {d.id: d.timezone for d in s.exec(select(Deployment).where(
        Deployment.id.in_({m.deployment_id for m in photos})))} if photos else {}
    return jsonify([{"id": m.id, "file_name": m.file_name, "kind": m.kind,
                     "time": format_local(m.captured_at, zones.get(m.deployment_id), "minute"),
                     "thumb": url_for("review_pages.media_image", media_id=m.id, size="thumb")} for m in photos])


@bp.route("/areas/<area_id>/map.geojson")
@login_required
def area_geojson(area_id: str):
    area = _area(area_id)
    return jsonify(map_features(get_session(), area.id, area.boundary))


#: What each camera health check is called on the pages (server/analytics/health.py CHECKS).
HEALTH_TITLES = {
    "clock_before_2010": N_("Clock reset (photos dated before 2010)"),
    "clock_future": N_("Clock in the future"),
    "clock_backwards": N_("Clock running backwards"),
    "stopped_early": N_("Battery dead or card full"),
    "long_gap": N_("Knocked over or covered (long silence)"),
    "blank_run": N_("Knocked over or covered (blank frames)"),
    "false_triggers": N_("False triggers (too many photos a day)"),
    "mostly_blank": N_("False triggers (mostly blank)"),
    "no_night_photos": N_("Infrared flash broken (no night photos)"),
    "late_first_photo": N_("Setup date disagrees with the first photos"),
    "photos_before_setup": N_("Photos before the setup date"),
    "photos_after_retrieval": N_("Photos after the retrieval date"),
}


def _health(area_id: str) -> list:
    """The camera health findings of every program of the area (server/services/health.py)."""
    from ..services import health

    s = get_session()
    pids = list(s.exec(select(Program.id).where(Program.area_id == area_id)))
    return health.findings(s, pids) if pids else []


@bp.route("/areas/<area_id>/calendar")
@login_required
def calendar_page(area_id: str):
    area = _area(area_id)
    return render_template("calendar.html", area=area, cal=calendar(get_session(), area.id),
                           findings=_health(area.id), titles=HEALTH_TITLES)


@bp.route("/areas/<area_id>/health/<deployment_id>/<key>", methods=["POST"])
@login_required
def record_health_finding(area_id: str, deployment_id: str, key: str):
    """One step: a camera health finding becomes malfunction intervals (effort follows)."""
    from ..auth.permissions import current_user, load_in_area
    from ..services import health

    area = _area(area_id)
    s = get_session()
    dep = load_in_area(s, Deployment, deployment_id, "manager").row
    if s.get(Program, dep.program_id).area_id != area.id:
        raise NotFound("no such deployment in this area")
    try:
        rows = health.record_malfunction(s, dep, key, user=current_user().username, area_id=area.id)
        s.commit()
    except SaolaError as e:
        s.rollback()
        flash(e.message, "error")
    else:
        flash(_("Recorded as malfunction ({n} interval(s)): the calendar and the effort count it.", n=len(rows)),
              "ok")
    return redirect(url_for(".calendar_page", area_id=area.id) + "#health")


@bp.route("/vendor/leaflet/<path:filename>")
def leaflet_file(filename: str):
    """Leaflet's distribution files (installed by scripts/setup.sh from npm)."""
    if not leaflet_installed():
        raise NotFound("Leaflet is not installed: run scripts/setup.sh (npm install into server/web/vendor)")
    return send_from_directory(LEAFLET, filename, max_age=86400)
