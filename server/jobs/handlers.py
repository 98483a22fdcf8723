"""Imports every module that registers job handlers, so any worker knows every kind.

The modules are declared in :data:`server.features.FEATURES` (``jobs``). Their optional
heavy dependencies (onnxruntime, librosa, BirdNET) are imported when a job runs, so a
missing one fails that job with a clear error instead of hiding its handler.
"""
from __future__ import annotations

from .. import features
from .core import handler

features.load("jobs")


@handler("diagnostic.sleep")
def _sleep(ctx):
    """A job that sleeps in steps, reporting progress: used to check a worker setup end to end."""
    import time

    steps = int(ctx.params.get("steps", 5))
    for i in range(steps):
        time.sleep(float(ctx.params.get("step_s", 0.5)))
        ctx.progress(i + 1, steps)
    return {"slept_steps": steps}
