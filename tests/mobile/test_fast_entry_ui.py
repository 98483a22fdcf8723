"""Headless UI tests of fast entry, the walk summary and D6, D7, D10, D12 (issue 14), at 800x1280.

Each scenario runs in its own process (scenario_fastentry.py, scenario_forms.py); the
screenshots stay in test-artifacts/mobile/ (fe_*, fm_*) for people to look at.
"""
from __future__ import annotations

import pytest

import protocols
from mobile_runner import run_scenario
from test_ui import png_size


@pytest.fixture(scope="module")
def fast(tmp_path_factory):
    from mobile_runner import ARTIFACTS

    tmp = tmp_path_factory.mktemp("fast")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return run_scenario(tmp, "scenario_fastentry.py", str(tmp), str(ARTIFACTS))


@pytest.fixture(scope="module")
def forms(tmp_path_factory):
    from mobile_runner import ARTIFACTS

    tmp = tmp_path_factory.mktemp("forms")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return run_scenario(tmp, "scenario_forms.py", str(tmp), str(ARTIFACTS))


# -- item 4: fast entry --------------------------------------------------------------------
def test_a_common_sighting_takes_at_most_four_taps_after_the_first_of_the_day(fast):
    r = fast
    assert r["chips_first"] == []  # the very first observation goes through the picker
    assert r["chips_second"] == ["Muntiacus vuquangensis"]
    # Add observation, "Mang lớn", the dung picture, Save
    assert r["quick_taps"] <= 4
    assert r["quick_count_delta"] == 1 and r["quick_screen"] == "walk"
    rec = r["quick_record"]
    assert (rec["taxon"], rec["sign_type"], rec["count"], rec["unidentified"]) == ("Muntiacus vuquangensis", "dung",
                                                                                 1, False)
    assert rec["habitat"] == "bamboo"  # sticky within the walk
    assert rec["location"]["lat"] > 16 and rec["transect_bearing_deg"] == 45
    assert protocols.validate(protocols.load("line_transect"), rec, "observation") == []
    assert r["quick_toast"] == "Đã lưu: Mang lớn · Phân"


def test_repeat_last_observation_copies_species_sign_count_with_a_new_time_and_place(fast):
    r = fast
    assert r["repeat_disabled_before"] is True  # nothing to repeat before the first observation
    assert r["repeat_label"] == "Lặp lại quan sát trước: Mang lớn"
    assert r["repeat_taps"] == 3  # Repeat, +, Save
    rep, quick = r["repeat_record"], r["quick_record"]
    assert r["repeat_is_new"]
    assert (rep["taxon"], rep["sign_type"], rep["habitat"]) == (quick["taxon"], quick["sign_type"], quick["habitat"])
    assert rep["count"] == 2  # the tally's + on the copied 1
    assert rep["location"] != quick["location"]  # where the ranger is now


def test_a_walks_forms_are_built_before_the_first_observation(fast):
    assert fast["prewarmed"] == ["observation", "threat"]


def test_tally_pictures_and_recent_species_first(fast):
    r = fast
    assert r["count_after_two_plus"] == 3
    assert r["records"][0]["sign_type"] == "track" and r["records"][0]["count"] == 3
    assert r["picker_first_rows"] == [["SpeciesHeader", "Gần đây và thường gặp"],
                                      ["SpeciesRow", "Mang lớn — Large-antlered muntjac"],
                                      ["SpeciesHeader", "Tất cả các loài"]]
    assert r["threat_record"] == {"threat_type": "snare", "count": 4, "action_taken": "removed"}


def test_sticky_walk_fields_prefill_the_next_walk(fast):
    assert fast["next_walk_prefill"] == {"observers": ["Nguyễn Văn An", "Lê Thị Hoa"], "weather": "clear",
                                         "patrol_type": "foot", "team_leader": "Nguyễn Văn An",
                                         "team": ["Hồ Văn Tư"], "transect_id": None}


# -- item 5: the walk summary, on stop with a confirmation, synced with the walk ------------
def test_stop_asks_then_shows_the_summary(fast):
    r = fast
    assert r["stop_question"] == "Stop this walk?"
    assert r["stop_preview"].startswith("Distance: 0.5") and "Observations: 3 · Threats: 1" in r["stop_preview"]
    assert r["after_keep_walking"] == ["walk", "active"]
    assert r["after_stop"] == "summary" and r["after_done"] == "home"
    assert r["summary_from_record"] == ["summary", True, ""] and r["summary_back_to"] == "record"
    en = dict(r["summary_en"])
    assert en["Transect"] == "T-07 Khe Sanh" and en["Patrol type"] == "On foot"
    assert en["Team leader"] == "Nguyễn Văn An" and en["Team"] == "Hồ Văn Tư"
    assert en["Observers"] == "Nguyễn Văn An, Lê Thị Hoa"
    assert en["Observations by type"] == "Dung: 2\nTrack (footprint): 1" and en["Threats by type"] == "Snare: 1"
    assert en["Distance"].endswith(" km") and en["Track points"] == str(r["walk"]["point_count"])
    vi = dict(r["summary_vi"])
    assert vi["Quan sát theo loại dấu hiệu"] == "Phân: 2\nDấu chân: 1" and vi["Hình thức tuần tra"] == "Đi bộ"
    assert "," in vi["Quãng đường"]  # decimal comma (D6)


def test_the_summary_is_stored_and_queued_with_the_walk(fast):
    walk, mutation = fast["walk"], fast["walk_mutation"]
    d = walk["data"]
    assert walk["protocol"] == "line_transect@1.1" and walk["status"] == "done"
    assert d["record_counts"] == [{"record": "observation", "type": "dung", "count": 2},
                                  {"record": "observation", "type": "track", "count": 1},
                                  {"record": "threat", "type": "snare", "count": 1}]
    assert d["distance_m"] == round(walk["distance_m"], 1) > 0
    assert abs(d["walking_time_min"] - walk["walking_s"] / 60) <= 0.05 + 1 / 60  # rounding, and within a second
    assert (d["patrol_type"], d["team_leader"], d["team"]) == ("foot", "Nguyễn Văn An", ["Hồ Văn Tư"])
    assert mutation["op"] == "update" and mutation["data"]["data"]["record_counts"] == d["record_counts"]
    proto = protocols.load(*walk["protocol"].split("@"))
    assert protocols.validate(proto, d, "walk") == []  # the server runs the same check


# -- D7, D10 --------------------------------------------------------------------------------
def test_d7_a_form_opens_at_its_top(fast):
    assert fast["scrolled_to"] == 0  # left at the bottom...
    assert fast["threat_form_scroll_y"] == 1 and fast["reopened_scroll_y"] == 1  # ...opens at the top


def test_d10_saved_is_seen_and_a_filled_form_is_not_discarded_silently(fast, forms):
    r = fast
    assert r["after_first_save"] == "walk" and r["toast_first"] == "Đã lưu: Mang lớn · Dấu chân"
    assert r["threat_toast"] == "Saved: Snare" and forms["toast"] == "Saved: CT-12"
    assert r["unfilled_cancel_dialog"] is False and r["unfilled_cancel_screen"] == "walk"
    assert r["discard_question"] == "Bỏ bản ghi này?" and r["discard_buttons"] == ["Tiếp tục nhập", "Bỏ đi"]
    assert r["after_keep_editing"] == ["form", "call"]  # nothing lost by answering "keep editing"
    assert r["back_asks"] is True and r["after_discard"] == "walk" and r["discard_saved_nothing"]
    assert forms["unchanged_correction_closed"] == [True, "home"]
    assert forms["correction_question"] == "Discard this correction?"
    assert forms["correction_discarded"] == "SD-118"


def test_a_reused_form_shows_nothing_of_the_last_record(forms):
    r = forms
    assert r["reused_form"] is True  # the widgets are kept (opening speed), their contents are not
    assert r["reopened_values"] == ["count", "location", "observed_at", "transect_bearing_deg", "unidentified"]
    assert r["reopened_texts"] == ["", "", ""] and r["reopened_errors"] == []


# -- D6 ---------------------------------------------------------------------------------------
def test_d6_decimal_comma_is_half_a_metre_and_shown_in_the_ui_language(forms):
    r = forms
    assert r["height_typed_vi"] == ["0,5", 0.5]
    assert r["height_shown_en"] == "0.5"
    assert r["deployment"]["height_m"] == 0.5
    assert r["heading_filtered"] == "1,23"  # a second separator and letters are refused while typing
    assert r["distance_value"] == 40.5 and r["perpendicular_vi"] == "28,6 m"


# -- D12 -------------------------------------------------------------------------------------
def test_d12_each_form_goes_to_a_program_whose_protocol_fits(fast, forms):
    r = forms
    assert r["camera_dialog"] is False and r["camera_program_label"] == "Chương trình: Bẫy ảnh 2026"
    assert r["deployment"]["program_id"] == r["deployment"]["mutation_program"] == "p-ct"
    assert r["correction_dialog"] is False and r["correction_program_label"] == "Program: Bẫy ảnh 2026"
    # no acoustic program in the area: asked, told so, among all programs; the answer is remembered
    assert r["acoustic_question"] == "Which program is this record for?"
    assert r["acoustic_message"].startswith("No program of this area uses this protocol")
    assert r["acoustic_options"] == ["Giám sát thú 2026", "Bẫy ảnh 2026", "Tuần tra đêm"]
    assert r["after_acoustic_cancel"] == "home"
    assert r["acoustic_program_label"] == "Program: Bẫy ảnh 2026" and r["acoustic_change_visible"]
    assert r["acoustic_second_time"] == [True, "Program: Bẫy ảnh 2026"]
    assert r["observation_asks_program"] is True
    # a walk with two line-transect programs in the area: asked; its records go with the walk
    f = fast
    assert f["program_question"] == "Bản ghi này thuộc chương trình nào?"
    assert f["program_options"] == ["Giám sát thú 2026", "Tuần tra đêm"]
    assert f["walk_program"] == "p-night" and f["threat_program_id"] == "p-night"
    assert f["threat_program"] == "Program: Tuần tra đêm"


def test_d12_transects_are_chosen_from_the_servers_list(fast):
    assert fast["transect_widget"] == "ListedTextField"
    assert fast["transect_choices"] == ["T-07 Khe Sanh · 2,4 km", "T-08 Đỉnh Mây · 1,8 km"]
    assert fast["walk_transect"] == "T-07 Khe Sanh"


def test_d12_touch_targets_file_rows_and_dialog_buttons(forms):
    r = forms
    assert [n for n, _ in r["chooser_rows"]] == ["..", "IMG_0000.jpg", "IMG_0001.jpg", "IMG_0002.jpg", "IMG_0003.jpg"]
    assert all(h >= r["min_row_dp"] for _, h in r["chooser_rows"])
    assert all(h >= r["min_row_dp"] for h in r["dialog_button_heights"])


def test_screenshots_are_800_by_1280(fast, forms):
    shots = fast["shots"] + forms["shots"]
    assert len(shots) == 14
    for shot in shots:
        assert png_size(shot) == (800, 1280), shot
