"""Helpers shared by the exporters: what to export (scope), time formatting, CSV writing."""
from __future__ import annotations

import csv
import os
import shutil
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator

from sqlmodel import Session, select

from ..bounds import date_in_range, date_range_text
from ..errors import NotFound, ValidationError
from ..models import Program, ProtectedArea
from ..timeutil import as_utc, zone


@dataclass
class Scope:
    """The programs an export covers: one program, or every program of a protected area."""

    area: ProtectedArea
    programs: list[Program]
    title: str

    @property
    def program_ids(self) -> list[str]:
        return [p.id for p in self.programs]


#: The national network as an export's scope (a hub: every protected area, issue 18).
NETWORK_CODE = "NETWORK"
NETWORK_TITLE = "National biodiversity monitoring network"


def resolve_scope(session: Session, program_id: str | None = None, area_id: str | None = None,
                  network: bool = False) -> Scope:
    """The Scope of ``program_id`` or of ``area_id`` (id or code); exactly one must be given.

    ``network`` (neither of the others): every program of every protected area, under an
    unsaved ProtectedArea named for the network (the exports' publisher and package name).
    """
    if network:
        if program_id or area_id:
            raise ValidationError("a network export covers every area: give no program or protected area")
        programs = list(session.exec(select(Program).order_by(Program.area_id, Program.name)))
        return Scope(ProtectedArea(id=NETWORK_CODE.lower(), code=NETWORK_CODE, name=NETWORK_TITLE), programs,
                     NETWORK_TITLE)
    if bool(program_id) == bool(area_id):
        raise ValidationError("give exactly one of program or protected area to export")
    if program_id:
        p = session.get(Program, program_id)
        if p is None:
            raise NotFound(f"no program {program_id!r}")
        area = session.get(ProtectedArea, p.area_id)
        return Scope(area, [p], f"{area.name}: {p.name}")
    area = session.get(ProtectedArea, area_id) or session.exec(
        select(ProtectedArea).where(ProtectedArea.code == area_id)).first()
    if area is None:
        raise NotFound(f"no protected area {area_id!r}")
    programs = list(session.exec(select(Program).where(Program.area_id == area.id).order_by(Program.name)))
    return Scope(area, programs, area.name)


@lru_cache(maxsize=4096)
def _offset_of_zone(tz: str, hour_key: int) -> int:
    """UTC offset in minutes of zone ``tz`` at the hour ``hour_key`` (hours since the epoch)."""
    instant = datetime.fromtimestamp(hour_key * 3600, tz=timezone.utc)
    off = instant.astimezone(zone(tz)).utcoffset()
    return int(off.total_seconds() // 60) if off is not None else 0


def zone_offset_min(tz: str, when: datetime) -> int:
    """UTC offset (minutes) of IANA zone ``tz`` at instant ``when`` (cached per hour: fast for big exports)."""
    return _offset_of_zone(tz, int(as_utc(when).timestamp() // 3600))


@lru_cache(maxsize=256)
def _offset_suffix(offset_min: int) -> str:
    sign = "+" if offset_min > 0 else "-"
    h, m = divmod(abs(offset_min), 60)
    return f"{sign}{h:02d}:{m:02d}"


def fmt_time(value: datetime | None, offset_min: int | None = None) -> str:
    """ISO 8601 to the second with a numeric offset (``Z`` for UTC), as Camtrap DP wants it."""
    if value is None:
        return ""
    if value.tzinfo is not None:  # SQLite gives naive UTC, PostgreSQL aware values
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    if value.microsecond:
        value = value.replace(microsecond=0)
    if not offset_min:
        return value.isoformat() + "Z"
    return (value + timedelta(minutes=offset_min)).isoformat() + _offset_suffix(offset_min)


def parse_time(text: str, where: str) -> tuple[datetime, int]:
    """An ISO 8601 time with offset as (aware UTC, offset in minutes); ValidationError naming ``where``."""
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{where}: {text!r} is not an ISO 8601 date-time") from None
    if t.tzinfo is None:
        raise ValidationError(f"{where}: {text!r} has no UTC offset (Camtrap DP requires one)")
    if not date_in_range(t):
        raise ValidationError(f"{where}: {text!r} is not between {date_range_text()}")
    off = t.utcoffset()
    return t.astimezone(timezone.utc), int(off.total_seconds() // 60) if off else 0


def fmt_num(value: Any) -> str:
    """A number for CSV: integers without a trailing .0, floats with up to 6 decimals."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    v = round(float(value), 6)
    return str(int(v)) if v.is_integer() else repr(v)


def fmt_bool(value: bool | None) -> str:
    """A boolean for CSV: true/false, empty when unknown."""
    return "" if value is None else ("true" if value else "false")


# A cell a spreadsheet would run as a formula: =, +, -, @ (and tab/CR, which some programs strip
# before looking). Numbers such as -12.5 or +7 are data, not formulas.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """``value`` with a leading apostrophe when it is text a spreadsheet would evaluate
    (CSV formula injection: a comment ``=HYPERLINK("http://...")`` typed by a ranger runs when a
    manager opens the export in Excel or LibreOffice). Numbers and other values pass unchanged."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    try:
        float(value)
        return value
    except ValueError:
        return "'" + value


@dataclass
class CsvTable:
    """A CSV file written row by row (streaming: nothing is kept in memory)."""

    path: Any
    columns: list[str]
    rows: int = 0
    _fh: Any = field(default=None, repr=False)
    _writer: Any = field(default=None, repr=False)

    def __enter__(self) -> "CsvTable":
        self._fh = open(self.path, "w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._fh, lineterminator="\n")
        self._writer.writerow(self.columns)
        return self

    def write(self, row: Iterable[Any]) -> None:
        self._writer.writerow([spreadsheet_safe(v) for v in row])
        self.rows += 1

    def __exit__(self, *exc) -> None:
        self._fh.close()


@contextmanager
def complete_folder(out: str | os.PathLike) -> Iterator[Path]:
    """A temporary folder beside ``out`` to write an export into, moved to ``out`` only when the
    ``with`` block ends without an error; on an error it is deleted and ``out`` is left as it was.

    A missing or empty ``out`` is replaced by the folder in one rename. An ``out`` that holds other
    files (a folder the user named) keeps them: the finished files are renamed into it one by one
    (replacing those of an earlier export of the same name), and nothing else there is touched.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    if not out.exists():
        os.replace(tmp, out)
        return
    _move_into(tmp, out)
    shutil.rmtree(tmp, ignore_errors=True)


def _move_into(src: Path, dest: Path) -> None:
    for entry in src.iterdir():
        target = dest / entry.name
        if entry.is_dir() and target.is_dir():
            _move_into(entry, target)
        else:
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(entry, target)


@contextmanager
def complete_file(out: str | os.PathLike) -> Iterator[Path]:
    """A temporary file name beside ``out`` (a zip being written), renamed to ``out`` only when the
    ``with`` block ends without an error (atomic on one file system); deleted otherwise."""
    out = Path(out)
    tmp = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, out)
