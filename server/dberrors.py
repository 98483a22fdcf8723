"""Database and disk failures as clear answers instead of bare 500s.

- A constraint violation (:class:`sqlalchemy.exc.IntegrityError`) names the
  field and what is wrong with it - "a protected area with this code already
  exists" - never the driver's text ("UNIQUE constraint failed: ...",
  "duplicate key value violates unique constraint ...") with table internals.
- A value the database cannot store (:class:`sqlalchemy.exc.DataError`: a number
  beyond its column's integer range, on PostgreSQL) is a 422, not a 500; the
  input schemas bound such fields, this is the net under them.
- A full disk (``ENOSPC``/``EDQUOT`` while writing a file, SQLite's
  ``SQLITE_FULL`` "database or disk is full", PostgreSQL's ``disk_full``
  53100) answers 507 Insufficient Storage saying so, so a tablet keeps its
  data and retries later and the administrator knows what to fix.
"""
from __future__ import annotations

import errno
import re
from typing import Any

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from .errors import SaolaError

_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}
_PG_DISK_FULL = {"53100", "53200"}  # disk_full, out_of_memory (also raised when a temp file cannot grow)


class DiskFull(SaolaError):
    """No space left where the server stores data: 507."""

    status = 507
    code = "insufficient_storage"


def disk_full_error() -> DiskFull:
    """The 507 answer for a full disk."""
    return DiskFull("the server's disk is full: nothing was saved; try again later and ask the administrator "
                    "to free space (see /api/v1/health)")


def is_disk_full(exc: BaseException) -> bool:
    """True when ``exc`` (or the error it wraps) means the disk or database storage is full."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
            return True
        if isinstance(exc, DBAPIError) and exc.orig is not None:
            exc = exc.orig
            seen += 1
            continue
        if getattr(exc, "sqlite_errorname", None) == "SQLITE_FULL" or "database or disk is full" in str(exc):
            return True
        if getattr(exc, "sqlstate", None) in _PG_DISK_FULL:
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _entity(table: str | None) -> str:
    return (table or "record").replace("_", " ")


def _pg(orig: Any) -> tuple[str | None, str | None, list[str], str]:
    """(kind, table, columns, referenced table) from a psycopg error."""
    diag = getattr(orig, "diag", None)
    state = getattr(orig, "sqlstate", None)
    kind = {"23505": "unique", "23502": "not_null", "23503": "foreign_key", "23514": "check"}.get(state or "")
    table = getattr(diag, "table_name", None)
    cols: list[str] = []
    other = ""
    detail = getattr(diag, "message_detail", None) or ""
    m = re.match(r"Key \(([^)]*)\)=", detail)
    if m:
        cols = [c.strip().strip('"') for c in m.group(1).split(",")]
    if getattr(diag, "column_name", None):
        cols = [diag.column_name]
    m = re.search(r'table "([^"]+)"', detail)
    if m:
        other = m.group(1)
    if kind == "foreign_key" and "still referenced" in detail:
        kind = "in_use"
    if kind == "check" and getattr(diag, "constraint_name", None):
        cols = [diag.constraint_name]
    return kind, table, cols, other


def _sqlite(text: str) -> tuple[str | None, str | None, list[str], str]:
    m = re.match(r"(UNIQUE|NOT NULL|CHECK) constraint failed: (.*)", text)
    if m:
        kind = {"UNIQUE": "unique", "NOT NULL": "not_null", "CHECK": "check"}[m.group(1)]
        parts = [p.strip() for p in m.group(2).split(",")]
        table = parts[0].split(".", 1)[0] if "." in parts[0] else None
        return kind, table, [p.split(".", 1)[-1] for p in parts], ""
    if "FOREIGN KEY constraint failed" in text:
        return "foreign_key", None, [], ""
    return None, None, [], ""


_STATEMENT = re.compile(r'\s*(DELETE\s+FROM|INSERT\s+INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)


def integrity_error(exc: IntegrityError) -> SaolaError:
    """The clear 409/422 for a constraint violation, naming the field, without database internals."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) is not None:
        kind, table, cols, other = _pg(orig)
    else:
        kind, table, cols, other = _sqlite(str(orig))
    m = _STATEMENT.match(exc.statement or "")
    if m:
        table = table or m.group(2)
        if kind == "foreign_key" and m.group(1).upper().startswith("DELETE"):
            kind = "in_use"  # SQLite does not say which way a foreign key broke; the statement does
    what = _entity(table)
    fields = ", ".join(cols) or "a field"
    details = [{"field": c, "message": kind or "constraint"} for c in cols] or None
    if kind == "unique":
        msg = f"a {what} with this {fields} already exists"
        return SaolaError(msg, status=409, code="conflict", details=[{"field": c, "message": "already used"}
                                                                      for c in cols] or None)
    if kind == "not_null":
        return SaolaError(f"{fields} of the {what} is required and cannot be null", status=422,
                          code="validation_error", details=[{"field": c, "message": "required"} for c in cols] or None)
    if kind == "in_use":
        by = f" ({_entity(other)})" if other else ""
        return SaolaError(f"this {what} is still used by other records{by}: change or delete those first",
                          status=409, code="conflict", details=details)
    if kind == "foreign_key":
        to = f" {_entity(other)}" if other else ""
        return SaolaError(f"{fields} refers to a{to} record that does not exist", status=422,
                          code="validation_error", details=details)
    if kind == "check":
        return SaolaError(f"a value of the {what} is not allowed ({fields})", status=422, code="validation_error",
                          details=details)
    return SaolaError("the change conflicts with existing records", status=409, code="conflict")


_DATA_STATES = {"22003": "a number is out of range", "22001": "a text is too long",
                "22008": "a date or time is out of range", "22007": "a date or time is malformed"}


def data_error(exc: DataError) -> SaolaError:
    """The 422 for a value the database refuses to store, naming the column when the driver does."""
    state = getattr(exc.orig, "sqlstate", None)
    column = getattr(getattr(exc.orig, "diag", None), "column_name", None)
    what = _DATA_STATES.get(state or "", "a value cannot be stored")
    msg = f"{what} for {column}" if column else what
    return SaolaError(msg, status=422, code="validation_error",
                      details=[{"field": column, "message": what}] if column else None)
