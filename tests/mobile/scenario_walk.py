"""UI scenario (run in its own process by test_ui.py): a full ranger day through the real screens.

Offline start, transect walk with a replayed GPX track, two observations
through the form (species picker, photo from file), pause/resume/stop, a
camera deployment, a threat, the records list, language switch, screenshots.
Prints one RESULT line of JSON.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mobile_harness import REPO, Driver, emit, write_gpx  # noqa: E402

sys.path.insert(0, str(REPO))


def main(work: str, shots: str) -> None:
    from mobile.location import ReplayProvider

    work_dir, shot_dir = Path(work), Path(shots)
    gpx = write_gpx(work_dir / "walk.gpx", n=240, bad=(30, 31, 32))
    provider = ReplayProvider(gpx, speed=0)  # fixes only when the scenario steps them
    drv = Driver(str(work_dir / "data"), provider=provider)
    app, result = drv.app, {"screens": []}

    def shot(name):
        result.setdefault("shots", []).append(drv.screenshot(shot_dir / f"{name}.png"))

    result["screens"].append(drv.screen.name)
    shot("01_signin_vi")
    drv.tap(drv.screen.ids.offline)
    result["screens"].append(drv.screen.name)
    drv.tap(drv.screen.ids.proceed)
    result["screens"].append(drv.screen.name)
    drv.tap(drv.screen.ids.sync)
    result["offline_sync_message"] = drv.screen.ids.sync_status.text
    shot("02_home_vi")

    # -- walk: an empty form is refused with field messages, in Vietnamese
    drv.tap(drv.screen.ids.walk)
    walk = drv.screen
    drv.tap(walk.ids.start)
    result["empty_walk_error"] = walk.form.widgets["transect_id"].error.text
    result["walk_after_empty_start"] = app.store.active_walk()
    form = walk.form
    form.widgets["transect_id"].input.text = "T-07 Khe Sanh"
    form.widgets["transect_bearing_deg"].input.text = "45"
    form.widgets["observers"].input.text = "Nguyễn Văn An, Lê Thị Hoa"
    form.widgets["weather"].spinner.text = "Trời quang"
    drv.frames(2)
    shot("03_walk_setup_vi")
    drv.tap(walk.ids.start)
    walk_id = walk.walk_id
    result["walk_started"] = bool(walk_id)
    provider.step(80)
    drv.frames(3)
    walk.update_stats()
    result["distance_label"] = walk.ids.distance.text
    shot("04_walk_running_vi")

    # -- observation 1: species by diacritic-free search, distance/bearing, photo from file
    drv.tap(walk.ids.add_observation)
    obs = drv.screen
    result["screens"].append(obs.name)
    drv.tap(obs.form.widgets["taxon"].button)
    species = drv.screen
    result["screens"].append(species.name)
    species.ids.query.text = "cha va chan nau"
    drv.frames(3)
    result["species_hits"] = [s.scientific_name for s in species.results][:3]
    shot("05_species_vi")
    rows = [w for w in species.ids.results.children[0].children if getattr(w, "species", None)]
    row = next(w for w in rows if w.species.scientific_name == "Pygathrix nemaeus")
    drv.tap(row)
    result["back_on"] = drv.screen.name
    f = obs.form.widgets
    drv.tap(f["sign_type"].tiles["sighting"])  # a picture choice (item 4)
    f["count"].input.text = "3"
    f["distance_m"].input.text = "40"
    f["bearing_deg"].input.text = "135"
    f["habitat"].spinner.text = "Rừng thường xanh"
    drv.frames(2)
    result["perpendicular_shown"] = f["perpendicular_distance_m"].shown.text
    photo = work_dir / "douc.png"
    from PIL import Image

    Image.new("RGB", (64, 48), (120, 80, 40)).save(photo)
    popup = app.add_photo(f["photos"])
    drv.frames(2)
    app.file_chooser.selection = [str(photo)]
    ok = [w for w in popup.content.children[0].children if w.text == app.tr("Photo from file")][0]
    drv.tap(ok)
    drv.wait(0.5)  # the popup fades out before touches reach the form again
    drv.until(lambda: f["photos"].value and not f["photos"].pending)  # resized on the photo worker
    result["photo_count_label"] = f["photos"].count.text
    shot("06_observation_vi")
    drv.tap(obs.ids.save)
    result["after_save_screen"] = drv.screen.name
    result["save_message"] = obs.ids.message.text
    result["save_errors"] = [str(e) for e in obs.collect()[1]]

    print("PARTIAL", result, flush=True)
    # -- observation 2: unidentified dung, with a bad count first (validator message in Vietnamese)
    drv.tap(walk.ids.add_observation)
    drv.tap(obs.form.widgets["taxon"].button)
    drv.tap(drv.screen.ids.unidentified)
    f = obs.form.widgets
    drv.tap(f["sign_type"].tiles["dung"])
    f["count"].input.text = "0"
    drv.tap(obs.ids.save)
    result["bad_count_error"] = f["count"].error.text
    result["bad_count_screen"] = drv.screen.name
    f["count"].input.text = "1"
    drv.tap(obs.ids.save)

    # -- pause, resume (new segment), more fixes, switch language, stop
    drv.tap(walk.ids.pause)
    paused_points = app.store.get_walk(walk_id)["point_count"]
    provider.step(20)  # walked while paused: not recorded
    result["points_unchanged_while_paused"] = app.store.get_walk(walk_id)["point_count"] == paused_points
    drv.tap(walk.ids.pause)
    provider.step(60)
    drv.frames(2)
    walk.update_stats()
    vi_state = walk.ids.state.text
    drv.tap_language()
    walk.update_stats()
    result["lang_after_switch"] = app.lang
    result["state_vi_en"] = [vi_state, walk.ids.state.text]
    shot("07_walk_running_en")
    drv.tap(walk.ids.stop)
    result["stop_asked"] = app.dialog.title_label.text
    drv.tap(app.dialog.yes_button)
    result["after_stop_screen"] = drv.screen.name
    result["walk_after_stop"] = app.store.get_walk(walk_id)

    # -- camera deployment (English now), then a threat
    app.show("home")
    drv.frames(2)
    drv.tap(drv.screen.ids.camera)
    dep = drv.screen
    f = dep.form.widgets
    f["station_id"].input.text = "CT-12"
    f["camera_serial"].input.text = "BR-0042"
    f["sd_card"].input.text = "SD-118"
    f["height_m"].input.text = "0.5"
    f["heading_deg"].input.text = "270"
    f["bait"].set_value(False)
    f["habitat"].spinner.text = "Evergreen forest"
    drv.tap(f["location"].button)
    shot("08_camera_deployment_en")
    drv.tap(dep.ids.save)
    drv.tap(drv.screen.ids.threat)
    thr = drv.screen
    f = thr.form.widgets
    drv.tap(f["threat_type"].tiles["snare"])
    f["count"].input.text = "14"
    f["action_taken"].spinner.text = "Removed"
    drv.tap(thr.ids.save)

    # -- records list
    drv.tap(drv.screen.ids.records)
    rec = drv.screen
    drv.frames(3)
    result["records_count_label"] = rec.ids.count.text
    result["records_rows"] = [r["text"] for r in rec.ids.list.data]
    shot("09_records_en")
    # Correct a record from the list: tap the douc observation, change the count, save.
    row = next(w for w in rec.ids.list.children[0].children if "Pygathrix" in w.text)
    drv.tap(row)
    result["edit_screen"] = drv.screen.name
    result["edit_count_before"] = drv.screen.form.widgets["count"].input.text
    drv.screen.form.widgets["count"].input.text = "4"
    drv.tap(drv.screen.ids.save)
    drv.tap(drv.screen.ids.records)
    app.set_language("vi")
    drv.frames(2)
    shot("10_records_vi")

    s = app.store
    result["observations"] = s.records("observation", walk_id=walk_id)
    result["deployments"] = s.records("deployment")
    result["threats"] = s.records("threat")
    result["track_len"] = len(s.track(walk_id))
    result["outbox"] = s.outbox()
    result["photo"] = s.photo(result["observations"][0]["data"]["photos"][0]) if result["observations"] else None
    result["photo_links"] = s.photos_of("observation", result["observations"][0]["id"]) if result["observations"] else []
    drv.stop()
    emit(result)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
