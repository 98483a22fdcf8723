"""Cellular (4G) camera traps that upload over FTP/FTPS: each camera's login, and each file it sent."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from .base import fk, id_field, json_field, utcnow

#: What became of an uploaded file (CameraUpload.status).
UPLOAD_STATUSES = ("ingested", "duplicate", "skipped", "refused", "incomplete", "failed")


class CameraLogin(SQLModel, table=True):
    """The FTP account of one cellular camera, owned by a protected area (managers keep them)."""

    __tablename__ = "camera_login"
    id: str = id_field()
    area_id: str = fk("protected_area.id", ondelete="CASCADE")
    # Unique across the installation: the FTP server finds the camera (and so the area) by it.
    username: str = Field(max_length=64, unique=True, index=True)
    password_hash: str = Field(max_length=255)  # Argon2, as users' passwords
    # The camera's serial: deployments naming it (camera_id) receive its photos; used when a
    # photo's EXIF carries no serial (many 4G cameras write none).
    camera_serial: Optional[str] = Field(default=None, max_length=100)
    label: Optional[str] = Field(default=None, max_length=200)
    # The address the camera e-mails its photos from (cameras that send by e-mail instead of FTP;
    # `saola mail-poll` reads them from the installation's mailbox). Lower case, unique.
    mail_from: Optional[str] = Field(default=None, max_length=254, unique=True, index=True)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    created_by: Optional[str] = Field(default=None, max_length=100)
    last_upload_at: Optional[datetime] = None


class CameraUpload(SQLModel, table=True):
    """One file a camera sent (or tried to): what the endpoint and ingest made of it."""

    __tablename__ = "camera_upload"
    __table_args__ = (Index("ix_camera_upload_login_time", "login_id", "received_at"),)
    id: str = id_field()
    login_id: str = fk("camera_login.id", ondelete="CASCADE", index=False)
    file_name: str = Field(max_length=255)
    size_bytes: Optional[int] = None
    status: str = Field(max_length=16)
    reason: Optional[str] = Field(default=None, max_length=1000)
    media_id: Optional[str] = fk("media.id", nullable=True, ondelete="SET NULL")
    flags: list = json_field(list)
    received_at: datetime = Field(default_factory=utcnow)
