"""Validate a field record against its protocol, and fill defaults and computed fields.

Used by the app before saving (so the ranger sees the problem at once, in
Vietnamese) and by the server on every pushed mutation (so nothing malformed
is stored). Returns every problem, not just the first, so a form can mark all
bad fields together.
"""
from __future__ import annotations

import math
import re
from datetime import date, datetime

from .geometry import COMPUTED
from .loader import Protocol, RecordType
from .messages import FieldError

# Keys the app and server attach to every record; they are not protocol fields.
META_KEYS = frozenset({"id", "record_type", "protocol", "protocol_version"})
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_TIMEZONE = re.compile(r"^(UTC|UTC[+-](0\d|1[0-4]):[0-5]\d|[A-Z][A-Za-z_]+(/[A-Za-z0-9_+\-]+)+)$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")
# Computed values are rounded to 0.1 m; allow for the app and server rounding differently.
_COMPUTED_TOLERANCE = 0.5
# Dates a record (and anything the server accepts) may carry: from 1970-01-01, what a reset
# tablet or camera clock reads (no digital field record is older), to 31 December ten years
# after the current year (clocks set ahead, planned programme ends). Outside it a date is a
# typo or a broken clock, and years like 1 or 9999 made analyses loop over millions of days.
EARLIEST_DATE = date(1970, 1, 1)
YEARS_AHEAD = 10


def latest_date(today: date | None = None) -> date:
    """The last date accepted: 31 December, :data:`YEARS_AHEAD` years after ``today``'s year."""
    return date((today or date.today()).year + YEARS_AHEAD, 12, 31)


def date_in_range(value: date | datetime) -> bool:
    """True when ``value`` (its calendar date) lies between EARLIEST_DATE and :func:`latest_date`."""
    d = value.date() if isinstance(value, datetime) else value
    return EARLIEST_DATE <= d <= latest_date()


def _missing(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def parse_datetime(value) -> datetime | None:
    """Parse an ISO 8601 date-time that carries a UTC offset; None if it does not."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _condition_holds(cond: dict, record: dict) -> bool:
    other = record.get(cond["field"])
    if "equals" in cond:
        return other == cond["equals"]
    return other in cond["in"]


def _is_required(f: dict, record: dict) -> bool:
    if f.get("required"):
        return True
    if "required_if" in f and _condition_holds(f["required_if"], record):
        return True
    if "required_unless" in f and not _condition_holds(f["required_unless"], record):
        return True
    return False


class _Checker:
    def __init__(self):
        self.errors: list[FieldError] = []

    def add(self, path, code, f=None, **params):
        self.errors.append(FieldError(path, code, params, dict(f["label"]) if f else {}))

    def record(self, fields, record: dict, prefix: str = "") -> None:
        by_name = {f["name"]: f for f in fields}
        for key in record:
            if key not in by_name and key not in META_KEYS:
                self.add(prefix + key, "unknown_field", None)
        for f in fields:
            path = prefix + f["name"]
            value = record.get(f["name"])
            if _missing(value):
                if _is_required(f, record):
                    self.add(path, "required", f)
                continue
            self.value(f, value, path, record, by_name)

    def value(self, f, value, path, record, by_name) -> None:
        kind = f["type"]
        unit = f.get("unit", "")
        if kind in ("string", "text"):
            if not isinstance(value, str):
                return self.add(path, "type_string", f)
            if len(value) > f.get("max_length", 10_000):
                self.add(path, "max_length", f, max_length=f["max_length"])
        elif kind in ("integer", "number"):
            if kind == "integer" and not (isinstance(value, int) and not isinstance(value, bool)):
                return self.add(path, "type_integer", f)
            if not _is_number(value):
                return self.add(path, "type_number", f)
            if "min" in f and value < f["min"]:
                self.add(path, "min", f, min=f["min"], unit=unit, value=value)
            if "max" in f and value > f["max"]:
                self.add(path, "max", f, max=f["max"], unit=unit, value=value)
            if "allowed" in f and value not in f["allowed"]:
                self.add(path, "allowed", f, allowed=", ".join(map(str, f["allowed"])), value=value)
            if "computed" in f:
                self.computed(f, value, path, record)
        elif kind == "boolean":
            if not isinstance(value, bool):
                self.add(path, "type_boolean", f)
        elif kind == "choice":
            values = [c["value"] for c in f["choices"]]
            if value not in values:
                self.add(path, "choice", f, value=value, choices=", ".join(values))
        elif kind == "datetime":
            parsed = parse_datetime(value)
            if parsed is None:
                return self.add(path, "datetime", f, value=value)
            if not date_in_range(parsed):
                return self.add(path, "date_range", f, value=value, earliest=EARLIEST_DATE.isoformat(),
                                latest=latest_date().isoformat())
            for key, code, bad in (("not_before", "not_before", lambda a, b: a < b),
                                   ("not_after", "not_after", lambda a, b: a > b)):
                other = parse_datetime(record.get(f.get(key))) if key in f else None
                if other is not None and bad(parsed, other):
                    self.add(path, code, f, other=dict(by_name[f[key]]["label"]))
        elif kind == "date":
            try:
                day = date.fromisoformat(value)
            except (TypeError, ValueError):
                return self.add(path, "date", f, value=value)
            if not date_in_range(day):
                self.add(path, "date_range", f, value=value, earliest=EARLIEST_DATE.isoformat(),
                         latest=latest_date().isoformat())
        elif kind == "time":
            if not isinstance(value, str) or not _TIME.match(value):
                self.add(path, "time", f, value=value)
        elif kind == "timezone":
            if not isinstance(value, str) or not _TIMEZONE.match(value):
                self.add(path, "timezone", f, value=value)
        elif kind == "taxon":
            ok = isinstance(value, str) and value.strip()
            if isinstance(value, dict):
                ok = any(isinstance(value.get(k), str) and value[k].strip() for k in ("id", "scientific_name"))
            if not ok:
                self.add(path, "taxon", f)
        elif kind == "geopoint":
            if not isinstance(value, dict):
                return self.add(path, "type_object", f)
            lat, lon = value.get("lat"), value.get("lon")
            if not (_is_number(lat) and _is_number(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
                self.add(path, "geopoint", f)
            acc = value.get("accuracy_m")
            if acc is not None and (not _is_number(acc) or acc < 0):
                self.add(path + ".accuracy_m", "min", f, min=0, unit="m", value=acc)
        elif kind in ("photos", "string_list", "track", "group_list"):
            self.sequence(f, value, path)

    def sequence(self, f, value, path) -> None:
        if not isinstance(value, list):
            return self.add(path, "type_list", f)
        if len(value) < f.get("min_items", 0):
            self.add(path, "min_items", f, min_items=f["min_items"])
        if "max_items" in f and len(value) > f["max_items"]:
            self.add(path, "max_items", f, max_items=f["max_items"])
        kind = f["type"]
        for i, item in enumerate(value):
            if kind == "photos" and not (isinstance(item, str) and _SHA256.match(item)):
                self.add(f"{path}[{i}]", "photo", f, index=i + 1)
            elif kind == "string_list":
                if not isinstance(item, str):
                    self.add(f"{path}[{i}]", "type_string", f)
                elif not item.strip():
                    self.add(f"{path}[{i}]", "empty", f)
            elif kind == "track" and not _track_point_ok(item):
                self.add(f"{path}[{i}]", "track_point", f, index=i + 1)
                return  # one bad point is enough to say; a track can have thousands
            elif kind == "group_list":
                if not isinstance(item, dict):
                    self.add(f"{path}[{i}]", "type_object", f)
                else:
                    self.record(f["item_fields"], item, prefix=f"{path}[{i}].")

    def computed(self, f, value, path, record) -> None:
        comp = f["computed"]
        args = [record.get(a) for a in comp.get("args", [])]
        if all(_is_number(a) for a in args):
            expected = COMPUTED[comp["function"]](*args)
            if abs(expected - value) > _COMPUTED_TOLERANCE:
                self.add(path, "computed", f, value=value, expected=expected)


def _track_point_ok(point) -> bool:
    if not isinstance(point, (list, tuple)) or len(point) not in (3, 4):
        return False
    lon, lat, t = point[0], point[1], point[2]
    if not (_is_number(lon) and _is_number(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        return False
    if parse_datetime(t) is None and not _is_number(t):
        return False
    return len(point) == 3 or point[3] is None or (_is_number(point[3]) and point[3] >= 0)


def _resolve(protocol: Protocol, record, record_type: str | None):
    name = record_type or (record.get("record_type") if isinstance(record, dict) else None)
    if name is None:
        return protocol.record_type(), None
    if name not in protocol.records:
        return None, FieldError("record_type", "record_type",
                                {"value": name, "protocol": protocol.key, "choices": ", ".join(protocol.records)})
    return protocol.records[name], None


def validate(protocol: Protocol, record: dict, record_type: str | None = None) -> list[FieldError]:
    """Every problem with ``record`` under ``protocol``; an empty list means valid.

    The record type comes from ``record_type``, else the record's own
    "record_type" key, else the protocol's first record type. Each FieldError
    names the field path and has ``message("vi")`` / ``message("en")``.
    """
    if not isinstance(record, dict):
        return [FieldError("", "not_an_object")]
    rt, error = _resolve(protocol, record, record_type)
    if error:
        return [error]
    checker = _Checker()
    checker.record(rt.fields, record)
    return checker.errors


def _complete_fields(fields, record: dict) -> dict:
    out = dict(record)
    for f in fields:
        if _missing(out.get(f["name"])) and "default" in f:
            out[f["name"]] = f["default"]
    for f in fields:
        comp = f.get("computed")
        if comp:
            args = [out.get(a) for a in comp.get("args", [])]
            if all(_is_number(a) for a in args):
                out[f["name"]] = COMPUTED[comp["function"]](*args)
        if f["type"] == "group_list" and isinstance(out.get(f["name"]), list):
            out[f["name"]] = [_complete_fields(f["item_fields"], i) if isinstance(i, dict) else i
                              for i in out[f["name"]]]
    return out


def complete(protocol: Protocol, record: dict, record_type: str | None = None) -> dict:
    """A copy of ``record`` with defaults filled in and computed fields (re)computed.

    The app calls this before validate() and save, so the perpendicular
    distance stored is always the one that follows from distance and bearings.
    """
    rt: RecordType | None
    rt, error = _resolve(protocol, record, record_type)
    if error:
        raise KeyError(error.message("en"))
    return _complete_fields(rt.fields, record)
