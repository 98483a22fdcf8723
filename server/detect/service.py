"""Which media a detection run covers, and how its results are stored.

Results are written per batch in one short transaction: the model's earlier
unreviewed detections of those media are deleted and the new ones inserted,
so running the same model@version twice leaves the same rows (idempotent).
A media a person already reviewed for that model is left as it is: a rerun
never overwrites a biologist's work. An image where nothing reached the
storage threshold gets one ``blank`` row (no box, confidence 0, the threshold
in ``extra``): it records that the image was processed, which is how
"everything not yet processed" is found.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from sqlalchemy import bindparam, delete, exists, insert, update
from sqlmodel import Session, select

from ..models import Deployment, Detection, Media, Program, new_id, utcnow
from .privacy import PRIVACY_THRESHOLD

BLANK = "blank"
#: Categories of boxes that show people or their vehicles (blurred for viewers).
PRIVATE_CATEGORIES = ("person", "vehicle")
_CHUNK = 500  # ids per IN (...) clause


class SelectionError(ValueError):
    """Detection parameters that name nothing sensible."""


@dataclass(frozen=True)
class MediaItem:
    """What a detection worker needs of one image."""

    id: str
    storage_key: str
    file_name: str
    kind: str = "image"
    sha256: str = ""


def chunks(seq: Sequence, n: int = _CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def select_media(session: Session, params: dict[str, Any], model_key: str) -> list[MediaItem]:
    """The images and videos a detect job covers (see :func:`server.detect.jobs.detect`).

    ``media_ids`` are processed whatever their state; a deployment, a program
    or ``all`` cover only media without results of ``model_key`` unless
    ``force`` is true. ``"videos": false`` leaves videos out.
    """
    # Media imported as links (Camtrap DP packages with remote URLs) have no stored bytes to run on.
    kinds = ("image", "video") if params.get("videos", True) else ("image",)
    base = select(Media.id, Media.storage_key, Media.file_name, Media.kind, Media.sha256).where(  # type: ignore[call-overload]
        Media.kind.in_(kinds), Media.storage_key != "")
    unprocessed = ~exists().where(Detection.media_id == Media.id, Detection.model == model_key)
    force = bool(params.get("force"))
    if params.get("media_ids") is not None:
        ids = params["media_ids"]
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise SelectionError("media_ids must be a list of media ids")
        rows = []
        for part in chunks(ids):
            rows += session.exec(base.where(Media.id.in_(part))).all()
        order = {m: i for i, m in enumerate(ids)}
        rows.sort(key=lambda r: order[r[0]])
        return [MediaItem(*r) for r in rows]
    if params.get("deployment_id"):
        stmt = base.where(Media.deployment_id == params["deployment_id"])
    elif params.get("program_id"):
        stmt = base.join(Deployment, Deployment.id == Media.deployment_id).where(
            Deployment.program_id == params["program_id"])
    elif params.get("all"):
        stmt = base
    else:
        raise SelectionError("say which images: media_ids, deployment_id, program_id or all")
    if not force:
        stmt = stmt.where(unprocessed)
    stmt = stmt.order_by(Media.deployment_id, Media.captured_at, Media.file_name, Media.id)
    return [MediaItem(*r) for r in session.exec(stmt)]


def area_of_params(session: Session, params: dict[str, Any]) -> str | None:
    """The protected area a detect job belongs to (None for installation-wide runs)."""
    if params.get("deployment_id"):
        dep = session.get(Deployment, params["deployment_id"])
        if dep is None:
            raise SelectionError(f"no deployment with id {params['deployment_id']!r}")
        return session.get(Program, dep.program_id).area_id
    if params.get("program_id"):
        prog = session.get(Program, params["program_id"])
        if prog is None:
            raise SelectionError(f"no program with id {params['program_id']!r}")
        return prog.area_id
    return None


def detection_rows(media_id: str, model_key: str, result, categories: dict[str, str],
                   threshold: float) -> list[dict[str, Any]]:
    """Detection rows (column dicts) for one successful :class:`classifiers.megadetector.ImageResult`.

    Plain dicts written with one multi-row INSERT: building SQLModel objects
    costs about a millisecond each, more than the database write itself.
    """
    now = utcnow()
    base = {"media_id": media_id, "model": model_key, "taxon_id": None, "dismissed": False,
            "review_status": "unreviewed", "created_at": now, "start_s": None, "end_s": None,
            "frame_index": None, "freq_low_hz": None, "freq_high_hz": None}
    rows = []
    for d in result.detections:
        x, y, w, h = d.bbox
        label = conf = None
        if d.classifications:
            label, conf = d.classifications[0]
            conf = float(conf)
        rows.append({**base, "id": new_id(), "category": categories.get(d.category, d.category),
                     "confidence": float(d.conf), "bbox_x": float(x), "bbox_y": float(y), "bbox_width": float(w),
                     "bbox_height": float(h), "label": label, "label_confidence": conf, "extra": {}})
    if not rows:
        rows.append({**base, "id": new_id(), "category": BLANK, "confidence": 0.0, "bbox_x": None, "bbox_y": None,
                     "bbox_width": None, "bbox_height": None, "label": None, "label_confidence": None,
                     "extra": {"threshold": threshold}})
    return rows


def video_detection_rows(media_id: str, model_key: str, video, categories: dict[str, str],
                         threshold: float) -> list[dict[str, Any]]:
    """Detection rows of a successful :class:`classifiers.video.VideoResult`: each box of each sampled
    frame with its ``frame_index`` and ``start_s`` (the frame's time from the start), ``end_s`` the next
    sampled frame's time (until when the box holds). A video where no frame had a box gets one blank
    row (no frame), like a photo."""
    rows: list[dict[str, Any]] = []
    span = video.every_s
    for f in video.frames:
        if not f.result.ok:
            continue
        for r in detection_rows(media_id, model_key, f.result, categories, threshold):
            if r["category"] == BLANK:
                continue
            r.update(frame_index=f.index, start_s=f.time_s,
                     end_s=round(f.time_s + span, 6) if span else None)
            rows.append(r)
    if not rows:
        blank = detection_rows(media_id, model_key, _NoBoxes(), categories, threshold)
        blank[0]["extra"] = {"threshold": threshold, "frames": len(video.frames)}
        rows = blank
    return rows


class _NoBoxes:
    detections: tuple = ()


def video_rollup(model_key: str, video, categories: dict[str, str]) -> dict[str, Any]:
    """What a video's detections come to (``Media.meta["video_detection"]``): the sampling, the highest
    confidence of each category over all frames and the frame of the best detection (what review shows
    first, and the poster frame)."""
    best = video.best()
    out: dict[str, Any] = {
        "model": model_key, "frame_rate": video.frame_rate, "every_s": video.every_s, "step": video.step,
        "frames_sampled": len(video.frames),
        "max_confidence": {categories.get(c, c): round(v, 4) for c, v in
                           sorted(video.max_conf_by_category().items())},
        "best_frame_index": best.index if best else None, "best_time_s": best.time_s if best else None,
    }
    if best:
        top = max(best.result.detections or (), key=lambda d: d.conf)
        out.update(best_category=categories.get(top.category, top.category), best_confidence=round(float(top.conf), 4))
    if video.problem:
        out["problem"] = video.problem
    return out


def replace_detections(session: Session, model_key: str, per_media: dict[str, list[dict[str, Any]]],
                       sizes: dict[str, tuple[int | None, int | None]] | None = None) -> list[str]:
    """Store each media's new detections of ``model_key`` in place of the old ones.

    Media a person reviewed for this model are skipped. Returns the media ids
    written. Updates ``Media.contains_person`` of every media written.
    """
    ids = list(per_media)
    if not ids:
        return []
    reviewed = set()
    for part in chunks(ids):
        reviewed |= set(session.exec(select(Detection.media_id).where(
            Detection.media_id.in_(part), Detection.model == model_key,
            Detection.review_status != "unreviewed")))
    todo = [m for m in ids if m not in reviewed]
    for part in chunks(todo):
        session.exec(delete(Detection).where(Detection.media_id.in_(part), Detection.model == model_key))
    rows = [r for m in todo for r in per_media[m]]
    if rows:
        session.connection().execute(insert(Detection.__table__), rows)
    update_contains_person(session, todo, sizes)
    return todo


def update_contains_person(session: Session, media_ids: Sequence[str],
                           sizes: dict[str, tuple[int | None, int | None]] | None = None) -> None:
    """Set ``Media.contains_person`` from the media's detections of every model (and a missing size)."""
    for part in chunks(list(media_ids)):
        with_person = set(session.exec(select(Detection.media_id).where(
            Detection.media_id.in_(part), Detection.category == "person",
            Detection.confidence >= PRIVACY_THRESHOLD, Detection.dismissed == False,  # noqa: E712
            Detection.review_status != "rejected")))
        if with_person:
            session.exec(update(Media).where(Media.id.in_(with_person), Media.contains_person == False)  # noqa: E712
                         .values(contains_person=True))
        without = [m for m in part if m not in with_person]
        if without:
            session.exec(update(Media).where(Media.id.in_(without), Media.contains_person == True)  # noqa: E712
                         .values(contains_person=False))
    sized = [{"mid": m, "w": w, "h": h} for m, (w, h) in (sizes or {}).items() if w and h]
    if sized:
        t = Media.__table__
        session.connection().execute(update(t).where(t.c.id == bindparam("mid"), t.c.width.is_(None))
                                     .values(width=bindparam("w"), height=bindparam("h")), sized)


def private_boxes(session: Session, media_id: str) -> list[tuple[float, float, float, float]]:
    """Normalised boxes of people and vehicles in a media, by any model, to blur for viewers."""
    rows = session.exec(select(Detection.bbox_x, Detection.bbox_y, Detection.bbox_width, Detection.bbox_height)
                        .where(Detection.media_id == media_id, Detection.category.in_(PRIVATE_CATEGORIES),
                               Detection.confidence >= PRIVACY_THRESHOLD, Detection.review_status != "rejected",
                               Detection.bbox_x.is_not(None))
                        .order_by(Detection.bbox_x, Detection.bbox_y, Detection.bbox_width, Detection.bbox_height))
    return [tuple(float(v) for v in r) for r in rows]


def has_unboxed_person(session: Session, media_id: str) -> bool:
    """Whether a current person detection of the media has no box (so nothing could be blurred)."""
    return session.exec(select(Detection.id).where(
        Detection.media_id == media_id, Detection.category == "person", Detection.confidence >= PRIVACY_THRESHOLD,
        Detection.review_status != "rejected", Detection.dismissed.is_(False), Detection.bbox_x.is_(None))
        .limit(1)).first() is not None


def is_screened(session: Session, media_id: str) -> bool:
    """Whether any image detector has processed this media (so its people are known)."""
    return session.exec(select(Detection.id).where(Detection.media_id == media_id,
                                                   Detection.bbox_x.is_not(None) | (Detection.category == BLANK))
                        .limit(1)).first() is not None
