"""Benchmark: the real ``detect`` job end to end, images/s, against bare inference.

Where benchmarks/detector.py measures (b) with an sqlite stand-in for the
database write, this runs what the server runs: media in a content-addressed
store, Media rows in a migrated Saola database (SQLite), a registered model,
and the ``detect`` job drained by a worker: selection, loader threads,
inference, NMS, idempotent per-batch writes with audit entries, contains_person,
progress and lease renewal; the follow-up job that makes blurred derivatives of
images with people is timed apart.

Same networks and JPEGs as benchmarks/detector.py (YOLOv5s at 640; with the
full run also the MDv5a-size YOLOv5x6 at 1280), random weights, built at run
time in a temporary folder. Store threshold 0.005 as MegaDetector's files.

Usage: .venv/bin/python benchmarks/detect_job.py [--quick] [--images N] [--rounds R]
Ends with ``BENCH detect_job_vs_bare <job/(a)>`` (target >= 0.95 as for (b)).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import detector as mdbench  # noqa: E402  (benchmarks/detector.py: networks, JPEGs, bare inference)


def setup_db(folder: Path, jpegs: list[Path], model_path: Path, image_size: int) -> dict:
    """A migrated SQLite database with the JPEGs stored and registered; returns the worker config."""
    from server.db import session_scope
    from server.detect.registry import add_model
    from server.migrate import upgrade
    from server.models import Media
    from server.storage import LocalMediaStore, sha256_file

    url = f"sqlite:///{folder / 'saola.db'}"
    upgrade(url)
    store = LocalMediaStore(folder / "media")
    with session_scope(url) as s:
        for p in jpegs:
            sha = sha256_file(p)
            key = store.key_for(sha, "jpg")
            with open(p, "rb") as f:
                store.put_stream(f, key)
            s.add(Media(sha256=sha, file_name=p.name, file_path=f"DCIM/{p.name}", media_type="image/jpeg",
                        size_bytes=p.stat().st_size, storage_key=key))
        add_model(s, model_path, "bench", version="1", config={"image_size": image_size, "conf_threshold": 0.005},
                  check=False)
    return {"DATABASE_URL": url, "MEDIA_DIR": str(folder / "media"), "DATA_DIR": str(folder), "JOB_LEASE_S": 300,
            "DETECTOR_MODEL": "", "CLASSIFIER_MODEL": ""}


def run_job(config: dict) -> tuple[float, dict]:
    """Queue a detect job over every image (force) and drain it; (seconds, job result)."""
    from server.db import session_scope
    from server.jobs import drain, enqueue
    from server.models import Job

    # First-run cost: the blurred derivatives of images with people are made again each time (timed apart).
    shutil.rmtree(Path(config["DATA_DIR"]) / "derivatives", ignore_errors=True)
    with session_scope(config["DATABASE_URL"]) as s:
        job_id = enqueue(s, "detect", {"all": True, "force": True, "model": "bench", "classify": False}).id
    t0 = time.perf_counter()
    drain(config, max_jobs=1)  # the detect job (the oldest queued)
    elapsed = time.perf_counter() - t0
    t1 = time.perf_counter()
    drain(config)  # its follow-up privacy job: blurred derivatives of images with people
    privacy_s = time.perf_counter() - t1
    with session_scope(config["DATABASE_URL"]) as s:
        job = s.get(Job, job_id)
        if job.status != "done":
            raise RuntimeError(f"detect job {job.status}: {job.error}")
        return elapsed, {**job.result, "privacy_s": privacy_s}


def bench(name: str, jpegs: list[Path], folder: Path, rounds: int) -> dict:
    import server.jobs.handlers  # noqa: F401  (registers the detect job)
    from server.db import session_scope
    from server.detect.registry import get_model
    from server.detect.runtime import get_detector

    mdbench.log(f"\n== {name} ==")
    model_path, (variant, *_rest) = mdbench.build_model(name, folder, jpegs[0])
    sub = folder / name
    sub.mkdir()
    config = setup_db(sub, jpegs, model_path, variant.image_size)
    with session_scope(config["DATABASE_URL"]) as s:
        det = get_detector(get_model(s, "bench"))  # the worker's cached detector: same session as the job
    tensors = [det.prepare(p).tensor[None] for p in jpegs]
    det.infer(tensors[0])
    run_job(config)  # warm-up: caches, sqlite, first derivatives
    a_s = j_s = 0.0
    result = {}
    for r in range(rounds):
        if r % 2:
            s_job, result = run_job(config)
            a = mdbench.bare_inference(det, tensors)
        else:
            a = mdbench.bare_inference(det, tensors)
            s_job, result = run_job(config)
        a_s += a
        j_s += s_job
        mdbench.log(f"  round {r + 1}: (a) {len(jpegs) / a:.3f}  detect job {len(jpegs) / s_job:.3f} images/s  "
                    f"job/(a) {a / s_job:.3f}")
    out = {"name": name, "a": rounds * len(jpegs) / a_s, "job": rounds * len(jpegs) / j_s}
    mdbench.log(f"  detections per image {result['detections'] / max(1, result['processed']):.0f}; images with "
                f"people {result['people']} of {result['images']} (random weights); their blurred derivatives "
                f"took {result['privacy_s']:.2f} s in the follow-up privacy job")
    mdbench.log(f"  (a) bare onnxruntime {out['a']:.3f} images/s; detect job {out['job']:.3f} images/s; "
                f"job/(a) {out['job'] / out['a']:.3f}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="YOLOv5s, a few images (seconds)")
    ap.add_argument("--images", type=int, default=None, help="JPEGs per model (default 24, quick 6)")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved repetitions (default 2, quick 1)")
    ap.add_argument("--size", default="2048x1536", help="JPEG size WxH")
    args = ap.parse_args()
    n = args.images or (6 if args.quick else 24)
    rounds = args.rounds or (1 if args.quick else 2)
    w, h = (int(v) for v in args.size.lower().split("x"))
    names = ["yolov5s"] if args.quick else ["yolov5x6", "yolov5s"]
    mdbench.log(f"{len(os.sched_getaffinity(0))} usable CPUs; load average {os.getloadavg()[0]:.1f}")
    results = []
    with tempfile.TemporaryDirectory(prefix="saola-bench-") as tmp:
        folder = Path(tmp)
        jpegs = mdbench.make_jpegs(folder, n, (w, h))
        for name in names:
            results.append(bench(name, jpegs if name == "yolov5s" else jpegs[:max(4, n // 4)], folder, rounds))
    print()
    head = results[0]
    for r in results:
        prefix = "" if r is head else f"{r['name']}_"
        print(f"BENCH {prefix}detect_job_images_per_s {r['job']:.3f} real detect job ({r['name']}): decode, "
              "letterbox, inference, NMS, SQLite writes, audit")
        print(f"BENCH {prefix}detect_job_vs_bare {r['job'] / r['a']:.3f} detect job / bare onnxruntime "
              f"({r['name']}), target >= 0.95")
    return 0


if __name__ == "__main__":
    sys.exit(main())
