"""The review state of machine detections, from what people said about their sequence.

One mapping, used by every path that shows detections (``saola export
detections``, the detections API, the MegaDetector JSON export, Camtrap DP):
given a sequence's human observations and its detections, each detection is

* ``rejected`` when a person dismissed or rejected the box, marked the sequence
  (or that image) blank, or labelled it with no observation of the box's kind
  (a "person" box in a sequence labelled "muntjac" only);
* ``verified`` when a box of people's own drawing, a box a person accepted
  (moved, resized, verified), or a box whose image or sequence a person
  labelled with an observation of its kind (animal: a species or "unknown";
  person: human; vehicle: vehicle). Its accepted label is that observation's:
  the one linked to the box if any, else the one with the machine's own
  species, else the first one;
* ``unreviewed`` otherwise, with no accepted label.

A media-level label decides for the boxes of its image; the event-level
labels for the other images of the sequence. Event-level labels verify the
matching boxes on every image of the sequence (review is per event). Boxes of
recordings (time windows) are reviewed one by one (verify/reject, or a label
linked to them) and keep that state.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Optional

from sqlmodel import Session, select

from ..models import Detection, Media, Observation, Taxon

HUMAN_MODEL = "human"
# The observation types that confirm a box of each category.
CONFIRMS = {"animal": ("animal", "unknown", "unclassified"), "person": ("human",), "vehicle": ("vehicle",),
            "blank": ("blank",)}
_CHUNK = 500


@dataclass(frozen=True)
class HumanLabel:
    """What the mapping needs of a person's observation."""

    id: str
    sequence_id: Optional[str]
    media_id: Optional[str]
    detection_id: Optional[str]
    observation_level: str
    observation_type: str
    taxon_id: Optional[str]
    classified_by: Optional[str]
    classification_timestamp: Optional[datetime]


@dataclass(frozen=True)
class DetectionReview:
    """A detection's review state and, when verified, the label people accepted for it."""

    status: str  # unreviewed | verified | rejected
    taxon_id: Optional[str] = None
    observation_type: Optional[str] = None
    reviewed_by: Optional[str] = None
    reviewed_at: Optional[datetime] = None
    observation_id: Optional[str] = None

    def label(self, taxa: dict[str, str]) -> str:
        """The accepted label as text: the species' scientific name, or the observation type
        (human, vehicle, unknown...); empty unless verified."""
        if self.status != "verified":
            return ""
        if self.taxon_id:
            return taxa.get(self.taxon_id, "")
        return self.observation_type or ""


UNREVIEWED = DetectionReview("unreviewed")


def _attr(det: Any, name: str, default=None):
    return det.get(name, default) if isinstance(det, dict) else getattr(det, name, default)


def review_of(det: Any, labels: list[HumanLabel]) -> DetectionReview:
    """The review state of one detection given the human labels of its sequence (and of its image).

    ``det`` is a Detection or a mapping with its columns (id, media_id, model, category,
    dismissed, review_status, taxon_id, start_s, extra).
    """
    stored = _attr(det, "review_status") or "unreviewed"
    category = _attr(det, "category")
    extra = _attr(det, "extra") or {}
    by = extra.get("edited_by") or extra.get("drawn_by") if isinstance(extra, dict) else None
    if _attr(det, "dismissed") or stored == "rejected":
        return DetectionReview("rejected", reviewed_by=by)
    det_id, media_id = _attr(det, "id"), _attr(det, "media_id")
    linked = [o for o in labels if o.detection_id == det_id]
    if _attr(det, "start_s") is not None:  # a recording's time window: reviewed box by box
        applicable = linked
    else:
        on_image = [o for o in labels if o.observation_level == "media" and o.media_id == media_id]
        applicable = linked or on_image or [o for o in labels if o.observation_level == "event"]
    drawn = _attr(det, "model") == HUMAN_MODEL
    if not applicable:
        if drawn or stored == "verified":
            return DetectionReview("verified", _attr(det, "taxon_id"), _type_of(category), reviewed_by=by)
        return UNREVIEWED
    matching = [o for o in applicable if o.observation_type in CONFIRMS.get(category, ())]
    if not matching:
        if drawn:  # people's own box stands, whatever the event label says
            return DetectionReview("verified", _attr(det, "taxon_id"), _type_of(category), reviewed_by=by)
        o = applicable[0]
        return DetectionReview("rejected", reviewed_by=o.classified_by, reviewed_at=o.classification_timestamp,
                               observation_id=o.id)
    taxon = _attr(det, "taxon_id")
    best = next((o for o in matching if o.detection_id == det_id), None) \
        or next((o for o in matching if taxon and o.taxon_id == taxon), None) or matching[0]
    return DetectionReview("verified", best.taxon_id, best.observation_type, best.classified_by,
                           best.classification_timestamp, best.id)


def _type_of(category: str | None) -> str | None:
    return {"animal": "animal", "person": "human", "vehicle": "vehicle"}.get(category or "")


def human_labels(session: Session, sequence_ids: Iterable[str] = (), media_ids: Iterable[str] = (),
                 deployment_id: str | None = None) -> dict[str, list[HumanLabel]]:
    """People's observations keyed by sequence id (and, for labels outside a sequence, by
    ``"media:<id>"``), for the given sequences / media, or every one of a deployment."""
    cols = (Observation.id, Observation.sequence_id, Observation.media_id, Observation.detection_id,
            Observation.observation_level, Observation.observation_type, Observation.taxon_id,
            Observation.classified_by, Observation.classification_timestamp)
    base = select(*cols).where(Observation.classification_method == "human")
    stmts = []
    if deployment_id is not None:
        stmts.append(base.where(Observation.deployment_id == deployment_id))
    seqs, meds = [s for s in set(sequence_ids) if s], [m for m in set(media_ids) if m]
    for i in range(0, len(seqs), _CHUNK):
        stmts.append(base.where(Observation.sequence_id.in_(seqs[i:i + _CHUNK])))
    for i in range(0, len(meds), _CHUNK):
        stmts.append(base.where(Observation.media_id.in_(meds[i:i + _CHUNK])))
    out: dict[str, list[HumanLabel]] = defaultdict(list)
    seen: set[str] = set()
    for stmt in stmts:
        for row in session.exec(stmt.order_by(Observation.created_at, Observation.id)):
            label = HumanLabel(*row)
            if label.id in seen:
                continue
            seen.add(label.id)
            out[label.sequence_id or f"media:{label.media_id}"].append(label)
    return out


def labels_for(labels: dict[str, list[HumanLabel]], sequence_id: str | None, media_id: str | None) -> list[HumanLabel]:
    """The labels that bear on a detection of ``media_id`` in ``sequence_id``."""
    out = list(labels.get(sequence_id, ())) if sequence_id else []
    out += labels.get(f"media:{media_id}", ())
    return out


def reviews(session: Session, detections: list[Detection]) -> dict[str, DetectionReview]:
    """:func:`review_of` for a page of detections (two queries: their media, their labels)."""
    if not detections:
        return {}
    mids = list({d.media_id for d in detections})
    seq_of: dict[str, Optional[str]] = {}
    for i in range(0, len(mids), _CHUNK):
        seq_of.update(session.exec(select(Media.id, Media.sequence_id).where(Media.id.in_(mids[i:i + _CHUNK]))).all())
    labels = human_labels(session, seq_of.values(), mids)
    return {d.id: review_of(d, labels_for(labels, seq_of.get(d.media_id), d.media_id)) for d in detections}


def taxon_names(session: Session, ids: Iterable[str | None]) -> dict[str, str]:
    """Scientific names of the given taxa."""
    ids = list({i for i in ids if i})
    out: dict[str, str] = {}
    for i in range(0, len(ids), _CHUNK):
        out.update(session.exec(select(Taxon.id, Taxon.scientific_name).where(Taxon.id.in_(ids[i:i + _CHUNK]))).all())
    return out
