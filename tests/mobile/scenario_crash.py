"""UI scenario for the crash-safety test: record a walk, get SIGKILLed, restart and resume.

``record`` phase: offline start, start a walk, save two observations through
the form, then keep recording a replayed track (real-time thread) and print
"PROGRESS <points> <observations>" lines until killed.
``resume`` phase: start the app on the same storage and report what it found
and that recording carries on. Prints one RESULT line.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mobile_harness import REPO, Driver, emit, write_gpx  # noqa: E402

sys.path.insert(0, str(REPO))


def record(work: Path) -> None:
    from mobile.location import ReplayProvider

    gpx = write_gpx(work / "walk.gpx", n=2000)
    provider = ReplayProvider(gpx, speed=25)  # a fix every 0.2 s
    drv = Driver(str(work / "data"), provider=provider)
    drv.tap(drv.screen.ids.offline)
    drv.tap(drv.screen.ids.proceed)
    drv.tap(drv.screen.ids.walk)
    walk = drv.screen
    walk.form.widgets["transect_id"].input.text = "T-03"
    walk.form.widgets["transect_bearing_deg"].input.text = "90"
    walk.form.widgets["observers"].input.text = "Hồ Văn Bình"
    walk.form.widgets["weather"].spinner.text = "Sương mù"
    drv.tap(walk.ids.start)
    for taxon, sign in (("Muntiacus vuquangensis", "track"), ("Nomascus leucogenys", "call")):
        drv.tap(walk.ids.add_observation)
        form = drv.screen
        form.form.widgets["taxon"].set_value(taxon)
        drv.tap(form.form.widgets["sign_type"].tiles[sign])  # sign types are pictures (issue 14)
        form.form.widgets["count"].input.text = "2"
        form.form.widgets["distance_m"].input.text = "25"
        form.form.widgets["bearing_deg"].input.text = "30"
        drv.tap(form.ids.save)
        assert drv.screen.name == "walk", form.ids.message.text
    store = drv.app.store
    while True:  # until SIGKILL
        drv.frames(1)
        w = store.get_walk(walk.walk_id)
        print(f"PROGRESS {w['point_count']} {len(store.records('observation'))} {walk.walk_id}", flush=True)
        time.sleep(0.05)


def resume(work: Path) -> None:
    from mobile.location import ReplayProvider

    gpx = write_gpx(work / "walk2.gpx", n=100, lat0=16.21)
    provider = ReplayProvider(gpx, speed=0)
    drv = Driver(str(work / "data"), provider=provider)
    app = drv.app
    walk = drv.screen
    found = app.store.get_walk(walk.walk_id) if walk.name == "walk" and walk.walk_id else None
    result = {
        "screen": walk.name,
        "message": walk.ids.message.text if walk.name == "walk" else None,
        "walk": found and {k: found[k] for k in ("id", "status", "point_count", "segment", "distance_m")},
        "observations": [o["data"].get("taxon") for o in app.store.records("observation")],
        "recording": app.recorder.running,
    }
    provider.step(60)
    drv.frames(2)
    result["points_after_resume"] = app.store.get_walk(walk.walk_id)["point_count"] if found else None
    drv.screenshot(Path(sys.argv[3]) / "crash_resumed_vi.png")
    drv.tap(walk.ids.stop)
    drv.tap(app.dialog.yes_button)  # stop asks first (issue 14, D10)
    result["status_after_stop"] = app.store.get_walk(found["id"])["status"] if found else None
    result["outbox_ops"] = [(m["entity"], m["op"]) for m in app.store.outbox()]
    result["integrity"] = app.store._db.execute("PRAGMA integrity_check").fetchone()[0]
    drv.stop()
    emit(result)


if __name__ == "__main__":
    phase, work_dir = sys.argv[1], Path(sys.argv[2])
    record(work_dir) if phase == "record" else resume(work_dir)
