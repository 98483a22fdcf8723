"""Field app performance: cold start, observation save latency, records list with 10,000 observations,
the offline map on a 6-hour walk with 500 observations, and memory after such a walk; taps per
record with fast entry and the time to open a form.

    .venv/bin/python benchmarks/mobile.py [--quick]

Headless (SDL2 offscreen on Mesa llvmpipe): frame times are software-rendered
and so pessimistic against a tablet GPU; the store figures are the device's
own kind of work (SQLite with synchronous=FULL, so they depend on the disk).
Ends with BENCH lines; the headline is ``BENCH cold_start_s``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

HEADLESS = {
    "KIVY_WINDOW": "sdl2", "SDL_VIDEODRIVER": "offscreen", "SDL_AUDIODRIVER": "dummy",
    "LIBGL_ALWAYS_SOFTWARE": "1", "KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1", "KIVY_NO_FILELOG": "1",
    "KIVY_LOG_MODE": "PYTHON", "KIVY_CLIPBOARD": "sdl2", "KIVY_METRICS_DENSITY": "1",
}
OBS = {"observed_at": "2026-03-01T07:12:00+07:00", "taxon": "Pygathrix nemaeus", "sign_type": "sighting",
       "count": 3, "distance_m": 40.0, "bearing_deg": 135.0, "transect_bearing_deg": 45.0,
       "location": {"lat": 16.1964, "lon": 107.8563, "accuracy_m": 6.0}, "habitat": "evergreen_forest"}


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def env_for(kivy_home: str) -> dict:
    env = dict(os.environ, **HEADLESS, KIVY_HOME=kivy_home, PYTHONPATH=str(REPO))
    return env


def fill_store(data_dir: Path, n: int) -> None:
    """A store like a ranger's after a season: program chosen, ``n`` observations."""
    from mobile.store import Store

    s = Store(data_dir)
    s.set_setting("offline", True)
    s.set_setting("area", {"id": None, "name": None})
    s.set_setting("program", {"id": None, "name": None})
    with s._tx() as db:  # bulk insert in one transaction: setup, not what is measured
        for i in range(n):
            t = f"2026-03-01T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}.{i % 1000:03d}+00:00"
            db.execute(
                "INSERT INTO observations(id, protocol, record_type, data, summary, recorded_at, created_at, updated_at)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (f"obs-{i:06d}", "line_transect@1.0", "observation", json.dumps(OBS), "Pygathrix nemaeus", t, t, t))
    s.close()


def cold_start(runs: int, data_dir: Path, kivy_home: str) -> list[float]:
    """Seconds from process start to the first frame on screen (python -m mobile)."""
    times = []
    env = env_for(kivy_home)
    env["SAOLA_EXIT_AFTER_FIRST_FRAME"] = "1"
    for _ in range(runs):
        start = time.time()
        proc = subprocess.run([sys.executable, "-m", "mobile", "--data", str(data_dir)], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("FIRST_FRAME")), None)
        if line is None:
            raise SystemExit(f"app did not reach its first frame (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        times.append(float(line.split()[1]) - start)
    return times


def save_latency(n: int, tmp: Path) -> tuple[list[float], list[float]]:
    """Milliseconds per observation: store.save_record alone, and validate + complete + save as the form does."""
    import protocols
    from mobile.store import Store

    s = Store(tmp / "save")
    proto = protocols.load("line_transect")
    raw, full = [], []
    for i in range(n):
        t0 = time.perf_counter()
        s.save_record("observation", proto.key, "observation", OBS)
        raw.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        rec = protocols.complete(proto, dict(OBS, count=i % 50 + 1), "observation")
        assert not protocols.validate(proto, rec, "observation")
        s.save_record("observation", proto.key, "observation", rec)
        full.append((time.perf_counter() - t0) * 1000)
    s.close()
    return raw, full


def page_times(data_dir: Path) -> dict:
    """Keyset paging over the 10,000 records: first page, and every page to the end."""
    from mobile.store import Store

    s = Store(data_dir)
    t0 = time.perf_counter()
    rows, cursor = s.records_page(limit=100)
    first = (time.perf_counter() - t0) * 1000
    per_page, pages = [], 1
    while cursor:
        t0 = time.perf_counter()
        rows, cursor = s.records_page(limit=100, cursor=cursor)
        per_page.append((time.perf_counter() - t0) * 1000)
        pages += 1
    t0 = time.perf_counter()
    counts = s.sync_counts()
    count_ms = (time.perf_counter() - t0) * 1000
    s.close()
    return {"first_ms": first, "pages": pages, "p50_ms": pct(per_page, 50), "max_ms": max(per_page),
            "total": sum(counts.values()), "count_ms": count_ms}


SCROLL = textwrap.dedent("""
    import json, sys, time
    from kivy.config import Config
    Config.set("graphics", "width", "600"); Config.set("graphics", "height", "960")
    from kivy.base import EventLoop, runTouchApp
    from mobile.app import SaolaApp
    app = SaolaApp(data_dir=sys.argv[1])
    app._run_prepare(); runTouchApp(embedded=True)
    for _ in range(3): EventLoop.idle()
    t0 = time.perf_counter(); scr = app.show("records"); EventLoop.idle(); open_ms = (time.perf_counter() - t0) * 1000
    rv = scr.ids.list
    frames = []
    steps = int(sys.argv[2])
    for i in range(steps):
        # A fast fling: 4 rows (256 px) per frame, 15,000 px/s at 60 fps.
        rv.scroll_y = max(0.0, rv.scroll_y - 4 * 64 / max(1, rv.children[0].height - rv.height))
        t0 = time.perf_counter(); EventLoop.idle(); frames.append((time.perf_counter() - t0) * 1000)
    rows_scrolled = len(rv.data)
    # The app-side cost of fetching a page (SQL + row dicts); layout and drawing follow in the next frame.
    loads = []
    for _ in range(10):
        t0 = time.perf_counter(); n = scr.load_more(); loads.append((time.perf_counter() - t0) * 1000)
        if not n: break
    print("SCROLL " + json.dumps({"open_ms": open_ms, "frames": frames, "rows": rows_scrolled, "loads": loads}),
          flush=True)
    app.stop()
""")


def scroll_frames(data_dir: Path, steps: int, kivy_home: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", SCROLL, str(data_dir), str(steps)], cwd=REPO,
                          env=env_for(kivy_home), capture_output=True, text=True, timeout=300)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("SCROLL ")), None)
    if line is None:
        raise SystemExit(f"scroll run failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(line[len("SCROLL "):])


# ---- offline map and long walks (issue 14, item 3) ------------------------------------------
WALK_HOURS = 6

SERVICE_RSS = textwrap.dedent("""
    import json, sys, threading
    from mobile.demo import demo_fixes
    from mobile.location import ReplayProvider, TrackFilter
    from mobile.service.gps import run
    from mobile.store import Store
    def rss_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    data, n = sys.argv[1], int(sys.argv[2])
    s = Store(data)
    walk = s.start_walk("line_transect@1.1", {"transect_id": "T-LONG"})
    fixes = demo_fixes(n, speed_mps=1.2)
    provider = ReplayProvider(fixes, speed=0)
    stop, out = threading.Event(), {}
    t = threading.Thread(target=lambda: out.update(run(data, provider, stop, poll_s=0.01, track_filter=TrackFilter(),
                                                       resume_segment=True)))
    t.start()
    while s.get_walk(walk)["segment"] == 0:  # the service picked the walk up: its fixes now count
        stop.wait(0.01)
    before = rss_mb()
    provider.step(n)
    s.stop_walk(walk)
    stop.set(); t.join(30)
    print("RSS " + json.dumps({"before_mb": before, "after_mb": rss_mb(), "points": out["points"],
                               "raw": out["raw_fixes"]}), flush=True)
""")

MAP = textwrap.dedent("""
    import json, sys, time
    from kivy.config import Config
    Config.set("graphics", "width", "600"); Config.set("graphics", "height", "960")
    from kivy.base import EventLoop, runTouchApp
    from kivy.tests.common import UnitTestTouch
    from mobile.app import SaolaApp
    def rss_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    app = SaolaApp(data_dir=sys.argv[1])
    app._run_prepare(); runTouchApp(embedded=True)
    for _ in range(3): EventLoop.idle()
    rss_start = rss_mb()
    walk_id = sys.argv[2]
    t0 = time.perf_counter(); scr = app.show("map", walk_id=walk_id); EventLoop.idle()
    open_ms = (time.perf_counter() - t0) * 1000
    m = scr.map
    rss_open = rss_mb()
    redraws, redraw_frames, pans, pan_frames = [], [], [], []
    for i in range(int(sys.argv[3])):
        # A full redraw: zoom out and back in (re-project a 6-hour track and 500 markers each time);
        # the app's own work, then the whole frame (Mesa llvmpipe rasterises it on the CPU).
        t0 = time.perf_counter(); m.zoom_by(-1 if i % 2 == 0 else 1); t1 = time.perf_counter(); EventLoop.idle()
        redraws.append((t1 - t0) * 1000); redraw_frames.append((time.perf_counter() - t0) * 1000)
        if i == int(sys.argv[3]) // 2 - 1:
            rss_open = rss_mb()  # both zoom levels' tiles and buffers made: growth from here is kept memory
    rss_zoomed = rss_mb()
    touch = UnitTestTouch(m.center_x, m.center_y); touch.touch_down()
    for i in range(int(sys.argv[3])):
        t0 = time.perf_counter(); touch.touch_move(touch.x - 12, touch.y - 8); t1 = time.perf_counter()
        EventLoop.idle()
        pans.append((t1 - t0) * 1000); pan_frames.append((time.perf_counter() - t0) * 1000)
    touch.touch_up()
    print("MAP " + json.dumps({"open_ms": open_ms, "redraws": redraws, "pans": pans, "rss_start_mb": rss_start,
                               "redraw_frames": redraw_frames, "pan_frames": pan_frames,
                               "rss_mb": rss_mb(), "rss_open_mb": rss_open, "rss_zoomed_mb": rss_zoomed, "track_points": sum(len(x) for x in m.layers["track"]),
                               "observations": len(m.layers["observations"]), "tiles": len(m._drawn_tiles)}),
          flush=True)
    app.stop()
""")


def _x11_display() -> list[str]:
    """``xvfb-run -a`` when Xvfb is installed: SDL's offscreen driver keeps 40-130 kB for every frame
    whose canvas changed (a stencil view the most; measured with a bare Kivy widget, no Saola code),
    which would be counted as the app's memory; under X11 (GLX, the same llvmpipe) it keeps nothing."""
    return ["xvfb-run", "-a"] if shutil.which("xvfb-run") else []


def _run_script(code: str, args: list, kivy_home: str, tag: str, x11: bool = False) -> dict:
    env = env_for(kivy_home)
    prefix = _x11_display() if x11 else []
    if prefix:
        env["SDL_VIDEODRIVER"] = "x11"
    proc = subprocess.run([*prefix, sys.executable, "-c", code, *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith(tag + " ")), None)
    if line is None:
        raise SystemExit(f"{tag} run failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(line[len(tag) + 1:])


def map_and_long_walk(tmp: Path, kivy_home: str, quick: bool) -> list[str]:
    """Record a 6-hour walk through the GPS service loop (its RSS), then open the map on it with 500
    observations and an MBTiles basemap: time to open, full redraw (zoom) and pan frames, app RSS."""
    import importlib

    sys.path.insert(0, str(REPO / "tests"))
    # The repository's own test helper (tests/mbtiles_maker.py): draws tiles with Pillow.
    make_mbtiles = importlib.import_module("mbtiles_maker").make_mbtiles

    from mobile.basemap import basemap_path
    from mobile.store import Store

    fixes = WALK_HOURS * 3600  # one fix a second
    data = tmp / "longwalk"
    svc = _run_script(SERVICE_RSS, [data, fixes], kivy_home, "RSS")
    s = Store(data)
    walk = s.records("walk")[0]
    track = s.track(walk["id"])
    with s._tx() as db:  # 500 observations along the track, in one transaction (setup)
        for i in range(500):
            lon, lat = track[i * len(track) // 500][:2]
            d = dict(OBS, location={"lat": lat, "lon": lon, "accuracy_m": 6.0})
            db.execute("INSERT INTO observations(id, protocol, record_type, data, summary, latitude, longitude,"
                       " recorded_at, created_at, updated_at, walk_id) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                       (f"obs-{i:04d}", "line_transect@1.1", "observation", json.dumps(d), "x", lat, lon,
                        walk["recorded_at"], walk["recorded_at"], walk["recorded_at"], walk["id"]))
    lons, lats = [p[0] for p in track], [p[1] for p in track]
    bounds = (min(lons) - 0.01, min(lats) - 0.01, max(lons) + 0.01, max(lats) + 0.01)
    s.set_setting("area", {"id": "A1", "name": "Bench"})
    s.set_setting("program", {"id": None, "name": None})
    s.set_setting("offline", True)
    s.close()
    make_mbtiles(basemap_path(data, "A1"), bounds=bounds, zooms=(13, 14) if quick else (13, 14, 15))
    mp = _run_script(MAP, [data, walk["id"], 10 if quick else 40], kivy_home, "MAP", x11=True)
    display = "Xvfb (SDL x11)" if _x11_display() else "SDL offscreen (grows per changed frame: see _x11_display)"
    return [
        f"long walk: {fixes} fixes ({WALK_HOURS} h at 1 Hz) through the GPS service loop kept {svc['points']} track "
        f"points; service RSS {svc['before_mb']:.1f} -> {svc['after_mb']:.1f} MB",
        f"map on it ({mp['track_points']} track points, {mp['observations']} observations, {mp['tiles']} tiles): "
        f"open {mp['open_ms']:.0f} ms; zoom re-projection p50 {pct(mp['redraws'], 50):.1f} ms p95 "
        f"{pct(mp['redraws'], 95):.1f} ms (frame with llvmpipe drawing p95 {pct(mp['redraw_frames'], 95):.0f} ms); "
        f"pan p95 {pct(mp['pans'], 95):.2f} ms (frame p95 {pct(mp['pan_frames'], 95):.0f} ms); "
        f"app RSS {mp['rss_start_mb']:.0f} -> {mp['rss_mb']:.0f} MB on {display}",
        f"BENCH map_redraw_p95_ms {pct(mp['redraws'], 95):.1f} zoom re-projection of a {WALK_HOURS}-hour track "
        f"and 500 observations (the app's work; drawing excluded), vs 100 ms",
        f"BENCH map_redraw_frame_p95_ms {pct(mp['redraw_frames'], 95):.0f} the same with the frame drawn by Mesa "
        f"llvmpipe (software GL: pessimistic against a tablet GPU)",
        f"BENCH map_pan_p95_ms {pct(mp['pans'], 95):.2f} one pan step (touch to new translation and tiles), vs 16.7 ms",
        f"BENCH map_pan_frame_p95_ms {pct(mp['pan_frames'], 95):.0f} one pan frame drawn by llvmpipe",
        f"BENCH gps_service_rss_mb {svc['after_mb']:.1f} GPS service process after a {WALK_HOURS}-hour walk "
        f"(before: {svc['before_mb']:.1f})",
        f"BENCH app_rss_after_long_walk_mb {mp['rss_mb']:.0f} app process with that walk on the map",
        f"BENCH map_rss_growth_kb_per_zoom {(mp['rss_zoomed_mb'] - mp['rss_open_mb']) * 1024 / (len(mp['redraws']) - len(mp['redraws']) // 2):.0f} "
        f"app RSS kept per zoom re-projection over the second half of {len(mp['redraws'])} zooms, {display}), vs 0",
    ]


ENTRY = textwrap.dedent("""
    # Fast entry (issue 14, item 4): taps per record, scripted through the real screens at 800x1280,
    # and the time to open a form (show + the first frame drawn by llvmpipe).
    import json, sys, time
    from pathlib import Path
    sys.path.insert(0, str(Path.cwd() / "tests" / "mobile"))
    from mobile_harness import Driver
    from mobile.demo import demo_fixes
    from mobile.location import ReplayProvider
    from mobile.store import Store
    data, opens = Path(sys.argv[1]), int(sys.argv[2])
    s = Store(data)
    s.set_setting("area", {"id": "a1", "name": "Bench"})
    s.set_setting("programs:a1", [{"id": "p1", "name": "Transects", "protocol": "line-transect"},
                                  {"id": "p2", "name": "Camera traps", "protocol": "camera-trap"}])
    s.set_setting("program", {"id": "p1", "name": "Transects", "protocol": "line-transect"})
    s.set_setting("reference:a1", {"transects": [{"id": "t1", "name": "T-01", "length_m": 2000.0}]})
    s.close()
    provider = ReplayProvider(demo_fixes(600), speed=0)
    drv = Driver(str(data), provider=provider, size=(800, 1280))
    app = drv.app
    taps = {"n": 0}
    def tap(w):
        taps["n"] += 1
        drv.tap(w)
    def count(fn):
        taps["n"] = 0
        fn()
        return taps["n"]
    drv.tap(drv.screen.ids.walk)
    walk = drv.screen
    walk.form.set_values({"transect_id": "T-01", "observers": ["An"], "weather": "clear"})
    drv.tap(walk.ids.start)
    provider.step(30)
    drv.wait(1.5)  # the ranger walks off; the walk screen builds the walk's forms meanwhile
    def first():  # the first of the day: through the species picker (the search text is typed, not counted)
        tap(walk.ids.add_observation)
        form = drv.screen
        tap(form.form.widgets["taxon"].button)
        drv.screen.ids.query.text = "mang lon"
        drv.frames(2)
        row = next(w for w in drv.screen.ids.results.children[0].children
                   if getattr(w, "species", None) and w.species.scientific_name == "Muntiacus vuquangensis")
        tap(row)
        tap(form.form.widgets["sign_type"].tiles["track"])
        tap(form.ids.save)
    def common():  # the same species again, another sign: the recent-species button and a picture
        tap(walk.ids.add_observation)
        form = drv.screen
        tap(form.form.widgets["taxon"].chips["Muntiacus vuquangensis"])
        tap(form.form.widgets["sign_type"].tiles["dung"])
        tap(form.ids.save)
    def repeat():  # the last one again, one more animal
        tap(walk.ids.repeat)
        tap(drv.screen.form.widgets["count"].plus)
        tap(drv.screen.ids.save)
    n0 = app.store.count_records("observation")
    result = {"first": count(first), "common": count(common), "repeat": count(repeat)}
    result["saved"] = app.store.count_records("observation") - n0
    def open_ms(kind, **kw):
        # wall time, and this process's CPU time (all its threads, llvmpipe's too): on a shared
        # machine the wall time also counts the other processes' turns on the CPU
        t0, c0 = time.perf_counter(), time.process_time()
        app.show("form", kind=kind, **kw)
        drv.EventLoop.idle()  # layout and the first frame of the form
        ms, cpu = (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000
        app.show("walk")
        drv.frames(1)
        return ms, cpu
    times = {}
    for kind, kw in (("observation", {"walk_id": walk.walk_id}), ("threat", {"walk_id": walk.walk_id}),
                     ("camera", {})):
        first_open = open_ms(kind, **kw)[0]
        runs = [open_ms(kind, **kw) for _ in range(opens)]
        times[kind] = {"first": first_open, "warm": [w for w, _ in runs], "cpu": [c for _, c in runs]}
    result["open"] = times
    print("ENTRY " + json.dumps(result), flush=True)
    drv.stop()
""")


def fast_entry(tmp: Path, kivy_home: str, quick: bool) -> list[str]:
    """Taps for the first observation of the day, a common sighting and a repeat; form opening times."""
    r = _run_script(ENTRY, [tmp / "entry", 10 if quick else 40], kivy_home, "ENTRY")
    if r["saved"] != 3:
        raise SystemExit(f"fast entry script saved {r['saved']} observations, expected 3")
    warm = [ms for k in r["open"].values() for ms in k["warm"]]
    cpu = [ms for k in r["open"].values() for ms in k["cpu"]]
    obs = r["open"]["observation"]["warm"]
    per_kind = ", ".join(f"{k} first {v['first']:.0f} ms, then p50 {pct(v['warm'], 50):.0f} p95 "
                         f"{pct(v['warm'], 95):.0f} (CPU p95 {pct(v['cpu'], 95):.0f})" for k, v in r["open"].items())
    return [
        f"fast entry taps: first of the day {r['first']} (picker, search typed), common sighting {r['common']}, "
        f"repeat last {r['repeat']}",
        f"form open (show + first frame, llvmpipe, 800x1280): {per_kind}",
        f"BENCH taps_common_sighting {r['common']} taps for a recent species' sign after the first of the day, vs <= 4",
        f"BENCH taps_repeat_last {r['repeat']} taps to repeat the last observation with one more animal",
        f"BENCH taps_first_of_day {r['first']} taps for the day's first observation through the picker (typing excluded)",
        f"BENCH form_open_p95_ms {pct(warm, 95):.0f} open a form and draw its first frame (observation, threat, "
        f"camera; software GL), vs 150 ms",
        f"BENCH form_open_observation_p95_ms {pct(obs, 95):.0f} the observation form of a walk, vs 150 ms",
        f"BENCH form_open_cpu_p95_ms {pct(cpu, 95):.0f} the same opens in CPU time of the app's process (its own "
        f"work, whatever else the machine runs), vs 150 ms",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer runs (seconds, for CI smoke)")
    args = ap.parse_args()
    runs, saves, steps = (2, 100, 60) if args.quick else (10, 1000, 400)
    with tempfile.TemporaryDirectory(prefix="saola-bench-") as tmp:
        tmp = Path(tmp)
        kivy_home = str(tmp / "kivy-home")
        fill_store(tmp / "empty", 0)
        fill_store(tmp / "full", 10_000)
        cold_start(1, tmp / "empty", kivy_home)  # warm the OS file cache and Kivy's config once
        cold = cold_start(runs, tmp / "empty", kivy_home)
        cold_full = cold_start(max(2, runs // 2), tmp / "full", kivy_home)
        raw, full = save_latency(saves, tmp)
        paging = page_times(tmp / "full")
        scroll = scroll_frames(tmp / "full", steps, kivy_home)
        map_lines = map_and_long_walk(tmp, kivy_home, args.quick)
        entry_lines = fast_entry(tmp, kivy_home, args.quick)

    frames = scroll["frames"]
    dropped = sum(1 for f in frames if f > 1000 / 60)
    print(f"cold start to first frame: median {statistics.median(cold):.3f} s over {runs} runs "
          f"(min {min(cold):.3f}, max {max(cold):.3f}); with 10,000 observations {statistics.median(cold_full):.3f} s")
    print(f"save observation: store p50 {pct(raw, 50):.2f} ms p95 {pct(raw, 95):.2f} ms; "
          f"validate+complete+save p50 {pct(full, 50):.2f} ms p95 {pct(full, 95):.2f} ms ({saves} each)")
    print(f"records paging (10,000): first page {paging['first_ms']:.2f} ms, {paging['pages']} pages of 100, "
          f"p50 {paging['p50_ms']:.2f} ms, max {paging['max_ms']:.2f} ms; counts {paging['count_ms']:.2f} ms")
    print(f"records screen: open {scroll['open_ms']:.1f} ms; scroll {len(frames)} frames, rows loaded {scroll['rows']}, "
          f"p50 {pct(frames, 50):.2f} ms p95 {pct(frames, 95):.2f} ms max {max(frames):.2f} ms, "
          f"{dropped} over 16.7 ms (Mesa llvmpipe software GL renders every frame on the CPU)")
    print(f"records page fetch (SQL + row dicts; layout is the next frame's): p50 {pct(scroll['loads'], 50):.1f} ms "
          f"max {max(scroll['loads']):.1f} ms with {scroll['rows']}+ rows loaded")
    print(f"BENCH cold_start_s {statistics.median(cold):.3f} process start to first frame, headless, median of {runs}")
    print(f"BENCH cold_start_10k_s {statistics.median(cold_full):.3f} same with 10,000 stored observations")
    print(f"BENCH save_observation_p95_ms {pct(full, 95):.2f} validate+complete+save (synchronous=FULL), vs 100 ms budget")
    print(f"BENCH records_page_p50_ms {paging['p50_ms']:.2f} keyset page of 100 out of 10,000, vs 16.7 ms frame")
    print(f"BENCH records_scroll_p95_frame_ms {pct(frames, 95):.2f} RecycleView fling over 10,000 rows, vs 16.7 ms")
    print(f"BENCH records_scroll_dropped_frames {dropped} frames over 16.7 ms out of {len(frames)}")
    print(f"BENCH records_page_load_ms {pct(scroll['loads'], 50):.1f} fetch the next 200 rows into the RecycleView data (layout excluded)")

    for line in map_lines + entry_lines:
        print(line)


if __name__ == "__main__":
    main()
