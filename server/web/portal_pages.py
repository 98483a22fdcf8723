"""The public read-only portal of a hub (issue 18): no sign-in, only when ``SAOLA_PORTAL`` is on.

Each protected area's species list and effort, and a map of where species were recorded with
sensitive stations generalised (server/national/portal.py through server/auth/policy.py). No
photos are served here (so none of people). Requests are limited per client address like the
other anonymous endpoints (``SAOLA_PORTAL_REQUESTS_PER_MIN``; 429 with Retry-After beyond).
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

from flask import Blueprint, current_app, jsonify, render_template

from ..db import get_session
from ..errors import NotFound, RetryLater
from ..i18n import current_language, gettext as _

bp = Blueprint("portal_pages", __name__)


@bp.context_processor
def _numbers():
    """``portal_num`` for the portal's templates: numbers in the page's language (Vietnamese 1.234,5)."""
    from .national_pages import number_format

    return {"portal_num": lambda v, d=None: number_format(current_language())(v, d)}

class _Window:
    """Requests per client address in the current minute, per process (a flood costs no database work)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.minute = 0
        self.counts: dict[str, int] = {}

    def hit(self, address: str, limit: int) -> float:
        """Count a request; seconds to wait (0: allowed)."""
        now = time.time()
        minute = int(now // 60)
        with self.lock:
            if minute != self.minute:
                self.minute, self.counts = minute, {}
            n = self.counts.get(address, 0) + 1
            self.counts[address] = n
        return 0.0 if n <= limit else 60 - now % 60


_WINDOW = _Window()


@bp.before_request
def _portal_gate():
    """404 while the portal is off; 429 past the per-address limit."""
    if not current_app.config.get("PORTAL"):
        raise NotFound(_("The public portal is not enabled on this server."))
    from ..auth.throttle import address_of, client_address

    wait = _WINDOW.hit(address_of(client_address()), int(current_app.config.get("PORTAL_REQUESTS_PER_MIN") or 120))
    if wait > 0:
        raise RetryLater(_("Too many requests from this address; try again in a minute."), retry_after=wait)


def _year() -> int:
    return datetime.now(timezone.utc).year - 1  # the last full monitoring year


def _db_key() -> tuple:
    """The cache key's database part: its URL and its data version (a publish shows at once)."""
    from ..national.portal import data_version

    return current_app.config["DATABASE_URL"], data_version(get_session())


def _areas():
    from sqlmodel import select

    from ..models import ProtectedArea

    return list(get_session().exec(select(ProtectedArea).order_by(ProtectedArea.code)))


def _area(code: str):
    from ..national.portal import area_by_code

    area = area_by_code(get_session(), code)
    if area is None:
        raise NotFound(_("No such protected area."))
    return area


@bp.route("/portal")
def home():
    """Every protected area with its species count (all years) and effort in the last full year."""
    from ..national.dashboard import area_year
    from ..national.inventory import build_inventory
    from ..national.portal import cached

    year = _year()
    s = get_session()

    def make():
        areas = _areas()
        inv = build_inventory(s, None, areas)
        return [{"code": a.code, "name": a.name, "name_vi": a.name_vi, "province": a.province,
                 "species": inv.species_in(a), "effort": area_year(s, a, year)} for a in inv.areas]
    rows = cached(("home", _db_key(), year), make)
    return render_template("portal.html", rows=rows, year=year, lang=current_language())


@bp.route("/portal/areas/<code>")
def area_page(code: str):
    """One area: species list with the reference's status columns, effort over five years, the map."""
    from ..national.dashboard import TREND_YEARS, area_year
    from ..national.inventory import build_inventory
    from ..national.portal import cached
    from .manager_pages import leaflet_installed

    area = _area(code)
    year = _year()
    s = get_session()

    def make():
        inv = build_inventory(s, None, [area])
        years = [area_year(s, area, y) for y in range(year - TREND_YEARS + 1, year + 1)]
        return inv, years
    inv, years = cached(("area", _db_key(), area.id, year), make)
    return render_template("portal_area.html", area=area, inv=inv, years=years, lang=current_language(),
                           leaflet=leaflet_installed())


@bp.route("/portal/areas/<code>/records.geojson")
def area_records(code: str):
    """Stations with the species recorded there; sensitive ones generalised and merged per cell."""
    from ..national.portal import cached, station_features

    area = _area(code)
    return jsonify(cached(("geo", _db_key(), area.id), lambda: station_features(get_session(), area)))
