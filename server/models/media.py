"""Media files (images, videos, audio) and sequences (bursts / events)."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from pydantic import NaiveDatetime
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from .base import fk, id_field, json_field, utcnow

MEDIA_KINDS = ("image", "video", "audio")


class Sequence(SQLModel, table=True):
    """Consecutive media of one deployment closer than the program's gap (a Camtrap DP event)."""

    __tablename__ = "sequence"
    # ix_sequence_queue: the review queue's order (deployment, start, id), so "next" is an index seek;
    # ix_sequence_grid: the grid's order across deployments (start, id), for its keyset pages.
    __table_args__ = (Index("ix_sequence_deployment_start", "deployment_id", "event_start"),
                      Index("ix_sequence_queue", "deployment_id", "event_start", "id"),
                      Index("ix_sequence_grid", "event_start", "id"))
    id: str = id_field()
    deployment_id: str = fk("deployment.id", ondelete="CASCADE", index=False)
    event_start: datetime
    event_end: datetime
    media_count: int = 0
    review_status: str = Field(default="unreviewed", max_length=16)  # unreviewed|reviewed|blank
    reviewed_by: Optional[str] = Field(default=None, max_length=100)
    reviewed_at: Optional[datetime] = None


class Media(SQLModel, table=True):
    """One stored file, identified by the SHA-256 of its bytes."""

    __tablename__ = "media"
    # ix_media_grid: the thumbnail grid's order (capture time, id), for its keyset pages.
    __table_args__ = (Index("ix_media_deployment_time", "deployment_id", "captured_at"),
                      Index("ix_media_grid", "captured_at", "id"))
    id: str = id_field()
    sha256: str = Field(max_length=64, unique=True, index=True)
    kind: str = Field(default="image", max_length=8)
    deployment_id: Optional[str] = fk("deployment.id", nullable=True, ondelete="SET NULL", index=False)
    sequence_id: Optional[str] = fk("sequence.id", nullable=True, ondelete="SET NULL")
    file_name: str = Field(max_length=255)
    file_path: Optional[str] = None  # path on the card / in the upload, for provenance
    media_type: str = Field(max_length=64)  # MIME type
    size_bytes: int
    storage_key: str = Field(max_length=255)
    # Time as the device wrote it (local, naive), then corrected UTC and its source.
    captured_at_raw: Optional[NaiveDatetime] = None
    captured_at: Optional[datetime] = Field(default=None, index=True)
    utc_offset_min: Optional[int] = None
    timestamp_source: str = Field(default="none", max_length=16)
    width: Optional[int] = None
    height: Optional[int] = None
    orientation: Optional[int] = None
    duration_s: Optional[float] = None
    sample_rate: Optional[int] = None
    channels: Optional[int] = None
    camera_make: Optional[str] = Field(default=None, max_length=100)
    camera_model: Optional[str] = Field(default=None, max_length=100)
    camera_serial: Optional[str] = Field(default=None, max_length=100)
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    capture_method: Optional[str] = Field(default=None, max_length=32)
    # Problems found at ingest, e.g. ["outside_window", "clock_reset"].
    flags: list = json_field(list)
    # Full metadata as read (EXIF tag set, GUANO, AudioMoth header...).
    meta: dict = json_field()
    has_derivatives: bool = False
    contains_person: bool = False
    # A favourite for reports and outreach: who marked it and when (audited as a review action).
    favorite: bool = False
    favorite_by: Optional[str] = Field(default=None, max_length=100)
    favorite_at: Optional[datetime] = None
    media_comments: Optional[str] = None
    created_at: datetime = Field(default_factory=utcnow)
