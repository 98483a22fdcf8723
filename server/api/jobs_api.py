"""Background jobs: status, progress and per-item failures."""
from __future__ import annotations

from sqlmodel import select

from ..auth.permissions import current_user, require_area, visible_area_ids
from ..db import get_session
from ..errors import Conflict, NotFound
from ..models import Job, utcnow
from . import crud
from .core import endpoint, paginate
from .schemas import JobOut, JobQuery


def _job(job_id: str, minimum: str = "viewer") -> Job:
    s = get_session()
    job = crud.get_or_404(s, Job, job_id, "job")
    user = current_user()
    if job.area_id is not None:
        require_area(s, job.area_id, minimum)
    elif not user.is_admin and job.created_by != user.id:
        raise NotFound(f"no job with id {job_id!r}")
    return job


@endpoint("/jobs", summary="List jobs", tags=["jobs"], query=JobQuery, response=JobOut)
def list_jobs(query: JobQuery):
    s = get_session()
    user = current_user()
    stmt = select(Job)
    if query.area_id:
        require_area(s, query.area_id)
        stmt = stmt.where(Job.area_id == query.area_id)
    else:
        visible = visible_area_ids(s, user)
        if visible is not None:
            stmt = stmt.where(Job.area_id.in_(visible) | (Job.created_by == user.id))
    if query.status:
        stmt = stmt.where(Job.status == query.status)
    if query.kind:
        stmt = stmt.where(Job.kind == query.kind)
    return paginate(s, stmt, query, Job.created_at.desc())


@endpoint("/jobs/<job_id>", summary="One job with its progress", tags=["jobs"], response=JobOut)
def get_job(job_id: str):
    return _job(job_id)


@endpoint("/jobs/<job_id>/cancel", ["POST"], summary="Cancel a queued or running job (biologists)", tags=["jobs"],
          response=JobOut)
def cancel_job(job_id: str):
    job = _job(job_id, "biologist")
    if job.status in ("done", "failed", "cancelled"):
        raise Conflict(f"job is already {job.status}")
    return crud.update(get_session(), job, {"status": "cancelled", "finished_at": utcnow()}, job.area_id)
