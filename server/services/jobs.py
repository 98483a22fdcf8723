"""Cancelling, retrying and starting jobs on behalf of a person (API and the jobs page).

The roles: cancelling needs a biologist in the job's area; a retry needs the role of starting
such a job (:data:`RETRY_ROLE`, biologist by default). Detection started from the jobs page
runs a model enabled for the program (server/services/models.py ``enabled_models``); the
program's species classifier goes with it.
"""
from __future__ import annotations

from typing import Any

from sqlmodel import Session

from ..errors import Conflict, ValidationError
from ..i18n import gettext as _
from ..models import Job, MLModel, Program, utcnow
from . import crud

# The role a retry needs in the job's area: that of starting such a job (default: biologist, as cancel).
RETRY_ROLE = {"export": "manager", "retime": "manager", "card_ingest": "ranger"}
CANCEL_ROLE = "biologist"
FINISHED = ("done", "failed", "cancelled")


def retry_role(job: Job) -> str:
    """The role a retry of ``job`` needs in its area."""
    return RETRY_ROLE.get(job.kind, "biologist")


def cancel(session: Session, job: Job) -> Job:
    """Cancel a queued or running job (audited); Conflict when it has finished.

    A running job stops at its next progress report (server/jobs/core.py ``JobContext.progress``).
    """
    if job.status in FINISHED:
        raise Conflict(_("The job has already finished ({status}).", status=_(job.status)))
    return crud.update(session, job, {"status": "cancelled", "finished_at": utcnow()}, job.area_id)


def retry(session: Session, job: Job) -> Job:
    """Put a failed or cancelled job back in the queue (the same row, attempts, progress and failures
    cleared; jobs are idempotent, so work already done is kept); Conflict otherwise."""
    from ..jobs import dispatch

    if job.status not in ("failed", "cancelled"):
        raise Conflict(_("The job is {status}; only failed or cancelled jobs are run again.", status=_(job.status)))
    crud.update(session, job, {"status": "queued", "attempts": 0, "error": None, "failures": [], "progress_done": 0,
                               "result": {}, "started_at": None, "finished_at": None, "lease_owner": None,
                               "lease_expires_at": None}, job.area_id)
    dispatch(job.id)
    return job


def detector_choices(session: Session, program: Program) -> list[MLModel]:
    """The registered detectors enabled for ``program``."""
    from sqlmodel import col, select

    from .models import enabled_models

    names = enabled_models(program)
    if not names:
        return []
    return list(session.exec(select(MLModel).where(col(MLModel.name).in_(names), MLModel.kind == "detector")
                             .order_by(MLModel.name)))


def start_detection(session: Session, program: Program, target: dict[str, Any], model_name: str, *,
                    area_id: str, user_id: str | None, force: bool = False, classify: bool = True) -> Job:
    """Queue detection of a deployment's or a whole program's images (``target``: ``{"deployment_id": ...}``
    or ``{"program_id": ...}``) with a detector enabled for the program; 422 naming the ``model`` field
    when it is not."""
    from ..jobs import enqueue

    allowed = {m.name for m in detector_choices(session, program)}
    if model_name not in allowed:
        message = _("Model {name} is not a detector enabled for program {program}.", name=model_name[:64],
                    program=program.name) if model_name else _("Choose a detector.")
        raise ValidationError(message, details=[{"field": "model", "message": message}])
    params: dict[str, Any] = {**target, "model": model_name, "force": force, "classify": classify}
    settings = program.settings if isinstance(program.settings, dict) else {}
    if classify and settings.get("classifier_model"):
        params["classifier"] = settings["classifier_model"]
    return enqueue(session, "detect", params, area_id=area_id, created_by=user_id)
