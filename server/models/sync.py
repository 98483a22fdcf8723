"""Offline sync bookkeeping: the change log, seen mutations, conflicts, resumable uploads."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from .base import fk, id_field, json_field, json_nullable, utcnow


class SyncChange(SQLModel, table=True):
    """One change visible to pull: seq is the server-assigned cursor (never timestamps)."""

    __tablename__ = "sync_change"
    __table_args__ = (Index("ix_sync_change_area_seq", "area_id", "seq"),)
    seq: Optional[int] = Field(default=None, primary_key=True)
    area_id: str = Field(max_length=36)
    entity: str = Field(max_length=64)
    record_id: str = Field(max_length=64)
    revision: int
    op: str = Field(max_length=8)  # upsert|delete (delete = tombstone)
    data: Optional[Any] = json_nullable()
    # Who made this revision: a device's own successive edits are not conflicts.
    device_id: Optional[str] = Field(default=None, max_length=64)
    user_id: Optional[str] = Field(default=None, max_length=36)
    at: datetime = Field(default_factory=utcnow)


class ServerState(SQLModel, table=True):
    """Small named values the server keeps, e.g. the sync tombstone horizon."""

    __tablename__ = "server_state"
    key: str = Field(primary_key=True, max_length=64)
    value: Optional[Any] = json_nullable()
    updated_at: datetime = Field(default_factory=utcnow)


class SyncMutation(SQLModel, table=True):
    """A client mutation already answered: a retry gets the same answer (idempotency)."""

    __tablename__ = "sync_mutation"
    # Keyed per user: a mutation id is only its device's idempotency key, so another
    # user sending the same id must neither receive this answer nor be refused.
    user_id: str = Field(primary_key=True, max_length=36)
    mutation_id: str = Field(primary_key=True, max_length=64)
    device_id: Optional[str] = Field(default=None, max_length=64)
    response: dict = json_field()
    at: datetime = Field(default_factory=utcnow)


class SyncConflict(SQLModel, table=True):
    """Overlapping edits from a stale base revision, kept for a biologist to resolve."""

    __tablename__ = "sync_conflict"
    id: str = id_field()
    area_id: str = fk("protected_area.id", ondelete="CASCADE")
    entity: str = Field(max_length=64)
    record_id: str = Field(max_length=64)
    base_revision: int
    server_revision: int
    server_version: dict = json_field()
    client_version: dict = json_field()
    fields: list = json_field(list)  # the overlapping field names
    client_user: Optional[str] = Field(default=None, max_length=64)
    client_device: Optional[str] = Field(default=None, max_length=64)
    server_user: Optional[str] = Field(default=None, max_length=64)
    status: str = Field(default="open", max_length=16)  # open|resolved
    resolution: Optional[str] = Field(default=None, max_length=16)  # mine|theirs|merge
    resolved_by: Optional[str] = Field(default=None, max_length=64)
    resolved_at: Optional[datetime] = None
    created_at: datetime = Field(default_factory=utcnow)


class Upload(SQLModel, table=True):
    """A resumable (tus-style) attachment upload: bytes so far and the expected hash."""

    __tablename__ = "upload"
    id: str = id_field()
    # Empty for a card stream: its chunks are checked one by one (Upload-Checksum), see models/card.py.
    sha256: str = Field(max_length=64, index=True)
    # 64-bit: a card stream (a zip of a whole card) runs to several GB.
    size_bytes: int = Field(sa_column=Column(BigInteger, nullable=False))
    offset: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    file_name: Optional[str] = Field(default=None, max_length=255)
    media_type: Optional[str] = Field(default=None, max_length=64)
    user_id: Optional[str] = Field(default=None, max_length=36)
    media_id: Optional[str] = Field(default=None, max_length=36)
    # The card this upload carries (a browser card upload), or None for a field photo.
    card_id: Optional[str] = fk("card_upload.id", nullable=True, ondelete="CASCADE")
    completed_at: Optional[datetime] = None
    created_at: datetime = Field(default_factory=utcnow)
