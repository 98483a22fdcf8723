"""Deployments of camera traps and acoustic recorders, and their operating intervals.

Field names follow Camtrap DP's deployments table (camera_id = cameraID, the
device serial; for acoustic recorders it holds the recorder serial).
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from .base import fk, id_field, json_field, utcnow

DEPLOYMENT_KINDS = ("camera", "acoustic")
INTERVAL_STATUSES = ("operating", "malfunction")


class Deployment(SQLModel, table=True):
    """One device at one location for one period."""

    __tablename__ = "deployment"
    __table_args__ = (Index("ix_deployment_camera_window", "camera_id", "deployment_start"),)
    id: str = id_field()
    program_id: str = fk("program.id", ondelete="CASCADE")
    location_id: str = fk("location.id")
    kind: str = Field(default="camera", max_length=16)
    deployment_start: datetime
    deployment_end: Optional[datetime] = None
    timezone: str = Field(default="Asia/Ho_Chi_Minh", max_length=64)
    # Seconds added to the device clock to get true time (camera set wrong).
    clock_offset_s: int = 0
    camera_id: Optional[str] = Field(default=None, max_length=100)
    camera_model: Optional[str] = Field(default=None, max_length=200)
    camera_delay: Optional[int] = None
    camera_height: Optional[float] = None
    camera_depth: Optional[float] = None
    camera_tilt: Optional[int] = None
    camera_heading: Optional[int] = None
    detection_distance: Optional[float] = None
    timestamp_issues: bool = False
    bait_use: bool = False
    feature_type: Optional[str] = Field(default=None, max_length=64)
    habitat: Optional[str] = Field(default=None, max_length=200)
    setup_by: Optional[str] = Field(default=None, max_length=200)
    sd_card: Optional[str] = Field(default=None, max_length=100)
    deployment_groups: Optional[str] = Field(default=None, max_length=200)
    deployment_tags: Optional[str] = Field(default=None, max_length=200)
    deployment_comments: Optional[str] = None
    settings: dict = json_field()  # recorder schedule, gain, sample rate...
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class OperatingInterval(SQLModel, table=True):
    """A period a deployed device was working or not (effort for camtrapR's camera operation)."""

    __tablename__ = "operating_interval"
    id: str = id_field()
    deployment_id: str = fk("deployment.id", ondelete="CASCADE")
    start: datetime
    end: datetime
    status: str = Field(default="malfunction", max_length=16)
    reason: Optional[str] = None
    created_at: datetime = Field(default_factory=utcnow)
