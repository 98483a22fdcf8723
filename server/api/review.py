"""Review endpoints the review pages' JavaScript uses (and scripts may use).

Reading needs the viewer role in the sequence's protected area; every change
needs the biologist role. Each change is one undoable review action
(server/review/actions.py), audited with who and when.
"""
from __future__ import annotations

from typing import Literal, Optional

from flask import g, url_for
from pydantic import Field
from sqlmodel import select

from ..auth.permissions import RANK, check_row, current_user, load_in_area, require_area, visible_area_ids
from ..bounds import MAX_RECORDING_S, BoundedDatetime
from ..db import get_session
from ..errors import NotFound, ValidationError
from ..models import Alert, Deployment, Detection, Location, Media, Observation, Program, Sequence, Taxon
from ..review import actions, queue, triage
from ..review.false_positives import find_repeated
from ..timeutil import to_utc
from .core import endpoint
from .schemas import In

TAGS = ["review"]


class QueueQuery(In):
    area_id: Optional[str] = None
    program_id: Optional[str] = None
    deployment_id: Optional[str] = None
    date_from: Optional[BoundedDatetime] = None
    date_to: Optional[BoundedDatetime] = None
    taxon_id: Optional[str] = None
    min_confidence: Optional[float] = Field(default=None, ge=0, le=1)
    max_confidence: Optional[float] = Field(default=None, ge=0, le=1)
    review_status: Literal["unreviewed", "reviewed", "blank", "any"] = "unreviewed"
    contains_person: Optional[bool] = None
    order: Literal["time", "detections_first"] = Field(
        default="time", description="time: every sequence by deployment and time; detections_first: the "
                                    "sequences with machine boxes first, then the others (none is hidden)")
    after: Optional[str] = Field(default=None, description="id of the current sequence (keyset cursor)")
    direction: Literal["next", "previous"] = "next"


class TriageQuery(QueueQuery):
    threshold: float = Field(gt=0, le=1, description="sequences whose highest live box confidence is below this")


class TriageIn(In):
    threshold: float = Field(gt=0, le=1)
    sequence_ids: list[str] = Field(min_length=1, max_length=triage.MAX_SEQUENCES,
                                    description="the previewed sequences (GET /review/triage/preview)")


class LabelIn(In):
    observation_type: Literal["animal", "human", "vehicle", "unknown", "unclassified"] = "animal"
    taxon_id: Optional[str] = None
    count: Optional[int] = Field(default=None, ge=1, le=10000)
    life_stage: Optional[Literal["adult", "subadult", "juvenile"]] = None
    sex: Optional[Literal["female", "male"]] = None
    behavior: Optional[str] = Field(default=None, max_length=200)
    comments: Optional[str] = Field(default=None, max_length=2000)
    media_id: Optional[str] = Field(default=None, description="label one image (media level) instead of the sequence")
    detection_id: Optional[str] = None
    mode: Literal["replace", "add"] = "replace"


class ApplyIn(In):
    media_id: str


class BoxIn(In):
    bbox: list[float] = Field(min_length=4, max_length=4, description="normalised [x, y, width, height], top-left")


class NewBoxIn(BoxIn):
    category: Literal["animal", "person", "vehicle"] = "animal"
    taxon_id: Optional[str] = None


class VerdictIn(In):
    review_status: Literal["verified", "rejected", "unreviewed"]


class DismissIn(In):
    detection_ids: list[str] = Field(min_length=1, max_length=100000)


class RepeatedQuery(In):
    min_images: int = Field(default=5, ge=2, le=100000)
    iou: float = Field(default=0.8, gt=0, lt=1)


class SoundLabelIn(In):
    taxon_id: str
    start_s: float = Field(ge=0, le=MAX_RECORDING_S, description="seconds from the start of the recording")
    end_s: float = Field(gt=0, le=MAX_RECORDING_S)
    count: Optional[int] = Field(default=None, ge=1, le=10000)
    comments: Optional[str] = Field(default=None, max_length=2000)


# ---- helpers ------------------------------------------------------------------------------
# Objects are loaded through server/auth/permissions.py (roles are cached there per request,
# so the next-item call checking the same area several times costs one query).
def _sequence(sequence_id: str, minimum: str = "viewer") -> tuple[Sequence, str]:
    acc = load_in_area(get_session(), Sequence, sequence_id, minimum)
    return acc.row, acc.area_id


def _reviewable(acc, ident: str, what: str):
    """Review works on media of a deployment: a loose media (administrators only) has nothing to review."""
    if acc.area_id is None:
        raise NotFound(f"no {what} with id {ident!r}")
    return acc


def _media(media_id: str, minimum: str = "viewer") -> tuple[Media, str]:
    acc = _reviewable(load_in_area(get_session(), Media, media_id, minimum), media_id, "media")
    return acc.row, acc.area_id


def _detection(detection_id: str, minimum: str):
    s = get_session()
    acc = _reviewable(load_in_area(s, Detection, detection_id, minimum), detection_id, "detection")
    return acc.row, s.get(Media, acc.row.media_id), acc.area_id


def _taxon_ok(taxon_id: Optional[str]) -> None:
    if taxon_id and get_session().get(Taxon, taxon_id) is None:
        raise ValidationError(f"no taxon with id {taxon_id!r}", details=[{"field": "taxon_id", "message": "unknown"}])


def image_url(m: Media) -> str | None:
    """The review-size JPEG of a photo, or of a video's poster (its best frame, made when the detector
    ran on it: server/detect/video.py); None for a video without one (the player loads
    :func:`original_url`)."""
    if m.kind == "video" and isinstance(m.meta, dict) and m.meta.get("video_detection"):
        return url_for("review_pages.media_image", media_id=m.id, size="review")
    return url_for("review_pages.media_image", media_id=m.id, size="review") if m.kind == "image" else None


def original_url(m: Media) -> str | None:
    """The full-resolution photo or the video, through the policy (server/web/review_pages.py)."""
    return url_for("review_pages.media_original", media_id=m.id) if m.kind in ("image", "video") else None


def _keep(row) -> None:
    """Hold a row for the rest of the request: the session's identity map only keeps rows something
    refers to, and the next item reads the filter's deployment and program again (no second query)."""
    g.setdefault("review_rows", []).append(row)


def queue_filter(query: QueueQuery) -> queue.QueueFilter:
    s = get_session()
    scoped = False  # True once an area-bound filter was checked: no need to list visible areas then
    if query.deployment_id:
        # Deployment, station and program in one query, held, so the access check below and the item
        # read them from the session's identity map.
        for row in s.exec(select(Deployment, Location, Program).join(Location, Location.id == Deployment.location_id)
                          .join(Program, Program.id == Deployment.program_id)
                          .where(Deployment.id == query.deployment_id)).all():
            for part in row:
                _keep(part)
        load_in_area(s, Deployment, query.deployment_id)
        scoped = True
    if query.program_id:
        _keep(load_in_area(s, Program, query.program_id).row)
        scoped = True
    if query.area_id:
        require_area(s, query.area_id)
        scoped = True
    return queue.QueueFilter(
        area_ids=None if scoped else visible_area_ids(s, current_user()), area_id=query.area_id,
        program_id=query.program_id, deployment_id=query.deployment_id,
        date_from=to_utc(query.date_from) if query.date_from else None,
        date_to=to_utc(query.date_to) if query.date_to else None, taxon_id=query.taxon_id,
        min_confidence=query.min_confidence, max_confidence=query.max_confidence,
        review_status=query.review_status, contains_person=query.contains_person, order=query.order)


def _item(seq: Sequence | None, area_id: str | None = None) -> dict:
    if seq is None:
        return {"item": None}
    s = get_session()
    role = check_row(s, seq).role  # the sequence was found under the user's filter; its role there
    dep = s.get(Deployment, seq.deployment_id)
    item = queue.sequence_item(s, seq, image_url, deployment=dep, program=s.get(Program, dep.program_id),
                               original_url=original_url)
    item["can_edit"] = RANK[role] >= RANK["biologist"]
    return {"item": item}


# ---- the queue -------------------------------------------------------------------------------
@endpoint("/review/next", summary="Next (or previous) sequence of the review queue", tags=TAGS, query=QueueQuery)
def review_next(query: QueueQuery):
    seq = queue.next_sequence(get_session(), queue_filter(query), query.after,
                              backwards=query.direction == "previous")
    if seq is not None:
        return _item(seq)
    return {"item": None}


@endpoint("/review/progress", summary="Counts of the queue by review status", tags=TAGS, query=QueueQuery)
def review_progress(query: QueueQuery):
    return queue.progress(get_session(), queue_filter(query))


@endpoint("/review/sequences/<sequence_id>", summary="One sequence with its images, boxes and labels", tags=TAGS)
def review_sequence(sequence_id: str):
    seq, area_id = _sequence(sequence_id)
    return _item(seq, area_id)


@endpoint("/review/programs/<program_id>/shortcuts", summary="The program's common species (number keys)",
          tags=TAGS)
def review_shortcuts(program_id: str):
    s = get_session()
    return {"species": queue.common_species(s, load_in_area(s, Program, program_id).row)}


# ---- confidence triage --------------------------------------------------------------------------
def thumb_url(m: Media) -> str:
    return url_for("review_pages.media_image", media_id=m.id, size="thumb")


@endpoint("/review/triage/preview", summary="What blanking the sequences below a confidence threshold would touch",
          tags=TAGS, query=TriageQuery)
def review_triage_preview(query: TriageQuery):
    s = get_session()
    if not (query.area_id or query.program_id or query.deployment_id):
        raise ValidationError("choose a protected area, program or deployment for a triage",
                              details=[{"field": "program_id", "message": "required"}])
    flt = queue_filter(query)
    for model, ident in ((Deployment, query.deployment_id), (Program, query.program_id)):
        if ident:
            load_in_area(s, model, ident, "biologist")
    if query.area_id:
        require_area(s, query.area_id, "biologist")
    return triage.preview(s, flt, query.threshold, thumb_url)


@endpoint("/review/triage", ["POST"], summary="Mark blank the previewed sequences below a confidence threshold "
                                              "(one undoable action)", tags=TAGS, body=TriageIn)
def review_triage_apply(body: TriageIn):
    return triage.apply(get_session(), current_user(), body.sequence_ids, body.threshold)


# ---- labels --------------------------------------------------------------------------------------
@endpoint("/review/sequences/<sequence_id>/label", ["POST"], summary="Label a sequence or one of its images",
          tags=TAGS, body=LabelIn)
def review_label(sequence_id: str, body: LabelIn):
    seq, area_id = _sequence(sequence_id, "biologist")
    _taxon_ok(body.taxon_id)
    label = body.model_dump(exclude={"media_id", "mode"})
    action_id, obs = actions.save_label(get_session(), g.user, seq, area_id, label, media_id=body.media_id,
                                        mode=body.mode)
    return {"action_id": action_id, "observation_ids": [o.id for o in obs], "review_status": seq.review_status}


@endpoint("/review/sequences/<sequence_id>/blank", ["POST"], summary="Mark a sequence blank", tags=TAGS)
def review_blank(sequence_id: str):
    seq, area_id = _sequence(sequence_id, "biologist")
    return {"action_id": actions.mark_blank(get_session(), g.user, seq, area_id), "review_status": "blank"}


@endpoint("/review/sequences/<sequence_id>/apply", ["POST"],
          summary="Make an image's labels the labels of the whole sequence", tags=TAGS, body=ApplyIn)
def review_apply(sequence_id: str, body: ApplyIn):
    seq, area_id = _sequence(sequence_id, "biologist")
    action_id = actions.apply_to_sequence(get_session(), g.user, seq, area_id, body.media_id)
    return {"action_id": action_id, "review_status": seq.review_status}


@endpoint("/review/undo", ["POST"], summary="Undo your last review action", tags=TAGS)
def review_undo():
    s = get_session()
    return actions.undo_last(s, current_user(), visible_area_ids(s, current_user(), "biologist"))


# ---- boxes ------------------------------------------------------------------------------------------
@endpoint("/review/detections/<detection_id>", ["PATCH"], summary="Move or resize a box", tags=TAGS, body=BoxIn)
def review_edit_box(detection_id: str, body: BoxIn):
    det, media, area_id = _detection(detection_id, "biologist")
    action_id = actions.edit_box(get_session(), g.user, det, area_id, body.bbox, media.sequence_id)
    return {"action_id": action_id, "detection": queue.detection_dict(det, {})}


@endpoint("/review/detections/<detection_id>", ["DELETE"],
          summary="Delete a box (a machine box is dismissed, a drawn one removed)", tags=TAGS)
def review_delete_box(detection_id: str):
    det, media, area_id = _detection(detection_id, "biologist")
    return {"action_id": actions.delete_box(get_session(), g.user, det, area_id, media.sequence_id)}


@endpoint("/review/media/<media_id>/detections", ["POST"], summary="Draw a new box on an image", tags=TAGS,
          body=NewBoxIn, status=201)
def review_draw_box(media_id: str, body: NewBoxIn):
    media, area_id = _media(media_id, "biologist")
    _taxon_ok(body.taxon_id)
    action_id, det = actions.draw_box(get_session(), g.user, media, area_id, body.bbox, body.category,
                                      body.taxon_id)
    return {"action_id": action_id, "detection": queue.detection_dict(det, {})}


@endpoint("/review/detections/<detection_id>/verdict", ["POST"],
          summary="Verify or reject a machine label (sound review)", tags=TAGS, body=VerdictIn)
def review_verdict(detection_id: str, body: VerdictIn):
    det, _media_row, area_id = _detection(detection_id, "biologist")
    action_id = actions.set_verdict(get_session(), g.user, det, area_id, body.review_status)
    return {"action_id": action_id, "review_status": det.review_status}


@endpoint("/review/media/<media_id>/labels", ["POST"], summary="Add a label to part of a recording", tags=TAGS,
          body=SoundLabelIn, status=201)
def review_sound_label(media_id: str, body: SoundLabelIn):
    from datetime import timedelta

    media, area_id = _media(media_id, "biologist")
    _taxon_ok(body.taxon_id)
    if body.end_s <= body.start_s:
        raise ValidationError("end_s must be after start_s", details=[{"field": "end_s", "message": "before start"}])
    if media.duration_s is not None and body.start_s > media.duration_s:
        raise ValidationError(f"start_s is past the end of the recording ({media.duration_s:.1f} s)",
                              details=[{"field": "start_s", "message": "past the end"}])
    if media.captured_at is None:
        raise ValidationError("this recording has no time, so a label cannot be placed in time")
    s = get_session()
    act = actions.ReviewAction(s, g.user, "sound_label", area_id, sequence_id=media.sequence_id)
    from ..models import utcnow

    obs = act.add(Observation(
        deployment_id=media.deployment_id, media_id=media.id, sequence_id=media.sequence_id,
        event_start=media.captured_at + timedelta(seconds=body.start_s),
        event_end=media.captured_at + timedelta(seconds=body.end_s), observation_level="media",
        observation_type="animal", taxon_id=body.taxon_id, count=body.count,
        observation_comments=body.comments, classification_method="human", classified_by=g.user.username,
        classification_timestamp=utcnow()))
    return {"action_id": act.commit(), "observation_id": obs.id}


# ---- repeated false positives ---------------------------------------------------------------------------
@endpoint("/review/deployments/<deployment_id>/repeated", summary="Repeated boxes (likely false positives)",
          tags=TAGS, query=RepeatedQuery)
def review_repeated(deployment_id: str, query: RepeatedQuery):
    s = get_session()
    load_in_area(s, Deployment, deployment_id)
    return {"groups": find_repeated(s, deployment_id, min_images=query.min_images, iou_threshold=query.iou)}


@endpoint("/review/deployments/<deployment_id>/dismiss", ["POST"],
          summary="Dismiss detections of a deployment in bulk", tags=TAGS, body=DismissIn)
def review_dismiss(deployment_id: str, body: DismissIn):
    s = get_session()
    area_id = load_in_area(s, Deployment, deployment_id, "biologist").area_id
    action_id, n = actions.dismiss_detections(s, g.user, deployment_id, area_id, body.detection_ids)
    return {"action_id": action_id, "dismissed": n}


# ---- alerts and conflicts ------------------------------------------------------------------------------------
@endpoint("/review/alerts/<alert_id>/acknowledge", ["POST"], summary="Acknowledge an alert", tags=TAGS)
def review_ack_alert(alert_id: str):
    s = get_session()
    alert = load_in_area(s, Alert, alert_id, "biologist").row
    return {"action_id": actions.acknowledge_alert(s, g.user, alert), "acknowledged_by": alert.acknowledged_by}
