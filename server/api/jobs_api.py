"""Background jobs: status, progress and per-item failures.

Only administrators see where on the server a job read or wrote files: for
everyone else the data folders are cut from every text of the job (params,
result, error, failures) and keys naming server paths are left out, so an
export is fetched by job id (``/exports/<job_id>/download``), never by path.
"""
from __future__ import annotations

from typing import Any

from flask import current_app
from sqlmodel import select

from ..auth.permissions import current_user, load_in_area, scope_query
from ..db import get_session
from ..models import Job
from ..services import jobs as job_service
from .core import endpoint, paginate
from .schemas import JobOut, JobQuery

# Result/params keys that hold a path on the server (left out for non-administrators).
PATH_KEYS = {"out_dir", "out_path", "path", "file_path", "source", "source_path", "folder", "dir"}


def _server_dirs() -> list[str]:
    cfg = current_app.config
    dirs = {str(cfg.get(k) or "").rstrip("/") for k in ("DATA_DIR", "MEDIA_DIR", "DERIVATIVES_DIR")}
    return sorted((d for d in dirs if d), key=len, reverse=True)  # longest first: nested folders


def _scrub(value: Any, dirs: list[str]) -> Any:
    if isinstance(value, str):
        for d in dirs:
            value = value.replace(d + "/", "").replace(d, ".")
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, dirs) for k, v in value.items() if k not in PATH_KEYS}
    if isinstance(value, list):
        return [_scrub(v, dirs) for v in value]
    return value


def job_view(job: Job) -> dict:
    """The job as the current user may see it (see the module docstring)."""
    out = JobOut.model_validate(job, from_attributes=True).model_dump(mode="json")
    if current_user().is_admin:
        return out
    dirs = _server_dirs()
    for key in ("params", "result", "error", "failures"):
        out[key] = _scrub(out[key], dirs)
    return out


def _job(job_id: str, minimum: str = "viewer") -> Job:
    """A job of one of the user's areas, or one the user started outside every area (404 otherwise)."""
    return load_in_area(get_session(), Job, job_id, minimum).row


@endpoint("/jobs", summary="List jobs", tags=["jobs"], query=JobQuery, response=JobOut)
def list_jobs(query: JobQuery):
    s = get_session()
    stmt = scope_query(s, select(Job), Job.area_id, query.area_id, owner_column=Job.created_by)
    if query.status:
        stmt = stmt.where(Job.status == query.status)
    if query.kind:
        stmt = stmt.where(Job.kind == query.kind)
    page = paginate(s, stmt, query, Job.created_at.desc())
    page.items = [job_view(j) for j in page.items]
    return page


@endpoint("/jobs/<job_id>", summary="One job with its progress", tags=["jobs"], response=JobOut)
def get_job(job_id: str):
    return job_view(_job(job_id))


@endpoint("/jobs/<job_id>/cancel", ["POST"], summary="Cancel a queued or running job (biologists)", tags=["jobs"],
          response=JobOut)
def cancel_job(job_id: str):
    return job_view(job_service.cancel(get_session(), _job(job_id, job_service.CANCEL_ROLE)))


@endpoint("/jobs/<job_id>/retry", ["POST"], summary="Run a failed or cancelled job again (biologists; exports and "
          "clock corrections: managers)", tags=["jobs"], response=JobOut,
          responses={409: "The job is queued, running or done"},
          description="The same job (kind and parameters) goes back to the queue with its attempts, progress, "
                      "error and per-item failures cleared; jobs are idempotent, so work already done is kept.")
def retry_job(job_id: str):
    s = get_session()
    job = _job(job_id, "viewer")
    if job.area_id is not None:
        from ..auth.permissions import require_area

        require_area(s, job.area_id, job_service.retry_role(job))
    return job_view(job_service.retry(s, job))
