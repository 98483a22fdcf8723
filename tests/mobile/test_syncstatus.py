"""What the home screen says about sync (issue 14, D8) and how the records list names records (D11).

Pure functions over the store's counts and the sync client's stored outcome: checked here in both
languages without Kivy; the UI scenarios check they reach the screen.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from mobile import syncstatus
from mobile.summaries import Describer

ICT = timezone(timedelta(hours=7))
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=ICT)


def test_last_sync_time_in_local_time_and_never():
    last = {"ok": True, "at": "2026-03-02T07:32:00+00:00", "ok_at": "2026-03-02T07:32:00+00:00"}
    assert syncstatus.last_sync_text(last, "vi", NOW, ICT) == "Lần đồng bộ gần nhất: hôm nay 14:32"
    assert syncstatus.last_sync_text(last, "en", NOW, ICT) == "Last sync: today 14:32"
    older = {"ok": False, "at": "2026-03-02T01:00:00+00:00", "ok_at": "2026-02-27T23:05:00+00:00"}
    assert syncstatus.last_sync_text(older, "en", NOW, ICT) == "Last sync: 28/02/2026 06:05"  # the last that worked
    assert syncstatus.last_sync_text(None, "vi") == "Chưa đồng bộ với máy chủ lần nào"


@pytest.mark.parametrize("kind,status,vi,en", [
    ("offline", None, "Không kết nối được máy chủ", "No connection to the server"),
    ("portal", 200, "Mạng trả về một trang web", "sign in to the Wi-Fi first (captive portal)"),
    ("server", 502, "Máy chủ gặp sự cố (lỗi 502)", "The server had a problem (error 502)"),
    ("auth", 401, "hãy đăng nhập lại", "sign in again"),
    ("refused", 413, "Máy chủ từ chối đồng bộ (lỗi 413)", "refused the sync (error 413)"),
    ("protocol", None, "hãy cập nhật ứng dụng", "update the app"),
    ("disk_full", None, "Bộ nhớ máy đã đầy", "storage is full"),
    ("local", None, "Máy không hoàn tất", "could not finish"),
])
def test_failures_in_words_a_ranger_can_act_on(kind, status, vi, en):
    for lang, expected in (("vi", vi), ("en", en)):
        text = syncstatus.outcome_text({"ok": False, "error_kind": kind, "error_status": status,
                                        "error": "HTTPConnectionPool(host='10.0.0.2', port=8000): Max retries"}, lang)
        assert expected in text and "HTTPConnectionPool" not in text
        assert "Nothing was lost" in text or "Không mất dữ liệu" in text


def test_outcome_counts_rejected_and_conflicts():
    last = {"ok": True, "pushed": {"applied": 5, "rejected": 2, "conflict": 1}, "pulled": 7, "photos": 3}
    assert syncstatus.outcome_text(last, "en").splitlines() == [
        "Synced: 8 sent, 3 photo(s), 7 received",
        "2 record(s) refused by the server: open Records to correct them.",
        "1 record(s) changed elsewhere too: kept on the server for a biologist to decide."]
    assert syncstatus.outcome_text(last, "vi").startswith("Đã đồng bộ: gửi 8, 3 ảnh, nhận 7\n2 bản ghi bị máy chủ từ chối")


def test_pending_counts_name_what_waits_and_why():
    counts = {"waiting": 3, "rejected": 1, "conflict": 0, "unassigned": 2}
    assert syncstatus.pending_text(counts, "en").splitlines() == [
        "3 record(s) waiting to be sent",
        "2 record(s) made offline wait for a program: choose the area and program",
        "1 record(s) refused by the server: open Records to correct them."]
    assert syncstatus.pending_text(dict.fromkeys(counts, 0), "vi") == "Không có gì chờ gửi"


def test_progress_lines():
    from mobile.sync import Progress

    assert syncstatus.progress_text(Progress(phase="push", records_total=8, records_done=3), "vi") == \
        "Đang đồng bộ: gửi 3/8 bản ghi…"
    assert syncstatus.progress_text(Progress(phase="pull", pulled=12), "en") == "Syncing: 12 change(s) received…"
    assert syncstatus.progress_text(Progress(phase="done"), "en") == ""


def test_storage_warnings():
    mb = 1024 * 1024
    ok = {"used": 10 * mb, "waiting": 0, "budget": 100 * mb, "free": 10_000 * mb, "level": "ok"}
    assert syncstatus.storage_text(ok, "en") == ""
    warn = {**ok, "used": 85 * mb, "level": "warn"}
    assert syncstatus.storage_text(warn, "en") == ("Photos use 85 of 100 MB: photos already sent are removed "
                                                   "from the tablet first.")
    full = {**ok, "waiting": 120 * mb, "used": 120 * mb, "level": "full"}
    assert syncstatus.storage_text(full, "vi") == "Bộ nhớ ảnh đã đầy: 120 MB ảnh đang chờ gửi. Hãy đồng bộ sớm."
    disk = {**ok, "free": 30 * mb, "level": "full"}
    assert syncstatus.storage_text(disk, "en").startswith("The tablet's storage is almost full: 30 MB free")


def _describer(lang):
    import protocols
    from protocols import species

    return Describer(lang, protocols.load, species.load_bundled(), {"dep-1": "CT-12"})


DEP_ID = "9f4842f0-1234-4abc-9def-0123456789ab"


@pytest.mark.parametrize("lang,rows", [
    ("en", ["Observation: Red-shanked douc (Pygathrix nemaeus)", "Service visit: CT-12", "Camera deployment: CT-12",
            "Threat: Snare", "Transect walk: T-08", "Service visit"]),
    ("vi", ["Quan sát: Chà vá chân nâu (Pygathrix nemaeus)", "Kiểm tra máy: CT-12", "Lắp đặt bẫy ảnh: CT-12",
            "Mối đe dọa: Bẫy dây", "Lượt đi tuyến: T-08", "Kiểm tra máy"]),
])
def test_records_are_named_in_the_language_never_by_raw_ids(lang, rows):
    d = _describer(lang)
    got = [d.title(r) for r in [
        {"entity": "observation", "protocol": "line_transect@1.0", "record_type": "observation",
         "summary": "Pygathrix nemaeus"},
        {"entity": "deployment", "protocol": "camera_trap@1.0", "record_type": "service", "summary": "dep-1",
         "link": "dep-1"},
        {"entity": "deployment", "protocol": "camera_trap@1.0", "record_type": "deployment", "summary": "CT-12",
         "id": "dep-1", "link": "dep-1"},
        {"entity": "threat", "protocol": "threat_incident@1.0", "record_type": "incident", "summary": "snare"},
        {"entity": "walk", "protocol": "line_transect@1.0", "record_type": "walk", "summary": "T-08"},
        {"entity": "deployment", "protocol": "camera_trap@1.0", "record_type": "service", "summary": DEP_ID,
         "link": DEP_ID},  # its deployment is not on this tablet: still no raw id
    ]]
    assert got == rows


def test_another_tablets_record_says_whose_it_is():
    d = _describer("en")
    row = {"entity": "walk", "protocol": "line_transect@1.0", "record_type": "walk", "summary": "T-08",
           "recorded_at": "2026-03-01T07:00:00+07:00", "origin": "remote", "owner": "lan", "sync_state": "synced"}
    assert d.detail(row, me="minh") == "2026-03-01 07:00 · by lan, another tablet (read only)"
    assert _describer("vi").detail({**row, "origin": "local", "sync_state": "rejected"}) == "2026-03-01 07:00 · bị từ chối"
