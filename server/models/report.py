"""Annual report submissions: which unit (protected area) sent its report for which year, and when."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from .base import fk, id_field, utcnow


class ReportSubmission(SQLModel, table=True):
    """One annual monitoring report an area submitted (to the hub, or recorded by hand).

    The files live in the media store, content-addressed by their SHA-256 (key
    ``ab/cd/<sha256>.pdf`` / ``.html``), so a re-sent identical report is the same
    row. Several rows may exist for one area and year (languages, corrected
    versions): the reporting status counts the first received.
    """

    __tablename__ = "report_submission"
    __table_args__ = (Index("ix_report_submission_area_year", "area_id", "year"),)
    id: str = id_field()
    area_id: str = fk("protected_area.id", ondelete="CASCADE", index=False)
    year: int  # the monitoring year the report covers (due 15 March of year + 1)
    received_at: datetime = Field(default_factory=utcnow)
    language: str = Field(max_length=8)  # "vi" or "en"
    pdf_sha256: Optional[str] = Field(default=None, max_length=64)
    html_sha256: Optional[str] = Field(default=None, max_length=64)
    # Who or what submitted: a user name, or the area server's peer name when published.
    submitted_by: Optional[str] = Field(default=None, max_length=100)
    source: str = Field(default="upload", max_length=16)  # publish | upload | cli
    note: Optional[str] = Field(default=None, max_length=1000)
