"""Input and output schemas of the API (separate from the table models, which
do not validate). Input schemas forbid unknown fields so a typo is an error,
not a silently ignored value."""
from __future__ import annotations

import functools
import re
import typing
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal, Optional, get_origin

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, TypeAdapter, ValidationInfo,
                      WithJsonSchema, field_validator, model_validator)

from ..bounds import MAX_CLOCK_OFFSET_S, MAX_TEXT, BoundedDate, BoundedDatetime, check_boundary, check_species_list
from ..models import Deployment, Location, Program, ProtectedArea, Taxon, User
from .core import Limit, Offset

_DATETIME_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")


_PARSE: dict[type, TypeAdapter[Any]] = {datetime: TypeAdapter(datetime), date: TypeAdapter(date)}


@functools.lru_cache(maxsize=None)
def _time_kind(model: type[BaseModel], name: str) -> type | None:
    """datetime or date when field ``name`` of ``model`` holds one (or None, or a union with one)."""
    stack = [model.model_fields[name].annotation]
    while stack:
        t = stack.pop()
        if t in (datetime, date):
            return t
        stack.extend(typing.get_args(t))
    return None


class In(BaseModel):
    # Numbers must be finite (NaN/Infinity mean a broken client, and overflow later code); text is
    # bounded (fields with their own max_length keep it); dates use BoundedDate/BoundedDatetime
    # (server/bounds.py).
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False,
                              str_max_length=MAX_TEXT)

    @field_validator("*", mode="before")
    @classmethod
    def _times_as_iso_text(cls, v: Any, info: ValidationInfo) -> Any:
        """Dates and times only as the ISO 8601 text the document describes: pydantic would also
        take a number (or "0.5") as a Unix timestamp, and a date where a time is expected.

        The text is parsed here, because bodies are validated strictly (core.validate) and
        after a "before" validator strict validation wants a date/datetime object."""
        kind = _time_kind(cls, info.field_name) if info.field_name else None
        if kind is None or v is None or isinstance(v, kind):
            return v
        pattern, example = (_DATETIME_TEXT, "2026-03-01T07:30:00+07:00") if kind is datetime else (_DATE_TEXT,
                                                                                                  "2026-03-01")
        problem = f"expected an ISO 8601 {'date-time' if kind is datetime else 'date'} such as {example}, got {v!r}"
        if not (isinstance(v, str) and pattern.match(v.strip())):
            raise ValueError(problem[:200])
        try:
            return _PARSE[kind].validate_python(v.strip())
        except ValueError:
            raise ValueError(problem[:200]) from None


class Patch(In):
    """A partial update: fields left out keep their value; ``null`` clears a field.

    Clearing a field whose column cannot be empty (``__table_model__``'s
    NOT NULL columns, plus ``__not_null__``) is refused with a 422 naming the
    field, instead of being stored and breaking every later read.
    """

    __table_model__: ClassVar[Any] = None
    __not_null__: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def required_fields(cls) -> frozenset[str]:
        """Fields of this patch that may be changed but not set to null."""
        names = set(cls.__not_null__)
        if cls.__table_model__ is not None:
            cols = cls.__table_model__.__table__.columns
            names |= {n for n in cls.model_fields if n in cols and not cols[n].nullable}
        return frozenset(names)

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, v: Any, info: ValidationInfo) -> Any:
        if v is None and info.field_name in cls.required_fields():
            raise ValueError(f"{info.field_name} cannot be null (leave it out to keep the current value)")
        return v


class _EmptyIfNull(BeforeValidator):
    """Reads a null list/object column as empty (see :class:`Out`)."""


class Out(BaseModel):
    """Output schemas. A list or object field read as null from the database (a row stored
    before null was refused, see :class:`Patch`) is answered empty rather than failing the
    whole listing with a 500."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        changed = False
        for f in cls.model_fields.values():
            kind = get_origin(f.annotation) or f.annotation
            if kind in (dict, list) and not any(isinstance(m, _EmptyIfNull) for m in f.metadata):
                f.metadata.append(_EmptyIfNull(lambda v, kind=kind: kind() if v is None else v))
                changed = True
        if changed:
            cls.model_rebuild(force=True)


# A device's local clock time without a zone (a camera's EXIF time): not an RFC 3339 date-time,
# so it is documented as what it is.
LocalTime = Annotated[datetime, PlainSerializer(lambda t: t.isoformat(), return_type=str),
                      WithJsonSchema({"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$",
                                      "description": "local time without a time zone"})]


def _check_tz(v: Optional[str]) -> Optional[str]:
    if v is None:
        return v
    from ..timeutil import zone

    zone(v)
    return v


# ---- protected areas -------------------------------------------------------
class AreaIn(In):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=200)
    name_vi: Optional[str] = Field(default=None, max_length=200)
    province: Optional[str] = Field(default=None, max_length=100)
    boundary: Optional[dict[str, Any]] = Field(default=None, description="GeoJSON Polygon or MultiPolygon (lon, lat)")

    _boundary = field_validator("boundary")(classmethod(lambda cls, v: check_boundary(v)))


class AreaPatch(Patch):
    __table_model__ = ProtectedArea
    name: Optional[str] = Field(default=None, min_length=1, max_length=200)
    name_vi: Optional[str] = Field(default=None, max_length=200)
    province: Optional[str] = Field(default=None, max_length=100)
    boundary: Optional[dict[str, Any]] = Field(default=None, description="GeoJSON Polygon or MultiPolygon (lon, lat)")

    _boundary = field_validator("boundary")(classmethod(lambda cls, v: check_boundary(v)))


class AreaOut(Out):
    id: str
    code: str
    name: str
    name_vi: Optional[str]
    province: Optional[str]
    boundary: Optional[dict[str, Any]]
    created_at: datetime


# ---- programs -------------------------------------------------------------
PROTOCOLS = Literal["camera-trap", "acoustic", "line-transect", "listening-post", "patrol", "mixed"]


class ProgramIn(In):
    area_id: str
    name: str = Field(min_length=1, max_length=200)
    protocol: PROTOCOLS = "camera-trap"
    season: Optional[str] = Field(default=None, max_length=64)
    start_date: Optional[BoundedDate] = None
    end_date: Optional[BoundedDate] = None
    sequence_gap_s: int = Field(default=60, ge=0, le=86400)
    capture_method: Literal["activityDetection", "timeLapse"] = "activityDetection"
    settings: dict[str, Any] = Field(default_factory=dict)

    _species = field_validator("settings")(classmethod(lambda cls, v: check_species_list(v)))

    @model_validator(mode="after")
    def _dates(self):
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


class ProgramPatch(Patch):
    __table_model__ = Program
    name: Optional[str] = Field(default=None, min_length=1, max_length=200)
    protocol: Optional[PROTOCOLS] = None
    season: Optional[str] = Field(default=None, max_length=64)
    start_date: Optional[BoundedDate] = None
    end_date: Optional[BoundedDate] = None
    sequence_gap_s: Optional[int] = Field(default=None, ge=0, le=86400)
    capture_method: Optional[Literal["activityDetection", "timeLapse"]] = None
    settings: Optional[dict[str, Any]] = None

    _species = field_validator("settings")(classmethod(lambda cls, v: check_species_list(v)))


class ProgramOut(Out):
    id: str
    area_id: str
    name: str
    protocol: str
    season: Optional[str]
    start_date: Optional[date]
    end_date: Optional[date]
    sequence_gap_s: int
    capture_method: str
    settings: dict[str, Any]
    created_at: datetime


# ---- locations -------------------------------------------------------------
class LocationIn(In):
    area_id: str
    name: str = Field(min_length=1, max_length=200)
    latitude: Optional[float] = Field(default=None, ge=-90, le=90)
    longitude: Optional[float] = Field(default=None, ge=-180, le=180)
    coordinate_uncertainty: Optional[int] = Field(default=None, ge=1, le=20_000_000, description="metres")
    elevation: Optional[float] = None
    habitat: Optional[str] = Field(default=None, max_length=200)


class LocationPatch(Patch):
    __table_model__ = Location
    name: Optional[str] = Field(default=None, min_length=1, max_length=200)
    latitude: Optional[float] = Field(default=None, ge=-90, le=90)
    longitude: Optional[float] = Field(default=None, ge=-180, le=180)
    coordinate_uncertainty: Optional[int] = Field(default=None, ge=1, le=20_000_000, description="metres")
    elevation: Optional[float] = None
    habitat: Optional[str] = Field(default=None, max_length=200)


class LocationOut(Out):
    id: str
    area_id: str
    name: str
    latitude: Optional[float]
    longitude: Optional[float]
    coordinate_uncertainty: Optional[int]
    elevation: Optional[float]
    habitat: Optional[str]


# ---- deployments ------------------------------------------------------------
class _DeploymentFields(In):
    kind: Literal["camera", "acoustic"] = "camera"
    deployment_start: BoundedDatetime
    deployment_end: Optional[BoundedDatetime] = None
    timezone: str = "Asia/Ho_Chi_Minh"
    clock_offset_s: int = Field(default=0, ge=-MAX_CLOCK_OFFSET_S, le=MAX_CLOCK_OFFSET_S)
    camera_id: Optional[str] = Field(default=None, max_length=100)
    camera_model: Optional[str] = Field(default=None, max_length=200)
    camera_delay: Optional[int] = Field(default=None, ge=0, le=86400, description="seconds")
    camera_height: Optional[float] = Field(default=None, ge=0)
    camera_depth: Optional[float] = Field(default=None, ge=0)
    camera_tilt: Optional[int] = Field(default=None, ge=-90, le=90)
    camera_heading: Optional[int] = Field(default=None, ge=0, le=360)
    detection_distance: Optional[float] = Field(default=None, ge=0)
    timestamp_issues: bool = False
    bait_use: bool = False
    feature_type: Optional[str] = Field(default=None, max_length=64)
    habitat: Optional[str] = Field(default=None, max_length=200)
    setup_by: Optional[str] = Field(default=None, max_length=200)
    sd_card: Optional[str] = Field(default=None, max_length=100)
    deployment_groups: Optional[str] = Field(default=None, max_length=200)
    deployment_tags: Optional[str] = Field(default=None, max_length=200)
    deployment_comments: Optional[str] = None
    settings: dict[str, Any] = Field(default_factory=dict)

    _tz = field_validator("timezone")(classmethod(lambda cls, v: _check_tz(v)))


class NewLocation(In):
    name: str = Field(min_length=1, max_length=200)
    latitude: Optional[float] = Field(default=None, ge=-90, le=90)
    longitude: Optional[float] = Field(default=None, ge=-180, le=180)


class DeploymentIn(_DeploymentFields):
    program_id: str
    location_id: Optional[str] = None
    location: Optional[NewLocation] = Field(default=None, description="create or reuse a location by name")

    @model_validator(mode="after")
    def _one_location(self):
        if (self.location_id is None) == (self.location is None):
            raise ValueError("give exactly one of location_id or location")
        return self


class DeploymentPatch(Patch):
    __table_model__ = Deployment
    location_id: Optional[str] = None
    deployment_start: Optional[BoundedDatetime] = None
    deployment_end: Optional[BoundedDatetime] = None
    timezone: Optional[str] = None
    clock_offset_s: Optional[int] = Field(default=None, ge=-MAX_CLOCK_OFFSET_S, le=MAX_CLOCK_OFFSET_S)
    camera_id: Optional[str] = Field(default=None, max_length=100)
    camera_model: Optional[str] = Field(default=None, max_length=200)
    camera_delay: Optional[int] = Field(default=None, ge=0, le=86400, description="seconds")
    camera_height: Optional[float] = Field(default=None, ge=0)
    camera_depth: Optional[float] = Field(default=None, ge=0)
    camera_tilt: Optional[int] = Field(default=None, ge=-90, le=90)
    camera_heading: Optional[int] = Field(default=None, ge=0, le=360)
    detection_distance: Optional[float] = Field(default=None, ge=0)
    timestamp_issues: Optional[bool] = None
    bait_use: Optional[bool] = None
    feature_type: Optional[str] = Field(default=None, max_length=64)
    habitat: Optional[str] = Field(default=None, max_length=200)
    setup_by: Optional[str] = Field(default=None, max_length=200)
    sd_card: Optional[str] = Field(default=None, max_length=100)
    deployment_groups: Optional[str] = Field(default=None, max_length=200)
    deployment_tags: Optional[str] = Field(default=None, max_length=200)
    deployment_comments: Optional[str] = None
    settings: Optional[dict[str, Any]] = None

    _tz = field_validator("timezone")(classmethod(lambda cls, v: _check_tz(v)))


class IntervalOut(Out):
    id: str
    deployment_id: str
    start: datetime
    end: datetime
    status: str
    reason: Optional[str]


class IntervalIn(In):
    start: BoundedDatetime
    end: BoundedDatetime
    status: Literal["operating", "malfunction"] = "malfunction"
    reason: Optional[str] = None

    @model_validator(mode="after")
    def _order(self):
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class DeploymentOut(Out):
    id: str
    program_id: str
    location_id: str
    kind: str
    deployment_start: datetime
    deployment_end: Optional[datetime]
    timezone: str
    clock_offset_s: int
    camera_id: Optional[str]
    camera_model: Optional[str]
    camera_delay: Optional[int]
    camera_height: Optional[float]
    camera_depth: Optional[float]
    camera_tilt: Optional[int]
    camera_heading: Optional[int]
    detection_distance: Optional[float]
    timestamp_issues: bool
    bait_use: bool
    feature_type: Optional[str]
    habitat: Optional[str]
    setup_by: Optional[str]
    sd_card: Optional[str]
    deployment_groups: Optional[str]
    deployment_tags: Optional[str]
    deployment_comments: Optional[str]
    settings: dict[str, Any]
    operating_intervals: list[IntervalOut] = Field(default_factory=list)


# ---- taxa -------------------------------------------------------------------
IUCN = Literal["EX", "EW", "CR", "EN", "VU", "NT", "LC", "DD", "NE"]
# Sách Đỏ Việt Nam 2007's categories (LR: ít nguy cấp) and the IUCN's (later national lists).
VN_REDLIST = Literal["EX", "EW", "CR", "EN", "VU", "LR", "NT", "LC", "DD", "NE"]
CITES = Literal["I", "II", "III"]


class TaxonIn(In):
    scientific_name: str = Field(min_length=2, max_length=200)
    rank: Literal["kingdom", "phylum", "class", "order", "family", "genus", "species", "subspecies"] = "species"
    vietnamese_name: Optional[str] = Field(default=None, max_length=200)
    english_name: Optional[str] = Field(default=None, max_length=200)
    taxon_group: Optional[str] = Field(default=None, max_length=64)
    parent_id: Optional[str] = None
    iucn_category: Optional[IUCN] = None
    vn_redlist_category: Optional[VN_REDLIST] = None
    decree84_group: Optional[Literal["IB", "IIB"]] = None
    cites_appendix: Optional[CITES] = None
    sensitive: bool = False
    source: Optional[str] = Field(default=None, max_length=200)
    notes: Optional[str] = None
    other_names: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=50, description="alternative names (local, former scientific, trade)")


class TaxonPatch(Patch):
    __table_model__ = Taxon
    scientific_name: Optional[str] = Field(default=None, min_length=2, max_length=200)
    rank: Optional[Literal["kingdom", "phylum", "class", "order", "family", "genus", "species", "subspecies"]] = None
    vietnamese_name: Optional[str] = Field(default=None, max_length=200)
    english_name: Optional[str] = Field(default=None, max_length=200)
    taxon_group: Optional[str] = Field(default=None, max_length=64)
    parent_id: Optional[str] = None
    iucn_category: Optional[IUCN] = None
    vn_redlist_category: Optional[VN_REDLIST] = None
    decree84_group: Optional[Literal["IB", "IIB"]] = None
    cites_appendix: Optional[CITES] = None
    sensitive: Optional[bool] = None
    source: Optional[str] = Field(default=None, max_length=200)
    notes: Optional[str] = None
    other_names: Optional[list[Annotated[str, Field(min_length=1, max_length=200)]]] = Field(
        default=None, max_length=50)


class TaxonOut(Out):
    id: str
    scientific_name: str
    rank: str
    vietnamese_name: Optional[str]
    english_name: Optional[str]
    taxon_group: Optional[str]
    parent_id: Optional[str]
    iucn_category: Optional[str]
    vn_redlist_category: Optional[str]
    decree84_group: Optional[str]
    cites_appendix: Optional[str] = None
    sensitive: bool
    source: Optional[str] = None
    lineage: str = Field(default="", description="the ancestors' scientific names from the top, '|'-separated")
    notes: Optional[str] = None
    other_names: list[str] = []


# ---- users, memberships, tokens ---------------------------------------------------
PASSWORD_POLICY = ("At least 10 characters, not the username nor containing it, not one of the 30,000 "
                   "most common passwords, and not easy to guess (zxcvbn score 2 or more); "
                   "a password breaking a rule is refused with 422 weak_password.")


class UserIn(In):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(max_length=256, description=PASSWORD_POLICY)
    full_name: Optional[str] = Field(default=None, max_length=200)
    email: Optional[str] = Field(default=None, max_length=200)
    is_admin: bool = False
    is_national: bool = Field(default=False, description="Reads the national views across every area (hub).")
    language: Literal["vi", "en"] = "vi"


class UserPatch(Patch):
    __table_model__ = User
    __not_null__ = frozenset({"password"})
    password: Optional[str] = Field(default=None, max_length=256, description=PASSWORD_POLICY)
    current_password: Optional[str] = Field(default=None, max_length=256,
                                            description="Your current password; needed to change your own.")
    full_name: Optional[str] = Field(default=None, max_length=200)
    email: Optional[str] = Field(default=None, max_length=200)
    is_admin: Optional[bool] = None
    is_national: Optional[bool] = None
    language: Optional[Literal["vi", "en"]] = None
    active: Optional[bool] = None


class UserOut(Out):
    id: str
    username: str
    full_name: Optional[str]
    email: Optional[str]
    is_admin: bool
    is_national: bool
    language: str
    active: bool


class MembershipIn(In):
    user_id: str
    role: Literal["viewer", "ranger", "biologist", "manager"]


class MembershipOut(Out):
    id: str
    user_id: str
    area_id: str
    role: str


class TokenRequest(In):
    username: str
    password: str
    name: Optional[str] = Field(default=None, max_length=200)
    days: int = Field(default=90, ge=1, description="Lifetime in days, at most SAOLA_TOKEN_MAX_DAYS "
                      "(365 unless configured); longer is refused with 422.")


class DeviceRegistration(In):
    username: str
    password: str
    device_id: str = Field(min_length=4, max_length=64)
    device_name: Optional[str] = Field(default=None, max_length=200)


class TokenOut(Out):
    id: str
    kind: str
    name: Optional[str]
    device_id: Optional[str]
    prefix: str
    created_at: datetime
    expires_at: Optional[datetime]
    revoked_at: Optional[datetime]


class NewToken(BaseModel):
    token: str
    token_id: str
    expires_at: Optional[datetime]
    user: UserOut


# ---- jobs, audit -----------------------------------------------------------------
class JobOut(Out):
    id: str
    kind: str
    status: str
    params: dict[str, Any]
    area_id: Optional[str]
    attempts: int
    max_attempts: int
    progress_done: int
    progress_total: int
    error: Optional[str]
    failures: list[Any]
    result: dict[str, Any]
    created_at: datetime
    started_at: Optional[datetime]
    finished_at: Optional[datetime]


class AuditOut(Out):
    id: int
    at: datetime
    user_id: Optional[str]
    actor: Optional[str]
    area_id: Optional[str]
    action: str
    entity: str
    entity_id: str
    before: Optional[Any]
    after: Optional[Any]


# ---- list filters ------------------------------------------------------------------
class ListQuery(In):
    limit: Limit = 50
    offset: Offset = 0


class ProgramQuery(ListQuery):
    area_id: Optional[str] = None
    protocol: Optional[str] = None


class LocationQuery(ListQuery):
    area_id: Optional[str] = None
    name: Optional[str] = None


class DeploymentQuery(ListQuery):
    area_id: Optional[str] = None
    program_id: Optional[str] = None
    location_id: Optional[str] = None
    kind: Optional[Literal["camera", "acoustic"]] = None
    camera_id: Optional[str] = None
    active_at: Optional[BoundedDatetime] = None


class TaxonQuery(ListQuery):
    q: Optional[str] = Field(default=None, description="any name, with or without Vietnamese diacritics")
    rank: Optional[str] = None
    taxon_group: Optional[str] = None
    iucn_category: Optional[str] = None
    sensitive: Optional[bool] = None


class JobQuery(ListQuery):
    area_id: Optional[str] = None
    status: Optional[Literal["queued", "running", "done", "failed", "cancelled"]] = None
    kind: Optional[str] = None


class AuditQuery(ListQuery):
    entity: Optional[str] = None
    entity_id: Optional[str] = None
    action: Optional[Literal["create", "update", "delete"]] = None
    since: Optional[BoundedDatetime] = None


class AreaQuery(ListQuery):
    code: Optional[str] = None


class UserQuery(ListQuery):
    q: Optional[str] = None
