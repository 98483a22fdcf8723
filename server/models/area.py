"""Protected areas, monitoring programs and locations (stations)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from .base import fk, id_field, json_field, json_nullable, utcnow


class ProtectedArea(SQLModel, table=True):
    """A national park, nature reserve or other protected area."""

    __tablename__ = "protected_area"
    id: str = id_field()
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=200)
    name_vi: Optional[str] = Field(default=None, max_length=200)
    province: Optional[str] = Field(default=None, max_length=100)
    boundary: Optional[Any] = json_nullable()  # GeoJSON geometry
    created_at: datetime = Field(default_factory=utcnow)


class Program(SQLModel, table=True):
    """A monitoring program of an area: one protocol, one season or year-round."""

    __tablename__ = "program"
    __table_args__ = (UniqueConstraint("area_id", "name"),)
    id: str = id_field()
    area_id: str = fk("protected_area.id", ondelete="CASCADE")
    name: str = Field(max_length=200)
    protocol: str = Field(default="camera-trap", max_length=64)
    season: Optional[str] = Field(default=None, max_length=64)
    start_date: Optional[date] = None
    end_date: Optional[date] = None
    sequence_gap_s: int = Field(default=60)
    capture_method: str = Field(default="activityDetection", max_length=32)
    settings: dict = json_field()
    created_at: datetime = Field(default_factory=utcnow)


class Location(SQLModel, table=True):
    """A station: a named place where devices are deployed (Camtrap DP locationID)."""

    __tablename__ = "location"
    __table_args__ = (UniqueConstraint("area_id", "name"),)
    id: str = id_field()
    area_id: str = fk("protected_area.id", ondelete="CASCADE")
    name: str = Field(max_length=200)
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    coordinate_uncertainty: Optional[int] = None  # metres
    elevation: Optional[float] = None
    habitat: Optional[str] = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
