"""Machine detections and observations (human or accepted machine labels).

Field meanings follow Camtrap DP's observations table: bbox_* are normalised
with the origin at the top-left; observation_level is media|event;
classification_method is human|machine.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from .base import fk, id_field, json_field, utcnow

DETECTION_CATEGORIES = {1: "animal", 2: "person", 3: "vehicle"}
OBSERVATION_TYPES = ("animal", "human", "vehicle", "blank", "unknown", "unclassified")


class Detection(SQLModel, table=True):
    """One machine output: an image box (detector/classifier) or an audio time-frequency box."""

    __tablename__ = "detection"
    __table_args__ = (Index("ix_detection_media_model", "media_id", "model"),)
    id: str = id_field()
    media_id: str = fk("media.id", ondelete="CASCADE", index=False)
    model: str = Field(max_length=128)  # name@version
    category: str = Field(max_length=64)  # animal|person|vehicle, or an audio class
    confidence: float
    bbox_x: Optional[float] = None
    bbox_y: Optional[float] = None
    bbox_width: Optional[float] = None
    bbox_height: Optional[float] = None
    # Audio: the box's time span. Video: start_s is the frame's time from the start of the
    # video, frame_index its frame number (0-based) as the detector sampled it, end_s
    # (optional) until when the box holds (the next sampled frame).
    start_s: Optional[float] = None
    end_s: Optional[float] = None
    frame_index: Optional[int] = None
    freq_low_hz: Optional[float] = None
    freq_high_hz: Optional[float] = None
    label: Optional[str] = Field(default=None, max_length=200)  # species classifier label
    label_confidence: Optional[float] = None
    taxon_id: Optional[str] = fk("taxon.id", nullable=True, index=False)
    dismissed: bool = False  # e.g. a repeated false positive dismissed in bulk
    review_status: str = Field(default="unreviewed", max_length=16)  # unreviewed|verified|rejected
    extra: dict = json_field()
    created_at: datetime = Field(default_factory=utcnow)


class Observation(SQLModel, table=True):
    """A classification of media or an event, by a person or an accepted machine label."""

    __tablename__ = "observation"
    id: str = id_field()
    deployment_id: str = fk("deployment.id", ondelete="CASCADE")
    media_id: Optional[str] = fk("media.id", nullable=True, ondelete="CASCADE")
    sequence_id: Optional[str] = fk("sequence.id", nullable=True, ondelete="SET NULL")
    detection_id: Optional[str] = fk("detection.id", nullable=True, ondelete="SET NULL", index=False)
    event_start: datetime
    event_end: datetime
    observation_level: str = Field(default="event", max_length=8)
    observation_type: str = Field(default="animal", max_length=16)
    taxon_id: Optional[str] = fk("taxon.id", nullable=True)
    count: Optional[int] = None
    life_stage: Optional[str] = Field(default=None, max_length=16)
    sex: Optional[str] = Field(default=None, max_length=16)
    behavior: Optional[str] = Field(default=None, max_length=200)
    individual_id: Optional[str] = Field(default=None, max_length=100)
    bbox_x: Optional[float] = None
    bbox_y: Optional[float] = None
    bbox_width: Optional[float] = None
    bbox_height: Optional[float] = None
    classification_method: str = Field(default="human", max_length=16)
    classified_by: Optional[str] = Field(default=None, max_length=200)
    classification_timestamp: Optional[datetime] = None
    classification_probability: Optional[float] = None
    observation_tags: Optional[str] = Field(default=None, max_length=200)
    observation_comments: Optional[str] = None
    # Provenance and Camtrap DP fields with no column of their own (e.g. the
    # observationID/eventID of an imported package, cameraSetupType).
    extra: dict = json_field()
    revision: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
