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


# ---- showing times to people -------------------------------------------------------------------
# Stored and API times are UTC; pages show the deployment's local time with its zone ("20:43:09 +07"),
# so a Reconyx photo stamped 20:43 reads 20:43, not 13:43. One helper for templates and JSON.
LOCAL_STYLES = ("datetime", "minute", "time", "date")


def zone_or_utc(name: str | None):
    """The IANA zone ``name``; UTC when it is empty or unknown (a page never fails on a bad zone)."""
    try:
        return zone(name) if name else timezone.utc
    except ValueError:
        return timezone.utc


def offset_text(value: datetime) -> str:
    """The UTC offset of an aware time as people write it: ``+07``, ``-03:30``, ``+00``."""
    off = value.utcoffset()
    minutes = int(off.total_seconds() // 60) if off is not None else 0
    sign = "-" if minutes < 0 else "+"
    h, m = divmod(abs(minutes), 60)
    return f"{sign}{h:02d}" + (f":{m:02d}" if m else "")


def to_local(value: datetime | None, tz: str | None) -> datetime | None:
    """``value`` (UTC, aware or naive as SQLite returns it) in the zone ``tz``."""
    if value is None:
        return None
    try:
        return as_utc(value).astimezone(zone_or_utc(tz))
    except OverflowError:  # the first or last day datetime can hold: shown in UTC, said so (+00)
        return as_utc(value)


def format_local(value: datetime | None, tz: str | None, style: str = "datetime") -> str:
    """A stored time as local time in ``tz`` with its offset: ``2026-03-01 20:43:09 +07``.

    ``style``: datetime, minute (no seconds), time (no date) or date (the local
    calendar day, no offset). Empty for None.
    """
    local = to_local(value, tz)
    if local is None:
        return ""
    if style not in LOCAL_STYLES:
        raise ValueError(f"style must be one of {', '.join(LOCAL_STYLES)}, got {style!r}")
    # Formatted by hand: strftime's %Y drops the zeros of years below 1000 on Linux.
    day = f"{local.year:04d}-{local.month:02d}-{local.day:02d}"
    if style == "date":
        return day
    clock = f"{local.hour:02d}:{local.minute:02d}" + (f":{local.second:02d}" if style != "minute" else "")
    return f"{clock if style == 'time' else day + ' ' + clock} {offset_text(local)}"


def local_iso(value: datetime | None, tz: str | None) -> str | None:
    """ISO 8601 of the local time with its numeric offset (``2026-03-01T20:43:09+07:00``)."""
    local = to_local(value, tz)
    return local.isoformat() if local is not None else None


def format_raw(value: datetime | None) -> str:
    """The device's own clock reading (naive, as written in the file): ``2026-03-01 20:43:09``."""
    if value is None:
        return ""
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")
