"""Job kinds ``detect`` and ``classify``.

``detect`` params: exactly one of ``media_ids`` (list), ``deployment_id``,
``program_id`` or ``all: true``; ``model`` (registered name, default
``SAOLA_DETECTOR_MODEL``); ``force`` (reprocess images that already have
results of this model@version); ``classify`` (false to skip the species step);
``videos`` (false to leave videos out); ``video_every_s`` or
``video_frames_per_s`` (how videos are sampled; default: the program's settings
of the same names, else ``SAOLA_VIDEO_EVERY_S``).

Videos run after the photos, one at a time (:func:`classifiers.video.detect_video`:
ffmpeg decodes, every sampled frame goes through the detector as a photo does).
Each box is stored with its frame (``frame_index``, ``start_s``); the video's
roll-up (highest confidence per category, the best frame) goes into
``Media.meta["video_detection"]`` and the best frame becomes the video's poster.
A video ffmpeg cannot decode, or a truncated one, is flagged ``corrupt`` with
ffmpeg's message (``Media.meta["decode_error"]``, and a per-item failure); the
frames of a truncated video that did decode keep their detections.

The worker loads the detector once per process, runs the overlapped pipeline
(loader threads decode and letterbox while the model runs) and never holds a
transaction during inference: results are written in short transactions of
``WRITE_BATCH`` images. A corrupt or missing image is a per-item failure
(MegaDetector's ``failure`` text) and the job goes on; a model that cannot be
used fails the job at once with the reason.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from sqlmodel import select

from .. import audit
from ..jobs import JobFailed, enqueue, handler
from ..models import Detection
from ..storage import stores_from_config
from . import service
from .privacy import PRIVACY_THRESHOLD
from .registry import ModelFileError, ModelNotFound, get_model, model_key

log = logging.getLogger("saola.detect")

#: Images per write transaction (and per progress report).
WRITE_BATCH = 32
#: Also write at least this often, so progress shows on slow models.
WRITE_EVERY_S = 2.0


def stores(config) -> tuple[Any, Any]:
    """The media store and the derivatives store for a job's config (no Flask app needed; local or S3)."""
    return stores_from_config(config)


def _model(ctx, name: str | None, kind: str):
    if not name:
        raise JobFailed(f"no {kind} model given and SAOLA_{'DETECTOR' if kind == 'detector' else 'CLASSIFIER'}"
                        "_MODEL is not set")
    with ctx.session() as s:
        try:
            return get_model(s, name, kind)
        except ModelNotFound as e:
            raise JobFailed(str(e)) from None


@handler("detect")
def detect(ctx) -> dict:
    """Run a detector over images and store its detections (see module docstring)."""
    from classifiers.pipeline import detect_paths

    from .runtime import get_detector

    params = ctx.params
    row = _model(ctx, params.get("model") or ctx.config.get("DETECTOR_MODEL"), "detector")
    key = model_key(row)
    with ctx.session() as s:
        try:
            items = service.select_media(s, params, key)
        except service.SelectionError as e:
            raise JobFailed(str(e)) from None
    ctx.progress(0, len(items))
    try:
        detector = get_detector(row, providers=params.get("providers"))
    except ModelFileError as e:
        raise JobFailed(str(e)) from None
    media_store, derivatives = stores(ctx.config)
    threshold = detector.conf_threshold
    categories = detector.detection_categories
    videos = [m for m in items if m.kind == "video"]
    total = len(items)
    items = [m for m in items if m.kind != "video"]
    by_id = {m.id: m for m in items}
    paths = [media_store.path(m.storage_key) for m in items]
    stats = {"model": key, "images": len(items), "processed": 0, "failed": 0, "detections": 0,
             "animals": 0, "people": 0, "vehicles": 0}
    if videos:
        stats.update(videos=len(videos), video_frames=0)
    with_animals: list[str] = []
    private: list[str] = []  # media showing people or vehicles: blurred derivatives to make
    pending: dict = {}
    sizes: dict = {}
    last_write = time.monotonic()
    done = 0

    def flush():
        nonlocal last_write
        if pending:
            with ctx.session() as s:
                written = service.replace_detections(s, key, pending, sizes)
                # One summarising audit entry per batch (bulk machine write), in the same transaction.
                audit.record(s, "create", "detection", ctx.job_id, area_id=_job_area(s, ctx.job_id),
                             after={"job_id": ctx.job_id, "model": key, "media_ids": written,
                                    "detections": sum(1 for m in written for r in pending[m]
                                                      if r["category"] != service.BLANK)})
            private.extend(m for m in written if any(r["category"] in service.PRIVATE_CATEGORIES
                                                     and r["confidence"] >= PRIVACY_THRESHOLD for r in pending[m]))
            pending.clear()
            sizes.clear()
        ctx.progress(done, total)  # renews the lease; raises JobCancelled when cancelled
        last_write = time.monotonic()

    results = detect_paths(detector, paths, names=[m.id for m in items],
                           batch_size=int(params.get("batch_size") or row.config.get("batch_size") or 0) or None)
    try:
        for res in results:
            done += 1
            if not res.ok:
                stats["failed"] += 1
                ctx.fail_item(res.file, f"{by_id[res.file].file_name}: {res.failure}")
            else:
                rows = service.detection_rows(res.file, key, res, categories, threshold)
                pending[res.file] = rows
                sizes[res.file] = (res.width, res.height)
                stats["processed"] += 1
                cats = [r["category"] for r in rows if r["category"] != service.BLANK]
                stats["detections"] += len(cats)
                for c, k in (("animal", "animals"), ("person", "people"), ("vehicle", "vehicles")):
                    stats[k] += c in cats
                if "animal" in cats:
                    with_animals.append(res.file)
            if len(pending) >= WRITE_BATCH or time.monotonic() - last_write > WRITE_EVERY_S:
                flush()
        flush()
    finally:
        results.close()  # stops the loader threads if we leave early (cancelled, lease lost)
    if videos:
        from . import video as video_detect

        sampling = video_detect.sampling_for(ctx, videos)
        batch = int(params.get("batch_size") or row.config.get("batch_size") or 0) or detector.batch_size
        for m in videos:
            outcome = video_detect.run_one(ctx, detector, key, m, media_store, derivatives, sampling[m.id], batch)
            done += 1
            stats["processed" if outcome.stored else "failed"] += 1
            if outcome.stored:
                # Species classifiers and blurred derivatives work on photos: a video's poster is
                # blurred when shown (server/auth/policy.py), its frames are not classified yet.
                stats["video_frames"] += outcome.frames
                stats["detections"] += outcome.detections
                for c, k in (("animal", "animals"), ("person", "people"), ("vehicle", "vehicles")):
                    stats[k] += c in outcome.categories
            ctx.progress(done, total)
    if private:
        # A job of its own, so rendering never slows detection down (the view route renders
        # on demand meanwhile).
        with ctx.session() as s:
            stats["privacy_job"] = enqueue(s, "privacy", {"media_ids": private},
                                           area_id=_job_area(s, ctx.job_id)).id
    classifier = params.get("classifier") or ctx.config.get("CLASSIFIER_MODEL")
    if with_animals and classifier and params.get("classify", True):
        with ctx.session() as s:
            job = enqueue(s, "classify", {"media_ids": with_animals, "detector": key, "model": classifier},
                          area_id=_job_area(s, ctx.job_id))
        stats["classify_job"] = job.id
    return stats


def _job_area(session, job_id: str):
    from ..models import Job

    job = session.get(Job, job_id)
    return job.area_id if job else None


@handler("video_poster")
def video_poster(ctx) -> dict:
    """A video's first frame as its poster (see :func:`server.detect.video.poster_job`)."""
    from .video import poster_job

    return poster_job(ctx)


@handler("privacy")
def privacy_job(ctx) -> dict:
    """Make the blurred thumbnails and review images of ``media_ids`` (those showing people)."""
    ids = ctx.params.get("media_ids")
    if not isinstance(ids, list):
        raise JobFailed("privacy needs media_ids (a list)")
    ctx.progress(0, len(ids))
    made = 0
    for i, part in enumerate(service.chunks(ids, 16)):
        made += refresh_public_derivatives(ctx.config, part)
        ctx.progress(min(len(ids), (i + 1) * 16), len(ids))
    return {"images": len(ids), "derivatives": made}


def refresh_public_derivatives(config, media_ids) -> int:
    """Make the blurred derivatives of media that show people or vehicles (so viewers never wait);
    returns how many images now have them."""
    from ..models import Media
    from .privacy import ensure_derivative

    if not media_ids:
        return 0
    from ..db import session_scope

    media_store, derivatives = stores(config)
    todo = []
    with session_scope(config["DATABASE_URL"], read_only=True) as s:
        for part in service.chunks(list(media_ids)):
            private = set(s.exec(select(Detection.media_id).where(
                Detection.media_id.in_(part), Detection.category.in_(service.PRIVATE_CATEGORIES))))
            for mid in private:
                boxes = service.private_boxes(s, mid)
                if boxes:
                    m = s.get(Media, mid)
                    todo.append((m.storage_key, m.sha256, boxes))
    made = 0
    for storage_key, sha, boxes in todo:
        try:
            for size in ("thumb", "review"):
                ensure_derivative(derivatives, media_store.path(storage_key), sha, size, boxes)
            made += 1
        except ValueError as e:  # unreadable original: the view route reports it when asked
            log.warning("no public derivative for %s: %s", sha, e)
    return made


from . import species  # noqa: E402,F401  (registers the "classify" job kind)
