"""UI scenario (own process, run by test_fast_entry_ui.py): fast entry and the walk summary at 800x1280.

A signed-in tablet (area, three programs, two transects cached) records a walk:
transect chosen from the server's list, program asked (two line-transect programs),
the first observation of the day through the picker, then a common sighting in
four counted taps (recent species button, sign picture, Save), "repeat last
observation", a filled form cancelled (asked first), a form reopened at its top,
the recent species in the picker, a threat by picture, and stop: asked first, then
the summary. Screenshots in Vietnamese and English. Prints one RESULT line.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mobile_harness import REPO, Driver, emit, write_gpx  # noqa: E402

sys.path.insert(0, str(REPO))

PROGRAMS = [{"id": "p-lt", "name": "Giám sát thú 2026", "protocol": "line-transect"},
            {"id": "p-ct", "name": "Bẫy ảnh 2026", "protocol": "camera-trap"},
            {"id": "p-night", "name": "Tuần tra đêm", "protocol": "line-transect"}]
TRANSECTS = [{"id": "t7", "name": "T-07 Khe Sanh", "length_m": 2400.0, "geometry": None},
             {"id": "t8", "name": "T-08 Đỉnh Mây", "length_m": 1800.0, "geometry": None}]


def seed(data_dir: Path) -> None:
    """What sign-in and "Refresh from server" leave in the store (no server needed)."""
    from mobile.store import Store

    s = Store(data_dir)
    s.set_setting("area", {"id": "a1", "name": "VQG Bạch Mã"})
    s.set_setting("areas", [{"id": "a1", "name": "VQG Bạch Mã"}])
    s.set_setting("programs:a1", PROGRAMS)
    s.set_setting("program", PROGRAMS[0])
    s.set_setting("reference:a1", {"transects": TRANSECTS})
    s.close()


def main(work: str, shots: str) -> None:
    from mobile.location import ReplayProvider

    work_dir, shot_dir = Path(work), Path(shots)
    seed(work_dir / "data")
    provider = ReplayProvider(write_gpx(work_dir / "walk.gpx", n=300), speed=0)
    drv = Driver(str(work_dir / "data"), provider=provider, size=(800, 1280))
    app, r = drv.app, {}
    store = app.store

    def shot(name):
        r.setdefault("shots", []).append(drv.screenshot(shot_dir / f"{name}.png"))

    taps = {"n": 0}

    def tap(widget):
        taps["n"] += 1
        drv.tap(widget)

    # -- walk setup: transect from the server's list, sticky fields, program asked --------
    r["first_screen"] = drv.screen.name
    drv.tap(drv.screen.ids.walk)
    walk = drv.screen
    tw = walk.form.widgets["transect_id"]
    r["transect_widget"] = type(tw).__name__
    r["transect_choices"] = list(tw.spinner.values)
    tw.spinner.text = tw.spinner.values[0]
    walk.form.widgets["transect_bearing_deg"].input.text = "45"
    walk.form.widgets["observers"].input.text = "Nguyễn Văn An, Lê Thị Hoa"
    walk.form.widgets["weather"].spinner.text = "Trời quang"
    walk.form.widgets["team_leader"].input.text = "Nguyễn Văn An"
    walk.form.widgets["team"].input.text = "Hồ Văn Tư"
    drv.frames(2)
    shot("fe_01_walk_setup_vi")
    drv.tap(walk.ids.start)
    r["program_question"] = app.dialog.title_label.text if app.dialog else None
    r["program_options"] = [b.text for b in app.dialog.option_buttons]
    shot("fe_02_program_question_vi")
    drv.tap(app.dialog.option_buttons[1])  # "Tuần tra đêm"
    walk_id = walk.walk_id
    r["walk_program"] = store.get_walk(walk_id)["program_id"]
    r["walk_transect"] = store.get_walk(walk_id)["data"]["transect_id"]
    provider.step(40)
    drv.wait(1.3)  # the walk screen builds the walk's forms meanwhile
    r["prewarmed"] = sorted(k[2] for k in app.screen("form")._forms)
    r["repeat_disabled_before"] = walk.ids.repeat.disabled

    # -- the first observation of the day, through the picker -----------------------------
    drv.tap(walk.ids.add_observation)
    form = drv.screen
    r["chips_first"] = list(form.form.widgets["taxon"].chips)
    drv.tap(form.form.widgets["taxon"].button)
    drv.screen.ids.query.text = "mang lon"
    drv.frames(3)
    row = next(w for w in drv.screen.ids.results.children[0].children
               if getattr(w, "species", None) and w.species.scientific_name == "Muntiacus vuquangensis")
    drv.tap(row)
    f = form.form.widgets
    drv.tap(f["sign_type"].tiles["track"])
    drv.tap(f["count"].plus)
    drv.tap(f["count"].plus)
    f["habitat"].spinner.text = "Rừng tre nứa"
    drv.frames(2)
    r["count_after_two_plus"] = f["count"].get_value()
    drv.tap(form.ids.save)
    r["after_first_save"] = drv.screen.name
    r["toast_first"] = app.last_toast.text if app.last_toast else None
    shot("fe_03_saved_toast_vi")

    # -- a common sighting in <= 4 taps: Add observation, species button, sign picture, Save --
    provider.step(10)
    n_before = store.count_records("observation", walk_id=walk_id)
    taps["n"] = 0
    tap(walk.ids.add_observation)
    chips = form.form.widgets["taxon"].chips
    r["chips_second"] = list(chips)
    tap(chips["Muntiacus vuquangensis"])
    tap(form.form.widgets["sign_type"].tiles["dung"])
    shot("fe_04_quick_form_vi")
    tap(form.ids.save)
    r["quick_taps"] = taps["n"]
    r["quick_screen"] = drv.screen.name
    quick = store.records("observation", walk_id=walk_id)[-1]
    r["quick_record"] = quick["data"]
    r["quick_count_delta"] = store.count_records("observation", walk_id=walk_id) - n_before
    r["quick_toast"] = app.last_toast.text

    # -- repeat last observation: Repeat, +, Save -------------------------------------------
    provider.step(10)
    taps["n"] = 0
    r["repeat_label"] = walk.ids.repeat.text
    tap(walk.ids.repeat)
    tap(form.form.widgets["count"].plus)
    tap(form.ids.save)
    r["repeat_taps"] = taps["n"]
    rep = store.records("observation", walk_id=walk_id)[-1]
    r["repeat_record"] = rep["data"]
    r["repeat_is_new"] = rep["id"] != quick["id"]

    # -- D7: a form opens at its top ---------------------------------------------------------
    drv.tap(walk.ids.add_observation)
    form.ids.scroll.scroll_y = 0
    drv.frames(2)
    r["scrolled_to"] = form.ids.scroll.scroll_y
    drv.tap(form.ids.cancel)  # nothing entered: closes without a question
    r["unfilled_cancel_dialog"] = app.dialog is not None
    r["unfilled_cancel_screen"] = drv.screen.name
    drv.tap(walk.ids.add_threat)
    r["threat_form_scroll_y"] = form.ids.scroll.scroll_y
    drv.tap(form.ids.cancel)
    drv.tap(walk.ids.add_observation)
    r["reopened_scroll_y"] = form.ids.scroll.scroll_y

    # -- D10: a filled form is not discarded without asking ---------------------------------
    n_before = store.count_records("observation", walk_id=walk_id)
    drv.tap(form.form.widgets["sign_type"].tiles["call"])
    drv.tap(form.ids.cancel)
    r["discard_question"] = app.dialog.title_label.text
    r["discard_buttons"] = [app.dialog.no_button.text, app.dialog.yes_button.text]
    shot("fe_05_discard_question_vi")
    drv.tap(app.dialog.no_button)
    r["after_keep_editing"] = (drv.screen.name, form.form.widgets["sign_type"].get_value())
    drv.tap(drv.find(form, "TopBar").ids.back)  # the back arrow asks too
    r["back_asks"] = app.dialog is not None
    drv.tap(app.dialog.yes_button)
    r["after_discard"] = drv.screen.name
    r["discard_saved_nothing"] = store.count_records("observation", walk_id=walk_id) == n_before

    # -- the picker lists recent and frequent species first ---------------------------------
    drv.tap(walk.ids.add_observation)
    drv.tap(form.form.widgets["taxon"].button)
    picker = drv.screen
    data = picker.ids.results.data
    r["picker_first_rows"] = [(d.get("viewclass"), d.get("text", "").split("\n")[0]) for d in data[:3]]
    shot("fe_06_species_recent_vi")
    drv.tap(picker.ids.unidentified)
    drv.tap(form.ids.cancel)
    drv.tap(app.dialog.yes_button)

    # -- English: a threat by picture, then stop (asked), then the summary -------------------
    drv.tap_language()
    drv.tap(walk.ids.add_threat)
    tf = form.form.widgets
    r["threat_program"] = form.ids.program.text
    drv.tap(tf["threat_type"].tiles["snare"])
    for _ in range(3):
        drv.tap(tf["count"].plus)
    tf["action_taken"].spinner.text = "Removed"
    drv.frames(2)
    shot("fe_07_threat_icons_en")
    drv.tap(form.ids.save)
    r["threat_toast"] = app.last_toast.text
    threat = store.records("threat", walk_id=walk_id)[-1]
    r["threat_record"] = {k: threat["data"].get(k) for k in ("threat_type", "count", "action_taken")}
    r["threat_program_id"] = threat["program_id"]
    provider.step(30)
    drv.frames(2)
    drv.tap(walk.ids.stop)
    r["stop_question"] = app.dialog.title_label.text
    r["stop_preview"] = app.dialog.message_label.text
    shot("fe_08_stop_question_en")
    drv.tap(app.dialog.no_button)
    r["after_keep_walking"] = (drv.screen.name, store.get_walk(walk_id)["status"])
    drv.tap(walk.ids.stop)
    drv.tap(app.dialog.yes_button)
    r["after_stop"] = drv.screen.name
    summary = drv.screen
    r["summary_en"] = summary.rows
    shot("fe_09_summary_en")
    drv.tap_language()
    r["summary_vi"] = summary.rows
    shot("fe_10_summary_vi")
    r["walk"] = store.get_walk(walk_id)
    r["walk_mutation"] = [m for m in store.outbox() if m["entity"] == "walk"][-1]
    drv.tap(summary.ids.done)
    r["after_done"] = drv.screen.name
    # later, from the records list: the walk's record screen opens the same summary, and back
    app.screen("records").open_record("walk", walk_id)
    drv.frames(2)
    drv.tap(drv.screen.ids.summary)
    r["summary_from_record"] = (drv.screen.name, drv.screen.rows == summary.rows, drv.screen.ids.status.text)
    drv.tap(drv.find(drv.screen, "TopBar").ids.back)
    r["summary_back_to"] = drv.screen.name
    app.show("home")
    drv.frames(2)  # laid out before the tap
    # the next walk starts with the same team, weather and patrol type (sticky)
    drv.tap(drv.screen.ids.walk)
    w = drv.screen.form.widgets
    r["next_walk_prefill"] = {k: w[k].get_value() for k in ("observers", "weather", "patrol_type", "team_leader",
                                                             "team", "transect_id")}
    r["records"] = [o["data"] for o in store.records("observation", walk_id=walk_id)]
    drv.stop()
    emit(r)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
