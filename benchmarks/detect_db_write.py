"""Benchmark: the detect job's real database write path, images/s.

What a detect worker does after inference, per 32-image batch in one short
transaction (server.detect.service): build Detection rows, delete the
model's earlier unreviewed rows of those images, insert, and update
Media.contains_person. Run on a migrated SQLite database (and PostgreSQL with
--pg URL) with MegaDetector-like results (boxes per image as given). Compare
with the detector's images/s from benchmarks/detector.py: the write must be
far faster than inference so it never limits end-to-end throughput.

Usage: .venv/bin/python benchmarks/detect_db_write.py [--quick] [--boxes 10] [--pg postgresql+psycopg://...]
Ends with ``BENCH detect_db_write_<db> <images/s> ...`` lines.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _results(n_images: int, boxes: int, seed: int = 0):
    from classifiers.megadetector import Detection, ImageResult

    rng = random.Random(seed)
    out = []
    for i in range(n_images):
        dets = [Detection(rng.choice("112"), rng.uniform(0.05, 0.99),
                          (rng.uniform(0, 0.5), rng.uniform(0, 0.5), rng.uniform(0.05, 0.5), rng.uniform(0.05, 0.5)))
                for _ in range(boxes)]
        out.append(ImageResult(f"img{i}", dets, None, 2048, 1536))
    return out


def run(url: str, n_images: int, boxes: int, batch: int = 32, passes: int = 2) -> float:
    """Images/s of the write path (second pass replaces the first: the idempotent rerun case too)."""
    from server.db import dispose_engine, session_scope
    from server.detect import service
    from server.models import Media

    with session_scope(url) as s:
        ids = []
        for i in range(n_images):
            m = Media(sha256=f"{i:064x}", file_name=f"IMG_{i:05d}.JPG", media_type="image/jpeg", size_bytes=1,
                      storage_key=f"k/{i}.jpg")
            s.add(m)
            ids.append(m.id)
    results = _results(n_images, boxes)
    cats = {"1": "animal", "2": "person", "3": "vehicle"}
    t0 = time.perf_counter()
    for _ in range(passes):
        for start in range(0, n_images, batch):
            part = {ids[i]: service.detection_rows(ids[i], "md_bench@1", results[i], cats, 0.05)
                    for i in range(start, min(n_images, start + batch))}
            with session_scope(url) as s:
                service.replace_detections(s, "md_bench@1", part)
    elapsed = time.perf_counter() - t0
    dispose_engine(url)
    return passes * n_images / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a few hundred images (seconds)")
    ap.add_argument("--boxes", type=int, default=10, help="detections per image")
    ap.add_argument("--pg", default=None, help="also run on this (empty, scratch) PostgreSQL server URL")
    args = ap.parse_args()
    n = 256 if args.quick else 4096
    from server.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="saola-bench-") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        rate = run(url, n, args.boxes)
        print(f"sqlite: {rate:.0f} images/s ({args.boxes} boxes each, 32-image transactions)")
        print(f"BENCH detect_db_write_sqlite {rate:.1f} images/s written by the detect job's real write path")
    if args.pg:
        from sqlalchemy import create_engine, text

        name = f"saola_bench_{int(time.time())}"
        admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        url = args.pg.rsplit("/", 1)[0] + "/" + name
        try:
            upgrade(url)
            rate = run(url, n, args.boxes)
            print(f"postgresql: {rate:.0f} images/s")
            print(f"BENCH detect_db_write_postgresql {rate:.1f} images/s written by the detect job's real write path")
        finally:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
