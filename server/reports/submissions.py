"""Annual report submissions and the 15 March deadline.

Every unit (protected area) sends its monitoring report for year Y before
15 March of Y + 1. The deadline is read in Vietnam's time zone
(``Asia/Ho_Chi_Minh``, :data:`server.reports.data.REPORT_TZ`): a report
received at 23:30 on 15 March Hanoi time is on time even though it is
16:30 UTC. A report is on time when its first submission arrived on or before
the due day; a later corrected version does not make it late.

Statuses of an area for a year, on a given day (:func:`status_for`):

- ``on_time`` / ``late``: submitted, on or before / after the due day;
- ``not_yet_due``: nothing yet and the due day has not passed;
- ``missing``: nothing and the due day has passed.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Iterable, Optional

from sqlmodel import Session, select

from protocols.i18n import N_

from ..errors import NotFound, ValidationError
from ..models import ProtectedArea, ReportSubmission
from ..timeutil import as_utc, zone

#: Vietnam's zone: the deadline is a national one (same value as the report's REPORT_TZ).
DEADLINE_TZ = "Asia/Ho_Chi_Minh"
DUE_MONTH, DUE_DAY = 3, 15
STATUSES = ("on_time", "late", "missing", "not_yet_due")
STATUS_LABELS = {"on_time": N_("On time"), "late": N_("Late"), "missing": N_("Missing"),
                 "not_yet_due": N_("Not yet due")}
LANGUAGES = ("vi", "en")
SOURCES = ("publish", "upload", "cli")
FIRST_YEAR = 2000  # no digital monitoring report of a Vietnamese protected area is older
_SHA = re.compile(r"^[0-9a-f]{64}$")


def due_date(year: int) -> date:
    """The day the report for ``year`` is due: 15 March of the next year."""
    return date(year + 1, DUE_MONTH, DUE_DAY)


def local_day(value: date | datetime, tz: str = DEADLINE_TZ) -> date:
    """The calendar day of ``value`` in ``tz``; an aware time is converted, a naive one read as UTC, a date kept."""
    if isinstance(value, datetime):
        utc = as_utc(value)
        assert utc is not None
        return utc.astimezone(zone(tz)).date()
    return value


def status_for(year: int, received_at: Optional[datetime], today: date | datetime, tz: str = DEADLINE_TZ) -> str:
    """The reporting status for ``year`` on ``today`` given the first submission's time (None: none yet).

    A submission received after ``today`` (a date in the past asked about) counts as not yet received.
    """
    due = due_date(year)
    day = local_day(today, tz)
    if received_at is not None:
        received = local_day(received_at, tz)
        if received <= day:
            return "on_time" if received <= due else "late"
    return "not_yet_due" if day <= due else "missing"


def check_year(year: Any, today: date | None = None) -> int:
    """``year`` as an int between :data:`FIRST_YEAR` and the current year, or a 422 naming it."""
    last = (today or datetime.now(timezone.utc).date()).year
    if isinstance(year, bool) or not isinstance(year, int):
        try:
            year = int(str(year).strip())
        except ValueError:
            raise ValidationError(f"report year must be a whole number, got {year!r}",
                                  details={"field": "year"}) from None
    if not FIRST_YEAR <= year <= last:
        raise ValidationError(f"report year must be between {FIRST_YEAR} and {last}, got {year}",
                              details={"field": "year"})
    return year


def _check_sha(value: Optional[str], field: str) -> Optional[str]:
    if value is None:
        return None
    value = value.strip().lower()
    if not _SHA.match(value):
        raise ValidationError(f"{field} must be a SHA-256 (64 hexadecimal characters)", details={"field": field})
    return value


def store_report_file(store: Any, data: bytes, ext: str) -> str:
    """Put a report file (``pdf`` or ``html``) into the media store; its SHA-256, the key's name."""
    if ext not in ("pdf", "html"):
        raise ValidationError(f"a report file is pdf or html, not {ext!r}", details={"field": "ext"})
    if ext == "pdf" and not data.startswith(b"%PDF-"):
        raise ValidationError("the report's PDF file does not start with %PDF-", details={"field": "pdf"})
    sha = hashlib.sha256(data).hexdigest()
    key = store.key_for(sha, ext)
    if not store.exists(key):
        store.put_bytes(key, data)
    return sha


def report_file_key(store: Any, row: ReportSubmission, ext: str) -> Optional[str]:
    """The media store key of a submission's ``pdf`` or ``html`` file, None when it has none."""
    sha = row.pdf_sha256 if ext == "pdf" else row.html_sha256
    return store.key_for(sha, ext) if sha else None


def record_submission(session: Session, area_id: str, year: Any, language: str, *,
                      pdf_sha256: Optional[str] = None, html_sha256: Optional[str] = None,
                      received_at: Optional[datetime] = None, submitted_by: Optional[str] = None,
                      source: str = "upload", note: Optional[str] = None) -> tuple[ReportSubmission, bool]:
    """Record that area ``area_id`` submitted its report for ``year``; returns (row, created).

    Idempotent: the same files for the same area, year and language (a replayed
    publish) return the existing row with created False and change nothing, so
    the first reception time stays. Adds to ``session`` without committing (the
    caller commits with the rest of its batch). Refuses with a 422 a bad year,
    language, source or SHA-256, a submission with no file, and a naive or future
    ``received_at``; 404 for an unknown area.
    """
    if session.get(ProtectedArea, area_id) is None:
        raise NotFound(f"no protected area {area_id!r}")
    now = datetime.now(timezone.utc)
    year = check_year(year, now.date())
    if language not in LANGUAGES:
        raise ValidationError(f"report language must be one of {', '.join(LANGUAGES)}, got {language!r}",
                              details={"field": "language"})
    if source not in SOURCES:
        raise ValidationError(f"submission source must be one of {', '.join(SOURCES)}, got {source!r}",
                              details={"field": "source"})
    pdf = _check_sha(pdf_sha256, "pdf_sha256")
    html = _check_sha(html_sha256, "html_sha256")
    if pdf is None and html is None:
        raise ValidationError("a report submission needs its PDF or HTML file", details={"field": "pdf_sha256"})
    if received_at is None:
        received_at = now
    elif received_at.tzinfo is None:
        raise ValidationError("received_at must carry its time zone (UTC)", details={"field": "received_at"})
    elif received_at > now:
        raise ValidationError("received_at lies in the future", details={"field": "received_at"})
    existing = session.exec(select(ReportSubmission).where(
        ReportSubmission.area_id == area_id, ReportSubmission.year == year, ReportSubmission.language == language,
        ReportSubmission.pdf_sha256 == pdf if pdf else ReportSubmission.pdf_sha256.is_(None),  # type: ignore[union-attr]
        ReportSubmission.html_sha256 == html if html else ReportSubmission.html_sha256.is_(None),  # type: ignore[union-attr]
    )).first()
    if existing is not None:
        return existing, False
    row = ReportSubmission(area_id=area_id, year=year, language=language, pdf_sha256=pdf, html_sha256=html,
                           received_at=received_at.astimezone(timezone.utc), submitted_by=submitted_by,
                           source=source, note=note)
    session.add(row)
    return row, True


@dataclass
class AreaReportStatus:
    """The reporting status of one area for one year."""

    area: ProtectedArea
    year: int
    due: date
    status: str
    first_received_at: Optional[datetime]
    submissions: list[ReportSubmission]

    @property
    def languages(self) -> list[str]:
        return sorted({s.language for s in self.submissions})


def reporting_status(session: Session, year: int, today: date | datetime,
                     areas: Optional[Iterable[ProtectedArea]] = None, tz: str = DEADLINE_TZ) -> list[AreaReportStatus]:
    """The status of every area (or of ``areas``) for ``year`` on ``today``, sorted by area code."""
    area_list = list(areas) if areas is not None else list(session.exec(select(ProtectedArea)).all())
    ids = [a.id for a in area_list]
    by_area: dict[str, list[ReportSubmission]] = {i: [] for i in ids}
    if ids:
        rows = session.exec(select(ReportSubmission).where(
            ReportSubmission.year == year, ReportSubmission.area_id.in_(ids))  # type: ignore[attr-defined]
            .order_by(ReportSubmission.received_at)).all()  # type: ignore[arg-type]
        day = local_day(today, tz)
        for r in rows:
            if local_day(r.received_at, tz) <= day:  # what had arrived by the day asked about
                by_area[r.area_id].append(r)
    out = []
    for a in sorted(area_list, key=lambda a: a.code):
        subs = by_area[a.id]
        first = as_utc(subs[0].received_at) if subs else None
        out.append(AreaReportStatus(area=a, year=year, due=due_date(year), status=status_for(year, first, today, tz),
                                    first_received_at=first, submissions=subs))
    return out
