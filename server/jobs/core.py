"""The job system. The Job row is the truth: a task carries only the job id.

Lifecycle: queued -> running (claimed with a lease by one worker) -> done |
failed | cancelled. A worker renews its lease while it reports progress; the
reaper puts a running job whose lease expired (its worker died) back in the
queue, or fails it after ``max_attempts``. Handlers must be idempotent (they
may run twice) and must never hold a database transaction during long work:
they open short sessions through :meth:`JobContext.session`.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable

from sqlalchemy import or_, update
from sqlmodel import Session, select

from ..db import session_scope
from ..models import Job, utcnow

log = logging.getLogger("saola.jobs")

HANDLERS: dict[str, Callable[["JobContext"], dict | None]] = {}
# Called after a job row is committed, to wake a worker (in-process) or publish a task (Celery).
_dispatchers: list[Callable[[str], None]] = []


def handler(kind: str):
    """Register the function that runs jobs of ``kind``."""

    def deco(fn):
        HANDLERS[kind] = fn
        return fn

    return deco


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


class JobCancelled(Exception):
    """Raised inside a handler when the job was cancelled meanwhile."""


class JobFailed(Exception):
    """Raised by a handler for an error that another attempt cannot fix (bad parameters,
    a model file that fails its checksum): the job fails at once, without retries."""


@dataclass
class JobContext:
    """What a handler gets: the job's params, config, and ways to report back."""

    job_id: str
    kind: str
    params: dict[str, Any]
    config: dict[str, Any]
    owner: str
    lease_s: int
    failures: list[dict] = field(default_factory=list)

    def session(self):
        """A short transaction of its own (commit on success)."""
        return session_scope(self.config["DATABASE_URL"])

    def progress(self, done: int, total: int | None = None) -> None:
        """Write progress and renew the lease; raises JobCancelled if the job was cancelled."""
        with self.session() as s:
            job = s.get(Job, self.job_id)
            if job is None or job.status == "cancelled":
                raise JobCancelled(self.job_id)
            if job.lease_owner != self.owner:
                # The reaper gave the job to another worker: stop quietly.
                raise JobCancelled(f"{self.job_id}: lease lost")
            job.progress_done = done
            if total is not None:
                job.progress_total = total
            job.lease_expires_at = utcnow() + timedelta(seconds=self.lease_s)
            job.failures = list(self.failures)
            s.add(job)

    def fail_item(self, item: str, error: str) -> None:
        """Record that one item failed (the job goes on with the rest)."""
        self.failures.append({"item": item, "error": error})


def load_handlers() -> None:
    """Import every feature's handler modules (:mod:`server.jobs.handlers`), once.

    Done when a job kind is first looked up, not when the app starts: a command that only queues
    jobs whose handler module it imported itself (``saola ingest`` and its ``derivatives`` job)
    skips the detector's, the sound analysis' and every other feature's imports."""
    from . import handlers  # noqa: F401  (registers every job kind)


def _handler(kind: str) -> Callable[["JobContext"], dict | None] | None:
    if kind not in HANDLERS:
        load_handlers()
    return HANDLERS.get(kind)


def enqueue(session: Session, kind: str, params: dict[str, Any] | None = None, *, area_id: str | None = None,
            created_by: str | None = None, max_attempts: int | None = None, commit: bool = True) -> Job:
    """Queue a job; committed and dispatched unless ``commit`` is False (then call :func:`dispatch`)."""
    if _handler(kind) is None:
        raise ValueError(f"unknown job kind {kind!r}")
    job = Job(kind=kind, params=params or {}, area_id=area_id, created_by=created_by,
              max_attempts=max_attempts or _default_attempts())
    session.add(job)
    if commit:
        session.commit()
        dispatch(job.id)
    return job


def _default_attempts() -> int:
    """SAOLA_JOB_MAX_ATTEMPTS of the current app (or of the environment outside one)."""
    from flask import current_app, has_app_context

    if has_app_context():
        return int(current_app.config.get("JOB_MAX_ATTEMPTS") or 3)
    from .. import settings

    return int(settings.load()["JOB_MAX_ATTEMPTS"] or 3)


def dispatch(job_id: str) -> None:
    for d in list(_dispatchers):
        try:
            d(job_id)
        except Exception:  # a broker hiccup must not lose the job: the row stays queued
            log.exception("could not dispatch job %s; it stays queued for the reaper", job_id)


def claim(url: str, owner: str, lease_s: int, job_id: str | None = None) -> str | None:
    """Atomically take one queued job (or ``job_id``) for ``owner``; returns its id or None."""
    if job_id is not None:
        return job_id if _claim_one(url, owner, lease_s, job_id) else None
    # Another worker may take the oldest job between our SELECT and UPDATE: try the next ones.
    for _ in range(5):
        with session_scope(url) as s:
            candidates = list(s.exec(select(Job.id).where(Job.status == "queued")
                                     .order_by(Job.created_at, Job.id).limit(5)))
        if not candidates:
            return None
        for cand in candidates:
            if _claim_one(url, owner, lease_s, cand):
                return cand
    return None


def _claim_one(url: str, owner: str, lease_s: int, job_id: str) -> bool:
    now = utcnow()
    with session_scope(url) as s:
        res = s.exec(update(Job).where(Job.id == job_id).where(
            or_(Job.status == "queued", (Job.status == "running") & (Job.lease_expires_at < now))
        ).values(status="running", lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_s),
                 attempts=Job.attempts + 1, started_at=now, error=None))
        return res.rowcount == 1


def run_claimed(job_id: str, config: dict[str, Any], owner: str) -> str:
    """Run a job this worker has claimed; returns its final status."""
    url = config["DATABASE_URL"]
    from .. import audit
    from ..models import User

    with session_scope(url) as s:
        job = s.get(Job, job_id)
        kind, params, creator = job.kind, dict(job.params), job.created_by
        user = s.get(User, creator) if creator else None
        on_behalf = f"{user.username if user else 'saola'} (job {kind})"
    ctx = JobContext(job_id, kind, params, config, owner, int(config.get("JOB_LEASE_S", 300)))
    fn = _handler(kind)
    acting = audit.acting_for_job(user.id if user else None, on_behalf)
    try:
        if fn is None:
            raise RuntimeError(f"no handler for job kind {kind!r} in this worker")
        result = fn(ctx) or {}
        status, error = "done", None
    except JobCancelled:
        return "cancelled"
    except JobFailed as e:
        log.warning("job %s (%s) failed: %s", job_id, kind, e)
        result, status, error, permanent = {}, "failed", str(e), True
    except Exception as e:  # the job failed; record why, retry if attempts remain
        log.warning("job %s (%s) failed: %s", job_id, kind, e)
        result, status, error, permanent = {}, "failed", f"{type(e).__name__}: {e}", False
        log.debug("%s", traceback.format_exc())
    else:
        permanent = False
    finally:
        audit.end_job(acting)
    with session_scope(url) as s:
        job = s.get(Job, job_id)
        if job is None or job.lease_owner != owner or job.status != "running":
            return job.status if job else "gone"
        job.failures = ctx.failures
        job.lease_owner, job.lease_expires_at = None, None
        if status == "failed" and not permanent and job.attempts < job.max_attempts:
            job.status, job.error = "queued", error
            job.lease_expires_at = utcnow() + timedelta(seconds=ctx.lease_s)  # published now (see reap)
        else:
            job.status, job.error, job.result = status, error, result
            job.finished_at = utcnow()
            if status == "done" and job.progress_total and job.progress_done < job.progress_total:
                job.progress_done = job.progress_total
        s.add(job)
        final = job.status
    if final == "queued":
        dispatch(job_id)
    return final


def run_job(job_id: str, config: dict[str, Any]) -> str | None:
    """Claim and run one job by id (what a Celery task does). Safe to call twice."""
    owner = worker_id()
    if claim(config["DATABASE_URL"], owner, int(config.get("JOB_LEASE_S", 300)), job_id) is None:
        return None
    return run_claimed(job_id, config, owner)


def run_next(config: dict[str, Any]) -> str | None:
    """Claim and run the oldest queued job; returns its id, or None when the queue is empty."""
    owner = worker_id()
    job_id = claim(config["DATABASE_URL"], owner, int(config.get("JOB_LEASE_S", 300)))
    if job_id is not None:
        run_claimed(job_id, config, owner)
    return job_id


def reap(url: str, lease_s: int | None = None) -> list[str]:
    """Requeue running jobs whose lease expired (their worker died); fail those out of attempts.

    A requeued job's ``lease_expires_at`` is set ``lease_s`` ahead (default
    300 s): for a queued job it means "published at; do not publish again
    before" (see :func:`republish_stale`).
    """
    now = utcnow()
    requeued = []
    with session_scope(url) as s:
        stale = s.exec(select(Job).where(Job.status == "running", Job.lease_expires_at < now)).all()
        for job in stale:
            job.lease_owner = None
            if job.attempts >= job.max_attempts:
                job.status, job.error, job.finished_at = "failed", "worker lost (lease expired) too often", now
                job.lease_expires_at = None
            else:
                job.status = "queued"
                job.lease_expires_at = now + timedelta(seconds=lease_s or 300)
                requeued.append(job.id)
            s.add(job)
    for job_id in requeued:
        dispatch(job_id)
    return requeued


def republish_stale(url: str, after_s: int) -> list[str]:
    """Dispatch again jobs queued for more than ``after_s`` seconds and not published since.

    For brokers: a job whose message was lost (broker down when it was queued,
    flushed queue) would otherwise wait forever. Polling workers do not need
    this (they read the table). Duplicates are harmless: a claimed job is not
    claimed again.
    """
    now = utcnow()
    with session_scope(url) as s:
        rows = s.exec(select(Job).where(Job.status == "queued",
                                        Job.created_at < now - timedelta(seconds=after_s),
                                        or_(Job.lease_expires_at.is_(None), Job.lease_expires_at < now))).all()
        for job in rows:
            job.lease_expires_at = now + timedelta(seconds=after_s)
            s.add(job)
        ids = [j.id for j in rows]
    for job_id in ids:
        dispatch(job_id)
    return ids


def drain(config: dict[str, Any], max_jobs: int | None = None) -> int:
    """Run queued jobs in this thread until none is left; returns how many ran."""
    n = 0
    while max_jobs is None or n < max_jobs:
        if run_next(config) is None:
            break
        n += 1
    return n
