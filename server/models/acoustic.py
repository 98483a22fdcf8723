"""Acoustic analysis results: per-minute indices and alerts raised by sound classes."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from .base import fk, id_field, json_field, utcnow


class AcousticIndex(SQLModel, table=True):
    """Acoustic indices of one minute of one recording."""

    __tablename__ = "acoustic_index"
    __table_args__ = (Index("ix_acoustic_index_media_minute", "media_id", "minute", unique=True),)
    id: str = id_field()
    media_id: str = fk("media.id", ondelete="CASCADE", index=False)
    minute: int  # minute number from the start of the recording
    start_at: Optional[datetime] = None  # UTC start of that minute
    aci: Optional[float] = None
    adi: Optional[float] = None
    aei: Optional[float] = None
    bi: Optional[float] = None
    ndsi: Optional[float] = None
    h: Optional[float] = None
    extra: dict = json_field()


class Alert(SQLModel, table=True):
    """A threat heard by a recorder (gunshot, engine, power tools) for managers to act on."""

    __tablename__ = "alert"
    id: str = id_field()
    area_id: str = fk("protected_area.id", ondelete="CASCADE")
    deployment_id: Optional[str] = fk("deployment.id", nullable=True, ondelete="CASCADE")
    media_id: Optional[str] = fk("media.id", nullable=True, ondelete="CASCADE", index=False)
    detection_id: Optional[str] = fk("detection.id", nullable=True, ondelete="CASCADE", index=False)
    kind: str = Field(max_length=32)  # gunshot|engine|power_tools
    confidence: float
    occurred_at: Optional[datetime] = None
    acknowledged_by: Optional[str] = Field(default=None, max_length=64)
    acknowledged_at: Optional[datetime] = None
    created_at: datetime = Field(default_factory=utcnow)
