"""Headless UI tests of the real app (Kivy on Mesa software GL, SDL2 offscreen, no X server).

Each scenario runs in its own process (Kivy's Window, Clock and Factory are
process-global); these tests check what the scenario did through the screens
against the store, and keep the screenshots in test-artifacts/mobile/.
"""
from __future__ import annotations

import struct
from pathlib import Path

import pytest

from mobile_runner import run_scenario

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(path: str) -> tuple[int, int]:
    data = Path(path).read_bytes()[:24]
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.mark.slow
def test_ranger_day_through_the_screens(tmp_path, artifacts):
    r = run_scenario(tmp_path, "scenario_walk.py", str(tmp_path), str(artifacts))
    assert r["screens"][:3] == ["signin", "area", "home"]
    assert r["offline_sync_message"].startswith("Hãy đăng nhập máy chủ trước")
    # An empty walk form is refused field by field, in Vietnamese, and nothing is stored.
    assert r["empty_walk_error"] == "Cần nhập Tuyến"
    assert r["walk_after_empty_start"] is None
    # Species picker: diacritic-free search finds the douc; the form shows the computed distance.
    assert r["species_hits"][0] == "Pygathrix nemaeus"
    assert r["back_on"] == "form"
    assert r["perpendicular_shown"] == "40 m"  # 40 m * |sin(135° - 45°)|
    assert r["photo_count_label"] == "1 ảnh"
    assert r["after_save_screen"] == "walk" and r["save_message"] == "Đã lưu"
    # A count of 0 is refused with the validator's Vietnamese message; the form stays open.
    assert r["bad_count_error"] == "Số lượng / cỡ đàn phải lớn hơn hoặc bằng 1 (nhận được 0)"
    assert r["bad_count_screen"] == "form"
    assert r["points_unchanged_while_paused"] is True
    assert r["lang_after_switch"] == "en" and r["state_vi_en"] == ["Đang ghi", "Recording"]

    # Stop asks first (D10), then shows the walk's summary (issue 14, item 5).
    assert r["stop_asked"] == "Stop this walk?" and r["after_stop_screen"] == "summary"
    walk = r["walk_after_stop"]
    assert walk["status"] == "done"
    assert walk["data"]["record_counts"] == [{"record": "observation", "type": "dung", "count": 1},
                                             {"record": "observation", "type": "sighting", "count": 1}]
    assert walk["data"]["observers"] == ["Nguyễn Văn An", "Lê Thị Hoa"]
    assert walk["data"]["weather"] == "clear" and walk["data"]["transect_bearing_deg"] == 45
    track = walk["data"]["track"]
    assert len(track) == r["track_len"] == walk["point_count"]
    # 80 + 60 fixes, 6 m apart: warm-up (3, twice), 3 bad-accuracy fixes and thinning to >= 10 m drop the rest.
    assert 50 <= len(track) <= 75, len(track)
    assert all(p[3] is None or p[3] <= 50 for p in track)
    assert walk["segment"] == 1  # resumed once
    assert 650 < walk["distance_m"] < 900  # 140 fixes * 6 m, less the paused stretch

    obs = r["observations"]
    assert len(obs) == 2
    first, second = obs
    assert first["data"]["taxon"] == "Pygathrix nemaeus"
    assert r["edit_screen"] == "form" and r["edit_count_before"] == "3"
    assert first["data"]["count"] == 4  # corrected from the records list
    assert first["data"]["perpendicular_distance_m"] == 40.0
    assert first["data"]["transect_bearing_deg"] == 45
    assert first["latitude"] is not None and first["walk_id"] == walk["id"]
    assert second["data"]["unidentified"] is True and "taxon" not in second["data"]
    assert second["data"]["sign_type"] == "dung" and second["data"]["count"] == 1
    assert r["photo_links"] == first["data"]["photos"]
    assert r["photo"]["size_bytes"] > 0 and r["photo"]["abs_path"].endswith(".jpg")  # re-encoded on the tablet
    assert Path(r["photo"]["abs_path"]).is_file()

    dep, = r["deployments"]
    assert dep["data"]["station_id"] == "CT-12" and dep["data"]["habitat"] == "evergreen_forest"
    assert dep["data"]["location"]["lat"] > 16
    threat, = r["threats"]
    assert threat["data"]["threat_type"] == "snare" and threat["data"]["count"] == 14
    assert threat["data"]["action_taken"] == "removed"

    # Everything is queued for sync, in order: walk create, 2 observations, walk update, deployment,
    # threat, then the correction made from the records list.
    ops = [(m["entity"], m["op"]) for m in r["outbox"]]
    assert ops == [("walk", "create"), ("observation", "create"), ("observation", "create"),
                   ("walk", "update"), ("deployment", "create"), ("threat", "create"), ("observation", "update")]
    assert r["outbox"][-1]["record_id"] == first["id"] and r["outbox"][-1]["data"]["data"]["count"] == 4
    assert len({m["mutation_id"] for m in r["outbox"]}) == 7
    assert all(m["base_revision"] == 0 and m["device_time"] for m in r["outbox"])
    assert r["outbox"][1]["gps_time"]  # observations carry the fix time
    assert r["records_count_label"] == "5 of 5 shown"
    assert len(r["records_rows"]) == 5 and all("waiting to sync" in t for t in r["records_rows"])
    assert any(t.startswith("Threat: Snare") for t in r["records_rows"])

    # What the app stored is what the server's validator accepts.
    import protocols

    for entity, rec in [("walk", walk), *[("x", o) for o in obs], ("x", dep), ("x", threat)]:
        proto = protocols.load(*rec["protocol"].split("@"))
        assert protocols.validate(proto, rec["data"], rec["record_type"]) == [], (entity, rec["data"])

    assert len(r["shots"]) == 10
    for shot in r["shots"]:
        assert png_size(shot) == (600, 960)


@pytest.fixture(scope="module")
def glyph_run(tmp_path_factory):
    """One run of scenario_glyphs.py shared by the font and touch-target tests."""
    from mobile_runner import ARTIFACTS

    tmp = tmp_path_factory.mktemp("glyphs")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return run_scenario(tmp, "scenario_glyphs.py", str(tmp), str(ARTIFACTS))


def test_vietnamese_diacritics_render(glyph_run):
    r = glyph_run
    assert r["control_missing_detected"] is True  # the check can fail
    assert r["checked"] == 134 and r["bad_glyphs"] == []
    assert r["vi_text"] == "Đi tuyến" and r["en_text"] == "Transect walk"
    assert r["screen_differs"] is True
    assert r["label_ink_vi"] > r["label_ink_ascii"] > 0  # the marks add ink
    assert r["label_differs"] is True


def test_touch_targets_are_at_least_48dp(glyph_run):
    r = glyph_run
    assert r["touch_targets_checked"] > 100  # buttons, fields and dropdowns on nine screens
    assert r["touch_targets_too_small"] == []


def test_sign_in_pick_area_and_refuse_a_newer_protocol(tmp_path, artifacts):
    r = run_scenario(tmp_path, "scenario_signin.py", str(tmp_path), str(artifacts))
    assert r["screen_after_wrong"] == "signin"
    assert r["wrong_password_message"] == ("Đăng nhập không thành công: POST /auth/device: HTTP 401: "
                                           "wrong user name or password")
    assert r["screen_after_sign_in"] == "area"
    # The server's threat protocol 2.0 is refused, in the ranger's language; 1.0 stays in use.
    assert r["area_message"].startswith("Giao thức 'threat_incident' phiên bản 2.0 mới hơn")
    assert r["threat_version"] == "1.0" and r["line_transect_version"] == "1.1"
    assert r["areas"] == ["VQG Bạch Mã", "KBT Sao La"]
    assert r["programs"][0] == "Giám sát thú 2026"
    assert r["home_where"] == "VQG Bạch Mã · Giám sát thú 2026"
    assert r["token"] == "dev-token" and r["device_id_sent"] == r["device_id"]
    assert r["auth_headers"] == ["Bearer dev-token"]
    assert r["health_probed"] is True  # auto-sync runs once signed in
    assert r["species_p1"] == ["Pseudoryx nghetinhensis"]
    # "Sync now" runs mobile/sync.py's client and reports in Vietnamese.
    assert r["outbox_before_sync"] == 1 and r["pushed"] == ["threat"]
    assert r["sync_status"] == "Đã đồng bộ: gửi 1, 0 ảnh, nhận 0"
    assert r["outbox_after_sync"] == 0 and r["sync_counts"]["synced"] == 1
