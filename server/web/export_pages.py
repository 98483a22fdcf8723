"""Exports and reports of a protected area in the browser (managers): no terminal needed.

- **Exports**: Camtrap DP (full or public), Darwin Core Archive (full or public), MegaDetector
  JSON and detections CSV, each started as an ``export`` job (the job the API starts, with the
  same checks), shown with live progress (``static/exports.js`` polls :func:`exports_json`) and
  downloaded when done through the API's download route (the access-scope helper, manager role).
- **Camtrap DP metadata** of each program (sampling design, baits, citation, licences,
  contributors, keywords: :mod:`server.exports.metadata`), filled once; a Camtrap DP export of a
  program without it is refused next to the field with a link to the form.
- **Reports**: the annual report in HTML and PDF, Vietnamese and English (the API's route), and
  the analyses with their charts (RAI, activity, species accumulation) as the API draws them.

Every object is loaded through server/auth/permissions.py (404 for other areas, 403 below manager).
"""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from sqlmodel import col, select

from protocols.i18n import N_

from ..auth.permissions import current_user, load_area, load_in_area
from ..db import get_session
from ..exports import metadata
from ..i18n import gettext as _
from ..jobs import enqueue
from ..models import Job, Program, ProtectedArea
from . import login_required
from .forms import FORM, validate

bp = Blueprint("export_pages", __name__)

#: The exports the page offers: key -> (job params, label).
EXPORTS: dict[str, tuple[dict[str, Any], str]] = {
    "camtrap-dp": ({"format": "camtrap-dp", "public": False}, N_("Camtrap DP 1.0.2, full (exact positions)")),
    "camtrap-dp-public": ({"format": "camtrap-dp", "public": True},
                          N_("Camtrap DP 1.0.2, public (sensitive species generalised, no people)")),
    "dwca": ({"format": "dwca", "public": False}, N_("Darwin Core Archive, full")),
    "dwca-public": ({"format": "dwca", "public": True}, N_("Darwin Core Archive, public")),
    "megadetector": ({"format": "megadetector"}, N_("MegaDetector JSON (one file per deployment)")),
    "detections-csv": ({"format": "detections-csv"}, N_("Detections CSV (one file per deployment)")),
}
FORMAT_LABELS = {"camtrap-dp": N_("Camtrap DP"), "dwca": N_("Darwin Core Archive"),
                 "megadetector": N_("MegaDetector JSON"), "detections-csv": N_("Detections CSV")}
#: Analyses the reports page charts (the API's /analytics/<name>/plot), with their titles.
CHARTS = (("rai", N_("Relative abundance index (independent events per 100 trap-nights)")),
          ("diel-activity", N_("Activity by hour of the day")),
          ("species-accumulation", N_("Species accumulation by station")),
          ("occupancy", N_("Occupancy of each species (single season, weekly occasions)")),
          ("richness", N_("Species richness: accumulation and Chao2 estimate")),
          ("overlap", N_("Activity overlap of two species")))
#: Options of a chart beyond the scope and the year: weekly occasions (the report's), the overlap's point
#: estimate only (its bootstrap interval takes a minute; the annual report has it).
CHART_OPTIONS: dict[str, dict[str, Any]] = {"occupancy": {"occasion_length": 7}, "overlap": {"bootstrap": 0}}


def _area(area_id: str) -> ProtectedArea:
    return load_area(get_session(), area_id, "manager")[0]


def _programs(area: ProtectedArea) -> list[Program]:
    return list(get_session().exec(select(Program).where(Program.area_id == area.id).order_by(Program.name)))


def _export_jobs(area: ProtectedArea, limit: int = 30) -> list[Job]:
    return list(get_session().exec(select(Job).where(Job.area_id == area.id, Job.kind == "export")
                                   .order_by(col(Job.created_at).desc(), col(Job.id).desc()).limit(limit)))


def _job_row(job: Job, programs: dict[str, str]) -> dict[str, Any]:
    """What the page (and exports.js) shows of an export job."""
    from ..api.jobs_api import job_view

    p = job.params if isinstance(job.params, dict) else {}
    fmt = p.get("format", "")
    what = _(FORMAT_LABELS.get(fmt, fmt)) + (" · " + _("public") if p.get("public") else "")
    scope = programs.get(p.get("program_id") or "", "") or _("All programs")
    result = job.result if isinstance(job.result, dict) else {}
    return {"id": job.id, "status": job.status, "status_label": _(job.status), "what": what, "scope": scope,
            "done": job.progress_done, "total": job.progress_total, "error": job_view(job)["error"] or "",
            "size": result.get("size_bytes"),
            "download": f"/api/v1/exports/{job.id}/download" if job.status == "done" else ""}


def _page(area: ProtectedArea, errors: dict[str, str], values: dict[str, Any], status: int = 200):
    programs = _programs(area)
    names = {p.id: p.name for p in programs}
    rows = [_job_row(j, names) for j in _export_jobs(area)]
    filled = {p.id: metadata.sampling_design(p) for p in programs}
    return render_template("exports.html", area=area, nav="exports", programs=programs, filled=filled,
                           exports=EXPORTS, rows=rows, errors=errors, values=values,
                           designs=metadata.SAMPLING_DESIGNS), status


@bp.route("/areas/<area_id>/exports")
@login_required
def exports(area_id: str):
    """Start an export, follow its progress, download it; each program's Camtrap DP metadata."""
    area = _area(area_id)
    return _page(area, {}, {"kind": "camtrap-dp", "program_id": ""})


@bp.route("/areas/<area_id>/exports", methods=["POST"])
@login_required
def start_export(area_id: str):
    """Queue the export job the form asks for (the API's schema and checks)."""
    from ..api.exports import ExportIn

    s = get_session()
    area = _area(area_id)
    values = {"kind": request.form.get("kind", ""), "program_id": request.form.get("program_id", "")}
    errors: dict[str, str] = {}
    spec = EXPORTS.get(values["kind"])
    if spec is None:
        errors["kind"] = _("Choose one of the listed values.")
        return _page(area, errors, values, 422)
    program = None
    if values["program_id"]:
        program = load_in_area(s, Program, values["program_id"], "manager").row
        if program.area_id != area.id:
            errors["program_id"] = _("Choose one of the listed values.")
    params = {**spec[0], **({"program_id": program.id} if program else {"area_id": area.id})}
    body, problems = validate(ExportIn, params)
    errors.update(problems)
    if not errors and spec[0]["format"] == "camtrap-dp":
        missing = [p.name for p in ([program] if program else _programs(area)) if metadata.sampling_design(p) is None]
        if missing:
            errors["program_id"] = _("Fill in the Camtrap DP metadata (sampling design...) of {names} first.",
                                     names=", ".join(missing))
    if errors or body is None:
        return _page(area, errors, values, 422)
    enqueue(s, "export", body.model_dump(), area_id=area.id, created_by=current_user().id)
    return redirect(url_for(".exports", area_id=area.id) + "#export-jobs", code=303)


@bp.route("/areas/<area_id>/exports.json")
@login_required
def exports_json(area_id: str):
    """The export jobs of the area as the page shows them (polled while some are queued or running)."""
    area = _area(area_id)
    names = {p.id: p.name for p in _programs(area)}
    return jsonify({"jobs": [_job_row(j, names) for j in _export_jobs(area)]})


# ---- Camtrap DP metadata of a program --------------------------------------------------------------
def _metadata_values(program: Program) -> dict[str, Any]:
    m = metadata.stored(program)
    return {"sampling_design": metadata.sampling_design(program) or "", "baits": m.get("baits") or "",
            "citation": m.get("citation") or "", "data_license": m.get("data_license") or "CC-BY-4.0",
            "media_license": m.get("media_license") or "CC-BY-NC-4.0",
            "contributors": metadata.contributors_text(m.get("contributors") or []),
            "keywords": ", ".join(m.get("keywords") or []), "description": m.get("description") or ""}


def _metadata_page(program: Program, area: ProtectedArea, values, errors, status=200):
    choices = [(code, _(label)) for code, label in metadata.SAMPLING_DESIGNS.items()]
    return render_template("export_metadata.html", area=area, nav="exports", program=program, values=values,
                           errors=errors, design_choices=choices), status


@bp.route("/programs/<program_id>/camtrap-dp", methods=["GET", "POST"])
@login_required
def program_metadata(program_id: str):
    """The form of a program's Camtrap DP metadata (validated by the API's schema, messages by the fields)."""
    from ..services import programs as program_service

    s = get_session()
    program = load_in_area(s, Program, program_id, "manager").row
    area = s.get(ProtectedArea, program.area_id)
    if request.method == "GET":
        return _metadata_page(program, area, _metadata_values(program), {})
    f = request.form
    values = {k: (f.get(k) or "").strip() for k in ("sampling_design", "baits", "citation", "data_license",
                                                     "media_license", "contributors", "keywords", "description")}
    data: dict[str, Any] = {k: values[k] or None for k in ("sampling_design", "baits", "citation", "description")}
    data["data_license"] = values["data_license"] or "CC-BY-4.0"
    data["media_license"] = values["media_license"] or "CC-BY-NC-4.0"
    data["contributors"] = metadata.parse_contributors(values["contributors"])
    data["keywords"] = [k for k in (x.strip() for x in values["keywords"].split(",")) if k]
    meta, errors = validate(metadata.CamtrapMetadata, data)
    if "contributors" in errors and data["contributors"]:
        errors["contributors"] = _("One person or organisation per line: name; e-mail; role; organisation. "
                                   "Roles: contact, principalInvestigator, rightsHolder, publisher, contributor.")
    elif "contributors" in errors:
        errors["contributors"] = _("Name at least one contributor (who holds the rights, who publishes).")
    if errors or meta is None:
        return _metadata_page(program, area, values, errors, 422)
    program_service.update_program(s, program, {"settings": metadata.with_metadata(program.settings, meta)})
    from flask import flash

    flash(_("Camtrap DP metadata of {name} saved.", name=program.name), "ok")
    return redirect(url_for(".exports", area_id=area.id), code=303)


# ---- reports -------------------------------------------------------------------------------------------
@bp.route("/areas/<area_id>/reports")
@login_required
def reports(area_id: str):
    """The annual report (HTML, PDF; Vietnamese, English) and the analyses' charts of a year."""
    area = _area(area_id)
    programs = _programs(area)
    this_year = date.today().year
    try:
        year = int(request.args.get("year") or this_year - 1)
    except ValueError:
        year = this_year - 1
    year = min(max(year, 2000), this_year)
    program_id = request.args.get("program_id") or ""
    if program_id and program_id not in {p.id for p in programs}:
        program_id = ""
    scope = {"program_id": program_id} if program_id else {"area_id": area.id}
    from urllib.parse import urlencode

    reports = [(lang, fmt, "/api/v1/reports/annual?" + urlencode({**scope, "year": year, "lang": lang, "format": fmt}))
               for lang in ("vi", "en") for fmt in ("html", "pdf")]
    span = {"start": f"{year}-01-01", "end": f"{year}-12-31"}
    # The overlap's two species: chosen on the page among the year's recorded species, else the two
    # recorded most.
    recorded = _recorded_species(area, program_id, year)
    pair = [request.args.get("species_a") or "", request.args.get("species_b") or ""]
    for i, default in enumerate(recorded[:2]):
        if pair[i] not in recorded:
            pair[i] = default if default not in pair else next((r for r in recorded if r not in pair), "")
    options: dict[str, dict[str, Any]] = dict(CHART_OPTIONS, overlap={**CHART_OPTIONS["overlap"], "species": pair[0], "species_b": pair[1]})
    charts = [(name, title, f"/api/v1/analytics/{name}/plot?" + urlencode({**scope, **span, **options.get(name, {}),
                                                                            "lang": _current_lang()}))
              for name, title in CHARTS if name != "overlap" or all(pair)]
    tables = [(name, f"/api/v1/analytics/{name}?" + urlencode({**scope, **span, "format": "csv"}))
              for name in ("rai", "trap-nights", "record-table", "species-accumulation", "diel-activity",
                           "naive-occupancy")]
    return render_template("reports.html", area=area, nav="reports", programs=programs, program_id=program_id,
                           year=year, years=list(range(this_year, this_year - 12, -1)), reports=reports,
                           charts=charts, tables=tables, recorded=recorded, pair=pair)


def _recorded_species(area: ProtectedArea, program_id: str, year: int) -> list[str]:
    """Scientific names with independent camera records in ``year`` (60 min apart), most records first."""
    from collections import Counter

    from ..analytics import camtrap
    from ..analytics.loaders import Window, load_records

    pids = [program_id] if program_id else [p.id for p in _programs(area)]
    if not pids:
        return []
    counts = Counter(r.species for r in camtrap.record_table(load_records(get_session(), pids, Window.year(year)), 60))
    return [sp for sp, _n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _current_lang() -> str:
    from ..i18n import current_language

    return current_language()


# The FORM key is imported for templates that show a message above the form.
__all__ = ["bp", "FORM"]
