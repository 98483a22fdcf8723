"""Benchmark: Camtrap DP export of a program with 1,000,000 observations, and camtrapR-grade analytics.

1. Builds a SQLite database (migrated schema) with one program, 200 camera
   stations and N media-level observations (one image each; 20 species) plus
   an event-level observation per 10 images, written with plain executemany
   (the data generation is not timed).
2. Times ``export_camtrap_dp`` (media linked by URL, so only the database and
   CSV writing are measured) and records the process RSS when 25% and 100% of
   the observations are written: a streaming export stays flat.
3. Times the record table (60 min, last record) and the camera operation matrix
   plus a 7-day detection history per species for 500 stations x 2 years with
   malfunctions (pure functions on generated records).

    python benchmarks/export.py            # 1,000,000 observations
    python benchmarks/export.py --quick    # 20,000 observations, 50 stations x 3 months
"""
from __future__ import annotations

import argparse
import random
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SPECIES = [f"Species {chr(65 + i)}us {chr(97 + i)}ensis" for i in range(20)]


def rss_mb() -> float:
    """Current resident set size of this process (MiB)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")


def build_db(path: Path, n_obs: int, stations: int = 200, seed: int = 1) -> str:
    """A migrated SQLite database with one program of ``n_obs`` media-level observations; its program id."""
    from server.migrate import upgrade

    url = f"sqlite:///{path}"
    upgrade(url)
    rnd = random.Random(seed)
    con = sqlite3.connect(path)
    now = _ts(datetime.now(timezone.utc).replace(tzinfo=None))
    area, program = str(uuid.uuid4()), str(uuid.uuid4())
    con.execute("INSERT INTO protected_area (id, code, name, created_at) VALUES (?, 'BENCH', 'Bench area', ?)",
                (area, now))
    con.execute("INSERT INTO program (id, area_id, name, protocol, sequence_gap_s, capture_method, settings, "
                "created_at) VALUES (?, ?, 'Bench', 'camera-trap', 60, 'activityDetection', ?, ?)",
                (program, area, '{"sampling_design": "systematicRandom"}', now))
    taxa = []
    for name in SPECIES:
        tid = str(uuid.uuid4())
        taxa.append(tid)
        con.execute("INSERT INTO taxon (id, scientific_name, rank, english_name, sensitive, search_text, "
                    "created_at, updated_at) VALUES (?, ?, 'species', ?, 0, ?, ?, ?)",
                    (tid, name, name.lower(), name.lower(), now, now))
    start = datetime(2024, 1, 1)
    deps = []
    for i in range(stations):
        loc, dep = str(uuid.uuid4()), str(uuid.uuid4())
        con.execute("INSERT INTO location (id, area_id, name, latitude, longitude, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)", (loc, area, f"S{i:03d}", 17 + rnd.random(), 106 + rnd.random(), now))
        con.execute("INSERT INTO deployment (id, program_id, location_id, kind, deployment_start, deployment_end, "
                    "timezone, clock_offset_s, timestamp_issues, bait_use, settings, created_at, updated_at) "
                    "VALUES (?, ?, ?, 'camera', ?, ?, 'Asia/Ho_Chi_Minh', 0, 0, 0, '{}', ?, ?)",
                    (dep, program, loc, _ts(start), _ts(start + timedelta(days=730)), now, now))
        deps.append(dep)
    batch_m, batch_o = [], []
    span = 730 * 86400

    def flush():
        con.executemany(
            "INSERT INTO media (id, sha256, kind, deployment_id, file_name, media_type, size_bytes, storage_key, "
            "captured_at, utc_offset_min, timestamp_source, flags, meta, has_derivatives, contains_person, "
            "favorite, created_at) VALUES (?, ?, 'image', ?, ?, 'image/jpeg', 1000, ?, ?, 420, 'exif', '[]', "
            "'{}', 0, 0, 0, ?)", batch_m)
        con.executemany(
            "INSERT INTO observation (id, deployment_id, media_id, event_start, event_end, observation_level, "
            "observation_type, taxon_id, count, classification_method, classified_by, extra, revision, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'animal', ?, 1, 'human', 'bench', '{}', 1, ?, ?)",
            batch_o)
        batch_m.clear()
        batch_o.clear()

    for k in range(n_obs):
        dep = deps[k % stations]
        t = _ts(start + timedelta(seconds=rnd.randrange(span)))
        mid = str(uuid.uuid4())
        sha = uuid.uuid4().hex + uuid.uuid4().hex
        batch_m.append((mid, sha, dep, f"IMG_{k:07d}.JPG", f"{sha[:2]}/{sha[2:4]}/{sha}.jpg", t, now))
        level_media = k % 10 != 9  # one observation in ten is event-level
        batch_o.append((str(uuid.uuid4()), dep, mid if level_media else None, t, t,
                        "media" if level_media else "event", taxa[k % len(taxa)], now, now))
        if len(batch_m) >= 50000:
            flush()
    flush()
    con.commit()
    con.close()
    return program


def bench_export(path: Path, program: str, n_obs: int, out: Path) -> dict:
    from server.db import dispose_engine, session_scope
    from server.exports import camtrap_dp

    url = f"sqlite:///{path}"
    marks: dict[str, float] = {}
    quarter = max(1, n_obs // 4)

    def progress(what: str, n: int) -> None:
        if what == "observations" and n >= quarter and "rss_quarter" not in marks:
            marks["rss_quarter"] = rss_mb()
        if what == "media" and n >= quarter and "rss_media_quarter" not in marks:
            marks["rss_media_quarter"] = rss_mb()

    rss0 = rss_mb()
    t0 = time.perf_counter()
    with session_scope(url, read_only=True) as s:
        rep = camtrap_dp.export_camtrap_dp(s, out, program_id=program, media_mode="link",
                                           base_url="https://saola.example.org/media", progress=progress)
    elapsed = time.perf_counter() - t0
    marks["rss_end"] = rss_mb()
    dispose_engine(url)
    size = sum(f.stat().st_size for f in out.iterdir())
    return {"seconds": elapsed, "observations": rep.observations, "media": rep.media, "rss_start": rss0,
            "bytes": size, **marks}


def bench_analytics(stations: int, days: int, records_per_station_day: float, seed: int = 2) -> dict:
    from server.analytics import camtrap

    rnd = random.Random(seed)
    start = datetime(2024, 1, 1, 10)
    periods, records = [], []
    for i in range(stations):
        name = f"S{i:03d}"
        # two deployments a year (card and battery changes), some with a malfunction
        for k in range(max(1, days // 182)):
            s = start + timedelta(days=182 * k, hours=rnd.randrange(8))
            e = s + timedelta(days=min(182, days - 182 * k) - 1, hours=rnd.randrange(8))
            probs = []
            if rnd.random() < 0.3:
                ps = s + timedelta(days=rnd.randrange(max(1, (e - s).days - 10)))
                probs.append((ps, ps + timedelta(days=rnd.randrange(1, 10), hours=rnd.randrange(24))))
            periods.append(camtrap.StationPeriod(name, s, e, probs))
        for _ in range(int(days * records_per_station_day)):
            t = start + timedelta(seconds=rnd.randrange(days * 86400 - 86400))
            records.append(camtrap.Record(name, SPECIES[rnd.randrange(len(SPECIES))], t))
    t0 = time.perf_counter()
    rows = camtrap.record_table(records, 60, camtrap.LAST_RECORD)
    t1 = time.perf_counter()
    op = camtrap.camera_operation(periods)
    t2 = time.perf_counter()
    histories = [camtrap.detection_history(rows, op, sp, occasion_length=7) for sp in SPECIES]
    t3 = time.perf_counter()
    camtrap.relative_abundance(rows, op)
    t4 = time.perf_counter()
    return {"records": len(records), "independent": len(rows), "record_table_s": t1 - t0, "camop_s": t2 - t1,
            "histories_s": t3 - t2, "rai_s": t4 - t3, "total_s": t4 - t0, "occasions": histories[0].occasions}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="20,000 observations; 50 stations x 3 months")
    ap.add_argument("--observations", type=int, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the generated database and export")
    args = ap.parse_args()
    n_obs = args.observations or (20_000 if args.quick else 1_000_000)
    # Everything this run writes (database, exported CSVs: ~440 MB for 1M) lives in one
    # folder, removed at the end even when the run fails, unless --keep.
    tmp = Path(tempfile.mkdtemp(prefix="saola-bench-"))
    try:
        run(args, n_obs, tmp)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run(args, n_obs: int, tmp: Path) -> None:
    """Build, export, analyse; print the results and BENCH lines."""
    db = tmp / "bench.db"
    t0 = time.perf_counter()
    program = build_db(db, n_obs)
    print(f"generated {n_obs:,} observations in {time.perf_counter() - t0:.1f} s ({db.stat().st_size / 1e6:.0f} MB)",
          flush=True)
    ex = bench_export(db, program, n_obs, tmp / "export")
    print(f"export: {ex['observations']:,} observations, {ex['media']:,} media, {ex['bytes'] / 1e6:.0f} MB of CSV "
          f"in {ex['seconds']:.1f} s ({ex['observations'] / ex['seconds']:,.0f} observations/s)")
    print(f"RSS: start {ex['rss_start']:.0f} MiB, 25% of observations {ex.get('rss_quarter', float('nan')):.0f} MiB, "
          f"end {ex['rss_end']:.0f} MiB, peak {peak_mb():.0f} MiB")
    stations, days, rate = (50, 91, 0.5) if args.quick else (500, 730, 0.5)
    an = bench_analytics(stations, days, rate)
    print(f"analytics {stations} stations x {days} days: {an['records']:,} records -> {an['independent']:,} "
          f"independent; record table {an['record_table_s']:.2f} s, camera operation {an['camop_s']:.2f} s, "
          f"{len(SPECIES)} detection histories ({an['occasions']} x 7-day occasions) {an['histories_s']:.2f} s")
    label = "1m" if n_obs == 1_000_000 else f"{n_obs // 1000}k"
    print(f"BENCH export_{label}_s {ex['seconds']:.2f} seconds to export {n_obs:,} observations as Camtrap DP "
          "(SQLite, media linked)")
    ratio = ex["rss_end"] / ex["rss_quarter"] if ex.get("rss_quarter") else float("nan")
    print(f"BENCH export_rss_growth {ratio:.3f} RSS at 100% / RSS at 25% of the observations written (1.0 = flat)")
    print(f"BENCH export_rss_end_mb {ex['rss_end']:.0f} MiB resident after the export")
    print(f"BENCH analytics_{stations}x{days}d_s {an['total_s']:.2f} seconds for record table + camera operation "
          f"+ {len(SPECIES)} detection histories + RAI")


if __name__ == "__main__":
    main()
