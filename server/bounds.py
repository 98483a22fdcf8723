"""Input bounds: the ranges Saola accepts, in one place, each refused with a clear 4xx.

A probe found that unbounded input reached code that assumed sane values: a
deployment from year 1 to 9999 made analyses loop over 3.6 million days and
the calendar overflow Python's dates (500 "year 10000 is out of range");
``offset=10**25`` overflowed the database integer; JSON nested 1,000 deep
exhausted the parser's recursion; ``1e308`` seconds overflowed a timedelta.

- **Dates** (deployment window, operating intervals, program dates, query
  ranges, analysis windows, sync documents): from :data:`EARLIEST_DATE`
  (1970-01-01, what a reset device clock reads; no digital field record is
  older) to 31 December :data:`YEARS_AHEAD` (10) years after the current year.
  The range is defined in ``protocols`` so the field app refuses the same
  dates before they are synced.
- **Numbers** in JSON bodies are finite: ``NaN``, ``Infinity`` and literals
  that overflow to infinity (``1e999``) are refused by the parser; input
  schemas refuse them too (``allow_inf_nan=False``).
- **JSON** bodies nest at most :data:`MAX_JSON_DEPTH` levels.
- **Pages**: ``limit`` 1..500, ``offset`` 0..:data:`MAX_OFFSET`.
- **Text** in input schemas: at most :data:`MAX_TEXT` characters per string
  (fields with their own, smaller ``max_length`` keep it).
- **Analyses** that build a day-by-day matrix span at most
  :data:`MAX_ANALYSIS_DAYS` days (20 years); narrow a longer program with
  ``start``/``end`` or ``year``.
- **Area boundaries** are GeoJSON Polygon or MultiPolygon geometries of
  longitude/latitude positions (at most :data:`MAX_BOUNDARY_POSITIONS`): the
  map, the report and the field app draw them as such.
- A program's ``settings.species_list`` is a list of scientific names.
"""
from __future__ import annotations

import math
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator

from protocols.validation import EARLIEST_DATE, YEARS_AHEAD, date_in_range, latest_date

__all__ = ["MAX_TEXT", "EARLIEST_DATE", "YEARS_AHEAD", "MAX_JSON_DEPTH", "MAX_OFFSET", "MAX_ANALYSIS_DAYS", "MAX_RECORDING_S",
           "date_in_range", "latest_date", "date_range_text", "check_date", "BoundedDate", "BoundedDatetime",
           "BoundedYear", "json_depth", "int_arg", "check_boundary", "check_species_list", "MAX_BOUNDARY_POSITIONS"]

MAX_JSON_DEPTH = 64  # a GeoJSON MultiPolygon in a document is about 8 deep
MAX_OFFSET = 1_000_000_000  # far beyond any table here, far below the databases' 64-bit integers
MAX_ANALYSIS_DAYS = 7320  # 20 years of daily camera-operation columns
MAX_RECORDING_S = 7 * 86400  # positions inside a recording (no recorder writes a week-long file)
MAX_TEXT = 10_000  # characters of one string field (comments, notes, names, ids, filters)
MAX_BOUNDARY_POSITIONS = 200_000
MAX_SPECIES_LIST = 20_000


def date_range_text() -> str:
    """The accepted range, for messages: ``1970-01-01 and 2036-12-31``."""
    return f"{EARLIEST_DATE.isoformat()} and {latest_date().isoformat()}"


def check_date(value: date | datetime | None, field: str = "date") -> None:
    """Raise the API's 422 naming ``field`` when ``value`` lies outside the accepted range."""
    if value is not None and not date_in_range(value):
        from .errors import ValidationError

        msg = f"{field} must be between {date_range_text()} (got {value.isoformat()})"
        raise ValidationError(msg, details=[{"field": field, "message": msg}])


def _in_range(value: Any) -> Any:
    if not date_in_range(value):
        raise ValueError(f"must be between {date_range_text()}")
    return value


def _year_in_range(value: int) -> int:
    if not EARLIEST_DATE.year <= value <= latest_date().year:
        raise ValueError(f"must be between {EARLIEST_DATE.year} and {latest_date().year}")
    return value


#: A date (or date-time) field of an input schema, refused outside the accepted range.
BoundedDate = Annotated[date, AfterValidator(_in_range)]
#: The largest camera clock correction, in seconds either way: 60 years, so a camera whose clock
#: restarted at 1970-01-01 can be corrected (still within a 32-bit integer column).
MAX_CLOCK_OFFSET_S = 60 * 365 * 86400

BoundedDatetime = Annotated[datetime, AfterValidator(_in_range)]
BoundedYear = Annotated[int, AfterValidator(_year_in_range)]


def int_arg(text: str | None, default: int, lo: int, hi: int) -> int:
    """A page's integer query parameter, clamped to ``lo``..``hi`` (``default`` when absent or not a number).

    Pages are not an API: an out-of-range ``?offset=`` shows the nearest page instead of an error
    (``offset=10**25`` overflowed the database's integers: a 500).
    """
    try:
        value = int(text) if text is not None and len(text) <= 24 else default
    except ValueError:
        value = default
    return min(max(value, lo), hi)


def json_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> int:
    """Nesting depth of parsed JSON (a scalar is 0, ``[]`` is 1), counted up to ``limit + 1``.

    Iterative, so it cannot itself run out of stack on hostile input.
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        stack.extend((c, depth) for c in children if isinstance(c, (dict, list)))
    return deepest


def _position_ok(p: Any) -> bool:
    return (isinstance(p, list) and 2 <= len(p) <= 3
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in p)
            and -180 <= p[0] <= 180 and -90 <= p[1] <= 90)


def check_boundary(value: Any) -> Any:
    """``value`` when it is a GeoJSON Polygon/MultiPolygon of [lon, lat] positions; ValueError saying what is wrong."""
    if value is None:
        return value
    if not isinstance(value, dict) or value.get("type") not in ("Polygon", "MultiPolygon"):
        raise ValueError("must be a GeoJSON geometry of type Polygon or MultiPolygon")
    extra = set(value) - {"type", "coordinates", "bbox"}
    if extra:
        raise ValueError(f"unknown GeoJSON members: {', '.join(sorted(extra))}")
    coords = value.get("coordinates")
    polygons = [coords] if value["type"] == "Polygon" else coords
    if not isinstance(polygons, list) or not polygons:
        raise ValueError("coordinates must be a non-empty list")
    n = 0
    for poly in polygons:
        if not isinstance(poly, list) or not poly:
            raise ValueError("each polygon must be a non-empty list of rings")
        for ring in poly:
            if not isinstance(ring, list) or len(ring) < 4:
                raise ValueError("each ring must be a list of at least 4 positions")
            for pos in ring:
                if not _position_ok(pos):
                    raise ValueError(f"a position must be [longitude, latitude] within -180..180 and -90..90, "
                                     f"got {str(pos)[:40]}")
            n += len(ring)
            if n > MAX_BOUNDARY_POSITIONS:
                raise ValueError(f"more than {MAX_BOUNDARY_POSITIONS} positions: simplify the boundary")
    return value


def check_species_list(settings: Any) -> Any:
    """``settings`` when its ``species_list`` (if any) is a list of names; ValueError otherwise."""
    if isinstance(settings, dict) and "species_list" in settings:
        names = settings["species_list"]
        if names is not None and (not isinstance(names, list) or len(names) > MAX_SPECIES_LIST
                                  or not all(isinstance(n, str) and 0 < len(n) <= 200 for n in names)):
            raise ValueError(f"species_list must be a list of scientific names (at most {MAX_SPECIES_LIST}, "
                             "each 1 to 200 characters)")
    return settings
