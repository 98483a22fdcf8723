"""The ``hub_publish`` job (one publishing run, queued by the schedule of SAOLA_HUB_PUBLISH_MINUTES or by
hand) and the schedule itself."""
from __future__ import annotations

import logging
import threading
from typing import Any

from sqlmodel import col, select

from ..jobs import JobFailed, handler

log = logging.getLogger("saola.hub")


@handler("hub_publish")
def publish_job(ctx) -> dict:
    """Publish the area to the hub with the settings (SAOLA_HUB_*); params may add ``originals``,
    ``report_years``. A hub that cannot be reached fails the attempt: the next one goes on."""
    from .publish import PublishError, options_from_config, publish

    try:
        opts = options_from_config(ctx.config, originals=ctx.params.get("originals"),
                                   report_years=tuple(ctx.params.get("report_years") or ()) or None)
    except PublishError as e:
        raise JobFailed(str(e)) from None
    report = publish(ctx.config, opts)
    return {"summary": report.summary(), "conflicts": report.conflicts[:100]}


def queue_if_idle(config: dict[str, Any]) -> bool:
    """Queue a ``hub_publish`` job unless one is queued or running; whether one was queued."""
    from ..db import session_scope
    from ..jobs import enqueue
    from ..models import Job

    with session_scope(config["DATABASE_URL"]) as s:
        busy = s.exec(select(Job.id).where(Job.kind == "hub_publish",
                                           col(Job.status).in_(("queued", "running")))).first()
        if busy is not None:
            return False
        enqueue(s, "hub_publish", {}, max_attempts=1)
        return True


def start_schedule(config: dict[str, Any]) -> threading.Thread | None:
    """With SAOLA_HUB_URL and SAOLA_HUB_PUBLISH_MINUTES > 0, a daemon thread that queues a publishing
    job every so many minutes (the jobs system runs it, whichever runner is configured)."""
    minutes = int(config.get("HUB_PUBLISH_MINUTES") or 0)
    if minutes <= 0 or not config.get("HUB_URL"):
        return None
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(minutes * 60):
            try:
                queue_if_idle(config)
            except Exception:  # the next tick tries again
                log.exception("could not queue the publishing job")

    t = threading.Thread(target=loop, name="saola-hub-schedule", daemon=True)
    t.start()
    return t
