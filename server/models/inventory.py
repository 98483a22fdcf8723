"""The camera and recorder inventory of a protected area: each device by its serial number,
its make and model, where it is (in store, deployed, in repair, lost) and, through the
deployments that name its serial (Camtrap DP ``cameraID``), its history."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from .base import fk, id_field, utcnow

DEVICE_STATUSES = ("in_store", "deployed", "repair", "lost")
DEVICE_KINDS = ("camera", "acoustic")


class Device(SQLModel, table=True):
    """One camera trap or sound recorder an area owns."""

    __tablename__ = "device"
    __table_args__ = (UniqueConstraint("area_id", "serial"),)
    id: str = id_field()
    area_id: str = fk("protected_area.id", ondelete="CASCADE")
    kind: str = Field(default="camera", max_length=16)
    # Stored as written; matched against deployments' camera_id without case or spaces around.
    serial: str = Field(max_length=100)
    make: Optional[str] = Field(default=None, max_length=100)
    model: Optional[str] = Field(default=None, max_length=200)
    status: str = Field(default="in_store", max_length=16)
    notes: Optional[str] = Field(default=None, max_length=2000)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
