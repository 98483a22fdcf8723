"""Machine detection of camera-trap images: models, the detect/classify jobs, privacy.

The classifiers package does the image work (no database); this package
decides which media to run, stores the results, and serves what each role may
see. Ingest calls :func:`queue_after_ingest` after new images are stored.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from sqlmodel import Session


def queue_after_ingest(session: Session, media_ids: Sequence[str], area_id: str | None,
                       config: dict[str, Any] | None = None, *, commit: bool = True):
    """Queue detection of newly ingested images (or videos: a job of their own, so photos are not
    held up by decoding) when ``SAOLA_DETECTOR_MODEL`` is set.

    Returns the queued Job, or None when no detector is configured or there is
    nothing to do. ``config`` defaults to the current Flask app's (or the
    environment's outside a request). With ``commit`` false the caller commits
    and then calls :func:`server.jobs.dispatch` with the job id.
    """
    if config is None:
        from flask import current_app, has_app_context

        if has_app_context():
            config = current_app.config
        else:
            from .. import settings

            config = settings.load()
    model = config.get("DETECTOR_MODEL")
    ids = [m for m in media_ids if m]
    if not model or not ids:
        return None
    from ..jobs import enqueue

    return enqueue(session, "detect", {"media_ids": ids, "model": model}, area_id=area_id, commit=commit)
