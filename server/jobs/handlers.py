"""Imports every module that registers job handlers, so any worker knows every kind."""
from __future__ import annotations

import importlib
import logging

from .core import handler

log = logging.getLogger("saola.jobs")

# Feature modules with @handler registrations. A module whose optional
# dependencies are missing is skipped with a log line; its jobs then fail with
# "no handler for job kind" instead of crashing the worker.
MODULES = [
    "server.ingest.jobs",
    "server.detect.jobs",
    "server.audio.jobs",
    "server.exports.jobs",
]

for _m in MODULES:
    try:
        importlib.import_module(_m)
    except ModuleNotFoundError as e:
        if e.name and (e.name == _m or _m.startswith(e.name + ".")):
            continue  # feature not built yet
        log.warning("job handlers of %s not loaded: %s", _m, e)


@handler("diagnostic.sleep")
def _sleep(ctx):
    """A job that sleeps in steps, reporting progress: used to check a worker setup end to end."""
    import time

    steps = int(ctx.params.get("steps", 5))
    for i in range(steps):
        time.sleep(float(ctx.params.get("step_s", 0.5)))
        ctx.progress(i + 1, steps)
    return {"slept_steps": steps}
