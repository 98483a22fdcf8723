"""Exports (Camtrap DP, Darwin Core Archive) as jobs, analyses as CSV/JSON/PNG, and the annual report.

Exports need the manager role in the protected area (they hold every record
and, unless public, exact locations of sensitive species); analyses and the
report need any role in the area (viewer and up).
"""
from __future__ import annotations

from typing import Literal, Optional

from flask import Response, current_app, send_file
from pydantic import BaseModel, Field, model_validator
from sqlmodel import select

from ..auth.permissions import check_row, current_user, load_in_area, role_in_area
from ..bounds import MAX_ANALYSIS_DAYS, BoundedDate, BoundedYear
from ..db import get_session
from ..errors import NotFound, SaolaError, ValidationError
from ..exports import jobs as export_jobs  # noqa: F401  (registers the "export" job kind)
from ..exports.common import resolve_scope
from ..exports.metadata import CamtrapMetadata
from ..jobs import enqueue
from ..models import Job, Program, ProtectedArea
from .core import endpoint
from .schemas import In, JobOut


class ExportIn(In):
    format: Literal["camtrap-dp", "dwca", "megadetector", "detections-csv"]
    model: Optional[str] = Field(default=None, max_length=200, description="megadetector: the model (name or "
                                 "name@version); default the one with most detections per deployment")
    program_id: Optional[str] = None
    area_id: Optional[str] = None
    public: bool = False
    media: Literal["copy", "link"] = "copy"
    base_url: Optional[str] = Field(default=None, max_length=500)
    sensitive: Literal["generalise", "withhold"] = "generalise"
    grid: float = Field(default=0.1, gt=0, le=10)

    @model_validator(mode="after")
    def _one_scope(self):
        if bool(self.program_id) == bool(self.area_id):
            raise ValueError("give exactly one of program_id or area_id")
        if self.format == "camtrap-dp" and self.media == "link" and not self.base_url:
            raise ValueError("media 'link' needs base_url")
        return self


class AnalyticsQuery(In):
    program_id: Optional[str] = None
    area_id: Optional[str] = None
    format: Literal["json", "csv"] = "json"
    min_delta: float = Field(default=60.0, ge=0)
    compared_to: Literal["last-record", "last-independent-record"] = "last-record"
    occasion_length: int = Field(default=1, ge=1, le=MAX_ANALYSIS_DAYS)
    day1: Literal["station", "survey"] = "station"
    include_effort: bool = True
    output: Literal["binary", "count"] = "binary"
    species: Optional[str] = None
    fractional: bool = True
    convention: Optional[Literal["exact", "noon", "whole-days"]] = None
    remove_duplicates: bool = True
    video: bool = False
    include_machine: bool = False
    min_confidence: float = Field(default=0.0, ge=0, le=1)
    by_station: bool = False
    unit: Literal["station", "day"] = "station"
    bin_m: float = Field(default=10.0, gt=0)
    truncation_m: Optional[float] = Field(default=None, ge=0)
    signs: bool = True
    period: Literal["day", "hour"] = "day"
    bins: int = Field(default=24, ge=1, le=288)
    year: Optional[BoundedYear] = None
    start: Optional[BoundedDate] = None
    end: Optional[BoundedDate] = None
    model: Literal["single", "dynamic"] = "single"
    psi: str = Field(default="~ 1", max_length=500)
    p: str = Field(default="~ 1", max_length=500)
    gamma: str = Field(default="~ 1", max_length=500)
    epsilon: str = Field(default="~ 1", max_length=500)
    species_b: Optional[str] = Field(default=None, max_length=200)
    bootstrap: int = Field(default=1000, ge=0, le=100_000)
    seed: Optional[int] = None
    level: float = Field(default=0.95, gt=0, lt=1)
    method: Literal["exact", "random"] = "exact"
    permutations: int = Field(default=100, ge=2, le=10_000)
    target_precision: float = Field(default=0.95, gt=0, le=1)
    lang: Literal["vi", "en"] = Field(default="en", description="language of a plot's texts and numbers")


class ReportQuery(In):
    program_id: Optional[str] = None
    area_id: Optional[str] = None
    year: BoundedYear
    lang: Literal["vi", "en"] = "vi"
    format: Literal["html", "pdf"] = "html"


def _scope_area(program_id: Optional[str], area_id: Optional[str], minimum: str):
    """The export/analysis scope, after checking the user's role in its area (404 for other areas)."""
    s = get_session()
    if bool(program_id) == bool(area_id):
        raise ValidationError("give exactly one of program_id or area_id")
    if program_id:
        load_in_area(s, Program, program_id, minimum)
    else:  # an id or a code
        a = s.get(ProtectedArea, area_id) or s.exec(select(ProtectedArea).where(ProtectedArea.code == area_id)).first()
        check_row(s, a, minimum, what="protected area", ident=area_id)
    return resolve_scope(s, program_id, area_id)


@endpoint("/exports", ["POST"], summary="Start an export job: Camtrap DP package or Darwin Core Archive (managers)",
          tags=["exports"], body=ExportIn, response=JobOut, status=202)
def start_export(body: ExportIn):
    scope = _scope_area(body.program_id, body.area_id, "manager")
    params = body.model_dump()
    if body.area_id:
        params["area_id"] = scope.area.id
    from .jobs_api import job_view

    return job_view(enqueue(get_session(), "export", params, area_id=scope.area.id, created_by=current_user().id))


@endpoint("/exports/<job_id>/download", summary="Download the zip of a finished export job (managers)",
          tags=["exports"], raw=True, responses={409: "The job has not finished"}, produces=("application/zip",))
def download_export(job_id: str):
    from flask import current_app

    s = get_session()
    job = load_in_area(s, Job, job_id, "manager", what="export job").row
    if job.kind != "export" or job.area_id is None:
        raise NotFound(f"no export job with id {job_id!r}")
    if job.status != "done":
        raise SaolaError(f"the export job is {job.status}, not done", status=409, code="not_ready")
    path = export_jobs.export_dir(current_app.config, job.id) / job.result.get("file", "")
    if not path.is_file():
        raise NotFound(f"the export file is gone (exports are deleted after {export_jobs.KEEP_DAYS} days); "
                       "start a new export")
    return send_file(path, mimetype="application/zip", as_attachment=True, download_name=path.name)


@endpoint("/programs/<program_id>/camtrap-dp-metadata", summary="The program's Camtrap DP metadata (managers)",
          tags=["exports"], raw=True, response=CamtrapMetadata)
def get_camtrap_metadata(program_id: str):
    from flask import jsonify

    from ..exports import metadata

    program = load_in_area(get_session(), Program, program_id, "manager").row
    return jsonify(metadata.stored(program) or None)


@endpoint("/programs/<program_id>/camtrap-dp-metadata", ["PUT"], tags=["exports"], body=CamtrapMetadata,
          raw=True, response=CamtrapMetadata,
          summary="Fill in the program's Camtrap DP metadata: sampling design, baits, citation, licences, "
          "contributors, keywords (managers)")
def put_camtrap_metadata(program_id: str, body: CamtrapMetadata):
    from flask import jsonify

    from ..exports import metadata
    from ..services import programs as program_service

    s = get_session()
    program = load_in_area(s, Program, program_id, "manager").row
    program_service.update_program(s, program, {"settings": metadata.with_metadata(program.settings, body)})
    s.commit()
    return jsonify(metadata.stored(program))


def _analysis_names(plots: bool = False) -> dict:
    """The schema of an analysis name (path parameter): one of the registered analyses."""
    from ..analytics.registry import ANALYSES

    if plots:
        from ..analytics.plots import PLOTS

        return {"type": "string", "enum": [n for n in ANALYSES if n in PLOTS]}
    return {"type": "string", "enum": list(ANALYSES)}


def _options(query: AnalyticsQuery):
    from ..analytics.registry import options_from

    data = query.model_dump(exclude={"program_id", "area_id", "format", "lang"})
    return options_from(data)


class AnalysisOut(BaseModel):
    name: str
    description: str
    plot: bool = Field(description="a PNG plot exists (/analytics/{name}/plot)")


@endpoint("/analytics", summary="The analyses available (names, descriptions, which have plots)", tags=["analytics"],
          raw=True, response=AnalysisOut, many=True)
def list_analyses():
    from flask import jsonify

    from ..analytics.plots import PLOTS
    from ..analytics.registry import ANALYSES

    return jsonify([{"name": n, "description": d, "plot": n in PLOTS} for n, (_, d) in ANALYSES.items()])


@endpoint("/analytics/<name>", summary="Run an analysis over a program or area (viewers); JSON or CSV",
          tags=["analytics"], query=AnalyticsQuery, raw=True, produces=("application/json", "text/csv"),
          path={"name": lambda: _analysis_names()})
def run_analysis(name: str, query: AnalyticsQuery):
    from flask import jsonify

    from ..analytics.registry import run

    scope = _scope_area(query.program_id, query.area_id, "viewer")
    table = run(get_session(), name, scope.program_ids, _options(query))
    if query.format == "csv":
        return Response(table.to_csv(), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return jsonify(table.to_json())


@endpoint("/analytics/<name>/plot", summary="PNG plot of an analysis (viewers)", tags=["analytics"],
          query=AnalyticsQuery, raw=True, produces=("image/png",), path={"name": lambda: _analysis_names(plots=True)})
def plot_analysis(name: str, query: AnalyticsQuery):
    from ..analytics.plots import plot

    scope = _scope_area(query.program_id, query.area_id, "viewer")
    return Response(plot(get_session(), name, scope.program_ids, _options(query), lang=query.lang),
                    mimetype="image/png")


@endpoint("/reports/annual", summary="The annual monitoring report of a program or area (viewers); HTML or PDF",
          tags=["reports"], query=ReportQuery, raw=True, produces=("text/html", "application/pdf"))
def annual_report(query: ReportQuery):
    from ..reports import build_report, render_html, render_pdf

    scope = _scope_area(query.program_id, query.area_id, "viewer")
    s = get_session()
    data = build_report(s, query.year, program_id=query.program_id, area_id=scope.area.id if query.area_id else None,
                        role=role_in_area(s, current_user(), scope.area.id),  # positions as the role may see them
                        data_dir=current_app.config["DATA_DIR"])
    html = render_html(data, query.lang)
    if query.format == "pdf":
        try:
            pdf = render_pdf(html)
        except RuntimeError as e:
            raise SaolaError(str(e), status=503, code="pdf_unavailable") from None
        name = f"report-{scope.area.code}-{query.year}-{query.lang}.pdf"
        return Response(pdf, mimetype="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    from ..security import REPORT_CSP

    # A self-contained document with its own <style> and data: figures, and no script.
    return Response(html, mimetype="text/html", headers={"Content-Security-Policy": REPORT_CSP})
