"""What a reviewer does to a sequence, each step audited and undoable.

Every review action (label, blank, apply to sequence, box edit, bulk
dismissal...) is one :class:`ReviewAction`: the changed rows' before/after
snapshots go into the audit log (one entry per record, except bulk dismissals,
which are summarised in the action's own entry), and one summarising entry
``entity="review_action", action="review"`` holds the whole change list so
:func:`undo_last` can revert it. Undoing writes an ``action="undo"`` entry
for the same action id. An undo refuses (409) when someone changed one of the
records since, so it never overwrites another person's work.

Boxes people draw are detections of the pseudo-model ``human`` (confidence 1,
review_status verified); a machine box a person moves keeps its original box in
``extra["original_bbox"]``; deleting a machine box dismisses it (rejected).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterable, Optional

from sqlalchemy import DateTime, Date
from sqlmodel import Session, SQLModel, select

from .. import audit
from ..errors import Conflict, NotFound, ValidationError
from ..models import Alert, Detection, Media, Observation, Sequence, User, new_id, utcnow
from ..models.detection import OBSERVATION_TYPES
from .queue import HUMAN_MODEL

ENTITIES: dict[str, type[SQLModel]] = {"observation": Observation, "detection": Detection,
                                       "sequence": Sequence, "media": Media, "alert": Alert}
LIFE_STAGES = ("adult", "subadult", "juvenile")
SEXES = ("female", "male")
ACTION_ENTITY = "review_action"


def _is_datetime(coltype) -> bool:
    return isinstance(coltype, DateTime) or isinstance(getattr(coltype, "impl", None), DateTime) \
        or type(coltype).__name__ == "UTCDateTime"


def _coerce(cls: type[SQLModel], data: dict[str, Any]) -> dict[str, Any]:
    """Turn a JSON snapshot back into column values (ISO strings to datetimes)."""
    cols = cls.__table__.columns
    out = {}
    for k, v in data.items():
        if k not in cols:
            continue
        if isinstance(v, str) and _is_datetime(cols[k].type):
            v = datetime.fromisoformat(v)
        elif isinstance(v, str) and isinstance(cols[k].type, Date):
            v = date.fromisoformat(v)
        out[k] = v
    return out


class ReviewAction:
    """Collects the changes of one reviewer step; :meth:`commit` audits them and commits."""

    def __init__(self, session: Session, user: User, kind: str, area_id: str, *,
                 sequence_id: str | None = None, per_record_audit: bool = True):
        self.session, self.user, self.kind, self.area_id = session, user, kind, area_id
        self.sequence_id = sequence_id
        self.per_record_audit = per_record_audit
        self.changes: list[dict[str, Any]] = []
        self._pending: list[tuple[SQLModel, dict | None]] = []

    def add(self, row: SQLModel) -> SQLModel:
        self.session.add(row)
        self._pending.append((row, None))
        return row

    def change(self, row: SQLModel, **values) -> SQLModel:
        before = audit.snapshot(row)
        for k, v in values.items():
            setattr(row, k, v)
        if hasattr(row, "updated_at") and "updated_at" not in values:
            row.updated_at = utcnow()
        self.session.add(row)
        self._pending.append((row, before))
        return row

    def delete(self, row: SQLModel) -> None:
        self.changes.append({"entity": row.__tablename__, "id": row.id, "before": audit.snapshot(row),
                             "after": None})
        self.session.delete(row)

    def commit(self, summary: dict[str, Any] | None = None) -> str:
        """Flush, audit and commit; returns the action id (for undo)."""
        self.session.flush()
        for row, before in self._pending:
            self.changes.append({"entity": row.__tablename__, "id": row.id, "before": before,
                                 "after": audit.snapshot(row)})
        action_id = new_id()
        if self.per_record_audit:
            for c in self.changes:
                act = "create" if c["before"] is None else "delete" if c["after"] is None else "update"
                audit.record(self.session, act, c["entity"], c["id"], area_id=self.area_id,
                             before=c["before"], after=c["after"])
        audit.record(self.session, "review", ACTION_ENTITY, action_id, area_id=self.area_id,
                     after={"kind": self.kind, "sequence_id": self.sequence_id, "summary": summary or {},
                            "changes": self.changes})
        self.session.commit()
        return action_id


# ---- labels ---------------------------------------------------------------------------
def _check_label(label: dict[str, Any]) -> None:
    otype = label.get("observation_type", "animal")
    if otype not in OBSERVATION_TYPES:
        raise ValidationError(f"observation_type must be one of {', '.join(OBSERVATION_TYPES)}, got {otype!r}",
                              details=[{"field": "observation_type", "message": "unknown type"}])
    if label.get("life_stage") not in (None, *LIFE_STAGES):
        raise ValidationError(f"life_stage must be one of {', '.join(LIFE_STAGES)}",
                              details=[{"field": "life_stage", "message": "unknown life stage"}])
    if label.get("sex") not in (None, *SEXES):
        raise ValidationError(f"sex must be one of {', '.join(SEXES)}",
                              details=[{"field": "sex", "message": "unknown sex"}])
    count = label.get("count")
    if count is not None and (not isinstance(count, int) or count < 1 or count > 10000):
        raise ValidationError("count must be a whole number from 1 to 10000",
                              details=[{"field": "count", "message": "out of range"}])
    if label.get("taxon_id") and otype != "animal":
        raise ValidationError(f"a species only goes with observation_type animal, not {otype}",
                              details=[{"field": "taxon_id", "message": "not an animal"}])


def _human_observations(session: Session, seq: Sequence, media_id: str | None = None) -> list[Observation]:
    stmt = select(Observation).where(Observation.sequence_id == seq.id,
                                     Observation.classification_method == "human")
    if media_id is not None:
        stmt = stmt.where(Observation.media_id == media_id)
    return list(session.exec(stmt))


def _mark_sequence(act: ReviewAction, seq: Sequence, status: str) -> None:
    act.change(seq, review_status=status, reviewed_by=act.user.username, reviewed_at=utcnow())


def _media_of(session: Session, seq: Sequence, media_id: str) -> Media:
    m = session.get(Media, media_id)
    if m is None or m.sequence_id != seq.id:
        raise NotFound(f"no medium {media_id!r} in sequence {seq.id}")
    return m


def save_label(session: Session, user: User, seq: Sequence, area_id: str, label: dict[str, Any], *,
               media_id: str | None = None, mode: str = "replace") -> tuple[str, list[Observation]]:
    """Label a sequence (event level) or one medium of it (media level).

    ``mode="replace"`` removes the person-made labels at the same level first;
    ``"add"`` keeps them (a second species in the same event). Returns the
    action id and the new observations.
    """
    if mode not in ("replace", "add"):
        raise ValidationError(f"mode must be replace or add, got {mode!r}")
    _check_label(label)
    media = _media_of(session, seq, media_id) if media_id else None
    if label.get("detection_id"):
        det = session.get(Detection, label["detection_id"])
        det_media = session.get(Media, det.media_id) if det is not None else None
        if det_media is None or det_media.sequence_id != seq.id:
            raise ValidationError(f"detection {label['detection_id']!r} is not in this sequence",
                                  details=[{"field": "detection_id", "message": "not in the sequence"}])
    act = ReviewAction(session, user, "label" if media is None else "label_media", area_id, sequence_id=seq.id)
    if mode == "replace":
        for o in _human_observations(session, seq):
            # Event labels replace event labels (and any blank); a medium's, that medium's.
            if (media is None and (o.observation_level == "event" or o.observation_type == "blank")) or \
               (media is not None and o.media_id == media.id):
                act.delete(o)
    now = utcnow()
    obs = act.add(Observation(
        deployment_id=seq.deployment_id, sequence_id=seq.id, media_id=media.id if media else None,
        detection_id=label.get("detection_id"),
        event_start=(media.captured_at or seq.event_start) if media else seq.event_start,
        event_end=(media.captured_at or seq.event_end) if media else seq.event_end,
        observation_level="media" if media else "event",
        observation_type=label.get("observation_type", "animal"), taxon_id=label.get("taxon_id"),
        count=label.get("count"), life_stage=label.get("life_stage"), sex=label.get("sex"),
        behavior=label.get("behavior"), observation_comments=label.get("comments"),
        classification_method="human", classified_by=user.username, classification_timestamp=now))
    if media is None:
        _mark_sequence(act, seq, "reviewed")
    action_id = act.commit({"taxon_id": label.get("taxon_id"), "media_id": media_id})
    return action_id, [obs]


def mark_blank(session: Session, user: User, seq: Sequence, area_id: str) -> str:
    """The sequence shows no animal: one blank event observation replaces every person-made label."""
    act = ReviewAction(session, user, "blank", area_id, sequence_id=seq.id)
    for o in _human_observations(session, seq):
        act.delete(o)
    act.add(Observation(deployment_id=seq.deployment_id, sequence_id=seq.id, event_start=seq.event_start,
                        event_end=seq.event_end, observation_level="event", observation_type="blank",
                        classification_method="human", classified_by=user.username,
                        classification_timestamp=utcnow()))
    _mark_sequence(act, seq, "blank")
    return act.commit()


def apply_to_sequence(session: Session, user: User, seq: Sequence, area_id: str, media_id: str) -> str:
    """Make a medium's labels the labels of its whole sequence (event level)."""
    media = _media_of(session, seq, media_id)
    source = _human_observations(session, seq, media.id)
    if not source:
        raise ValidationError("this image has no label of yours to apply: label it first",
                              details=[{"field": "media_id", "message": "no media-level label"}])
    act = ReviewAction(session, user, "apply_sequence", area_id, sequence_id=seq.id)
    for o in _human_observations(session, seq):
        act.delete(o)
    now = utcnow()
    for o in source:
        act.add(Observation(deployment_id=seq.deployment_id, sequence_id=seq.id, event_start=seq.event_start,
                            event_end=seq.event_end, observation_level="event",
                            observation_type=o.observation_type, taxon_id=o.taxon_id, count=o.count,
                            life_stage=o.life_stage, sex=o.sex, behavior=o.behavior,
                            observation_comments=o.observation_comments, classification_method="human",
                            classified_by=user.username, classification_timestamp=now))
    _mark_sequence(act, seq, "blank" if all(o.observation_type == "blank" for o in source) else "reviewed")
    return act.commit({"media_id": media_id})


# ---- boxes --------------------------------------------------------------------------------
def check_bbox(bbox: Iterable[float]) -> tuple[float, float, float, float]:
    """A normalised top-left (x, y, width, height) box inside the image, or 422."""
    try:
        x, y, w, h = (float(v) for v in bbox)
    except (TypeError, ValueError):
        raise ValidationError("bbox must be four numbers [x, y, width, height]",
                              details=[{"field": "bbox", "message": "not four numbers"}]) from None
    eps = 1e-6
    if w <= 0 or h <= 0 or x < -eps or y < -eps or x + w > 1 + eps or y + h > 1 + eps:
        raise ValidationError(f"bbox {[x, y, w, h]} must lie inside the image (normalised 0..1, width "
                              "and height above 0)", details=[{"field": "bbox", "message": "outside image"}])
    return (max(0.0, x), max(0.0, y), min(w, 1.0), min(h, 1.0))


def edit_box(session: Session, user: User, det: Detection, area_id: str, bbox, sequence_id=None) -> str:
    x, y, w, h = check_bbox(bbox)
    act = ReviewAction(session, user, "edit_box", area_id, sequence_id=sequence_id)
    extra = dict(det.extra or {})
    if det.model != HUMAN_MODEL and "original_bbox" not in extra:
        extra["original_bbox"] = [det.bbox_x, det.bbox_y, det.bbox_width, det.bbox_height]
    extra["edited_by"] = user.username
    act.change(det, bbox_x=x, bbox_y=y, bbox_width=w, bbox_height=h, extra=extra, review_status="verified")
    return act.commit()


def draw_box(session: Session, user: User, media: Media, area_id: str, bbox, category: str = "animal",
             taxon_id: str | None = None) -> tuple[str, Detection]:
    x, y, w, h = check_bbox(bbox)
    if category not in ("animal", "person", "vehicle"):
        raise ValidationError(f"category must be animal, person or vehicle, got {category!r}",
                              details=[{"field": "category", "message": "unknown category"}])
    act = ReviewAction(session, user, "draw_box", area_id, sequence_id=media.sequence_id)
    det = act.add(Detection(media_id=media.id, model=HUMAN_MODEL, category=category, confidence=1.0,
                            bbox_x=x, bbox_y=y, bbox_width=w, bbox_height=h, taxon_id=taxon_id,
                            review_status="verified", extra={"drawn_by": user.username}))
    return act.commit(), det


def delete_box(session: Session, user: User, det: Detection, area_id: str, sequence_id=None) -> str:
    act = ReviewAction(session, user, "delete_box", area_id, sequence_id=sequence_id)
    if det.model == HUMAN_MODEL:
        act.delete(det)
    else:
        act.change(det, dismissed=True, review_status="rejected")
    return act.commit()


def set_verdict(session: Session, user: User, det: Detection, area_id: str, verdict: str) -> str:
    """Verify or reject a machine label (sound review)."""
    if verdict not in ("verified", "rejected", "unreviewed"):
        raise ValidationError(f"review_status must be verified, rejected or unreviewed, got {verdict!r}",
                              details=[{"field": "review_status", "message": "unknown verdict"}])
    act = ReviewAction(session, user, "verdict", area_id)
    act.change(det, review_status=verdict)
    return act.commit({"verdict": verdict})


def dismiss_detections(session: Session, user: User, deployment_id: str, area_id: str,
                       detection_ids: list[str]) -> tuple[str, int]:
    """Bulk-dismiss detections of one deployment (repeated false positives).

    Audited by one summarising entry (the action's change list), not one per detection.
    """
    if not detection_ids:
        raise ValidationError("no detection ids given", details=[{"field": "detection_ids", "message": "empty"}])
    rows = list(session.exec(select(Detection).join(Media, Media.id == Detection.media_id)
                             .where(Detection.id.in_(detection_ids), Media.deployment_id == deployment_id)))
    if len(rows) != len(set(detection_ids)):
        raise ValidationError(f"{len(set(detection_ids)) - len(rows)} of the detections are not in this deployment",
                              details=[{"field": "detection_ids", "message": "unknown or foreign detection"}])
    act = ReviewAction(session, user, "dismiss_repeated", area_id, per_record_audit=False)
    n = 0
    for d in rows:
        if not d.dismissed:
            act.change(d, dismissed=True, review_status="rejected")
            n += 1
    return act.commit({"deployment_id": deployment_id, "dismissed": n}), n


def acknowledge_alert(session: Session, user: User, alert: Alert) -> str:
    if alert.acknowledged_at is not None:
        raise Conflict(f"alert already acknowledged by {alert.acknowledged_by}")
    act = ReviewAction(session, user, "acknowledge_alert", alert.area_id)
    act.change(alert, acknowledged_by=user.username, acknowledged_at=utcnow())
    return act.commit()


# ---- undo -------------------------------------------------------------------------------------
def _last_action(session: Session, user: User):
    from ..models import AuditLog

    rows = list(session.exec(select(AuditLog).where(AuditLog.entity == ACTION_ENTITY, AuditLog.user_id == user.id)
                             .order_by(AuditLog.id.desc()).limit(200)))
    undone = {r.entity_id for r in rows if r.action == "undo"}
    for r in rows:
        if r.action == "review" and r.entity_id not in undone:
            return r
    return None


def _norm(cls: type[SQLModel], snap: dict) -> dict:
    """A snapshot with times as aware UTC, so a read-back row compares equal to its snapshot."""
    from ..timeutil import as_utc

    out = {}
    for k, v in _coerce(cls, snap).items():
        if k == "updated_at":
            continue
        out[k] = as_utc(v) if isinstance(v, datetime) else v
    return out


def _same(cls: type[SQLModel], current: dict | None, expected: dict | None) -> bool:
    if current is None or expected is None:
        return current is expected
    return _norm(cls, current) == _norm(cls, expected)


def undo_last(session: Session, user: User, allowed_area_ids: Optional[list[str]] = None) -> dict[str, Any]:
    """Revert the user's most recent review action that is not undone yet.

    Returns {"action_id", "kind", "sequence_id"}; 404 when there is nothing to
    undo, 409 when a record changed since (someone else's work is kept). A
    confidence triage (server/review/triage.py) or a grid's bulk action
    (server/review/bulk.py) is undone in part instead: what was reviewed since
    is named in ``not_restored``.
    """
    entry = _last_action(session, user)
    if entry is None:
        raise NotFound("nothing to undo")
    if allowed_area_ids is not None and entry.area_id not in allowed_area_ids:
        raise NotFound("nothing to undo")
    info = entry.after or {}
    if info.get("kind") == "triage_blank":  # thousands of sequences: restores what nobody touched since
        from .triage import undo as undo_triage

        return undo_triage(session, user, entry, info)
    if info.get("kind") == "bulk":  # a grid selection: the same, tile by tile
        from .bulk import undo as undo_bulk

        return undo_bulk(session, user, entry, info)
    changes = info.get("changes", [])
    for c in changes:
        cls = ENTITIES[c["entity"]]
        row = session.get(cls, c["id"])
        if not _same(cls, audit.snapshot(row), c["after"]):
            raise Conflict(f"cannot undo: the {c['entity']} {c['id']} was changed since "
                           "(by someone else or a later step)")
    for c in reversed(changes):
        cls = ENTITIES[c["entity"]]
        row = session.get(cls, c["id"])
        if c["before"] is None:
            session.delete(row)
            session.flush()
        elif c["after"] is None:
            session.add(cls(**_coerce(cls, c["before"])))
            session.flush()
        else:
            for k, v in _coerce(cls, c["before"]).items():
                setattr(row, k, v)
            session.add(row)
            session.flush()
        if info.get("kind") != "dismiss_repeated":
            act = "delete" if c["before"] is None else "create" if c["after"] is None else "update"
            audit.record(session, act, c["entity"], c["id"], area_id=entry.area_id, before=c["after"],
                         after=c["before"])
    audit.record(session, "undo", ACTION_ENTITY, entry.entity_id, area_id=entry.area_id,
                 after={"kind": info.get("kind"), "sequence_id": info.get("sequence_id")})
    session.commit()
    return {"action_id": entry.entity_id, "kind": info.get("kind"), "sequence_id": info.get("sequence_id")}
