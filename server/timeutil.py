"""Time conversions. Stored times are aware UTC; devices speak local time."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``, or ValueError naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name like Asia/Ho_Chi_Minh)") from None


def to_utc(value: datetime, tz: str = "UTC") -> datetime:
    """Aware UTC for ``value``; a naive value is read as local time in ``tz``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone(tz))
    return value.astimezone(timezone.utc)


def as_utc(value: datetime | None) -> datetime | None:
    """Make a value read back from the database aware UTC (SQLite drops the zone)."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
