"""Field app performance: cold start, observation save latency, records list with 10,000 observations.

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


if __name__ == "__main__":
    main()
