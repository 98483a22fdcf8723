"""Benchmark: serving the next item of the review queue and saving a label.

A generated database (100,000 media in sequences of 3, 300,000 machine
detections over 40 deployments; ``--quick``: 5,000 media) is bulk-inserted
into a fresh SQLite file and a fresh PostgreSQL database (127.0.0.1:5432,
dropped afterwards). A biologist then works through the queue in-process
through the Flask test client (full request: session, CSRF, permission checks,
queries, JSON): each step is ``GET /api/v1/review/next`` (the deployment's
queue, after the current sequence) then ``POST .../label``. The queue of the
whole protected area (no deployment filter, with a confidence filter) is
timed too. The p95 of each is printed; the target is < 100 ms.

Usage:  .venv/bin/python benchmarks/review.py [--quick] [--steps N] [--backends sqlite,postgresql]
Ends with ``BENCH next_item_p95_ms <worst backend>`` and per-backend lines; a
baseline line times the cheapest signed-in request, to tell the machine's own
cost (load, CPU speed) from the queue's.
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
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PG_ADMIN_URL = os.environ.get("SAOLA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
BATCH = 20000


def p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20, method="inclusive")[18] if len(xs) > 1 else xs[0]


def generate(url: str, n_media: int, deployments: int = 40, seed: int = 7) -> dict:
    """Bulk-insert the area, users, taxa, deployments, sequences, media and detections."""
    from argon2 import PasswordHasher
    from sqlalchemy import insert

    from server.db import get_engine
    from server.models import (Deployment, Detection, Location, Media, Membership, Program, ProtectedArea,
                               Sequence, Taxon, User, new_id)

    rnd = random.Random(seed)
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
    seqs, media, dets = [], [], []
    n_seq = n_media // 3

    def flush():
        with eng.begin() as c:  # parents first: foreign keys are checked
            for table, rows in ((Sequence, seqs), (Media, media), (Detection, dets)):
                if rows:
                    c.execute(insert(table), rows)
                    rows.clear()

    for i in range(n_seq):
        dep = dep_ids[i % deployments]
        start = T0 + timedelta(minutes=10 * (i // deployments))
        sid = new_id()
        seqs.append({"id": sid, "deployment_id": dep, "event_start": start, "event_end": start + timedelta(seconds=4),
                     "media_count": 3, "review_status": "unreviewed"})
        for j in range(3):
            mid = new_id()
            media.append({"id": mid, "sha256": secrets.token_hex(32), "kind": "image", "deployment_id": dep,
                          "sequence_id": sid, "file_name": f"IMG_{i:06d}_{j}.JPG", "media_type": "image/jpeg",
                          "size_bytes": 1000, "storage_key": "x", "captured_at": start + timedelta(seconds=2 * j),
                          "timestamp_source": "exif", "flags": [], "meta": {}, "has_derivatives": False,
                          "contains_person": False, "favorite": False, "created_at": now})
            for _k in range(3):
                person = rnd.random() < 0.05
                x, y = rnd.random() * 0.6, rnd.random() * 0.6
                dets.append({"id": new_id(), "media_id": mid, "model": "megadetector@5a",
                             "category": "person" if person else "animal", "confidence": rnd.random(),
                             "bbox_x": x, "bbox_y": y, "bbox_width": 0.2, "bbox_height": 0.3,
                             "taxon_id": None if person else rnd.choice(taxa), "dismissed": False,
                             "review_status": "unreviewed", "extra": {}, "created_at": now})
        if len(dets) >= BATCH:
            flush()
    flush()
    with eng.begin() as c:  # planner statistics, as a database in use would have
        c.exec_driver_sql("ANALYZE")
    return {"area_id": area_id, "deployments": dep_ids, "taxa": taxa, "seconds": time.perf_counter() - t,
            "media": n_seq * 3, "detections": n_seq * 9}


def run_steps(url: str, info: dict, steps: int, data_dir: str) -> dict[str, list[float]]:
    from server import create_app

    app = create_app({"DATABASE_URL": url, "DATA_DIR": data_dir, "SECRET_KEY": "bench", "WORKER": "external",
                      "TESTING": True, "LOG_LEVEL": "WARNING"})
    client = app.test_client()
    import re

    form = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    r = client.post("/login", data={"username": "bio", "password": "password123", "csrf_token": form})
    assert r.status_code == 302, r.status_code

    csrf = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)
    rnd = random.Random(1)
    times: dict[str, list[float]] = {"next": [], "label": [], "next_area": [], "baseline": []}
    dep = info["deployments"][3]
    after = None
    for i in range(steps + 5):
        q = f"/api/v1/review/next?deployment_id={dep}" + (f"&after={after}" if after else "")
        t = time.perf_counter()
        r = client.get(q)
        dt_next = time.perf_counter() - t
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
        # The cheapest signed-in API request (one small query), to show what the machine itself costs.
        t = time.perf_counter()
        r = client.get(f"/api/v1/areas/{info['area_id']}")
        dt_base = time.perf_counter() - t
        assert r.status_code == 200
        if i >= 5:
            times["baseline"].append(dt_base * 1000)  # warm-up: first requests compile templates, fill caches
            times["next"].append(dt_next * 1000)
            times["label"].append(dt_label * 1000)
            times["next_area"].append(dt_area * 1000)
    return times


def bench_backend(backend: str, n_media: int, steps: int) -> dict[str, float]:
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
        try:
            info = generate(url, n_media, deployments=40 if n_media >= 100000 else 8)
            print(f"{backend}: generated {info['media']} media, {info['detections']} detections "
                  f"in {info['seconds']:.1f} s", flush=True)
            times = run_steps(url, info, steps, tmp + "/data")
        finally:
            dispose_engine(url)
            if cleanup:
                cleanup()
    out = {k: p95(v) for k, v in times.items()}
    out.update({k + "_median": statistics.median(v) for k, v in times.items()})
    print(f"{backend}: next item p95 {out['next']:.1f} ms (median {out['next_median']:.1f}); save label p95 "
          f"{out['label']:.1f} ms (median {out['label_median']:.1f}); area-wide next p95 {out['next_area']:.1f} ms; "
          f"baseline request p95 {out['baseline']:.1f} ms (median {out['baseline_median']:.1f})",
          flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="5,000 media instead of 100,000")
    ap.add_argument("--steps", type=int, default=None, help="queue steps timed per backend (default 200; quick 40)")
    ap.add_argument("--backends", default="sqlite,postgresql")
    args = ap.parse_args()
    n_media = 5000 if args.quick else 100000
    steps = args.steps or (40 if args.quick else 200)
    results = {b: bench_backend(b, n_media, steps) for b in args.backends.split(",")}
    for b, r in results.items():
        print(f"BENCH next_item_p95_ms_{b} {r['next']:.1f} ms, deployment queue, {n_media} media (target < 100)")
        print(f"BENCH save_label_p95_ms_{b} {r['label']:.1f} ms, label a sequence, {n_media} media (target < 100)")
        print(f"BENCH next_item_area_p95_ms_{b} {r['next_area']:.1f} ms, whole-area queue with a confidence filter")
        print(f"BENCH baseline_request_p95_ms_{b} {r['baseline']:.1f} ms, GET one protected area (request overhead)")
    worst = max(r["next"] for r in results.values())
    print(f"BENCH next_item_p95_ms {worst:.1f} worst backend of {','.join(results)} ({n_media} media; target < 100)")


if __name__ == "__main__":
    main()
