"""Annual report submissions and the 15 March deadline (issue 18, hub views): SQLite and PostgreSQL."""
from datetime import date, datetime, timedelta, timezone

import pytest

from server.errors import NotFound, ValidationError
from server.models import ReportSubmission
from server.reports.submissions import (due_date, record_submission, reporting_status, status_for,
                                        store_report_file)
from server.storage import LocalMediaStore

SHA_A = "a" * 64
SHA_B = "b" * 64
HCM = timezone(timedelta(hours=7))


def test_hub_due_date_is_15_march_of_next_year():
    assert due_date(2025) == date(2026, 3, 15)


@pytest.mark.parametrize("received,today,expected", [
    (None, date(2025, 12, 31), "not_yet_due"),
    (None, date(2026, 3, 15), "not_yet_due"),
    (None, date(2026, 3, 16), "missing"),
    (datetime(2026, 3, 1, tzinfo=timezone.utc), date(2026, 6, 1), "on_time"),
    # 23:30 on 15 March in Hanoi is 16:30 UTC: on time
    (datetime(2026, 3, 15, 23, 30, tzinfo=HCM), date(2026, 6, 1), "on_time"),
    # 00:30 on 16 March in Hanoi is still 15 March in UTC: late all the same (Vietnam's calendar)
    (datetime(2026, 3, 16, 0, 30, tzinfo=HCM), date(2026, 6, 1), "late"),
    (datetime(2026, 4, 2, tzinfo=timezone.utc), date(2026, 6, 1), "late"),
    # asked about a day before it arrived: not received yet then
    (datetime(2026, 4, 2, tzinfo=timezone.utc), date(2026, 3, 1), "not_yet_due"),
    (datetime(2026, 4, 2, tzinfo=timezone.utc), date(2026, 3, 20), "missing"),
])
def test_hub_report_status_rule(received, today, expected):
    assert status_for(2025, received, today) == expected


def test_hub_status_of_a_utc_time_read_in_vietnam():
    # 16 March 2026 17:30 UTC is already 17 March 00:30 in Hanoi: after the due day
    assert status_for(2025, None, datetime(2026, 3, 15, 17, 30, tzinfo=timezone.utc)) == "missing"
    assert status_for(2025, None, datetime(2026, 3, 15, 16, 59, tzinfo=timezone.utc)) == "not_yet_due"


def test_hub_record_submission_and_status(app, world):
    a = world.area("PNKB", "Phong Nha-Ke Bang")
    b = world.area("CT", "Cat Tien")
    c = world.area("BM", "Bach Ma")
    with world.session() as s:
        row, created = record_submission(s, a.id, 2025, "vi", pdf_sha256=SHA_A.upper(), submitted_by="pnkb-server",
                                         source="publish", received_at=datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc))
        assert created and row.pdf_sha256 == SHA_A
        # a replayed publish is the same row, its first time kept
        again, created = record_submission(s, a.id, 2025, "vi", pdf_sha256=SHA_A, source="publish",
                                           received_at=datetime(2026, 4, 1, tzinfo=timezone.utc))
        assert not created and again.id == row.id
        # a corrected version later does not make it late
        record_submission(s, a.id, 2025, "vi", pdf_sha256=SHA_B, source="publish",
                          received_at=datetime(2026, 4, 1, tzinfo=timezone.utc))
        record_submission(s, b.id, 2025, "en", html_sha256=SHA_B, source="upload",
                          received_at=datetime(2026, 3, 20, tzinfo=timezone.utc))
    with world.session() as s:
        assert len(s.exec(__import__("sqlmodel").select(ReportSubmission)).all()) == 3
        st = {r.area.code: r for r in reporting_status(s, 2025, date(2026, 6, 1))}
        assert [st[k].status for k in ("PNKB", "CT", "BM")] == ["on_time", "late", "missing"]
        assert st["PNKB"].first_received_at == datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc)
        assert len(st["PNKB"].submissions) == 2 and st["CT"].languages == ["en"]
        early = {r.area.code: r.status for r in reporting_status(s, 2025, date(2026, 3, 12))}
        assert early == {"PNKB": "on_time", "CT": "not_yet_due", "BM": "not_yet_due"}
        assert [r.status for r in reporting_status(s, 2024, date(2026, 1, 1))] == ["missing"] * 3
        assert c.id in {r.area.id for r in reporting_status(s, 2025, date(2026, 1, 1))}


@pytest.mark.parametrize("kw,field", [
    ({"year": 1999}, "year"), ({"year": "twenty"}, "year"), ({"year": 9999}, "year"),
    ({"language": "fr"}, "language"), ({"source": "fax"}, "source"),
    ({"pdf_sha256": "xyz"}, "pdf_sha256"), ({"pdf_sha256": None}, "pdf_sha256"),
    ({"received_at": datetime(2026, 3, 1)}, "received_at"),
    ({"received_at": datetime.now(timezone.utc) + timedelta(days=2)}, "received_at"),
])
def test_hub_record_submission_bad_input(app, world, kw, field):
    a = world.area()
    args = {"year": 2025, "language": "vi", "pdf_sha256": SHA_A, **kw}
    with world.session() as s:
        with pytest.raises(ValidationError) as e:
            record_submission(s, a.id, args.pop("year"), args.pop("language"), **args)
        assert e.value.details["field"] == field
    with world.session() as s:
        assert s.exec(__import__("sqlmodel").select(ReportSubmission)).all() == []


def test_hub_record_submission_unknown_area(app, world):
    with world.session() as s, pytest.raises(NotFound):
        record_submission(s, "no-such-area", 2025, "vi", pdf_sha256=SHA_A)


def test_hub_report_file_in_store(tmp_path):
    store = LocalMediaStore(tmp_path)
    sha = store_report_file(store, b"%PDF-1.7 report", "pdf")
    assert store.exists(store.key_for(sha, "pdf"))
    assert store_report_file(store, b"%PDF-1.7 report", "pdf") == sha
    with pytest.raises(ValidationError):
        store_report_file(store, b"<html>", "pdf")
    with pytest.raises(ValidationError):
        store_report_file(store, b"x", "exe")
