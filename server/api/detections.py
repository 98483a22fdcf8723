"""Machine detections, detection jobs, registered models, and role-aware images.

Images are served at ``/media/<id>/view`` as server/auth/policy.py allows:
viewers and rangers get people and vehicles blurred, biologists and above the
clear image or the untouched original.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Optional

from flask import current_app, send_file
from pydantic import Field
from sqlmodel import select

from ..auth import policy
from ..auth.permissions import current_user, load_in_area
from ..db import get_session
from ..detect import service
from ..detect.registry import ModelNotFound, get_model
from ..errors import NotFound, ValidationError
from ..jobs import enqueue
from ..models import Deployment, Detection, Media, MLModel
from ..review import state
from ..storage import get_store
from .core import endpoint, paginate
from .schemas import In, JobOut, ListQuery, Out

TAGS = ["detections"]


class DetectionOut(Out):
    id: str
    media_id: str
    model: str
    category: str
    confidence: float
    bbox_x: Optional[float]
    bbox_y: Optional[float]
    bbox_width: Optional[float]
    bbox_height: Optional[float]
    # On a video: the frame's time from its start (s), its frame number, until when the box holds.
    start_s: Optional[float] = None
    end_s: Optional[float] = None
    frame_index: Optional[int] = None
    label: Optional[str]
    label_confidence: Optional[float]
    taxon_id: Optional[str]
    dismissed: bool
    review_status: str = Field(description="unreviewed, verified or rejected, as the review of the detection's "
                                           "sequence (or image) decides (server/review/state.py)")
    accepted_label: Optional[str] = Field(default=None, description="when verified: the label people accepted "
                                                                    "(scientific name, or human, vehicle, unknown)")
    accepted_taxon_id: Optional[str] = None
    reviewed_by: Optional[str] = None
    reviewed_at: Optional[datetime] = None
    created_at: datetime


class DetectionFilter(In):
    category: Optional[str] = Field(default=None, max_length=64,
                                    description="animal, person, vehicle, blank (processed, nothing found)...")
    min_confidence: Optional[float] = Field(default=None, ge=0, le=1)
    model: Optional[str] = Field(default=None, max_length=128, description="name@version, or a name")
    include_blank: bool = False


class DeploymentDetectionQuery(DetectionFilter, ListQuery):
    pass


class DetectIn(In):
    model: Optional[str] = Field(default=None, max_length=64,
                                 description="registered detector (default SAOLA_DETECTOR_MODEL)")
    force: bool = Field(default=False, description="also reprocess images that already have results of the model")
    classify: bool = Field(default=True, description="run the configured species classifier afterwards")


class ModelOut(Out):
    id: str
    name: str
    kind: str
    version: str
    sha256: str
    size_bytes: int
    created_at: datetime
    config: dict[str, Any]


class ViewQuery(In):
    size: Literal["thumb", "review", "original"] = "review"


def with_review(session, rows: list[Detection]) -> list[dict[str, Any]]:
    """Detections as answered by the API: with the review state their sequence's review gives them."""
    reviews = state.reviews(session, rows)
    names = state.taxon_names(session, [r.taxon_id for r in reviews.values()])
    out = []
    for d in rows:
        rv = reviews[d.id]
        out.append({**d.model_dump(), "review_status": rv.status, "accepted_label": rv.label(names) or None,
                    "accepted_taxon_id": rv.taxon_id if rv.status == "verified" else None,
                    "reviewed_by": rv.reviewed_by, "reviewed_at": rv.reviewed_at})
    return out


def _filtered(stmt, q: DetectionFilter):
    if q.category is not None:
        stmt = stmt.where(Detection.category == q.category)
    elif not q.include_blank:
        stmt = stmt.where(Detection.category != service.BLANK)
    if q.min_confidence is not None:
        stmt = stmt.where(Detection.confidence >= q.min_confidence)
    if q.model:
        stmt = stmt.where(Detection.model == q.model) if "@" in q.model else stmt.where(
            Detection.model.startswith(q.model + "@", autoescape=True))
    return stmt


@endpoint("/media/<media_id>/detections", summary="Machine detections of one image", tags=TAGS,
          query=DetectionFilter, response=DetectionOut, many=True)
def media_detections(media_id: str, query: DetectionFilter):
    load_in_area(get_session(), Media, media_id)
    stmt = _filtered(select(Detection).where(Detection.media_id == media_id), query)
    s = get_session()
    return with_review(s, list(s.exec(stmt.order_by(Detection.confidence.desc(), Detection.id))))


@endpoint("/deployments/<deployment_id>/detections", summary="Machine detections of a deployment's images",
          tags=TAGS, query=DeploymentDetectionQuery, response=DetectionOut)
def deployment_detections(deployment_id: str, query: DeploymentDetectionQuery):
    s = get_session()
    load_in_area(s, Deployment, deployment_id)
    stmt = select(Detection).join(Media, Media.id == Detection.media_id).where(Media.deployment_id == deployment_id)
    page = paginate(s, _filtered(stmt, query), query, [Media.captured_at, Media.file_name, Detection.media_id,
                                                      Detection.confidence.desc(), Detection.id])
    page.items = with_review(s, page.items)
    return page


@endpoint("/deployments/<deployment_id>/detect", ["POST"],
          summary="Queue detection of a deployment's images (biologists)", tags=TAGS, body=DetectIn,
          response=JobOut, status=202)
def detect_deployment(deployment_id: str, body: DetectIn):
    s = get_session()
    area_id = load_in_area(s, Deployment, deployment_id, "biologist").area_id
    name = _detector_name(s, body)
    return enqueue(s, "detect", {"deployment_id": deployment_id, "model": name, "force": body.force,
                                 "classify": body.classify}, area_id=area_id, created_by=current_user().id)


@endpoint("/programs/<program_id>/detect", ["POST"],
          summary="Queue detection of every camera deployment's images in a program (biologists)", tags=TAGS,
          body=DetectIn, response=JobOut, status=202)
def detect_program(program_id: str, body: DetectIn):
    from ..models import Program

    s = get_session()
    area_id = load_in_area(s, Program, program_id, "biologist").area_id
    name = _detector_name(s, body)
    return enqueue(s, "detect", {"program_id": program_id, "model": name, "force": body.force,
                                 "classify": body.classify}, area_id=area_id, created_by=current_user().id)


def _detector_name(s, body: DetectIn) -> str:
    """The registered detector a request names (or SAOLA_DETECTOR_MODEL); 422 when there is none."""
    name = body.model or current_app.config["DETECTOR_MODEL"]
    if not name:
        raise ValidationError("no detector: give model or set SAOLA_DETECTOR_MODEL",
                              details=[{"field": "model", "message": "required"}])
    try:
        get_model(s, name, "detector")
    except ModelNotFound as e:
        raise ValidationError(str(e), details=[{"field": "model", "message": "unknown"}]) from None
    return name


@endpoint("/models", summary="Registered detector and classifier models", tags=TAGS, response=ModelOut, many=True)
def list_models():
    current_user()
    return list(get_session().exec(select(MLModel).order_by(MLModel.kind, MLModel.name)))


@endpoint("/media/<media_id>/view", summary="The image as the caller may see it (people blurred below biologist)",
          tags=TAGS, query=ViewQuery, raw=True,
          responses={409: "not yet checked for people (viewers, when a detector is configured)",
                     403: "shows a person with no box to blur (below biologist)"},
          produces=("image/*",))
def view_media(media_id: str, query: ViewQuery):
    acc = load_in_area(get_session(), Media, media_id)
    media, role = acc.row, acc.role
    if media.kind != "image":
        raise ValidationError(f"media {media_id} is a {media.kind}, not an image")
    app = current_app
    path, mimetype, blurred = policy.image_for(get_session(), media, query.size, role, get_store(app),
                                               app.extensions["saola.derivatives"], bool(app.config["DETECTOR_MODEL"]))
    if policy.is_placeholder(path):
        return policy.placeholder_response(path)
    if not path.is_file():
        raise NotFound(f"the file of media {media_id} is missing from the store")
    resp = send_file(path, mimetype=mimetype, conditional=True, max_age=0)
    resp.headers["Cache-Control"] = "private, no-store" if blurred or role in ("viewer", "ranger") else "private"
    resp.headers["X-Saola-Blurred"] = "1" if blurred else "0"
    return resp
