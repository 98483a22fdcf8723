"""Celery on a Redis broker: the scale-out runner. Tasks carry only a job id.

Late acks and prefetch 1, so a message is removed from the broker only after
its job finished, and a busy worker does not hoard messages. A worker that is
killed loses its lease; the reaper, run every ``JOB_LEASE_S / 3`` seconds by
each worker (beat-free), requeues the job and publishes it again. Redelivered
duplicates are harmless: claiming a job that is done does nothing.
"""
from __future__ import annotations

import threading

from celery import Celery, signals

from .. import settings as _settings

_cfg = _settings.resolve_paths(_settings.load())
celery = Celery("saola", broker=_cfg["BROKER_URL"] or "redis://127.0.0.1:6379/0")
celery.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_default_queue="saola",
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    broker_transport_options={"visibility_timeout": max(60, int(_cfg["JOB_LEASE_S"]) * 4)},
)


@celery.task(name="saola.run_job", bind=True, ignore_result=True)
def run_job_task(self, job_id: str) -> None:
    from . import handlers  # noqa: F401
    from .core import run_job

    run_job(job_id, _cfg)


def publish(job_id: str) -> None:
    """Send a job id to the broker."""
    run_job_task.apply_async(args=[job_id])


@signals.worker_ready.connect
def _start_reaper(**_):
    from . import core

    core._dispatchers[:] = [publish]
    stop = threading.Event()
    interval = max(1.0, int(_cfg["JOB_LEASE_S"]) / 3)

    def loop():
        while not stop.wait(interval):
            try:
                core.reap(_cfg["DATABASE_URL"])
            except Exception:  # pragma: no cover - logged, retried next round
                import logging

                logging.getLogger("saola.jobs").exception("reaper failed")

    threading.Thread(target=loop, name="saola-reaper", daemon=True).start()
