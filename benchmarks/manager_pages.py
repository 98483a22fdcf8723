"""Benchmark: the manager's pages of a protected area at many media (issue 13: p95 at 1,000,000 media).

The database of benchmarks/review.py (media in sequences of 3 with machine detections over 40
camera deployments; ``--quick``: 5,000 media; ``--media N``, e.g. 1,000,000) is bulk-inserted
into a fresh SQLite file and a fresh PostgreSQL database (127.0.0.1:5432, dropped afterwards),
with one human observation per ten sequences (so the overview, the map's RAI and the reports
page have records) and the area's user made its manager. The manager then opens each page the
way the browser does, in-process through the Flask test client (full request: session,
permission checks, queries, template): the overview, the map and its GeoJSON (effort and RAI of
every station), a station's last photos, the deployment calendar, the deployment list, one
deployment and its clock tool, the jobs, exports and reports pages and the area's audit log.
Each page is timed ``--reps`` times after one warm-up; wall p95 and the server process's median
CPU per request are printed with the machine's load average (a shared machine moves wall times,
hardly CPU times). The baseline is the cheapest signed-in request (GET one protected area), so a
page's figure can be read as a ratio of the machine's own request cost.

Usage:  .venv/bin/python benchmarks/manager_pages.py [--quick] [--media N] [--reps N]
        [--backends sqlite,postgresql]
Ends with ``BENCH manager_page_p95_ms_<backend>`` (the slowest page), one line per page and
backend, and ``BENCH manager_page_vs_baseline_<backend>`` (slowest page p95 / baseline p95).
"""
from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from review import PG_ADMIN_URL, T0, _insert, _load, _uid, generate, p95, signed_in  # noqa: E402

TARGET_MS = 1000  # a manager's page in under a second at 1,000,000 media


def add_observations(url: str, info: dict, n_media: int) -> int:
    """One human observation (a species, count 1) per ten sequences, and the user made the area's manager."""
    from sqlalchemy import update

    from server.db import get_engine
    from server.models import Membership, Observation

    eng = get_engine(url)
    deps, taxa = info["deployments"], info["taxa"]
    n_seq = n_media // 3
    now = datetime.now(timezone.utc)

    def rows():
        for i in range(0, n_seq, 10):
            start = T0 + timedelta(minutes=10 * (i // len(deps)))
            yield (_uid(4, i), deps[i % len(deps)], _uid(1, i), start, start + timedelta(seconds=4), "event",
                   "animal", taxa[(i // 10) % len(taxa)], 1, "human", "bio", {}, 1, now, now)

    cols = ["id", "deployment_id", "sequence_id", "event_start", "event_end", "observation_level",
            "observation_type", "taxon_id", "count", "classification_method", "classified_by", "extra", "revision",
            "created_at", "updated_at"]
    n = _insert(eng, Observation.__table__, cols, rows())
    with eng.begin() as c:
        c.execute(update(Membership).values(role="manager"))
        c.exec_driver_sql("ANALYZE")
    return n


def pages(info: dict) -> dict[str, str]:
    a, dep, loc = info["area_id"], info["deployments"][3], info["locations"][3]
    return {
        "overview": f"/areas/{a}/overview",
        "map": f"/areas/{a}/map",
        "map_geojson": f"/areas/{a}/map.geojson",
        "station_photos": f"/areas/{a}/map/stations/{loc}/photos.json",
        "calendar": f"/areas/{a}/calendar",
        "deployments": f"/admin/areas/{a}/deployments",
        "deployment": f"/admin/deployments/{dep}",
        "clock_tool": f"/admin/deployments/{dep}/clock",
        "jobs": f"/admin/areas/{a}/jobs",
        "exports": f"/areas/{a}/exports",
        "reports": f"/areas/{a}/reports?year={T0.year}",
        "audit": f"/admin/areas/{a}/audit",
    }


def run_pages(url: str, info: dict, reps: int, data_dir: str, only: set[str] | None = None) -> dict[str, list[float]]:
    client, _csrf = signed_in(url, data_dir)
    times: dict[str, list[float]] = {}
    todo = {"baseline": f"/api/v1/areas/{info['area_id']}",
            **{k: v for k, v in pages(info).items() if only is None or k in only}}
    for name, path in todo.items():
        r = client.get(path)  # warm-up (first template compile, caches)
        assert r.status_code == 200, (name, r.status_code, r.get_data(as_text=True)[:300])
        wall, cpu = [], []
        for _ in range(reps):
            t, c = time.perf_counter(), time.process_time()
            r = client.get(path)
            wall.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
            assert r.status_code == 200, (name, r.status_code)
        times[name], times[name + "_cpu"] = wall, cpu
    return times


def bench_backend(backend: str, n_media: int, reps: int, only: set[str] | None = None) -> dict[str, float]:
    from server.db import dispose_engine
    from server.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        cleanup = None
        if backend == "sqlite":
            url = f"sqlite:///{tmp}/bench.db"
            upgrade(url)
        else:
            from sqlalchemy import create_engine, text

            name = f"saola_bench_{os.getpid()}_{secrets.token_hex(3)}"
            admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
            url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
            upgrade(url)

            def cleanup():
                dispose_engine(url)
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
        try:
            info = generate(url, n_media, deployments=40 if n_media >= 100000 else 8)
            n_obs = add_observations(url, info, n_media)
            print(f"{backend}: generated {info['media']} media, {info['detections']} detections, {n_obs} observations "
                  f"in {info['seconds']:.1f} s (load average {_load()})", flush=True)
            times = run_pages(url, info, reps, tmp + "/data", only)
        finally:
            dispose_engine(url)
            if cleanup:
                cleanup()
    out = {k: p95(v) for k, v in times.items()}
    out.update({k + "_median": statistics.median(v) for k, v in times.items()})
    print(f"{backend} (p95 wall / median server CPU, ms): " + "; ".join(
        f"{k} {out[k]:.0f} / {out[k + '_cpu_median']:.0f}" for k in times if not k.endswith("_cpu"))
          + f" (load average {_load()})", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="5,000 media instead of 100,000")
    ap.add_argument("--media", type=int, default=None, help="media to generate (e.g. 1000000; default 100,000)")
    ap.add_argument("--reps", type=int, default=None, help="requests timed per page (default 20; quick 5)")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--pages", default=None, help="comma-separated page names to time (default all: "
                    + ", ".join(pages({"area_id": "a", "deployments": ["d"] * 4, "locations": ["l"] * 4})) + ")")
    args = ap.parse_args()
    all_pages = list(pages({"area_id": "a", "deployments": ["d"] * 4, "locations": ["l"] * 4}))
    only = set(args.pages.split(",")) if args.pages else None
    if only and only - set(all_pages):
        ap.error(f"unknown page(s): {', '.join(sorted(only - set(all_pages)))}")
    n_media = args.media or (5000 if args.quick else 100000)
    if n_media < 300:
        ap.error("--media must be at least 300")
    reps = args.reps or (5 if args.quick else 20)
    print(f"load average {_load()} on {os.cpu_count()} CPUs", flush=True)
    results = {b: bench_backend(b, n_media, reps, only) for b in args.backends.split(",")}
    names = [k for k in all_pages if only is None or k in only]
    for b, r in results.items():
        worst = max(names, key=lambda k: r[k])
        print(f"BENCH manager_page_p95_ms_{b} {r[worst]:.1f} ms, the slowest manager page ({worst}), "
              f"{n_media} media (target < {TARGET_MS})")
        for k in names:
            print(f"BENCH manager_{k}_p95_ms_{b} {r[k]:.1f} ms, wall p95 (server CPU median {r[k + '_cpu_median']:.1f} ms)")
        print(f"BENCH manager_page_vs_baseline_{b} {r[worst] / r['baseline']:.1f}, slowest page p95 / baseline "
              f"request p95 ({r['baseline']:.1f} ms: GET one protected area)")


if __name__ == "__main__":
    main()
