"""Background jobs: the row is the truth (status, attempts, lease, progress)."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from .base import fk, id_field, json_field, utcnow

JOB_STATUSES = ("queued", "running", "done", "failed", "cancelled")


class Job(SQLModel, table=True):
    """A unit of background work; tasks carry only its id."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_status_created", "status", "created_at"),)
    id: str = id_field()
    kind: str = Field(max_length=32)
    status: str = Field(default="queued", max_length=16)
    params: dict = json_field()
    area_id: Optional[str] = fk("protected_area.id", nullable=True, ondelete="CASCADE")
    created_by: Optional[str] = fk("user.id", nullable=True, ondelete="SET NULL", index=False)
    attempts: int = 0
    max_attempts: int = 3
    lease_owner: Optional[str] = Field(default=None, max_length=128)
    lease_expires_at: Optional[datetime] = None
    progress_done: int = 0
    progress_total: int = 0
    error: Optional[str] = None
    failures: list = json_field(list)  # per-item failures: [{"item": ..., "error": ...}]
    result: dict = json_field()
    created_at: datetime = Field(default_factory=utcnow)
    started_at: Optional[datetime] = None
    finished_at: Optional[datetime] = None


class MLModel(SQLModel, table=True):
    """A model file registered with `saola models add` (detector, classifier, audio)."""

    __tablename__ = "ml_model"
    id: str = id_field()
    name: str = Field(max_length=64, unique=True, index=True)
    kind: str = Field(default="detector", max_length=32)  # detector|classifier|audio_classifier
    version: str = Field(default="", max_length=64)
    file_path: str
    sha256: str = Field(max_length=64)
    size_bytes: int
    config: dict = json_field()  # labels, input size, layout, thresholds...
    created_at: datetime = Field(default_factory=utcnow)
