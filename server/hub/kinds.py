"""What an area server publishes to its hub: each kind of record, its table, which of the area's
rows it covers, which columns point at other published records, and which are the area's own.

The order of :data:`KINDS` is the order records are sent in (parents first), so that every
reference a record makes is already at the hub (the hub checks that the same peer owns it).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Optional

from sqlmodel import SQLModel, col, select

from ..models import (AcousticIndex, Alert, Deployment, Detection, Device, FieldObservation, Location, Media,
                      Observation, OperatingInterval, Program, Sequence, SurveyWalk, Transect)


def programs_of(area_id: str):
    """The ids of the area's programs (a subquery)."""
    return select(Program.id).where(Program.area_id == area_id)


def deployments_of(area_id: str):
    """The ids of the area's deployments (a subquery)."""
    return select(Deployment.id).where(col(Deployment.program_id).in_(programs_of(area_id)))


def media_of(area_id: str):
    """The ids of the media of the area's deployments (a subquery)."""
    return select(Media.id).where(col(Media.deployment_id).in_(deployments_of(area_id)))


@dataclass(frozen=True)
class Kind:
    """One kind of published record."""

    name: str
    model: type[SQLModel]
    #: area id -> the SQL condition selecting the area's rows of this kind
    scope: Callable[[str], Any]
    #: column -> kind of the record it references (the hub checks the same peer owns it)
    refs: dict[str, str] = field(default_factory=dict)
    #: the column holding the protected area (set to the peer's area at the hub)
    area_column: Optional[str] = None
    #: columns referencing a taxon: sent as the taxon's names, matched at the hub by scientific name
    taxon_columns: tuple[str, ...] = ()
    #: columns that are the area server's own business: not sent, kept as they are at the hub
    local: tuple[str, ...] = ()
    #: columns naming users of the area server (nobody at the hub): sent as None
    users: tuple[str, ...] = ()

    def columns(self) -> list[str]:
        return [c.name for c in self.model.__table__.columns]  # type: ignore[attr-defined]


KINDS: tuple[Kind, ...] = (
    Kind("program", Program, lambda a: Program.area_id == a, area_column="area_id"),
    Kind("location", Location, lambda a: Location.area_id == a, area_column="area_id"),
    # The camera and recorder inventory (camera health across the network reads it with deployments).
    Kind("device", Device, lambda a: Device.area_id == a, area_column="area_id"),
    Kind("transect", Transect, lambda a: Transect.area_id == a, refs={"program_id": "program"},
         area_column="area_id"),
    Kind("deployment", Deployment, lambda a: col(Deployment.program_id).in_(programs_of(a)),
         refs={"program_id": "program", "location_id": "location"}),
    Kind("operating_interval", OperatingInterval,
         lambda a: col(OperatingInterval.deployment_id).in_(deployments_of(a)), refs={"deployment_id": "deployment"}),
    Kind("sequence", Sequence, lambda a: col(Sequence.deployment_id).in_(deployments_of(a)),
         refs={"deployment_id": "deployment"}),
    # The hub holds a media's bytes only once they are sent (thumbnails first, originals by policy):
    # has_derivatives says whether its thumbnail has arrived there.
    Kind("media", Media, lambda a: col(Media.deployment_id).in_(deployments_of(a)),
         refs={"deployment_id": "deployment", "sequence_id": "sequence"}, local=("has_derivatives",)),
    Kind("detection", Detection, lambda a: col(Detection.media_id).in_(media_of(a)), refs={"media_id": "media"},
         taxon_columns=("taxon_id",)),
    Kind("observation", Observation, lambda a: col(Observation.deployment_id).in_(deployments_of(a)),
         refs={"deployment_id": "deployment", "media_id": "media", "sequence_id": "sequence",
               "detection_id": "detection"}, taxon_columns=("taxon_id",)),
    Kind("acoustic_index", AcousticIndex, lambda a: col(AcousticIndex.media_id).in_(media_of(a)),
         refs={"media_id": "media"}),
    # Threats heard by recorders (gunshots, engines, chainsaws), from the sound detections.
    Kind("alert", Alert, lambda a: Alert.area_id == a, area_column="area_id",
         refs={"deployment_id": "deployment", "media_id": "media", "detection_id": "detection"}),
    Kind("survey_walk", SurveyWalk, lambda a: col(SurveyWalk.program_id).in_(programs_of(a)),
         refs={"program_id": "program", "transect_id": "transect"}, users=("created_by",)),
    Kind("field_observation", FieldObservation, lambda a: col(FieldObservation.program_id).in_(programs_of(a)),
         refs={"program_id": "program", "walk_id": "survey_walk"}, taxon_columns=("taxon_id",),
         users=("created_by",)),
)
BY_NAME: dict[str, Kind] = {k.name: k for k in KINDS}
ORDER: dict[str, int] = {k.name: i for i, k in enumerate(KINDS)}
#: The protected area's own description (name, province, boundary): sent as kind ``area``.
AREA_FIELDS = ("name", "name_vi", "province", "boundary")


def _python_type(column) -> Optional[type]:
    from sqlalchemy import Date, DateTime
    from sqlalchemy.types import TypeDecorator

    t = column.type
    if isinstance(t, TypeDecorator):  # SQLModel's UTCDateTime decorates DateTime
        t = t.impl_instance
    if isinstance(t, DateTime):
        return datetime
    if isinstance(t, Date):
        return date
    return None


@functools.lru_cache(maxsize=None)
def _parsers(name: str) -> dict[str, Callable[[Any], Any]]:
    return _build_parsers(BY_NAME[name])


def parsers(kind: Kind) -> dict[str, Callable[[Any], Any]]:
    """Per column, how a JSON value becomes the column's value (ISO times and dates parsed); cached."""
    return _parsers(kind.name)


def _build_parsers(kind: Kind) -> dict[str, Callable[[Any], Any]]:
    """Per column, how a JSON value becomes the column's value (ISO times and dates parsed)."""
    out: dict[str, Callable[[Any], Any]] = {}
    for c in kind.model.__table__.columns:  # type: ignore[attr-defined]
        t = _python_type(c)
        if t is datetime:
            out[c.name] = lambda v: datetime.fromisoformat(v) if isinstance(v, str) else v
        elif t is date:
            out[c.name] = lambda v: date.fromisoformat(v) if isinstance(v, str) else v
    return out
