"""The sync document of a field record, and its projection onto the tables.

A document is what the tablet sends as a mutation's ``data``::

    {"protocol": "line_transect@1.0", "record_type": "observation",
     "program_id": "...", "recorded_at": "...", "walk_id": "..." | "deployment_id": "...",
     "data": {...the protocol record...}}

The server keeps the document whole (``data`` column) and projects the fields
it queries (taxon, distances, position, time...) onto columns.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Protocol

from pydantic_core import PydanticUndefined

import protocols

from ..bounds import EARLIEST_DATE, date_in_range, latest_date
from ..i18n import in_both
from ..models import FieldObservation, Program, SurveyWalk

# Tablet entity name -> table model.
ENTITIES = {"walk": SurveyWalk, "observation": FieldObservation, "threat": FieldObservation,
            "deployment": FieldObservation}
ENVELOPE_KEYS = ("protocol", "record_type", "program_id", "recorded_at", "walk_id", "deployment_id", "status",
                 "distance_m")
WALK_STATUSES = ("active", "paused", "done")


class DocumentError(ValueError):
    """The document cannot be stored; ``errors`` lists field problems (en/vi messages)."""

    def __init__(self, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.errors = errors or [{"field": "", "en": message, "vi": message}]


def _time(value: Any) -> datetime | None:
    dt = protocols.parse_datetime(value) if value else None
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def load_protocol(key: str):
    """The protocol named ``name@version``; a version newer than the server knows is refused."""
    if not isinstance(key, str) or "@" not in key:
        raise DocumentError(f"protocol must be 'name@version', got {key!r}")
    name, version = key.split("@", 1)
    try:
        return protocols.load(name, version)
    except protocols.ProtocolNotFound as e:
        raise DocumentError(f"unknown protocol {key}: {e}") from None


def validate_document(doc: Any, protocol: Callable[[Any], Any] = load_protocol) -> tuple[Any, str]:
    """Check a document's envelope and its record against its protocol; (protocol, record_type).

    ``protocol`` finds a protocol by its ``name@version`` key (a sync push passes one that
    remembers the protocols of the batch).
    """
    if not isinstance(doc, dict):
        raise DocumentError("data must be a JSON object")
    unknown = set(doc) - set(ENVELOPE_KEYS) - {"data"}
    if unknown:
        raise DocumentError(f"unknown keys in data: {', '.join(sorted(unknown))}")
    proto = protocol(doc.get("protocol"))
    recorded = protocols.parse_datetime(doc.get("recorded_at"))
    if recorded is not None and not date_in_range(recorded):
        text = in_both("recorded_at must be between {earliest} and {latest} (got {value!r}); check the device clock",
                       earliest=EARLIEST_DATE.isoformat(), latest=latest_date().isoformat(), value=doc["recorded_at"])
        raise DocumentError(text["en"], [{"field": "recorded_at", **text}])
    record = doc.get("data")
    if not isinstance(record, dict):
        raise DocumentError("data.data (the protocol record) must be a JSON object")
    rtype = doc.get("record_type")
    if rtype not in proto.records:
        raise DocumentError(f"record_type {rtype!r} is not one of {', '.join(proto.records)} in {proto.key}")
    errors = protocols.validate(proto, record, rtype)
    if errors:
        details = [{"field": e.path if hasattr(e, "path") else "", "en": e.message("en"), "vi": e.message("vi")}
                   for e in errors]
        raise DocumentError("; ".join(d["en"] for d in details[:5]), details)
    return proto, rtype


def taxon_name(record: dict) -> str | None:
    t = record.get("taxon")
    if isinstance(t, dict):
        return t.get("scientific_name") or t.get("id")
    return t if isinstance(t, str) and t.strip() else None


class Lookups(Protocol):
    """What :func:`project` needs from the database (a sync push answers from what it loaded once)."""

    def walk_exists(self, walk_id: str) -> bool: ...

    def taxon_id(self, name: str) -> str | None: ...


def project(lookups: Lookups, entity: str, row: Any, doc: dict, program: Program) -> None:
    """Copy the queried fields of ``doc`` onto ``row`` (a walk's or observation's column values)."""
    rec = doc["data"]
    if entity == "walk":
        row.program_id = program.id
        row.started_at = _time(rec.get("start_time")) or _time(doc.get("recorded_at")) or row.started_at
        row.ended_at = _time(rec.get("end_time"))
        row.observers = list(rec.get("observers") or [])
        row.weather = rec.get("weather")
        row.track = list(rec.get("track") or [])
        status = doc.get("status")
        row.status = status if status in WALK_STATUSES else ("done" if row.ended_at else "active")
        if isinstance(doc.get("distance_m"), (int, float)):
            row.distance_m = float(doc["distance_m"])
        row.data = doc
        return
    row.program_id = program.id
    walk_id = doc.get("walk_id")
    row.walk_id = walk_id if walk_id and lookups.walk_exists(walk_id) else None
    row.protocol = doc["protocol"]
    row.record_type = doc["record_type"]
    name = taxon_name(rec)
    row.taxon_id = None
    if name:
        taxon_id = lookups.taxon_id(name)
        if taxon_id is None:
            raise DocumentError(f"unknown species {name!r}: not in the species reference",
                                [{"field": "taxon", **in_both("unknown species {name!r}", name=name)}])
        row.taxon_id = taxon_id
    row.unidentified = bool(rec.get("unidentified"))
    row.sign_type = rec.get("sign_type")
    row.count = rec.get("count")
    row.distance_m = rec.get("distance_m")
    row.bearing_deg = rec.get("bearing_deg")
    row.perpendicular_distance_m = rec.get("perpendicular_distance_m")
    loc = rec.get("location") or {}
    row.latitude, row.longitude = loc.get("lat"), loc.get("lon")
    row.observed_at = (_time(rec.get("observed_at")) or _time(rec.get("visit_time")) or _time(rec.get("start_time"))
                       or _time(rec.get("end_time")) or _time(doc.get("recorded_at")) or row.observed_at)
    row.habitat = rec.get("habitat")
    row.note = rec.get("note") or rec.get("malfunction_notes")
    row.photos = photos_of(rec)
    row.data = doc


def photos_of(rec: dict) -> list[str]:
    """SHA-256 of the photos a protocol record lists (``photos`` and a deployment's ``setup_photo``)."""
    photos: list[str] = []
    for key in ("photos", "setup_photo"):
        v = rec.get(key)
        if isinstance(v, list):
            photos += [p for p in v if isinstance(p, str)]
    return photos


def new_values(entity: str, record_id: str, doc: dict) -> dict[str, Any]:
    """Column values of a record not stored yet: the model's defaults, its id, program and protocol."""
    constants, factories = _defaults(ENTITIES[entity])
    values = dict(constants)
    for name, make in factories:
        values[name] = make()
    now = datetime.now(timezone.utc)
    values.update(id=record_id, program_id=doc.get("program_id") or "", revision=0)
    if entity == "walk":
        values["started_at"] = now
    else:
        values.update(protocol=doc.get("protocol", ""), observed_at=now)
    return values


_DEFAULTS: dict[type, tuple[dict[str, Any], list[tuple[str, Any]]]] = {}


def _defaults(model: type) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """The model's column defaults, read once: (constant ones, [(column, factory)])."""
    if model not in _DEFAULTS:
        constants: dict[str, Any] = {}
        factories = []
        for col in model.__table__.columns:  # type: ignore[attr-defined]
            f = model.model_fields.get(col.name)  # type: ignore[attr-defined]
            if f is not None and f.default_factory is not None:
                factories.append((col.name, f.default_factory))
            elif f is None or f.default is PydanticUndefined:
                constants[col.name] = None
            else:
                assert not isinstance(f.default, (list, dict, set)), "mutable defaults come from factories"
                constants[col.name] = f.default
        _DEFAULTS[model] = (constants, factories)
    return _DEFAULTS[model]
