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


SUMMARY_CACHE_S = 120  # the page and its three charts ask for the same figures within seconds


def _summary():
    """The dashboard's figures for the year and day asked, kept two minutes per database, data version,
    year and day (the page and each of its charts would otherwise gather every area-year)."""
    from flask import current_app

    from ..national.dashboard import national_summary
    from ..national.portal import cached, data_version
    from ..reports.submissions import local_day

    year, on = _year(), _on()
    key = ("national", current_app.config["DATABASE_URL"], data_version(get_session()), year,
           local_day(on).isoformat())
    return cached(key, lambda: national_summary(get_session(), year, on), ttl=SUMMARY_CACHE_S)


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


# ---- the national synthesis report and the network exports -------------------------------------------
NETWORK_FORMATS = ("camtrap-dp", "dwca")


def _network_exports(user_id: str) -> list:
    """This user's network export jobs, newest first (a job with no area belongs to who started it)."""
    from sqlmodel import col, select

    from ..models import Job

    jobs = get_session().exec(select(Job).where(Job.kind == "export", col(Job.area_id).is_(None),
                                                Job.created_by == user_id)
                              .order_by(col(Job.created_at).desc()).limit(20)).all()
    return [j for j in jobs if (j.params or {}).get("network")]


@bp.route("/national/synthesis")
@login_required
def synthesis():
    """Links to the national synthesis report (vi/en, HTML/PDF) and the network exports (public releases)."""
    user = require_national()
    year = _year()
    this_year = datetime.now(timezone.utc).year
    from urllib.parse import urlencode

    reports = [(lang, fmt, "/national/report?" + urlencode({"year": year, "lang": lang, "format": fmt}))
               for lang in ("vi", "en") for fmt in ("html", "pdf")]
    return render_template("national_synthesis.html", year=year, reports=reports, formats=NETWORK_FORMATS,
                           jobs=_network_exports(user.id), years=list(range(this_year, this_year - 12, -1)))


@bp.route("/national/report")
@login_required
def national_report():
    """The national synthesis report (``?year=&lang=vi|en&format=html|pdf``)."""
    require_national()
    from ..errors import SaolaError
    from ..reports.national import render_national_html
    from ..security import REPORT_CSP

    year = _year()
    lang = request.args.get("lang") or "vi"
    fmt = request.args.get("format") or "html"
    if lang not in ("vi", "en") or fmt not in ("html", "pdf"):
        raise ValidationError(_("Choose one of the listed values."), details={"field": "lang" if lang not in
                                                                                 ("vi", "en") else "format"})
    html = render_national_html(get_session(), year, lang, _on())
    if fmt == "pdf":
        from ..reports.render import render_pdf

        try:
            pdf = render_pdf(html)
        except RuntimeError as e:
            raise SaolaError(str(e), status=503, code="pdf_unavailable") from None
        return Response(pdf, mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="national-synthesis-{year}-{lang}.pdf"'})
    return Response(html, mimetype="text/html", headers={"Content-Security-Policy": REPORT_CSP})


@bp.route("/national/exports", methods=["POST"])
@login_required
def start_network_export():
    """Start a public export of the whole network (sensitive stations generalised, people left out:
    server/auth/policy.py through the exporters' public mode); the zip downloads from the API's route."""
    from flask import flash, redirect, url_for

    from ..exports import jobs as _export_jobs  # noqa: F401  (registers the export job kind)
    from ..jobs import enqueue

    user = require_national()
    fmt = request.form.get("format", "")
    if fmt not in NETWORK_FORMATS:
        raise ValidationError(_("Choose one of the listed values."), details={"field": "format"})
    params = {"format": fmt, "network": True, "public": True, "sensitive": "generalise", "grid": 0.1,
              "media": "copy"}
    enqueue(get_session(), "export", params, area_id=None, created_by=user.id)
    flash(_("Export started: it is listed below when done."), "ok")
    return redirect(url_for(".synthesis"))


@bp.route("/national/exports/<job_id>/download")
@login_required
def download_network_export(job_id: str):
    """The zip of a finished network export: only for who started it (and administrators); 404 otherwise,
    so other users' job ids do not leak."""
    from flask import current_app

    from ..errors import Conflict, NotFound
    from ..exports import jobs as export_jobs
    from ..models import Job

    user = require_national()
    job = get_session().get(Job, job_id)
    if job is None or job.kind != "export" or job.area_id is not None or not (job.params or {}).get("network") \
            or not (user.is_admin or job.created_by == user.id):
        raise NotFound(_("No such export."))
    if job.status != "done":
        raise Conflict(_("The export is not finished yet."))
    path = export_jobs.export_dir(current_app.config, job.id) / (job.result or {}).get("file", "")
    if not path.is_file():
        raise NotFound(_("The export file is gone; start a new export."))
    return send_file(path, mimetype="application/zip", as_attachment=True, download_name=path.name)
