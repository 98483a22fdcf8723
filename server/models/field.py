"""Field records from the tablet: transects, survey walks and field observations.

Ids are generated on the device (UUID); ``revision`` counts server-accepted
versions and is the base revision the sync protocol compares.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlmodel import Field, SQLModel

from .base import fk, id_field, json_field, json_nullable, utcnow


class Transect(SQLModel, table=True):
    """A fixed line walked repeatedly under the inventory protocol."""

    __tablename__ = "transect"
    id: str = id_field()
    area_id: str = fk("protected_area.id", ondelete="CASCADE")
    program_id: Optional[str] = fk("program.id", nullable=True, ondelete="SET NULL")
    name: str = Field(max_length=200)
    length_m: Optional[float] = None
    geometry: Optional[Any] = json_nullable()  # GeoJSON LineString
    created_at: datetime = Field(default_factory=utcnow)


class SurveyWalk(SQLModel, table=True):
    """One walk of a transect: start/end, observers, weather and the GPS track."""

    __tablename__ = "survey_walk"
    id: str = id_field()
    program_id: str = fk("program.id", ondelete="CASCADE")
    transect_id: Optional[str] = fk("transect.id", nullable=True, ondelete="SET NULL")
    started_at: datetime
    ended_at: Optional[datetime] = None
    status: str = Field(default="active", max_length=16)  # active|paused|done
    observers: list = json_field(list)
    weather: Optional[str] = Field(default=None, max_length=100)
    track: list = json_field(list)  # [[lon, lat, t_iso, accuracy_m], ...]
    distance_m: Optional[float] = None
    data: dict = json_field()
    device_id: Optional[str] = Field(default=None, max_length=64)
    created_by: Optional[str] = fk("user.id", nullable=True, index=False)
    revision: int = 1
    deleted: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class FieldObservation(SQLModel, table=True):
    """A record made in the field under a protocol (transect sighting, sign, threat...)."""

    __tablename__ = "field_observation"
    id: str = id_field()
    program_id: str = fk("program.id", ondelete="CASCADE")
    walk_id: Optional[str] = fk("survey_walk.id", nullable=True, ondelete="SET NULL")
    protocol: str = Field(max_length=64)  # e.g. line-transect@1
    record_type: str = Field(default="observation", max_length=32)  # observation|threat|listening_post...
    taxon_id: Optional[str] = fk("taxon.id", nullable=True)
    unidentified: bool = False
    sign_type: Optional[str] = Field(default=None, max_length=16)
    count: Optional[int] = None
    distance_m: Optional[float] = None
    bearing_deg: Optional[float] = None
    perpendicular_distance_m: Optional[float] = None
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    observed_at: datetime
    habitat: Optional[str] = Field(default=None, max_length=200)
    note: Optional[str] = None
    data: dict = json_field()  # the whole protocol record as validated
    photos: list = json_field(list)  # sha256 of attached photos
    media_pending: bool = False
    device_id: Optional[str] = Field(default=None, max_length=64)
    created_by: Optional[str] = fk("user.id", nullable=True, index=False)
    revision: int = 1
    deleted: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
