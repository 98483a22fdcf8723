"""The jobs page of a protected area (managers): queued, running and finished jobs with live
progress, per-item failures, cancel and retry, and "Run detector" on a deployment or a program
with a model enabled for its program.

The page is rendered on the server; ``static/jobs.js`` polls :func:`jobs_json` for the jobs
still queued or running and updates their rows with DOM text nodes. Jobs load through
server/auth/permissions.py (the area's role), their texts pass the API's ``job_view`` (server
paths cut for non-administrators), cancel and retry share server/services/jobs.py with the API.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy import and_, or_
from sqlmodel import col, func, select

from protocols.i18n import N_

from ..api.jobs_api import job_view
from ..auth.permissions import load_area, load_in_area, require_area
from ..db import get_session
from ..errors import SaolaError
from ..i18n import gettext as _
from ..models import Deployment, Job, Location, Program, ProtectedArea, User
from ..services import jobs as job_service
from ..timeutil import as_utc
from . import login_required
from .forms import FORM, service_errors

bp = Blueprint("jobs_pages", __name__)
PAGE = 50
#: How the page names each kind of job (unknown kinds show their code).
KIND_LABELS = {"detect": N_("Detection"), "classify": N_("Species classification"),
               "privacy": N_("Blurring people"), "derivatives": N_("Thumbnails"),
               "card_ingest": N_("Card ingest"), "export": N_("Export"), "resequence": N_("Regrouping sequences"),
               "retime": N_("Clock correction"), "audio_analysis": N_("Sound analysis"),
               "video_poster": N_("Video posters")}
STATUS_FILTERS = {"": N_("All"), "active": N_("Queued or running"), "done": N_("Done"), "failed": N_("Failed"),
                  "cancelled": N_("Cancelled")}


def _deployment_label(d: Deployment, locations: dict[str, Location]) -> str:
    loc = locations.get(d.location_id)
    name = loc.name if loc is not None else d.id[:8]
    start = as_utc(d.deployment_start)
    return f"{name} · {start:%Y-%m-%d}" + (f" · {d.camera_id}" if d.camera_id else "")


def _targets(area: ProtectedArea) -> tuple[list[Program], list[tuple[Deployment, str]]]:
    s = get_session()
    programs = list(s.exec(select(Program).where(Program.area_id == area.id).order_by(Program.name)))
    ids = [p.id for p in programs]
    deps = list(s.exec(select(Deployment).where(col(Deployment.program_id).in_(ids), Deployment.kind == "camera")
                       .order_by(Deployment.deployment_start))) if ids else []
    locations = {loc.id: loc for loc in s.exec(select(Location).where(
        col(Location.id).in_({d.location_id for d in deps})))} if deps else {}
    return programs, [(d, _deployment_label(d, locations)) for d in deps]


def _describe(jobs: list[Job]) -> dict[str, str]:
    """What each job works on, in words: a deployment, a program, N media..."""
    s = get_session()
    dep_ids = {j.params.get("deployment_id") for j in jobs if isinstance(j.params, dict)} - {None}
    prog_ids = {j.params.get("program_id") for j in jobs if isinstance(j.params, dict)} - {None}
    deps = {d.id: d for d in s.exec(select(Deployment).where(col(Deployment.id).in_(dep_ids)))} if dep_ids else {}
    locations = {loc.id: loc for loc in s.exec(select(Location).where(
        col(Location.id).in_({d.location_id for d in deps.values()})))} if deps else {}
    progs = {p.id: p.name for p in s.exec(select(Program).where(col(Program.id).in_(prog_ids)))} if prog_ids else {}
    out = {}
    for j in jobs:
        p = j.params if isinstance(j.params, dict) else {}
        if p.get("deployment_id") in deps:
            text = _("Deployment {name}", name=_deployment_label(deps[p["deployment_id"]], locations))
        elif p.get("program_id") in progs:
            text = _("Program {name}", name=progs[p["program_id"]])
        elif isinstance(p.get("media_ids"), list):
            text = _("{n} media", n=len(p["media_ids"]))
        else:
            text = ""
        if p.get("model"):
            text = (text + " · " if text else "") + str(p["model"])
        out[j.id] = text
    return out


def _row(job: Job, my_role: str) -> dict[str, Any]:
    """The live part of a row: what jobs.js updates."""
    from ..auth.permissions import RANK

    def may(role: str) -> bool:
        return my_role == "admin" or RANK.get(my_role, -1) >= RANK[role]

    return {"id": job.id, "status": job.status, "status_label": _(job.status), "done": job.progress_done,
            "total": job.progress_total, "failures": len(job.failures or []),
            "error": job_view(job)["error"] or "",
            "can_cancel": job.status not in job_service.FINISHED and may(job_service.CANCEL_ROLE),
            "can_retry": job.status in ("failed", "cancelled") and may(job_service.retry_role(job))}


def _cursor(job: Job) -> str:
    return f"{as_utc(job.created_at).isoformat()}|{job.id}"


def _jobs_page(area: ProtectedArea, role: str, errors: dict[str, str], values: dict[str, Any]):
    s = get_session()
    status = request.args.get("status") or ""
    if status not in STATUS_FILTERS:
        status = ""
    stmt = select(Job).where(Job.area_id == area.id)
    if status == "active":
        stmt = stmt.where(col(Job.status).in_(("queued", "running")))
    elif status:
        stmt = stmt.where(Job.status == status)
    after = request.args.get("after") or ""
    if after:
        try:
            at_text, job_id = after.split("|", 1)
            at = datetime.fromisoformat(at_text)
        except ValueError:
            abort(400)
        stmt = stmt.where(or_(col(Job.created_at) < at, and_(col(Job.created_at) == at, col(Job.id) < job_id)))
    jobs = list(s.exec(stmt.order_by(col(Job.created_at).desc(), col(Job.id).desc()).limit(PAGE + 1)))
    more = len(jobs) > PAGE
    jobs = jobs[:PAGE]
    users = {u.id: u.username for u in s.exec(select(User).where(
        col(User.id).in_({j.created_by for j in jobs} - {None})))} if jobs else {}
    programs, deployments = _targets(area)
    model_options: dict[str, dict[str, Any]] = {}
    for p in programs:
        for m in job_service.detector_choices(s, p):
            model_options.setdefault(m.name, {"name": m.name, "version": m.version, "programs": []})["programs"].append(p.id)
    return render_template("jobs.html", area=area, nav="jobs", jobs=jobs, rows={j.id: _row(j, role) for j in jobs},
                           described=_describe(jobs), users=users, kind_labels=KIND_LABELS, status=status,
                           status_filters=STATUS_FILTERS, after=bool(after),
                           as_iso=lambda d: as_utc(d).isoformat(), next_after=_cursor(jobs[-1]) if more else None,
                           programs=programs, deployments=deployments,
                           model_options=sorted(model_options.values(), key=lambda m: m["name"]), errors=errors,
                           values=values), (422 if errors else 200)


@bp.route("/admin/areas/<area_id>/jobs")
@login_required
def jobs(area_id: str):
    """The area's jobs, newest first, and the Run detector form."""
    area, role = load_area(get_session(), area_id, "manager")
    values = {"target": request.args.get("target") or "", "model": "", "classify": True}
    return _jobs_page(area, role, {}, values)


@bp.route("/admin/areas/<area_id>/jobs.json")
@login_required
def jobs_json(area_id: str):
    """The live state of the jobs ``ids`` (comma-separated) of the area, and how many jobs were queued in
    the area after ``newest`` (the newest job the page shows: the detector's follow-up jobs, others' jobs),
    for jobs.js."""
    s = get_session()
    _area, role = load_area(s, area_id, "manager")
    ids = [i for i in (request.args.get("ids") or "").split(",") if i][:PAGE]
    rows = list(s.exec(select(Job).where(col(Job.id).in_(ids), Job.area_id == area_id))) if ids else []
    newer = select(func.count()).select_from(Job).where(Job.area_id == area_id)
    try:
        since = datetime.fromisoformat(request.args.get("newest") or "")
        newer = newer.where(col(Job.created_at) > since)
    except ValueError:
        pass  # a page with no job yet: every job of the area is new to it
    resp = jsonify({"jobs": [_row(j, role) for j in rows], "newer": s.exec(newer).one()})
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/admin/areas/<area_id>/jobs/detect", methods=["POST"])
@login_required
def run_detector(area_id: str):
    """Queue detection of a deployment (``target`` = ``deployment:<id>``) or a program (``program:<id>``)."""
    s = get_session()
    area, role = load_area(s, area_id, "manager")
    f = request.form
    values = {"target": f.get("target") or "", "model": f.get("model") or "", "force": bool(f.get("force")),
              "classify": bool(f.get("classify"))}
    what, _sep, ident = values["target"].partition(":")
    program: Program | None = None
    target: dict[str, Any] = {}
    if what == "program":
        program = s.get(Program, ident)
        target = {"program_id": ident}
    elif what == "deployment":
        dep = s.get(Deployment, ident)
        if dep is not None and dep.kind == "camera":
            program = s.get(Program, dep.program_id)
            target = {"deployment_id": ident}
    if program is None or program.area_id != area.id:
        return _jobs_page(area, role, {"target": _("Choose a deployment or a program of this area.")}, values)
    try:
        job = job_service.start_detection(s, program, target, values["model"], area_id=area.id, user_id=g.user.id,
                                          force=values["force"], classify=values["classify"])
    except SaolaError as e:
        s.rollback()
        return _jobs_page(area, role, service_errors(e, FORM), values)
    flash(_("Detection queued ({model}).", model=values["model"]), "ok")
    return redirect(url_for(".jobs", area_id=area.id, _anchor=f"job-{job.id}"))


def _job_and_area(job_id: str, minimum: str) -> tuple[Job, str]:
    s = get_session()
    acc = load_in_area(s, Job, job_id, "manager")
    if acc.area_id is None:
        abort(404)  # jobs outside every area are the API's (and their owner's), not an area's page
    return acc.row, require_area(s, acc.area_id, minimum)


@bp.route("/admin/jobs/<job_id>")
@login_required
def job_page(job_id: str):
    """One job: what it works on, its result or error and every per-item failure."""
    job, role = _job_and_area(job_id, "manager")
    area = get_session().get(ProtectedArea, job.area_id)
    view = job_view(job)
    who = get_session().get(User, job.created_by) if job.created_by else None
    return render_template("job.html", area=area, nav="jobs", job=job, view=view, row=_row(job, role),
                           described=_describe([job]).get(job.id, ""), kind_labels=KIND_LABELS,
                           who=who.username if who else "")


def _back(job: Job) -> str:
    nxt = request.form.get("next") or ""
    return nxt if nxt.startswith("/admin/") and "//" not in nxt else url_for(".job_page", job_id=job.id)


@bp.route("/admin/jobs/<job_id>/cancel", methods=["POST"])
@login_required
def job_cancel(job_id: str):
    job, _role = _job_and_area(job_id, job_service.CANCEL_ROLE)
    try:
        job_service.cancel(get_session(), job)
        flash(_("Job cancelled."), "ok")
    except SaolaError as e:
        get_session().rollback()
        flash(e.message, "error")
    return redirect(_back(job))


@bp.route("/admin/jobs/<job_id>/retry", methods=["POST"])
@login_required
def job_retry(job_id: str):
    s = get_session()
    job, _role = _job_and_area(job_id, "manager")
    require_area(s, job.area_id, job_service.retry_role(job))
    try:
        job_service.retry(s, job)
        flash(_("Job queued again."), "ok")
    except SaolaError as e:
        s.rollback()
        flash(e.message, "error")
    return redirect(_back(job))
