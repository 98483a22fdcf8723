"""Sound traps on the server: ingest of WAV/FLAC, the ``audio_analysis`` job, alerts, exports.

The analysis itself lives in :mod:`classifiers.audio` (no Flask, no database);
this package decides what to analyse, stores the results (per-minute
:class:`~server.models.AcousticIndex` rows, :class:`~server.models.Detection`
rows with time/frequency boxes, :class:`~server.models.Alert` rows) and serves
them. Ingest calls :func:`queue_after_ingest` after new recordings are stored.

Per-program settings (``Program.settings``), all optional:

* ``audio_bands``: band-energy event detector bands, a list of
  ``{"name", "f_low", "f_high", "min_duration_s", "max_duration_s", ...}``
  (default: the gibbon band 400-2000 Hz, 4-12 s);
* ``birdnet``: false turns BirdNET off (default on when the ``birdnet`` extra is installed);
* ``birdnet_min_conf``: BirdNET confidence floor (default 0.25);
* ``alert_threshold``: BirdNET confidence at or above which Gun, Engine and
  Power tools raise an alert (default 0.5);
* ``audio_classifiers``: names of registered ``audio_classifier`` models to run.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from sqlmodel import Session

JOB_KIND = "audio_analysis"


def queue_after_ingest(session: Session, media_ids: Sequence[str], area_id: str | None,
                       config: dict[str, Any] | None = None, *, commit: bool = True):
    """Queue the ``audio_analysis`` job of newly ingested recordings (same signature as
    :func:`server.detect.queue_after_ingest`); returns the Job, or None when there is nothing to do.

    ``config`` is accepted for the same call shape and not needed. With ``commit`` false the
    caller commits and then calls :func:`server.jobs.dispatch` with the job id.
    """
    ids = [m for m in media_ids if m]
    if not ids:
        return None
    from ..jobs import enqueue
    from . import jobs  # noqa: F401  (registers the handler in this process)

    return enqueue(session, JOB_KIND, {"media_ids": ids}, area_id=area_id, commit=commit)
