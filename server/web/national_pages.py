"""National pages of a hub (issue 18): the dashboard across every protected area, the national
inventory (HTML and CSV), the national synthesis report and the network exports.

Only administrators and national viewers (``User.is_national``) reach them
(:func:`server.auth.permissions.require_national`): a manager of one area gets
403, a visitor the sign-in page. They read the standard tables of every area
(server/national/), whatever brought the records there.
"""
from __future__ import annotations

import io
from datetime import date, datetime, timezone

from flask import Blueprint, Response, jsonify, render_template, request, send_file

from ..auth.permissions import require_national
from ..db import get_session
from ..errors import ValidationError
from ..i18n import current_language, gettext as _
from . import login_required

bp = Blueprint("national_pages", __name__)
FIRST_YEAR = 2000


def _year() -> int:
    """The year asked (``?year=``), default the last full year (the report year); 422 outside 2000..now."""
    this_year = datetime.now(timezone.utc).year
    raw = request.args.get("year") or str(this_year - 1)
    try:
        year = int(raw)
    except ValueError:
        raise ValidationError(_("The year must be a whole number."), details={"field": "year"}) from None
    if not FIRST_YEAR <= year <= this_year:
        raise ValidationError(_("The year must be between {first} and {last}.", first=FIRST_YEAR, last=this_year),
                              details={"field": "year"})
    return year


def _on() -> datetime | date:
    """The day the reporting status is read on (``?on=YYYY-MM-DD``), default now."""
    raw = request.args.get("on")
    if not raw:
        return datetime.now(timezone.utc)
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError(_("The date must be written YYYY-MM-DD."), details={"field": "on"}) from None


def _lang() -> str:
    lang = request.args.get("lang") or current_language()
    return lang if lang in ("vi", "en") else "en"


def _summary():
    from ..national.dashboard import national_summary

    return national_summary(get_session(), _year(), _on())


def number_format(lang: str):
    """``num(value, decimals=None)`` for templates: the language's format (babel; Vietnamese 1.234,5)."""
    from babel.numbers import format_decimal

    def num(value, decimals: int | None = None) -> str:
        if value is None:
            return "–"
        if decimals is None:
            decimals = 0 if float(value).is_integer() else 1
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return format_decimal(value, format=pattern, locale=lang)
    return num


@bp.route("/national")
@login_required
def dashboard():
    """The national dashboard: effort, species, priority species, camera health, reporting status."""
    require_national()
    s = _summary()
    lang = current_language()
    from urllib.parse import urlencode

    query = {"year": s.year, **({"on": request.args["on"]} if request.args.get("on") else {})}
    charts = [(name, f"/national/charts/{name}.png?" + urlencode({**query, "lang": lang}))
              for name in ("effort", "species", "priority-trend")]
    this_year = datetime.now(timezone.utc).year
    return render_template("national.html", s=s, num=number_format(lang), charts=charts, query=urlencode(query),
                           years=list(range(this_year, this_year - 12, -1)), lang=lang)


@bp.route("/national/summary.json")
@login_required
def summary_json():
    """The dashboard's figures as JSON (numbers unformatted)."""
    require_national()
    from ..national.dashboard import summary_json as as_json

    return jsonify(as_json(_summary()))


@bp.route("/national/charts/<name>.png")
@login_required
def chart(name: str):
    require_national()
    from ..errors import NotFound
    from ..national.charts import CHARTS, chart_png

    if name not in CHARTS:
        raise NotFound(_("No such chart."))
    data = chart_png(name, _summary(), _lang())
    return send_file(io.BytesIO(data), mimetype="image/png", max_age=300)


@bp.route("/national/inventory")
@login_required
def inventory():
    """The species × area inventory with the species reference columns; CSV below."""
    require_national()
    from ..national.inventory import build_inventory

    year = _year() if request.args.get("year") else None
    inv = build_inventory(get_session(), year)
    this_year = datetime.now(timezone.utc).year
    return render_template("national_inventory.html", inv=inv, year=year, lang=current_language(),
                           years=list(range(this_year, this_year - 12, -1)))


@bp.route("/national/inventory.csv")
@login_required
def inventory_csv():
    require_national()
    from ..national.inventory import build_inventory, inventory_csv as as_csv

    year = _year() if request.args.get("year") else None
    name = f"saola-national-inventory-{year or 'all'}.csv"
    return Response(as_csv(build_inventory(get_session(), year)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
