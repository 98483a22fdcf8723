"""The camera-trap review queue: every sequence of the camera deployments in the filter.

Sequences are reviewable whether a detector ran on them or not (a program
without detector weights is labelled by hand: species, blank, human...). The
default order ("time") is (deployment, event start, sequence id), so a
biologist works through one deployment from its first event to its last, and
"next" is a keyset step from the current sequence (no OFFSET scans). The
"detections_first" order walks the sequences with a live machine box first
(in the same order), then the rest: none is hidden. Filters narrow the
sequences; the detection filters (confidence, species, person) apply to the
non-dismissed image detections of the sequence's media, so they keep only
sequences a detector found something in.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import exists, func, literal, or_, tuple_
from sqlmodel import Session, select

from ..errors import NotFound, ValidationError
from ..models import (Deployment, Detection, Location, Media, Observation, Program, Sequence, Taxon)
from ..timeutil import as_utc, format_local, format_raw

REVIEW_STATUSES = ("unreviewed", "reviewed", "blank", "any")
ORDERS = ("time", "detections_first")
# Detector rows that say "processed, nothing found" (server/detect/service.py BLANK); not boxes.
BLANK_CATEGORY = "blank"


@dataclass
class QueueFilter:
    """What part of the queue a reviewer works on; None means no restriction."""

    area_ids: Optional[list[str]] = None  # the areas the user may see (None: all, administrators)
    area_id: Optional[str] = None
    program_id: Optional[str] = None
    deployment_id: Optional[str] = None
    date_from: Optional[datetime] = None
    date_to: Optional[datetime] = None
    taxon_id: Optional[str] = None
    min_confidence: Optional[float] = None
    max_confidence: Optional[float] = None
    review_status: str = "unreviewed"
    contains_person: Optional[bool] = None
    order: str = "time"

    def __post_init__(self):
        if self.order not in ORDERS:
            raise ValidationError(f"order must be one of {', '.join(ORDERS)}, got {self.order!r}",
                                  details=[{"field": "order", "message": "unknown order"}])
        if self.review_status not in REVIEW_STATUSES:
            raise ValidationError(f"review_status must be one of {', '.join(REVIEW_STATUSES)}, "
                                  f"got {self.review_status!r}",
                                  details=[{"field": "review_status", "message": "unknown status"}])
        for name in ("min_confidence", "max_confidence"):
            v = getattr(self, name)
            if v is not None and not 0.0 <= v <= 1.0:
                raise ValidationError(f"{name} must be between 0 and 1, got {v}",
                                      details=[{"field": name, "message": "out of range"}])
        if (self.min_confidence is not None and self.max_confidence is not None
                and self.min_confidence > self.max_confidence):
            raise ValidationError("min_confidence is above max_confidence",
                                  details=[{"field": "min_confidence", "message": "above max"}])
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise ValidationError("date_to is before date_from",
                                  details=[{"field": "date_to", "message": "before date_from"}])

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "area_ids"}


def _image_detection(*conds):
    """EXISTS a live (not dismissed) image detection on a medium of the current sequence."""
    return exists().where(Media.sequence_id == Sequence.id, Media.kind != "audio",
                          Detection.media_id == Media.id, Detection.dismissed.is_(False),
                          *conds)


def has_boxes():
    """EXISTS a live machine or drawn box (not a detector's "nothing found" row) in the sequence."""
    return _image_detection(Detection.category != BLANK_CATEGORY)


def detector_ran():
    """EXISTS a detector result (a box, dismissed or not, or a "nothing found" row) on an image of the
    sequence: a sequence without one was never screened, so "no box" says nothing about it."""
    return exists().where(Media.sequence_id == Sequence.id, Media.kind != "audio",
                          Detection.media_id == Media.id, Detection.model != HUMAN_MODEL)


def deployments_stmt(flt: QueueFilter):
    """SELECT of the ids of the camera deployments the filter covers (areas, program, deployment)."""
    deps = select(Deployment.id).where(Deployment.kind == "camera")
    if flt.area_ids is not None or flt.area_id:
        deps = deps.join(Program, Program.id == Deployment.program_id)
        if flt.area_ids is not None:
            deps = deps.where(Program.area_id.in_(flt.area_ids))
        if flt.area_id:
            deps = deps.where(Program.area_id == flt.area_id)
    if flt.program_id:
        deps = deps.where(Deployment.program_id == flt.program_id)
    if flt.deployment_id:
        deps = deps.where(Deployment.id == flt.deployment_id)
    return deps


def queue_stmt(flt: QueueFilter):
    """SELECT of the queue's sequences (unordered) under ``flt``.

    Area and program filters are IN-subqueries rather than joins, so the
    database walks the sequence index in queue order and stops at the first
    match instead of sorting every candidate. Only camera deployments have a
    queue (recordings are reviewed on the sound pages).
    """
    stmt = select(Sequence).where(Sequence.deployment_id.in_(deployments_stmt(flt)))
    if flt.deployment_id:
        stmt = stmt.where(Sequence.deployment_id == flt.deployment_id)
    if flt.date_from:
        stmt = stmt.where(Sequence.event_start >= flt.date_from)
    if flt.date_to:
        stmt = stmt.where(Sequence.event_start <= flt.date_to)
    if flt.review_status != "any":
        stmt = stmt.where(Sequence.review_status == flt.review_status)
    conds = []
    if flt.min_confidence is not None:
        conds.append(Detection.confidence >= flt.min_confidence)
    if flt.max_confidence is not None:
        conds.append(Detection.confidence <= flt.max_confidence)
    if flt.taxon_id:
        # A species filter also finds sequences a person already labelled with it.
        stmt = stmt.where(or_(_image_detection(Detection.taxon_id == flt.taxon_id, *conds),
                              exists().where(Observation.sequence_id == Sequence.id,
                                             Observation.taxon_id == flt.taxon_id)))
    elif conds:
        stmt = stmt.where(_image_detection(Detection.category != BLANK_CATEGORY, *conds))
    if flt.contains_person is not None:
        person = or_(_image_detection(Detection.category == "person"),
                     exists().where(Media.sequence_id == Sequence.id, Media.contains_person.is_(True)))
        stmt = stmt.where(person if flt.contains_person else ~person)
    return stmt


ORDER = (Sequence.deployment_id, Sequence.event_start, Sequence.id)


_KEY = tuple_(*ORDER)


def _after(seq: Sequence):
    """Keyset condition: sequences strictly after ``seq`` in queue order (a row-value
    comparison, which both SQLite and PostgreSQL answer from the ix_sequence_queue index)."""
    return _KEY > tuple_(literal(seq.deployment_id), literal(seq.event_start, Sequence.event_start.type),
                         literal(seq.id))


def _before(seq: Sequence):
    return _KEY < tuple_(literal(seq.deployment_id), literal(seq.event_start, Sequence.event_start.type),
                         literal(seq.id))


def _phases(flt: QueueFilter) -> list:
    """The queue's parts in the order they are walked: one (everything) for "time"; sequences
    with boxes, then the others, for "detections_first"."""
    if flt.order == "detections_first":
        return [has_boxes(), ~has_boxes()]
    return [None]


def _in_phase(stmt, cond):
    return stmt if cond is None else stmt.where(cond)


def _phase_of(session: Session, flt: QueueFilter, seq: Sequence, phases: list) -> int:
    if len(phases) == 1:
        return 0
    boxed = session.exec(select(Sequence.id).where(Sequence.id == seq.id, phases[0])).first() is not None
    return 0 if boxed else 1


def next_sequence(session: Session, flt: QueueFilter, after_id: str | None = None,
                  backwards: bool = False) -> Sequence | None:
    """The first sequence of the queue after ``after_id`` (or before it, ``backwards``).

    With no ``after_id`` it is the start of the queue. When nothing follows the
    cursor, the queue wraps to its start, so sequences skipped earlier come back.
    With the "detections_first" order the queue is two parts walked one after
    the other, each in (deployment, start, id) order.
    """
    stmt = queue_stmt(flt)
    phases = _phases(flt)
    cursor = session.get(Sequence, after_id) if after_id else None
    if after_id and cursor is None:
        raise NotFound(f"no sequence with id {after_id!r}")
    forward = list(ORDER)
    if cursor is None:
        for cond in phases:
            found = session.exec(_in_phase(stmt, cond).order_by(*forward).limit(1)).first()
            if found is not None:
                return found
        return None
    here = _phase_of(session, flt, cursor, phases)
    if backwards:
        back = [c.desc() for c in ORDER]
        found = session.exec(_in_phase(stmt, phases[here]).where(_before(cursor)).order_by(*back).limit(1)).first()
        for cond in reversed(phases[:here]):
            if found is not None:
                break
            found = session.exec(_in_phase(stmt, cond).order_by(*back).limit(1)).first()
        return found
    found = session.exec(_in_phase(stmt, phases[here]).where(_after(cursor)).order_by(*forward).limit(1)).first()
    for cond in phases[here + 1:]:
        if found is not None:
            return found
        found = session.exec(_in_phase(stmt, cond).order_by(*forward).limit(1)).first()
    if found is not None:
        return found
    # Wrapped around: the start of the queue, without the cursor itself.
    for cond in phases:
        found = session.exec(_in_phase(stmt, cond).where(Sequence.id != cursor.id).order_by(*forward)
                             .limit(1)).first()
        if found is not None:
            return found
    return None


def progress(session: Session, flt: QueueFilter) -> dict[str, Any]:
    """Counts of the queue's sequences by review status (ignoring the status filter), and
    ``detector_ran``: whether any detector has processed an image of the filter's deployments (when
    not, the page says the photos are labelled by hand).

    Whether a detector ran is asked of the deployments' images, not counted per sequence: counting
    the sequences without a detector result took 5 s over a million images, the counts 0.2 s.
    """
    base = QueueFilter(**{**flt.as_dict(), "review_status": "any"}, area_ids=flt.area_ids)
    sub = queue_stmt(base).with_only_columns(Sequence.review_status).subquery()
    rows = session.exec(select(sub.c.review_status, func.count()).group_by(sub.c.review_status)).all()
    counts: dict[str, Any] = {"unreviewed": 0, "reviewed": 0, "blank": 0}
    for status, n in rows:
        counts[status] = counts.get(status, 0) + n
    counts["total"] = sum(counts.values())
    counts["done"] = counts["total"] - counts["unreviewed"]
    counts["detector_ran"] = bool(session.exec(select(exists().where(
        Media.deployment_id.in_(deployments_stmt(base)), Media.kind != "audio", Detection.media_id == Media.id,
        Detection.model != HUMAN_MODEL))).one())
    return counts


def _iso(dt: datetime | None) -> str | None:
    return as_utc(dt).isoformat() if dt is not None else None


def taxon_dict(t: Taxon | None) -> dict[str, Any] | None:
    if t is None:
        return None
    return {"id": t.id, "scientific_name": t.scientific_name, "vietnamese_name": t.vietnamese_name,
            "english_name": t.english_name, "iucn_category": t.iucn_category,
            "decree84_group": t.decree84_group}


def detection_dict(d: Detection, taxa: dict[str, Taxon]) -> dict[str, Any]:
    return {"id": d.id, "media_id": d.media_id, "model": d.model, "category": d.category,
            "confidence": d.confidence, "bbox": [d.bbox_x, d.bbox_y, d.bbox_width, d.bbox_height]
            if d.bbox_x is not None else None,
            "start_s": d.start_s, "end_s": d.end_s, "frame_index": d.frame_index, "freq_low_hz": d.freq_low_hz, "freq_high_hz": d.freq_high_hz,
            "label": d.label, "label_confidence": d.label_confidence,
            "taxon": taxon_dict(taxa.get(d.taxon_id)) if d.taxon_id else None,
            "dismissed": d.dismissed, "review_status": d.review_status,
            "human": d.model == HUMAN_MODEL}


def observation_dict(o: Observation, taxa: dict[str, Taxon]) -> dict[str, Any]:
    return {"id": o.id, "media_id": o.media_id, "sequence_id": o.sequence_id,
            "observation_level": o.observation_level, "observation_type": o.observation_type,
            "taxon": taxon_dict(taxa.get(o.taxon_id)) if o.taxon_id else None, "count": o.count,
            "life_stage": o.life_stage, "sex": o.sex, "behavior": o.behavior,
            "classification_method": o.classification_method, "classified_by": o.classified_by,
            "classification_timestamp": _iso(o.classification_timestamp),
            "event_start": _iso(o.event_start), "event_end": _iso(o.event_end)}


# Boxes people draw are stored as detections of this pseudo-model (see actions.draw_box).
HUMAN_MODEL = "human"


def load_taxa(session: Session, ids) -> dict[str, Taxon]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {t.id: t for t in session.exec(select(Taxon).where(Taxon.id.in_(ids)))}


def suggestion(detections: list[Detection], taxa: dict[str, Taxon]) -> dict[str, Any] | None:
    """The machine's best guess for the sequence: the most confident labelled detection."""
    best = None
    for d in detections:
        if d.dismissed or d.model == HUMAN_MODEL:
            continue
        score = d.label_confidence if d.label_confidence is not None else d.confidence
        if d.taxon_id or d.category in ("person", "vehicle"):
            if best is None or score > best[0]:
                best = (score, d)
    if best is None:
        return None
    d = best[1]
    count = max(1, sum(1 for x in detections if x.media_id == d.media_id and not x.dismissed
                       and x.category == d.category))
    return {"detection_id": d.id, "category": d.category, "label": d.label, "confidence": best[0],
            "taxon": taxon_dict(taxa.get(d.taxon_id)) if d.taxon_id else None,
            "observation_type": {"person": "human", "vehicle": "vehicle"}.get(d.category, "animal"),
            "count": count}


def sequence_item(session: Session, seq: Sequence, image_url=None, *, deployment: Deployment | None = None,
                  program: Program | None = None, original_url=None) -> dict[str, Any]:
    """Everything the review page shows for one sequence.

    ``image_url(media)`` returns the URL of a medium's review image,
    ``original_url(media)`` that of its full-resolution file (the video a player
    loads); the sequence's deployment and program may be passed when the caller has them.
    """
    dep = deployment or session.get(Deployment, seq.deployment_id)
    program = program or session.get(Program, dep.program_id)
    loc = session.get(Location, dep.location_id)
    # The images and their boxes in one query (the next item is on the reviewer's critical path).
    media, dets = [], []
    for m, d in session.exec(select(Media, Detection).outerjoin(Detection, Detection.media_id == Media.id)
                             .where(Media.sequence_id == seq.id)
                             .order_by(Media.captured_at, Media.file_name, Media.id, Detection.confidence.desc(),
                                       Detection.id)):
        if not media or media[-1] is not m:
            media.append(m)
        if d is not None:
            dets.append(d)
    dets.sort(key=lambda d: -d.confidence)
    mids = [m.id for m in media]
    obs = list(session.exec(select(Observation).where(
        or_(Observation.sequence_id == seq.id, Observation.media_id.in_(mids) if mids else False))
        .order_by(Observation.created_at)))
    taxa = load_taxa(session, [d.taxon_id for d in dets] + [o.taxon_id for o in obs])
    by_media: dict[str, list] = {m: [] for m in mids}
    for d in dets:
        by_media[d.media_id].append(detection_dict(d, taxa))
    tz = dep.timezone
    return {
        "sequence": {"id": seq.id, "event_start": _iso(seq.event_start), "event_end": _iso(seq.event_end),
                     "event_start_local": format_local(seq.event_start, tz),
                     "event_end_local": format_local(seq.event_end, tz),
                     "media_count": seq.media_count, "review_status": seq.review_status,
                     "reviewed_by": seq.reviewed_by, "reviewed_at": _iso(seq.reviewed_at)},
        "deployment": {"id": dep.id, "camera_id": dep.camera_id, "location": loc.name if loc else None,
                       "program_id": program.id, "program": program.name, "area_id": program.area_id,
                       "timezone": tz},
        # False when no detector has processed any image of the sequence: no box says nothing then.
        "detector_ran": any(d.model != HUMAN_MODEL for d in dets),
        "media": [{"id": m.id, "file_name": m.file_name, "captured_at": _iso(m.captured_at),
                   "captured_at_local": format_local(m.captured_at, tz),
                   "captured_at_raw": format_raw(m.captured_at_raw) or None,
                   "width": m.width, "height": m.height, "kind": m.kind, "contains_person": m.contains_person,
                   "url": image_url(m) if image_url else None, "duration_s": m.duration_s,
                   "original_url": original_url(m) if original_url else None, "detections": by_media[m.id],
                   "camera": camera_info(m), "video": video_info(m)}
                  for m in media],
        "observations": [observation_dict(o, taxa) for o in obs if o.classification_method == "human"],
        "machine_observations": [observation_dict(o, taxa) for o in obs if o.classification_method != "human"],
        "suggestion": suggestion(dets, taxa),
    }


def video_info(m: Media) -> dict[str, Any] | None:
    """What review shows of a video's detector roll-up (server/detect/video.py): the best frame (where the
    player opens), the highest confidence per category, the sampling, and ffmpeg's message when the
    video is damaged. None for photos and for videos no detector has run on."""
    if m.kind != "video" or not isinstance(m.meta, dict):
        return None
    roll, error = m.meta.get("video_detection"), m.meta.get("decode_error")
    if not isinstance(roll, dict) and not error:
        return None
    roll = roll if isinstance(roll, dict) else {}
    keys = ("best_time_s", "best_frame_index", "best_category", "best_confidence", "max_confidence", "every_s",
            "frames_sampled", "model")
    return {**{k: roll.get(k) for k in keys}, "decode_error": error}


# What the review panel shows of the camera's own metadata (server/ingest/makernotes.py).
CAMERA_FIELDS = ("sequence_index", "sequence_count", "event_number", "trigger_mode", "temperature_c", "moon_phase",
                 "battery_v", "ambient_light", "user_label")


def camera_info(m: Media) -> dict[str, Any]:
    """The camera (make, model, serial) and what its maker notes said about this photo."""
    out: dict[str, Any] = {"make": m.camera_make, "model": m.camera_model, "serial": m.camera_serial}
    note = m.meta.get("camera") if isinstance(m.meta, dict) else None
    if isinstance(note, dict):
        out.update({k: note[k] for k in CAMERA_FIELDS if note.get(k) is not None})
    return out


def common_species(session: Session, program: Program, limit: int = 9) -> list[dict[str, Any]]:
    """The program's common species for the number keys 1-9.

    ``Program.settings["common_species"]`` (scientific names or taxon ids) when
    set; otherwise the species people have labelled most in the program.
    """
    wanted = program.settings.get("common_species") if isinstance(program.settings, dict) else None
    out: list[Taxon] = []
    if wanted:
        from ..services.taxa import find_taxon

        for w in wanted[:limit]:
            t = session.get(Taxon, w) or find_taxon(session, str(w))
            if t is not None and t not in out:
                out.append(t)
        return [taxon_dict(t) for t in out]
    rows = session.exec(
        select(Observation.taxon_id, func.count()).join(Deployment, Deployment.id == Observation.deployment_id)
        .where(Deployment.program_id == program.id, Observation.taxon_id.is_not(None),
               Observation.classification_method == "human")
        .group_by(Observation.taxon_id).order_by(func.count().desc()).limit(limit)).all()
    taxa = load_taxa(session, [r[0] for r in rows])
    return [taxon_dict(taxa[r[0]]) for r in rows if r[0] in taxa]
