"""UI scenario (issue 14: D1, D8, D9, D11): tablet B's app against a real `saola serve`, after tablet A
recorded and synced walk T-08 (test_ui_sync.py does that part and checks the server afterwards).

B signs in, picks the area (the program defaults to a real one), refreshes the reference data
and lets the automatic sync run; then: the home screen says when it synced and what waits (no
"Syncing 8/8" left behind); "Transect walk" opens a new walk, not A's; the records list shows
B's own records, and the team's on request, with A's walk read only in human words, in both
languages; B walks its own transect and its species search still finds Hoẵng. Prints one RESULT.

Arguments: work folder, screenshot folder, server URL, user name, password, protected area name,
the id of A's walk.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mobile_harness import REPO, Driver, emit, write_gpx  # noqa: E402

sys.path.insert(0, str(REPO))


def main(work: str, shots: str, server: str, username: str, password: str, area_name: str, t08: str) -> None:
    from mobile.location import ReplayProvider

    work_dir, shot_dir = Path(work), Path(shots)
    provider = ReplayProvider(write_gpx(work_dir / "b.gpx", n=60, lat0=17.6, lon0=106.3), speed=0)
    drv = Driver(str(work_dir / "data"), provider=provider)
    app, result = drv.app, {}

    def shot(name):
        result.setdefault("shots", []).append(drv.screenshot(shot_dir / f"{name}.png"))

    # -- sign in, area, program (D2: a real program by default), reference data with alternative names
    scr = drv.screen
    scr.ids.server.text, scr.ids.username.text, scr.ids.password.text = server, username, password
    drv.tap(scr.ids.sign_in)
    assert drv.until(lambda: drv.screen.name == "area", 60), scr.ids.message.text
    area = drv.screen
    area.ids.area.text = area_name
    drv.frames(2)
    result["program_default"] = area.ids.program.text
    result["program_choices"] = list(area.ids.program.values)
    drv.tap(area.ids.refresh)
    assert drv.until(lambda: area.ids.message.text == app.tr("Reference data updated"), 60), area.ids.message.text
    drv.tap(area.ids.proceed)
    home = drv.screen

    # -- the automatic sync (started at sign-in) ends: the screen shows its outcome, not its progress (D8)
    assert drv.until(lambda: (app.store.get_setting("sync.last") or {}).get("ok") and not home.ids.sync.disabled
                     and home.ids.sync_status.text.startswith("Đã đồng bộ"), 90), home.ids.sync_status.text
    drv.frames(3)
    result["home"] = {k: home.ids[k].text for k in ("where", "pending", "last_sync", "sync_status")}
    shot("21_b_home_after_sync_vi")

    # -- "Transect walk" opens a new walk of B's, never A's T-08 (D1)
    drv.tap(home.ids.walk)
    walk = drv.screen
    result["walk_screen"] = {"walk_id": walk.walk_id, "setup_shown": walk.setup_panel.parent is not None,
                             "active_walk": (app.store.active_walk() or {}).get("id")}
    shot("22_b_walk_setup_not_a_walk_vi")
    t08_row = app.store.get_walk(t08)
    result["t08_local"] = {k: t08_row[k] for k in ("status", "origin", "owner", "point_count", "distance_m")}

    # -- records: B's own (none yet), then the team's with A's walk in words, read only (D11)
    app.show("home")
    drv.frames(3)
    drv.tap(drv.screen.ids.records)
    records = drv.screen
    drv.frames(2)
    result["records_mine"] = {"count": records.ids.count.text, "rows": [r["text"] for r in records.ids.list.data]}
    drv.tap(records.ids.scope)
    drv.frames(2)
    result["records_team_vi"] = {"count": records.ids.count.text, "rows": [r["text"] for r in records.ids.list.data],
                                 "button": records.ids.scope.text}
    shot("23_b_records_team_vi")
    drv.tap_language()
    drv.frames(2)
    result["records_team_en"] = [r["text"] for r in records.ids.list.data]
    row = next(w for w in records.ids.list.children[0].children if "T-08" in w.text)
    drv.tap(row)
    rec = drv.screen
    result["record_screen"] = {"name": rec.name, "title": rec.ids.title_bar.title, "owner": rec.ids.owner.text,
                               "stats": rec.ids.stats.text, "form_disabled": rec.form.disabled,
                               "actions_disabled": rec.ids.actions.disabled, "actions_height": rec.ids.actions.height,
                               "transect_shown": rec.form.widgets["transect_id"].get_value()}
    shot("24_b_record_readonly_en")
    drv.tap_language()

    # -- B walks its own transect; its species search still finds Hoẵng after the refresh (D9)
    app.show("walk")
    drv.frames(3)
    walk = drv.screen
    form = walk.form
    form.widgets["transect_id"].input.text = "T-09"
    form.widgets["observers"].input.text = "Minh"
    form.widgets["weather"].spinner.text = "Sương mù"
    drv.tap(walk.ids.start)
    provider.step(20)
    drv.frames(3)
    drv.tap(walk.ids.add_observation)
    obs = drv.screen
    drv.tap(obs.form.widgets["taxon"].button)
    species = drv.screen
    species.ids.query.text = "Hoẵng"
    drv.frames(3)
    result["species_hoang"] = [s.scientific_name for s in species.results][:3]
    result["species_source"] = app.reference.species((app.store.get_setting("program") or {}).get("id")).source
    shot("25_b_species_hoang_vi")
    rows = [w for w in species.ids.results.children[0].children if getattr(w, "species", None)]
    drv.tap(next(w for w in rows if w.species.scientific_name == "Muntiacus vaginalis"))
    f = obs.form.widgets
    drv.tap(f["sign_type"].tiles["sighting"])  # a picture choice
    f["count"].input.text = "1"
    f["distance_m"].input.text = "15"
    f["bearing_deg"].input.text = "20"
    drv.tap(obs.ids.save)
    result["after_observation"] = drv.screen.name
    provider.step(20)
    drv.frames(2)
    walk = drv.screen
    drv.tap(walk.ids.stop)
    drv.tap(app.dialog.yes_button)  # "Stop this walk?"
    drv.until(lambda: app.store.active_walk() is None, 10)
    b_walk = next(w for w in app.store.records("walk") if w["origin"] == "local")
    result["b_walk"] = {"id": b_walk["id"], "points": app.store.get_walk(b_walk["id"])["point_count"]}
    app.show("home")
    drv.frames(3)
    home = drv.screen
    drv.tap(home.ids.sync)
    assert drv.until(lambda: not home.ids.sync.disabled, 90)
    drv.frames(3)
    result["home_after_own_walk"] = {k: home.ids[k].text for k in ("pending", "last_sync", "sync_status")}
    shot("26_b_home_after_own_walk_vi")
    result["outbox_after"] = app.store.outbox_count()
    result["t08_after"] = {k: app.store.get_walk(t08)[k] for k in ("status", "origin", "point_count")}
    drv.stop()
    emit(result)


if __name__ == "__main__":
    main(*sys.argv[1:8])
