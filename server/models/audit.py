"""Audit log: who changed what, when, with the record before and after."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from .base import json_nullable, utcnow


class AuditLog(SQLModel, table=True):
    """One create/update/delete of a record."""

    __tablename__ = "audit_log"
    # ix_audit_user_entity: a reviewer's latest undoable action (server/review/actions.py undo_last).
    __table_args__ = (Index("ix_audit_area_at", "area_id", "at"),
                      Index("ix_audit_user_entity", "user_id", "entity", "id"))
    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    user_id: Optional[str] = Field(default=None, max_length=36)
    actor: Optional[str] = Field(default=None, max_length=200)  # username or device
    area_id: Optional[str] = Field(default=None, max_length=36)
    action: str = Field(max_length=16)  # create|update|delete
    entity: str = Field(max_length=64)
    entity_id: str = Field(max_length=64)
    before: Optional[Any] = json_nullable()
    after: Optional[Any] = json_nullable()
