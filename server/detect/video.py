"""Videos in a detect job: sampling, storing each frame's boxes, the roll-up, the poster.

The decoding and the detector's work are in :mod:`classifiers.video`; this module
decides how each video is sampled (the job's ``video_every_s`` /
``video_frames_per_s``, else its program's settings of the same names, else
``SAOLA_VIDEO_EVERY_S``) and writes what came out in one short transaction per
video (see :mod:`server.detect.jobs`).
"""
from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import select

from .. import audit
from ..models import Deployment, Media, Program
from . import service

log = logging.getLogger("saola.detect")

#: Keys of a program's settings (and of a detect job's params) that say how videos are sampled.
EVERY_S, PER_S = "video_every_s", "video_frames_per_s"
#: JPEG quality of poster frames (shown at review size and as thumbnails).
POSTER_QUALITY = 85


@dataclass
class Outcome:
    """What one video came to in the job's counts."""

    stored: bool  # decoded and detected (False: the video failed)
    frames: int = 0
    detections: int = 0
    categories: set[str] = field(default_factory=set)


def _sampling(source: dict, where: str) -> tuple[float | None, float | None] | str:
    """(every_s, per_s) from ``source`` (job params or a program's settings), or the error to report."""
    every, per = source.get(EVERY_S), source.get(PER_S)
    if every is not None and per is not None:
        return f"{where}: give {EVERY_S} or {PER_S}, not both"
    for name, value in ((EVERY_S, every), (PER_S, per)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 3600:
            return f"{where}: {name} must be a number of seconds / frames above 0 (at most 3600), got {value!r}"
    return (float(every) if every is not None else None, float(per) if per is not None else None)


def sampling_for(ctx, videos: list[service.MediaItem]) -> dict[str, tuple[float | None, float | None] | str]:
    """media id -> (every_s, per_s) for each video, or the message that its sampling is invalid."""
    job = _sampling(ctx.params, "detect job")
    if (isinstance(job, str) or job != (None, None)):
        return {m.id: job for m in videos}
    default = (float(ctx.config.get("VIDEO_EVERY_S") or 1.0), None)
    out: dict[str, Any] = {}
    with ctx.session() as s:
        for part in service.chunks([m.id for m in videos]):
            for mid, prog_name, settings in s.exec(
                    select(Media.id, Program.name, Program.settings)
                    .join(Deployment, Deployment.id == Media.deployment_id)
                    .join(Program, Program.id == Deployment.program_id).where(Media.id.in_(part))):
                got = _sampling(settings or {}, f"program {prog_name!r} settings")
                out[mid] = default if got == (None, None) else got
    return {m.id: out.get(m.id, default) for m in videos}


def _flag(s, media_id: str, message: str) -> None:
    m = s.get(Media, media_id)
    if m is None:
        return
    m.flags = list(dict.fromkeys(list(m.flags or []) + ["corrupt"]))
    m.meta = {**(m.meta or {}), "decode_error": message}
    s.add(m)


def run_one(ctx, detector, key: str, item: service.MediaItem, media_store, derivatives,
            sampling, batch_size: int) -> Outcome:
    """Detect in one video and store the result (see module docstring); never raises for a bad video."""
    from classifiers.video import detect_video

    from .jobs import _job_area

    if isinstance(sampling, str):
        ctx.fail_item(item.id, f"{item.file_name}: {sampling}")
        return Outcome(False)
    every_s, per_s = sampling
    try:
        path = str(media_store.path(item.storage_key))
    except (OSError, KeyError) as e:  # S3 object gone or unreachable
        ctx.fail_item(item.id, f"{item.file_name}: cannot read the stored video: {e}")
        return Outcome(False)
    res = detect_video(detector, path, name=item.file_name, every_s=every_s, per_s=per_s, batch_size=batch_size)
    if not res.ok:
        message = res.failure or "cannot decode video"
        ctx.fail_item(item.id, f"{item.file_name}: {message}")
        with ctx.session() as s:
            _flag(s, item.id, message)
        return Outcome(False)
    categories = detector.detection_categories
    rows = service.video_detection_rows(item.id, key, res, categories, detector.conf_threshold)
    rollup = service.video_rollup(key, res, categories)
    with ctx.session() as s:
        written = service.replace_detections(s, key, {item.id: rows}, {item.id: (res.width, res.height)})
        if written:
            m = s.get(Media, item.id)
            m.meta = {**(m.meta or {}), "video_detection": rollup}
            s.add(m)
        if res.problem:
            _flag(s, item.id, f"truncated or damaged: {res.problem}")
        audit.record(s, "create", "detection", ctx.job_id, area_id=_job_area(s, ctx.job_id),
                     after={"job_id": ctx.job_id, "model": key, "media_ids": written, "frames": len(res.frames),
                            "detections": sum(1 for r in rows if r["category"] != service.BLANK)})
    if res.problem:
        ctx.fail_item(item.id, f"{item.file_name}: truncated or damaged video, "
                               f"{len(res.frames)} sampled frames read: {res.problem}")
    if written and res.best_image is not None:
        _write_poster(derivatives, item, res.best_image)
    boxes = [r for r in rows if r["category"] != service.BLANK]
    # A video people already reviewed for this model keeps its rows (written is empty): processed all the same.
    return Outcome(True, len(res.frames), len(boxes), {r["category"] for r in boxes})


def poster_job(ctx) -> dict:
    """Job ``video_poster`` (params ``media_ids``): the first frame of each video as its poster, for videos
    ingested while no detector is configured (a detect job puts the best frame there instead). A video
    ffmpeg cannot decode is flagged ``corrupt`` with its message; an existing poster is kept."""
    from classifiers.video import VideoDecodeError, first_frame

    from ..ingest.derivatives import poster_key
    from .jobs import stores

    ids = ctx.params.get("media_ids")
    if not isinstance(ids, list):
        from ..jobs import JobFailed

        raise JobFailed("video_poster needs media_ids (a list)")
    with ctx.session() as s:
        items = service.select_media(s, {"media_ids": ids}, "")
    media_store, derivatives = stores(ctx.config)
    made = 0
    for n, item in enumerate([m for m in items if m.kind == "video"], start=1):
        if not derivatives.exists(poster_key(item.sha256)):
            try:
                image = first_frame(str(media_store.path(item.storage_key)), item.file_name)
            except VideoDecodeError as e:
                ctx.fail_item(item.id, f"{item.file_name}: cannot decode video: {e.reason}")
                with ctx.session() as s:
                    _flag(s, item.id, e.reason)
                continue
            _write_poster(derivatives, item, image)
            made += 1
        ctx.progress(n, len(items))
    return {"videos": len(items), "posters": made}


def queue_after_ingest(session, media_ids, area_id, config=None, *, commit: bool = True):
    """After ingest of videos: their detection when a detector is configured (its best frame becomes the
    poster), else a ``video_poster`` job for their first frames."""
    from . import queue_after_ingest as queue_detection

    job = queue_detection(session, media_ids, area_id, config, commit=commit)
    ids = [m for m in media_ids if m]
    if job is not None or not ids:
        return job
    from ..jobs import enqueue

    return enqueue(session, "video_poster", {"media_ids": ids}, area_id=area_id, commit=commit)


def _write_poster(derivatives, item: service.MediaItem, image) -> None:
    """The best frame (the first when nothing was found) as the video's poster (grid, gallery, review)."""
    from ..ingest.derivatives import poster_key

    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=POSTER_QUALITY)
    try:
        derivatives.put_bytes(poster_key(item.sha256), buf.getvalue())
    except OSError as e:  # the detections are stored; the grid shows a placeholder meanwhile
        log.warning("no poster for %s: %s", item.file_name, e)
