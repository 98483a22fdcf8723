"""Shared column helpers for the table models.

Conventions: primary keys are UUID strings (devices create field records
offline, so ids must be unique without asking the server); times are
timezone-aware UTC ``datetime`` values (SQLModel's UTCDateTime refuses naive
ones, which catches local-time bugs early; the original UTC offset is kept
beside them where it matters); free-form metadata is JSON.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field


def new_id() -> str:
    """A fresh random UUID string."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    """Now, as aware UTC (how every time is stored)."""
    return datetime.now(timezone.utc)


def id_field() -> Any:
    return Field(default_factory=new_id, primary_key=True, max_length=36)


def json_field(default: Any = dict) -> Any:
    """A JSON column; ``default`` is a factory (dict or list)."""
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


def json_nullable() -> Any:
    return Field(default=None, sa_column=Column(JSON, nullable=True))


def fk(target: str, nullable: bool = False, ondelete: str | None = None, index: bool = True) -> Any:
    """A foreign key column to ``target`` (``table.column``)."""
    kw: dict[str, Any] = {"foreign_key": target, "index": index, "max_length": 36}
    if ondelete:
        kw["ondelete"] = ondelete
    if nullable:
        return Field(default=None, nullable=True, **kw)
    return Field(nullable=False, **kw)
