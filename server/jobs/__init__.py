"""Background jobs (see :mod:`server.jobs.core`).

``SAOLA_WORKER`` picks the runner: ``inprocess`` (threads inside the server,
no broker: the embedded default), ``external`` (separate ``saola worker``
processes poll the database) or ``celery`` (Celery workers on a Redis broker,
same task code). Handlers live in feature modules and register with
``@handler(kind)``; importing :mod:`server.jobs.handlers` loads them all.
"""
from __future__ import annotations

import atexit

from flask import Flask

from . import core
from .core import (HANDLERS, JobCancelled, JobContext, JobFailed, dispatch, drain, enqueue, handler,  # noqa: F401
                   load_handlers, reap, run_job)


def init_app(app: Flask) -> None:
    # Handler modules are imported when a job kind is first looked up (core.load_handlers), not here.
    mode = app.config["WORKER"]
    core._dispatchers.clear()
    if mode == "inprocess" and not app.config.get("TESTING"):
        from .worker import PollingWorker

        w = PollingWorker(app.config, threads=app.config["WORKER_THREADS"]).start()
        core._dispatchers.append(w.wake)
        app.extensions["saola.worker"] = w
        atexit.register(w.stop, 2)
    elif mode == "celery":
        from .celery_app import configure, publish

        configure(app.config)
        core._dispatchers.append(publish)
    elif mode not in ("inprocess", "external"):
        raise ValueError(f"SAOLA_WORKER must be inprocess, external or celery, not {mode!r}")


