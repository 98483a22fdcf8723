"""Camera cards uploaded from the browser: the card, its files, and where its bytes stand.

A card (a folder of a memory card, or a zip of one) is sent as one resumable stream
(an :class:`~server.models.sync.Upload` whose ``card_id`` names the card): the
concatenation of its accepted files in manifest order. ``start`` and ``end`` place each
file in that stream, so the upload's offset tells which files are complete; those are
ingested by the ``card_ingest`` job while the rest is still arriving.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from .base import fk, id_field, json_field, utcnow

#: receiving (bytes still to come) -> ingesting (all bytes here) -> done | failed | cancelled
CARD_STATUSES = ("receiving", "ingesting", "done", "failed", "cancelled")


def _big(default=None, nullable: bool = False):
    return Field(default=default, sa_column=Column(BigInteger, nullable=nullable))


class CardUpload(SQLModel, table=True):
    """One card sent to one deployment by one user."""

    __tablename__ = "card_upload"
    id: str = id_field()
    deployment_id: str = fk("deployment.id", ondelete="CASCADE")
    user_id: Optional[str] = fk("user.id", nullable=True, ondelete="SET NULL", index=False)
    status: str = Field(default="receiving", max_length=16)
    # SHA-256 of the manifest (paths, sizes, modification times): the same card dropped again
    # after an interruption finds this row and resumes where its bytes stopped.
    manifest_sha256: str = Field(max_length=64, index=True)
    label: str = Field(default="", max_length=255)  # the folder or zip name, for people
    files_total: int = 0  # entries of the manifest, skipped ones included
    files_accepted: int = 0  # entries sent in the stream
    bytes_total: int = _big(0)
    files_done: int = 0  # accepted files handed to ingest and written (in stream order)
    job_id: Optional[str] = fk("job.id", nullable=True, ondelete="SET NULL", index=False)
    report: dict = json_field()  # the ingest report so far (server/ingest/report.py, to_dict)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    finished_at: Optional[datetime] = None


class CardFile(SQLModel, table=True):
    """One entry of a card's manifest: sent in the stream at [start, end), or skipped with a reason."""

    __tablename__ = "card_file"
    __table_args__ = (Index("ix_card_file_card_end", "card_id", "end"),)
    card_id: str = Field(foreign_key="card_upload.id", primary_key=True, max_length=36, ondelete="CASCADE")
    idx: int = Field(primary_key=True)
    path: str = Field(max_length=1000)
    size: int = _big(0)
    modified_ms: Optional[int] = _big(None, nullable=True)
    kind: Optional[str] = Field(default=None, max_length=16)  # image|video|audio|zip; None when skipped
    # Place in the stream; both -1 for a skipped entry.
    start: int = _big(-1)
    end: int = _big(-1)
    skip_reason: Optional[str] = Field(default=None, max_length=1000)
