"""UI scenario (own process, run by test_fast_entry_ui.py): decimal commas (D6), programs per form and
finger-sized file rows (D12), corrections asked before being discarded (D10), at 800x1280.

Prints one RESULT line.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mobile_harness import REPO, Driver, emit, write_gpx  # noqa: E402
from scenario_fastentry import seed  # noqa: E402

sys.path.insert(0, str(REPO))


def type_into(drv, text_input, text: str) -> None:
    """Type ``text`` one key at a time through the input's filter, as the keyboard does."""
    text_input.focus = True
    for ch in text:
        text_input.insert_text(ch)
    drv.frames(1)


def main(work: str, shots: str) -> None:
    import os

    from kivy.metrics import dp
    from PIL import Image

    from mobile.location import ReplayProvider

    work_dir, shot_dir = Path(work), Path(shots)
    photos = work_dir / "photos"
    photos.mkdir(parents=True, exist_ok=True)
    for i in range(4):
        Image.new("RGB", (32, 24), (40 * i, 90, 60)).save(photos / f"IMG_{i:04d}.jpg")
    os.environ["SAOLA_PHOTO_DIR"] = str(photos)
    seed(work_dir / "data")
    provider = ReplayProvider(write_gpx(work_dir / "walk.gpx", n=60), speed=0)
    drv = Driver(str(work_dir / "data"), provider=provider, size=(800, 1280))
    app, r = drv.app, {}
    store = app.store

    def shot(name):
        r.setdefault("shots", []).append(drv.screenshot(shot_dir / f"{name}.png"))

    # -- D12: a camera deployment goes to the area's camera-trap program, without a question --
    drv.tap(drv.screen.ids.camera)
    form = drv.screen
    r["camera_dialog"] = app.dialog is not None
    r["camera_program_label"] = form.ids.program.text
    f = form.form.widgets
    # -- D6: "0,5" typed is half a metre, and reads "0,5" in Vietnamese, "0.5" in English
    type_into(drv, f["height_m"].input, "0,5")
    r["height_typed_vi"] = (f["height_m"].input.text, f["height_m"].get_value())
    f["heading_deg"].input.text = ""
    type_into(drv, f["heading_deg"].input, "1,2,3x")  # a second separator and a letter are refused
    r["heading_filtered"] = f["heading_deg"].input.text
    f["heading_deg"].input.text = ""
    type_into(drv, f["heading_deg"].input, "270")
    f["station_id"].input.text = "CT-12"
    f["camera_serial"].input.text = "BR-0042"
    f["sd_card"].input.text = "SD-118"
    f["bait"].set_value(False)
    provider.step(5)  # the receiver came on with the form
    drv.tap(f["location"].button)
    shot("fm_01_camera_decimal_vi")
    drv.tap_language()
    f = form.form.widgets
    r["height_shown_en"] = f["height_m"].input.text
    shot("fm_02_camera_decimal_en")
    drv.tap(form.ids.save)
    dep = store.records("deployment")[-1]
    r["deployment"] = {"height_m": dep["data"]["height_m"], "program_id": dep["program_id"],
                       "mutation_program": store.outbox()[-1]["data"]["program_id"]}
    r["after_save"] = drv.screen.name
    r["toast"] = app.last_toast.text

    # -- a correction stays in its program; discarding changes to it is asked too (D10) --------
    app.show("form", kind="camera", record_id=dep["id"], record_type="deployment", values=dep["data"])
    drv.frames(2)
    r["correction_dialog"] = app.dialog is not None
    r["correction_program_label"] = form.ids.program.text
    r["correction_height_shown"] = form.form.widgets["height_m"].input.text
    drv.tap(form.ids.cancel)  # unchanged: no question
    r["unchanged_correction_closed"] = (app.dialog is None, drv.screen.name)
    app.show("form", kind="camera", record_id=dep["id"], record_type="deployment", values=dep["data"])
    drv.frames(2)
    form.form.widgets["sd_card"].input.text = "SD-200"
    drv.tap(form.ids.cancel)
    r["correction_question"] = app.dialog.title_label.text
    drv.tap(app.dialog.yes_button)
    r["correction_discarded"] = store.get_record("deployment", dep["id"])["data"]["sd_card"]

    # -- no program of the area records acoustic deployments: the ranger chooses, told so --------
    drv.tap(drv.screen.ids.acoustic)
    r["acoustic_question"] = app.dialog.title_label.text
    r["acoustic_message"] = app.dialog.message_label.text
    r["acoustic_options"] = [b.text for b in app.dialog.option_buttons]
    r["dialog_button_heights"] = [b.height for b in app.dialog.buttons]
    shot("fm_03_program_none_fits_en")
    drv.tap(app.dialog.cancel_button)
    r["after_acoustic_cancel"] = drv.screen.name
    drv.tap(drv.screen.ids.acoustic)
    drv.tap(app.dialog.option_buttons[1])
    r["acoustic_program_label"] = drv.screen.ids.program.text
    r["acoustic_change_visible"] = drv.screen.ids.change_program.opacity == 1 and drv.screen.ids.change_program.width >= dp(48)
    drv.tap(drv.screen.ids.cancel)
    drv.tap(drv.screen.ids.acoustic)  # the answer is remembered
    r["acoustic_second_time"] = (app.dialog is None, drv.screen.ids.program.text)
    drv.tap(drv.screen.ids.cancel)

    # -- D6 in an observation: the computed perpendicular distance in the reader's format ------
    app.set_language("vi")
    app.show("form", kind="observation", values={"transect_bearing_deg": 45})
    drv.frames(2)
    r["observation_asks_program"] = app.dialog is not None  # two line-transect programs, no walk
    drv.tap(app.dialog.option_buttons[0])
    f = drv.screen.form.widgets
    type_into(drv, f["distance_m"].input, "40,5")
    type_into(drv, f["bearing_deg"].input, "90")
    drv.frames(2)
    r["perpendicular_vi"] = f["perpendicular_distance_m"].shown.text
    r["distance_value"] = f["distance_m"].get_value()
    f["sign_type"].set_value("call")
    f["habitat"].set_value("bamboo")
    f["note"].input.text = "ghi chú cũ"
    drv.tap(drv.find(drv.screen, "TopBar").ids.back)
    drv.tap(app.dialog.yes_button)
    # the next observation form is the same widgets, reset: nothing of the discarded one shows
    app.show("form", kind="observation", values={"transect_bearing_deg": 45})
    drv.frames(2)
    r["reused_form"] = drv.screen.form is f["distance_m"].form
    reopened = drv.screen.form.values()
    r["reopened_values"] = sorted(reopened)
    r["reopened_texts"] = [drv.screen.form.widgets[n].input.text for n in ("distance_m", "bearing_deg", "note")]
    r["reopened_errors"] = [w.error.text for w in drv.screen.form.widgets.values() if w.error.text]
    drv.tap(drv.screen.ids.cancel)

    # -- D12: the photo chooser's rows are finger-sized -----------------------------------
    app.set_language("en")
    drv.tap(drv.screen.ids.camera)
    popup = app.add_photo(drv.screen.form.widgets["setup_photo"])
    drv.wait(0.4)
    entries = [w for w in app.file_chooser.walk() if hasattr(w, "is_leaf") and hasattr(w, "path")]
    r["chooser_rows"] = [(Path(w.path).name, w.height) for w in entries]
    r["min_row_dp"] = dp(48)
    shot("fm_04_file_chooser_en")
    popup.dismiss()
    drv.wait(0.4)
    drv.stop()
    emit(r)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
