"""UI scenario (run in its own process by test_map_ui.py): the offline map and the no-fix flows (D5).

A ranger with the area's basemap (an MBTiles file made here with Pillow) and its reference
(boundary, a transect) works with no GPS fix at first: a threat gets its location picked on
the map, the walk says it is waiting for GPS, an observation without a position is warned
about, then gets typed coordinates ("16,2051": a decimal comma). Then fixes arrive: the walk
records, the map shows the track, the observations, the threat and the accuracy circle; panning
moves the view without re-projecting; a damaged basemap is reported and the map still works.
Prints one RESULT line of JSON.
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))  # tests/: mbtiles_maker
from mobile_harness import REPO, Driver, emit, write_gpx  # noqa: E402

sys.path.insert(0, str(REPO))

BOUNDARY = {"type": "Polygon", "coordinates": [[[107.835, 16.18], [107.885, 16.18], [107.885, 16.215],
                                                [107.835, 16.215], [107.835, 16.18]]]}
TRANSECT = {"type": "LineString", "coordinates": [[107.8560, 16.1960], [107.8600, 16.2000]]}


def seed(data_dir: Path) -> dict:
    """A store signed in to area A1 with its reference and a downloaded basemap."""
    import hashlib

    from mbtiles_maker import BACH_MA, make_mbtiles

    from mobile.basemap import basemap_path
    from mobile.store import Store

    store = Store(data_dir)
    mb = make_mbtiles(basemap_path(data_dir, "A1"), bounds=BACH_MA, zooms=(13, 14, 15, 16))
    sha = hashlib.sha256(mb.read_bytes()).hexdigest()
    store.set_setting("area", {"id": "A1", "name": "VQG Bạch Mã"})
    store.set_setting("program", {"id": None, "name": "Offline"})
    store.set_setting("reference:A1", {
        "area": {"id": "A1", "code": "BM", "name": "Bạch Mã", "boundary": BOUNDARY},
        "transects": [{"id": "t1", "name": "T-07", "geometry": TRANSECT}],
        "basemap": {"sha256": sha, "size_bytes": mb.stat().st_size, "bounds": list(BACH_MA), "minzoom": 13,
                    "maxzoom": 16, "format": "png", "download_url": "/api/v1/areas/A1/basemap.mbtiles"}})
    store.set_setting("basemap_sha:A1", sha)
    store.close()
    return {"basemap": str(mb), "bytes": mb.read_bytes()}


class Served:
    """The server's basemap download as a requests-like session (the first try breaks at a third)."""

    def __init__(self, data: bytes):
        self.data, self.tries, self.ranges = data, 0, []

    def get(self, url, headers=None, stream=False, timeout=None):
        self.tries += 1
        rng = (headers or {}).get("Range")
        self.ranges.append(rng)
        start = int(rng.split("=")[1].rstrip("-")) if rng else 0
        body, cut = self.data[start:], (len(self.data) // 3 if self.tries == 1 else None)
        data = self.data

        class Resp:
            status_code = 206 if rng else 200
            headers = {"X-Content-SHA256": __import__("hashlib").sha256(data).hexdigest()}

            def iter_content(self, chunk):
                for i in range(0, len(body), chunk):
                    if cut is not None and i >= cut:
                        raise ConnectionError("connection reset")
                    yield body[i:i + chunk]

            def close(self):
                pass
        return Resp()


def main(work: str, shots: str) -> None:
    from mobile.location import ReplayProvider

    work_dir, shot_dir = Path(work), Path(shots)
    seeded = seed(work_dir / "data")
    provider = ReplayProvider(write_gpx(work_dir / "walk.gpx", n=200), speed=0)  # no fix until stepped
    drv = Driver(str(work_dir / "data"), provider=provider, size=(600, 960))
    app, result = drv.app, {}

    def shot(name):
        result.setdefault("shots", []).append(drv.screenshot(shot_dir / f"{name}.png"))

    result["first_screen"] = drv.screen.name

    # -- a threat with no fix: refused without a location, then the location is picked on the map
    drv.tap(drv.screen.ids.threat)
    form = drv.screen
    f = form.form.widgets
    f["threat_type"].set_value("snare")  # a picture choice (issue 14, item 4)
    f["count"].input.text = "3"
    f["action_taken"].spinner.text = "Đã tháo gỡ"
    drv.tap(form.ids.save)
    result["threat_no_location_error"] = f["location"].error.text
    drv.reveal(f["location"].button)
    drv.tap(f["location"].button)  # "use current GPS position": there is none
    result["no_fix_hint"] = f["location"].error.text
    drv.reveal(f["location"].map_button)
    drv.tap(f["location"].map_button)
    result["pick_screen"] = drv.screen.name
    mapscr = drv.screen
    drv.frames(3)
    shot("m01_pick_on_map_vi")
    m = mapscr.map
    result["pick_use_disabled_before_tap"] = mapscr.ids.use_location.disabled
    from kivy.tests.common import UnitTestTouch

    tx, ty = m.center_x + 60, m.center_y + 40
    expected = m.to_lonlat(tx, ty)
    t = UnitTestTouch(tx, ty)
    t.touch_down()
    t.touch_up()
    drv.frames(2)
    shot("m02_picked_vi")
    drv.tap(mapscr.ids.use_location)
    result["back_to"] = drv.screen.name
    loc = f["location"].get_value()
    result["picked"] = loc
    result["picked_expected"] = {"lon": round(expected[0], 7), "lat": round(expected[1], 7)}
    result["form_kept"] = [f["threat_type"].get_value(), f["count"].get_value(), f["action_taken"].get_value()]
    result["location_shown"] = f["location"].shown.text
    drv.tap(form.ids.save)
    threats = app.store.records("threat")
    result["threat_saved"] = threats[-1]["data"] if threats else None
    result["after_threat"] = drv.screen.name

    # -- a walk with no fix: waiting, honestly
    drv.tap(drv.screen.ids.walk)
    walk = drv.screen
    walk.form.widgets["transect_id"].set_value("T-07")  # chosen from the area's transects (D12)
    walk.form.widgets["transect_bearing_deg"].input.text = "45"
    walk.form.widgets["observers"].input.text = "Nguyễn Văn An"
    walk.form.widgets["weather"].spinner.text = "Trời quang"
    drv.tap(walk.ids.start)
    walk.update_stats()
    result["waiting_state"] = [walk.ids.state.text, list(walk.ids.state.color), walk.ids.accuracy.text]
    shot("m03_walk_waiting_vi")

    # -- an observation with no position: warned once, then typed coordinates with a decimal comma
    drv.tap(walk.ids.add_observation)
    obs = drv.screen
    drv.tap(obs.form.widgets["taxon"].button)
    drv.tap(drv.screen.ids.unidentified)
    f = obs.form.widgets
    f["sign_type"].set_value("dung")
    f["count"].input.text = "1"
    drv.tap(obs.ids.save)
    result["obs_warning"] = [drv.screen.name, obs.ids.message.text, f["location"].error.text]
    drv.reveal(f["location"].type_button)
    drv.tap(f["location"].type_button)
    f["location"].lat_input.text = "16,2051"
    f["location"].lon_input.text = "abc"
    drv.reveal(f["location"].manual_ok)
    drv.tap(f["location"].manual_ok)
    result["manual_bad"] = f["location"].error.text
    f["location"].lon_input.text = "107,8563"
    drv.reveal(f["location"].manual_ok)
    drv.tap(f["location"].manual_ok)
    result["manual_value"] = f["location"].get_value()
    drv.tap(obs.ids.save)
    result["after_manual_save"] = drv.screen.name
    # A second observation saved without a position: Save twice.
    drv.tap(walk.ids.add_observation)
    drv.tap(obs.form.widgets["taxon"].button)
    drv.tap(drv.screen.ids.unidentified)
    obs.form.widgets["sign_type"].set_value("dung")
    obs.form.widgets["count"].input.text = "2"
    drv.tap(obs.ids.save)
    first_tap = drv.screen.name
    drv.tap(obs.ids.save)
    result["no_position_two_taps"] = [first_tap, drv.screen.name]

    # -- fixes arrive: recording; observations at the fix; the map shows it all
    provider.step(120)
    drv.frames(2)
    walk.update_stats()
    result["recording_state"] = [walk.ids.state.text, list(walk.ids.state.color)]
    for i in range(3):
        drv.tap(walk.ids.add_observation)
        drv.tap(obs.form.widgets["taxon"].button)
        drv.tap(drv.screen.ids.unidentified)
        obs.form.widgets["sign_type"].set_value("track")
        obs.form.widgets["count"].input.text = str(i + 1)
        drv.tap(obs.ids.save)
    drv.tap(walk.ids.map)
    mapscr = drv.screen
    drv.frames(3)
    m = mapscr.map
    result["map"] = {"screen": drv.screen.name, "tiles_drawn": len(m._drawn_tiles), "zoom": int(m.zoom),
                     "track_lines": len(m.layers["track"]), "track_points": sum(len(x) for x in m.layers["track"]),
                     "observations": len(m.layers["observations"]), "threats": len(m.layers["threats"]),
                     "boundary": len(m.layers["boundary"]), "transects": len(m.layers["transects"]),
                     "accuracy_px": m.accuracy_radius_px(), "gps_label": mapscr.ids.gps.text,
                     "basemap_status": mapscr.ids.basemap_status.text,
                     "download_visible": mapscr.ids.download.opacity}
    shot("m04_map_walk_vi")
    # Panning moves the view without re-projecting the track and markers.
    before = (m.center_lon, m.center_lat, m.redraws)
    t = UnitTestTouch(m.center_x, m.center_y)
    t.touch_down()
    for _ in range(5):
        t.touch_move(t.x - 30, t.y - 20)
    t.touch_up()
    drv.frames(2)
    result["pan"] = {"moved": (m.center_lon, m.center_lat) != before[:2], "redraws": m.redraws - before[2],
                     "lon_east": m.center_lon > before[0]}
    drv.tap(mapscr.ids.zoom_in)
    result["zoom_in"] = [int(m.zoom), m.redraws - before[2]]
    # The walk goes on with the map open: the new piece of track is added, nothing re-projected.
    redraws, points = m.redraws, sum(len(x) for x in m.layers["track"])
    provider.step(40)
    mapscr.update()
    result["live_track"] = {"redraws": m.redraws - redraws,
                            "grew": sum(len(x) for x in m.layers["track"]) - points,
                            "stored": app.store.get_walk(walk.walk_id)["point_count"]}
    drv.tap_language()
    drv.frames(2)
    shot("m05_map_walk_en")

    # -- a damaged basemap: told, the map keeps working without it, nothing else touched
    Path(seeded["basemap"]).write_bytes(Path(seeded["basemap"]).read_bytes()[:3000])
    app.show("map")
    drv.frames(2)
    result["damaged"] = {"message": mapscr.ids.message.text, "tiles": m.tiles is None,
                         "track_points": sum(len(x) for x in m.layers["track"]),
                     "stored_points": app.store.get_walk(walk.walk_id)["point_count"]}
    shot("m06_map_damaged_en")
    # -- the basemap downloaded from the map screen: size shown, progress, a break, the rest
    Path(seeded["basemap"]).unlink()
    app.store.set_setting("server", "http://station.test")
    app.store.set_setting("token", "t")
    app.store.set_setting("basemap_sha:A1", None)
    served = Served(seeded["bytes"])
    type(mapscr)._session = served
    app.set_language("vi")
    app.show("map")
    drv.frames(2)
    result["download"] = {"before": mapscr.ids.basemap_status.text, "button": mapscr.ids.download.opacity}
    seen = []
    mapscr.ids.basemap_status.bind(text=lambda w, t: seen.append(t))
    drv.tap(mapscr.ids.download)
    drv.until(lambda: not mapscr.downloading)
    drv.frames(2)
    result["download"]["broken"] = mapscr.ids.basemap_status.text
    shot("m07_download_broken_vi")
    drv.tap(mapscr.ids.download)
    drv.until(lambda: not mapscr.downloading)
    drv.frames(2)
    result["download"].update(after=mapscr.ids.basemap_status.text, ranges=served.ranges,
                              progress=[t for t in seen if t.startswith("Đang tải")][-1:],
                              tiles=mapscr.map.tiles is not None,
                              sha=app.store.get_setting("basemap_sha:A1"))
    result["store"] = {"threats": len(app.store.records("threat")), "observations": len(app.store.records("observation"))}
    drv.stop()
    emit(result)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
