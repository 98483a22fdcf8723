"""Celery on a Redis broker: the scale-out runner. Tasks carry only a job id.

Late acks and prefetch 1, so a message is removed from the broker only after
its job finished, and a busy worker does not hoard messages. A worker that is
killed loses its lease; the reaper, run every ``JOB_LEASE_S / 3`` seconds by
each worker (beat-free), requeues the job and publishes it again. It also
publishes again a job left queued for a whole lease without being claimed (its
message was lost: the broker was down when it was queued, or Redis was
flushed). Redelivered duplicates are harmless: claiming a job that is running
or done does nothing.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from celery import Celery, signals

from .. import settings as _settings

log = logging.getLogger("saola.jobs")

_cfg = _settings.load()
_cfg["SECRET_KEY"] = _cfg["SECRET_KEY"] or "unused-by-workers"  # so resolve_paths writes no key file
_cfg = _settings.resolve_paths(_cfg)
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


def configure(config: dict[str, Any]) -> None:
    """Use an app's settings (broker, database, lease) instead of the environment's.

    The server calls this when ``SAOLA_WORKER=celery`` so that it publishes to
    the broker its own configuration names, even when that came from
    ``create_app(config)`` rather than ``SAOLA_*`` variables.
    """
    url = config.get("BROKER_URL") or "redis://127.0.0.1:6379/0"
    _cfg.update({k: config[k] for k in ("DATABASE_URL", "MEDIA_DIR", "DATA_DIR", "JOB_LEASE_S", "BROKER_URL",
                                         "DETECTOR_MODEL", "CLASSIFIER_MODEL", "MEDIA_URL", "S3_ENDPOINT_URL",
                                         "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "S3_REGION", "S3_PART_MB",
                                         "MEDIA_CACHE_DIR", "MEDIA_CACHE_MB") if k in config})
    if celery.conf.broker_url != url:
        celery.close()  # drop connections to the old broker; the next publish opens new ones
        celery.conf.broker_url = url


@celery.task(name="saola.run_job", bind=True, ignore_result=True)
def run_job_task(self, job_id: str) -> None:
    from . import core, handlers  # noqa: F401

    # Pool child processes are forked before the worker is ready: make sure a job a handler
    # requeues (retry) or queues (follow-up job) is published from here too.
    if publish not in core._dispatchers:
        core._dispatchers[:] = [publish]
    core.run_job(job_id, _cfg)


def publish(job_id: str) -> None:
    """Send a job id to the broker."""
    run_job_task.apply_async(args=[job_id])


@signals.worker_process_init.connect
def _fresh_connections(**_):
    # A forked pool process must not share the parent's database connections.
    from .. import db

    for eng in list(db._engines.values()):
        eng.dispose(close=False)
    db._engines.clear()


@signals.worker_ready.connect
def _start_reaper(**_):
    from . import core

    core._dispatchers[:] = [publish]
    stop = threading.Event()
    lease = int(_cfg["JOB_LEASE_S"])
    interval = max(1.0, lease / 3)

    def loop():
        while not stop.wait(interval):
            try:
                core.reap(_cfg["DATABASE_URL"], lease)
                core.republish_stale(_cfg["DATABASE_URL"], lease)
            except Exception:  # pragma: no cover - logged, retried next round
                log.exception("reaper failed")

    threading.Thread(target=loop, name="saola-reaper", daemon=True).start()
