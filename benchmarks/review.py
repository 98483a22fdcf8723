"""Benchmark: the review queue's next item and label, the thumbnail grid and gallery, bulk labels.

A generated database (100,000 media in sequences of 3, 300,000 machine
detections over 40 deployments; ``--quick``: 5,000 media; ``--media N`` any
size, e.g. 1,000,000) is bulk-inserted into a fresh SQLite file and a fresh
PostgreSQL database (127.0.0.1:5432, dropped afterwards). PostgreSQL is
filled with COPY (a million media and three million detections in a couple of
minutes), SQLite with executemany batches; rows are generated as they are
written, so memory stays flat. One sequence in ten holds only the detector's
"processed, nothing found" rows (no box), as real cards do.

A biologist then works through the queue in-process through the Flask test
client (full request: session, CSRF, permission checks, queries, JSON): each
step is ``GET /api/v1/review/next`` (the deployment's queue, after the
current sequence) then ``POST .../label``. The queue of the whole protected
area (no deployment filter, with a confidence filter), the "detections first"
order and the deployment's progress counts are timed too. The p95 of each is
printed; the targets are next item < 100 ms at 100,000 media and < 50 ms at
1,000,000 (issue 12).

The thumbnail grid and gallery (``--parts grid``): pages of 100 tiles followed
by their keyset cursor under the filters the pages send (a deployment's
unreviewed photos, the whole area, its unreviewed photos, sequence tiles, one
species in the area, one species at one station), the count shown above the
grid and the page's HTML; then 1,000 unreviewed photos collected from the grid
with their versions are labelled as one species in one bulk action and undone.
Targets: a grid page < 300 ms and a bulk label of 1,000 < 2 s at 1,000,000
media on PostgreSQL. Server process CPU per request is printed too, and the
machine's load average (a shared machine moves wall times, hardly CPU times).

Usage:  .venv/bin/python benchmarks/review.py [--quick] [--media N] [--steps N] [--grid-steps N]
        [--bulk-reps N] [--parts queue,grid] [--backends sqlite,postgresql]
Ends with ``BENCH next_item_p95_ms <worst backend>``, ``BENCH grid_page_p95_ms``,
``BENCH bulk_label_1000_ms`` and per-backend lines; a baseline line times the
cheapest signed-in request, to tell the machine's own cost (load, CPU speed)
from the queue's.
"""
from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PG_ADMIN_URL = os.environ.get("SAOLA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
BATCH = 20000


def p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20, method="inclusive")[18] if len(xs) > 1 else xs[0]


def _uid(kind: int, i: int) -> str:
    """A deterministic id (same text shape as new_id), so each table can be generated in its own pass."""
    return str(uuid.UUID(int=(kind << 96) | i))


class Rows:
    """The generated rows, table by table, in the column order of :data:`COLUMNS` (generators: nothing
    is kept in memory)."""

    COLUMNS = {
        "sequence": ["id", "deployment_id", "event_start", "event_end", "media_count", "review_status"],
        "media": ["id", "sha256", "kind", "deployment_id", "sequence_id", "file_name", "media_type", "size_bytes",
                  "storage_key", "captured_at", "timestamp_source", "flags", "meta", "has_derivatives",
                  "contains_person", "favorite", "created_at"],
        "detection": ["id", "media_id", "model", "category", "confidence", "bbox_x", "bbox_y", "bbox_width",
                      "bbox_height", "taxon_id", "dismissed", "review_status", "extra", "created_at"],
    }

    def __init__(self, n_seq: int, dep_ids: list[str], taxa: list[str], seed: int, now: datetime, json_text: bool):
        self.n_seq, self.dep_ids, self.taxa, self.seed, self.now = n_seq, dep_ids, taxa, seed, now
        # COPY takes JSON as text; SQLAlchemy inserts take Python values.
        self.empty_list, self.empty_dict = ("[]", "{}") if json_text else ([], {})

    def _start(self, i: int) -> datetime:
        return T0 + timedelta(minutes=10 * (i // len(self.dep_ids)))

    def sequence(self):
        for i in range(self.n_seq):
            start = self._start(i)
            yield (_uid(1, i), self.dep_ids[i % len(self.dep_ids)], start, start + timedelta(seconds=4), 3,
                   "unreviewed")

    def media(self):
        now = self.now
        for i in range(self.n_seq):
            start, dep, sid = self._start(i), self.dep_ids[i % len(self.dep_ids)], _uid(1, i)
            for j in range(3):
                k = 3 * i + j
                yield (_uid(2, k), f"{k:064x}", "image", dep, sid, f"IMG_{i:07d}_{j}.JPG", "image/jpeg", 1000, "x",
                       start + timedelta(seconds=2 * j), "exif", self.empty_list, self.empty_dict, False, False,
                       False, now)

    def detection(self):
        rnd = random.Random(self.seed)
        now, n = self.now, 0
        for i in range(self.n_seq):
            nothing = i % 10 == 9  # the detector processed the images and found nothing
            for j in range(3):
                mid = _uid(2, 3 * i + j)
                if nothing:
                    yield (_uid(3, n), mid, "megadetector@5a", "blank", 0.0, None, None, None, None, None, False,
                           "unreviewed", self.empty_dict, now)
                    n += 1
                    continue
                for _k in range(3):
                    person = rnd.random() < 0.05
                    x, y = rnd.random() * 0.6, rnd.random() * 0.6
                    yield (_uid(3, n), mid, "megadetector@5a", "person" if person else "animal", rnd.random(),
                           x, y, 0.2, 0.3, None if person else rnd.choice(self.taxa), False, "unreviewed",
                           self.empty_dict, now)
                    n += 1


def _copy(url: str, table: str, columns: list[str], rows) -> int:
    """COPY ``rows`` into ``table`` (PostgreSQL); returns how many."""
    import psycopg

    n = 0
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        with conn.cursor() as cur, cur.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as cp:
            for row in rows:
                cp.write_row(row)
                n += 1
    return n


def _insert(eng, table, columns: list[str], rows) -> int:
    from sqlalchemy import insert

    n, batch = 0, []
    with eng.begin() as c:
        for row in rows:
            batch.append(dict(zip(columns, row)))
            if len(batch) >= BATCH:
                c.execute(insert(table), batch)
                n += len(batch)
                batch.clear()
        if batch:
            c.execute(insert(table), batch)
            n += len(batch)
    return n


def generate(url: str, n_media: int, deployments: int = 40, seed: int = 7) -> dict:
    """Bulk-insert the area, users, taxa, deployments, sequences, media and detections."""
    from argon2 import PasswordHasher
    from sqlalchemy import insert

    from server.db import get_engine
    from server.models import (Deployment, Detection, Location, Media, Membership, Program, ProtectedArea,
                               Sequence, Taxon, User, new_id)

    now = datetime.now(timezone.utc)
    area_id, program_id = new_id(), new_id()
    taxa = [new_id() for _ in range(20)]
    dep_ids = [new_id() for _ in range(deployments)]
    loc_ids = [new_id() for _ in range(deployments)]
    user_id = new_id()
    eng = get_engine(url)
    t = time.perf_counter()
    with eng.begin() as c:
        c.execute(insert(ProtectedArea), [{"id": area_id, "code": "BENCH", "name": "Bench park", "created_at": now}])
        c.execute(insert(Program), [{"id": program_id, "area_id": area_id, "name": "Cameras", "protocol": "camera-trap",
                                     "sequence_gap_s": 60, "capture_method": "activityDetection", "settings": {},
                                     "created_at": now}])
        c.execute(insert(Taxon), [{"id": tid, "scientific_name": f"Genus species{i}", "rank": "species",
                                   "search_text": f"genus species{i}", "sensitive": False, "created_at": now,
                                   "updated_at": now} for i, tid in enumerate(taxa)])
        c.execute(insert(Location), [{"id": lid, "area_id": area_id, "name": f"S{i:02d}", "created_at": now}
                                     for i, lid in enumerate(loc_ids)])
        c.execute(insert(Deployment), [{"id": d, "program_id": program_id, "location_id": loc_ids[i], "kind": "camera",
                                        "deployment_start": T0, "timezone": "Asia/Ho_Chi_Minh", "clock_offset_s": 0,
                                        "timestamp_issues": False, "bait_use": False, "settings": {},
                                        "created_at": now, "updated_at": now} for i, d in enumerate(dep_ids)])
        pw = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash("password123")
        c.execute(insert(User), [{"id": user_id, "username": "bio", "password_hash": pw, "is_admin": False,
                                  "language": "en", "active": True, "created_at": now}])
        c.execute(insert(Membership), [{"id": new_id(), "user_id": user_id, "area_id": area_id, "role": "biologist",
                                        "created_at": now}])
    n_seq = n_media // 3
    pg = url.startswith("postgresql")
    rows = Rows(n_seq, dep_ids, taxa, seed, now, json_text=pg)
    counts = {}
    for table, model in (("sequence", Sequence), ("media", Media), ("detection", Detection)):  # parents first
        cols = Rows.COLUMNS[table]
        gen = getattr(rows, table)()
        counts[table] = _copy(url, table, cols, gen) if pg else _insert(eng, model.__table__, cols, gen)
    with eng.begin() as c:  # planner statistics, as a database in use would have
        c.exec_driver_sql("ANALYZE")
    return {"area_id": area_id, "deployments": dep_ids, "locations": loc_ids, "taxa": taxa, "seconds": time.perf_counter() - t,
            "media": counts["media"], "detections": counts["detection"]}


def signed_in(url: str, data_dir: str):
    """A Flask test client signed in as the biologist, and its CSRF token."""
    import re

    from server import create_app

    app = create_app({"DATABASE_URL": url, "DATA_DIR": data_dir, "SECRET_KEY": "bench", "WORKER": "external",
                      "TESTING": True, "LOG_LEVEL": "WARNING"})
    client = app.test_client()
    form = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    r = client.post("/login", data={"username": "bio", "password": "password123", "csrf_token": form})
    assert r.status_code == 302, r.status_code
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)
    return client, csrf


def run_steps(url: str, info: dict, steps: int, data_dir: str) -> dict[str, list[float]]:
    client, csrf = signed_in(url, data_dir)
    rnd = random.Random(1)
    times: dict[str, list[float]] = {"next": [], "label": [], "next_area": [], "baseline": [], "next_first": [],
                                     "progress": [], "next_cpu": []}
    dep = info["deployments"][3]
    after = None
    first_after = None
    for i in range(steps + 5):
        q = f"/api/v1/review/next?deployment_id={dep}" + (f"&after={after}" if after else "")
        t, c = time.perf_counter(), time.process_time()
        r = client.get(q)
        dt_next, cpu_next = time.perf_counter() - t, time.process_time() - c
        item = r.get_json()["item"]
        assert r.status_code == 200 and item, r.get_json()
        sid = item["sequence"]["id"]
        t = time.perf_counter()
        r = client.post(f"/api/v1/review/sequences/{sid}/label", headers={"X-CSRF-Token": csrf},
                        json={"taxon_id": rnd.choice(info["taxa"]), "count": 1})
        dt_label = time.perf_counter() - t
        assert r.status_code == 200, r.get_json()
        after = sid
        q = f"/api/v1/review/next?area_id={info['area_id']}&min_confidence=0.5"
        t = time.perf_counter()
        r = client.get(q)
        dt_area = time.perf_counter() - t
        assert r.status_code == 200 and r.get_json()["item"]
        # The "detections first" order: boxed sequences, then (after them) the ones without a box.
        q = f"/api/v1/review/next?deployment_id={dep}&order=detections_first" + (
            f"&after={first_after}" if first_after else "")
        t = time.perf_counter()
        r = client.get(q)
        dt_first = time.perf_counter() - t
        assert r.status_code == 200 and r.get_json()["item"]
        first_after = r.get_json()["item"]["sequence"]["id"]
        dt_progress = None
        if i % 5 == 0:  # the counts are re-read at most every 10 s by the page: timed now and then
            t = time.perf_counter()
            r = client.get(f"/api/v1/review/progress?deployment_id={dep}")
            dt_progress = time.perf_counter() - t
            assert r.status_code == 200 and r.get_json()["total"] > 0
        # The cheapest signed-in API request (one small query), to show what the machine itself costs.
        t = time.perf_counter()
        r = client.get(f"/api/v1/areas/{info['area_id']}")
        dt_base = time.perf_counter() - t
        assert r.status_code == 200
        if i >= 5:
            times["baseline"].append(dt_base * 1000)  # warm-up: first requests compile templates, fill caches
            times["next"].append(dt_next * 1000)
            times["next_cpu"].append(cpu_next * 1000)
            times["label"].append(dt_label * 1000)
            times["next_area"].append(dt_area * 1000)
            times["next_first"].append(dt_first * 1000)
            if dt_progress is not None:
                times["progress"].append(dt_progress * 1000)
    return times


def _paged(client, base: str, n: int, times: list[float], cpu: list[float] | None = None, warm: int = 2) -> int:
    """GET ``n`` + ``warm`` grid pages of ``base``, following next_cursor (from the first page again at
    the end); times (ms) after the warm-up ones. Returns the tiles seen."""
    after, tiles = None, 0
    for i in range(n + warm):
        q = base + (f"&after={after}" if after else "")
        t, c = time.perf_counter(), time.process_time()
        r = client.get(q)
        dt, dc = time.perf_counter() - t, time.process_time() - c
        assert r.status_code == 200, (q, r.status_code, r.get_data(as_text=True)[:300])
        body = r.get_json()
        tiles += len(body["items"])
        after = body["next_cursor"]
        if i >= warm:
            times.append(dt * 1000)
            if cpu is not None:
                cpu.append(dc * 1000)
    return tiles


def run_grid(url: str, info: dict, steps: int, bulk_reps: int, data_dir: str) -> dict[str, list[float]]:
    """The thumbnail grid and gallery (issue 12): pages of 100 tiles under the filters the pages send
    (query + tiles as JSON, the page shell as HTML), the count shown above the grid, and a bulk
    species label of 1,000 photos collected from the grid with their versions, then undone."""
    client, csrf = signed_in(url, data_dir)
    area, dep = info["area_id"], info["deployments"][5]
    keys = ("grid_page", "grid_area", "grid_area_unreviewed", "grid_sequences", "gallery_species",
            "gallery_species_station", "grid_count", "grid_html", "bulk_label", "bulk_undo")
    times: dict[str, list[float]] = {k + sfx: [] for k in keys for sfx in ("", "_cpu")}
    taxon, station = info["taxa"][0], info["locations"][5]
    pages = {"grid_page": f"deployment_id={dep}&review_status=unreviewed",
             "grid_area": f"area_id={area}",
             "grid_area_unreviewed": f"area_id={area}&review_status=unreviewed",
             "grid_sequences": f"deployment_id={dep}&mode=sequence&review_status=unreviewed",
             "gallery_species": f"area_id={area}&taxon_id={taxon}",
             "gallery_species_station": f"location_id={station}&taxon_id={taxon}"}
    for key, q in pages.items():
        tiles = _paged(client, f"/api/v1/review/grid?{q}&limit=100", steps, times[key], times[key + "_cpu"])
        assert tiles > 0, key
    for q in (f"deployment_id={dep}&review_status=unreviewed", f"area_id={area}&review_status=unreviewed",
              f"location_id={station}&taxon_id={taxon}"):
        for _ in range(max(3, steps // 10)):
            t, c = time.perf_counter(), time.process_time()
            r = client.get("/api/v1/review/grid/count?" + q)
            times["grid_count"].append((time.perf_counter() - t) * 1000)
            times["grid_count_cpu"].append((time.process_time() - c) * 1000)
            assert r.status_code == 200
    for i in range(max(5, steps // 5) + 1):
        t, c = time.perf_counter(), time.process_time()
        r = client.get(f"/review/grid?deployment_id={dep}")
        assert r.status_code == 200
        if i:
            times["grid_html"].append((time.perf_counter() - t) * 1000)
            times["grid_html_cpu"].append((time.process_time() - c) * 1000)
    # Bulk: 1,000 unreviewed photos of the area as five grid pages of 200 show them, labelled as one
    # species in one action, then undone; each repetition takes the next 1,000.
    after = None
    for rep in range(bulk_reps):
        items: list[dict] = []
        while len(items) < 1000:
            q = f"/api/v1/review/grid?area_id={area}&review_status=unreviewed&limit=200" + (
                f"&after={after}" if after else "")
            body = client.get(q).get_json()
            items += [{"id": t["id"], "version": t["version"]} for t in body["items"]]
            after = body["next_cursor"]
            assert after, "not enough unreviewed photos for a bulk label of 1,000"
        items = items[:1000]
        t, c = time.perf_counter(), time.process_time()
        r = client.post("/api/v1/review/bulk", headers={"X-CSRF-Token": csrf},
                        json={"mode": "media", "action": "species", "taxon_id": info["taxa"][rep % 20],
                              "count": 1, "items": items})
        times["bulk_label"].append((time.perf_counter() - t) * 1000)
        times["bulk_label_cpu"].append((time.process_time() - c) * 1000)
        out = r.get_json()
        assert r.status_code == 200 and out["applied"] == 1000, (r.status_code, str(out)[:300])
        t, c = time.perf_counter(), time.process_time()
        r = client.post("/api/v1/review/undo", headers={"X-CSRF-Token": csrf})
        times["bulk_undo"].append((time.perf_counter() - t) * 1000)
        times["bulk_undo_cpu"].append((time.process_time() - c) * 1000)
        assert r.status_code == 200 and r.get_json()["restored"] == 1000, r.get_data(as_text=True)[:300]
    return times


def bench_backend(backend: str, n_media: int, steps: int, parts: set[str], grid_steps: int,
                  bulk_reps: int) -> dict[str, float]:
    from server.db import dispose_engine
    from server.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        if backend == "sqlite":
            url = f"sqlite:///{tmp}/bench.db"
            upgrade(url)
            cleanup = None
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
        times: dict[str, list[float]] = {}
        try:
            info = generate(url, n_media, deployments=40 if n_media >= 100000 else 8)
            print(f"{backend}: generated {info['media']} media, {info['detections']} detections "
                  f"in {info['seconds']:.1f} s (load average {_load()})", flush=True)
            if "queue" in parts:
                times.update(run_steps(url, info, steps, tmp + "/data"))
            if "grid" in parts:
                times.update(run_grid(url, info, grid_steps, bulk_reps, tmp + "/data"))
        finally:
            dispose_engine(url)
            if cleanup:
                cleanup()
    out = {k: p95(v) for k, v in times.items()}
    out.update({k + "_median": statistics.median(v) for k, v in times.items()})
    if "queue" in parts:
        print(f"{backend}: next item p95 {out['next']:.1f} ms (median {out['next_median']:.1f}); save label p95 "
              f"{out['label']:.1f} ms (median {out['label_median']:.1f}); area-wide next p95 {out['next_area']:.1f} "
              f"ms; detections-first next p95 {out['next_first']:.1f} ms; deployment progress p95 "
              f"{out['progress']:.1f} ms; baseline request p95 {out['baseline']:.1f} ms "
              f"(median {out['baseline_median']:.1f})", flush=True)
    if "grid" in parts:
        print(f"{backend} (p95 wall / median server CPU, ms): " + "; ".join(
            f"{k} {out[k]:.0f} / {out[k + '_cpu_median']:.0f}" for k in (
                "grid_page", "grid_area", "grid_area_unreviewed", "grid_sequences", "gallery_species",
                "gallery_species_station", "grid_count", "grid_html", "bulk_label", "bulk_undo"))
              + f" (load average {_load()})", flush=True)
    return out


def _load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="5,000 media instead of 100,000")
    ap.add_argument("--media", type=int, default=None, help="media to generate (e.g. 1000000; default 100,000)")
    ap.add_argument("--steps", type=int, default=None, help="queue steps timed per backend (default 200; quick 40)")
    ap.add_argument("--grid-steps", type=int, default=None, help="grid pages timed per filter (default 60; quick 15)")
    ap.add_argument("--bulk-reps", type=int, default=None, help="bulk labels of 1,000 photos (default 5; quick 2)")
    ap.add_argument("--parts", default="queue,grid", help="queue (next item, label, progress) and/or grid "
                    "(grid pages, gallery, bulk label)")
    ap.add_argument("--backends", default="sqlite,postgresql")
    args = ap.parse_args()
    n_media = args.media or (5000 if args.quick else 100000)
    if n_media < 300:
        ap.error("--media must be at least 300")
    parts = set(args.parts.split(","))
    if not parts or parts - {"queue", "grid"}:
        ap.error("--parts is queue, grid or both")
    target = 50 if n_media >= 1_000_000 else 100
    steps = args.steps or (40 if args.quick else 200)
    grid_steps = args.grid_steps or (15 if args.quick else 60)
    bulk_reps = args.bulk_reps or (2 if args.quick else 5)
    if "grid" in parts and n_media < 1000 * (bulk_reps + 1):
        ap.error(f"--media must be at least {1000 * (bulk_reps + 1)} for {bulk_reps} bulk labels of 1,000")
    print(f"load average {_load()} on {os.cpu_count()} CPUs", flush=True)
    results = {b: bench_backend(b, n_media, steps, parts, grid_steps, bulk_reps) for b in args.backends.split(",")}
    for b, r in results.items():
        if "queue" not in parts:
            break
        print(f"BENCH next_item_p95_ms_{b} {r['next']:.1f} ms, deployment queue, {n_media} media (target < {target})")
        print(f"BENCH save_label_p95_ms_{b} {r['label']:.1f} ms, label a sequence, {n_media} media (target < 100)")
        print(f"BENCH next_item_area_p95_ms_{b} {r['next_area']:.1f} ms, whole-area queue with a confidence filter")
        print(f"BENCH next_item_first_p95_ms_{b} {r['next_first']:.1f} ms, deployment queue in detections-first order")
        print(f"BENCH progress_p95_ms_{b} {r['progress']:.1f} ms, deployment progress counts (and whether a detector ran)")
        print(f"BENCH next_item_cpu_median_ms_{b} {r['next_cpu_median']:.1f} ms, server process CPU per next item "
              "(less sensitive than wall time to the load of a shared machine)")
        print(f"BENCH baseline_request_p95_ms_{b} {r['baseline']:.1f} ms, GET one protected area (request overhead)")
    for b, r in results.items():
        if "grid" not in parts:
            break
        print(f"BENCH grid_page_p95_ms_{b} {r['grid_page']:.1f} ms, a grid page of 100 photos (query + JSON tiles), "
              f"a deployment's unreviewed, {n_media} media (target < 300)")
        print(f"BENCH grid_page_cpu_median_ms_{b} {r['grid_page_cpu_median']:.1f} ms, server process CPU per grid page "
              "(less sensitive than wall time to the load of a shared machine)")
        print(f"BENCH grid_area_p95_ms_{b} {r['grid_area']:.1f} ms, a page of 100 of the whole area (the gallery)")
        print(f"BENCH grid_area_unreviewed_p95_ms_{b} {r['grid_area_unreviewed']:.1f} ms, a page of 100 unreviewed "
              "photos of the whole area")
        print(f"BENCH grid_sequences_p95_ms_{b} {r['grid_sequences']:.1f} ms, a page of 100 sequence tiles")
        print(f"BENCH gallery_species_p95_ms_{b} {r['gallery_species']:.1f} ms, gallery page of 100: one species "
              "(machine or person) in the area")
        print(f"BENCH gallery_species_station_p95_ms_{b} {r['gallery_species_station']:.1f} ms, gallery page of 100: "
              "one species at one station")
        print(f"BENCH grid_count_p95_ms_{b} {r['grid_count']:.1f} ms, the count above the grid (up to 100,000)")
        print(f"BENCH grid_html_p95_ms_{b} {r['grid_html']:.1f} ms, the grid page's HTML (filters, stations)")
        print(f"BENCH bulk_label_1000_ms_{b} {r['bulk_label']:.0f} ms, one species label on 1,000 photos as one "
              f"action, p95 of {bulk_reps} (target < 2000)")
        print(f"BENCH bulk_label_1000_cpu_ms_{b} {r['bulk_label_cpu_median']:.0f} ms, server process CPU of that "
              "action (median; the database's own time is not in it)")
        print(f"BENCH bulk_undo_1000_ms_{b} {r['bulk_undo']:.0f} ms, undo of that action "
              f"(server CPU median {r['bulk_undo_cpu_median']:.0f} ms)")
    if "queue" in parts:
        worst = max(r["next"] for r in results.values())
        print(f"BENCH next_item_p95_ms {worst:.1f} worst backend of {','.join(results)} ({n_media} media; "
              f"target < {target})")
    if "grid" in parts:
        worst = max(r["grid_page"] for r in results.values())
        print(f"BENCH grid_page_p95_ms {worst:.1f} worst backend of {','.join(results)} ({n_media} media; "
              "target < 300)")
        worst = max(r["bulk_label"] for r in results.values())
        print(f"BENCH bulk_label_1000_ms {worst:.0f} worst backend of {','.join(results)} (target < 2000)")


if __name__ == "__main__":
    main()
