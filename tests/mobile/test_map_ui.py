"""The offline map and the no-fix flows (D5) through the real screens, headless (scenario_map.py)."""
from __future__ import annotations

import pytest
from mobile_runner import run_scenario

AMBER, GREEN = [1, 0.8, 0.35, 1], [0.6, 1, 0.6, 1]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from mobile_runner import ARTIFACTS

    tmp = tmp_path_factory.mktemp("map")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return run_scenario(tmp, "scenario_map.py", str(tmp), str(ARTIFACTS))


def test_a_threat_without_a_fix_gets_its_location_on_the_map(run):
    r = run
    assert r["first_screen"] == "home"
    assert r["threat_no_location_error"]  # refused without a location, as before
    assert r["no_fix_hint"] == "Chưa có vị trí GPS: hãy chọn trên bản đồ hoặc nhập tọa độ"
    assert r["pick_screen"] == "map" and r["pick_use_disabled_before_tap"] is True
    assert r["back_to"] == "form"
    picked, expected = r["picked"], r["picked_expected"]
    assert picked["source"] == "map" and picked["accuracy_m"] is None
    assert abs(picked["lat"] - expected["lat"]) < 1e-6 and abs(picked["lon"] - expected["lon"]) < 1e-6
    assert r["form_kept"] == ["snare", 3, "removed"]  # nothing typed was lost on the way
    assert r["location_shown"].endswith("(chọn trên bản đồ)")
    assert r["threat_saved"]["location"] == picked and r["after_threat"] == "home"


def test_the_walk_waits_for_gps_honestly(run):
    text, colour, accuracy = run["waiting_state"]
    assert text == "Đã bắt đầu tuyến: đang chờ tín hiệu GPS…" and colour == AMBER
    assert accuracy == "Đang chờ tín hiệu GPS…"
    assert run["recording_state"] == ["Đang ghi", GREEN]


def test_observations_without_a_position_are_warned_and_take_typed_coordinates(run):
    screen, message, field_error = run["obs_warning"]
    assert screen == "form" and message == "Chưa có vị trí: bấm Lưu lần nữa để lưu mà không có vị trí"
    assert field_error == "Chưa có vị trí: hãy chọn trên bản đồ hoặc nhập tọa độ"
    assert run["manual_bad"].startswith("Vĩ độ phải là số")
    assert run["manual_value"] == {"lat": 16.2051, "lon": 107.8563, "accuracy_m": None, "source": "manual"}
    assert run["after_manual_save"] == "walk"
    assert run["no_position_two_taps"] == ["form", "walk"]
    assert run["store"] == {"threats": 1, "observations": 5}


def test_the_map_shows_basemap_track_records_transects_boundary_and_accuracy(run):
    m = run["map"]
    assert m["screen"] == "map" and m["tiles_drawn"] >= 4
    assert m["track_lines"] >= 1 and m["track_points"] >= 10
    # The manual-position observation and the 3 at the fix; the one without a position is not drawn.
    assert m["observations"] == 4 and m["threats"] == 0  # the threat was made outside the walk
    assert m["boundary"] == 1 and m["transects"] == 1
    assert m["accuracy_px"] > 0 and m["gps_label"].startswith("Độ chính xác GPS")
    assert m["basemap_status"] == "Bản đồ ngoại tuyến đã sẵn sàng" and m["download_visible"] == 0
    assert run["pan"] == {"moved": True, "redraws": 0, "lon_east": True}
    assert run["zoom_in"][1] == 1
    live = run["live_track"]
    assert live["redraws"] == 0 and live["grew"] > 0
    assert run["map"]["track_points"] + live["grew"] == live["stored"]  # every stored point is drawn


def test_a_damaged_basemap_is_told_and_the_map_keeps_working(run):
    d = run["damaged"]
    assert d["message"].startswith("The map file is damaged") and d["tiles"] is True
    assert d["track_points"] >= 10
    assert len(run["shots"]) == 7


def test_the_basemap_is_downloaded_with_its_size_and_progress_and_resumes(run):
    d = run["download"]
    assert d["before"].startswith("Bản đồ ngoại tuyến của khu vực:") and " kB" in d["before"]
    assert d["button"] == 1
    assert d["broken"].startswith("Việc tải bản đồ dừng ở")
    assert d["progress"] and "%" in d["progress"][0]
    assert d["ranges"][0] is None and d["ranges"][1].startswith("bytes=")  # the second try resumes
    assert d["after"] == "Bản đồ ngoại tuyến đã sẵn sàng" and d["tiles"] is True and len(d["sha"]) == 64
