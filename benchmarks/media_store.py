"""Benchmark: the S3 media store against the local one, for ingest and thumbnail serving.

In one run, on the same machine and the same N camera-like JPEGs (1920 x 1080 with EXIF):

  (a) ingest (``server.ingest.pipeline.ingest_path``, 2 worker processes: hash, EXIF,
      original stored, rows and sequences; then the queued ``derivatives`` jobs: thumbnail and
      review copy made from the stored original and stored) into
      a local store, then into an S3 store (``SAOLA_MEDIA_URL=s3://...``);
  (b) thumbnail serving through the API (``GET /api/v1/media/<id>/thumbnail``, Flask's
      test client, an administrator's token): every thumbnail once from the local store,
      from S3 with an empty local cache (each one a GET to the bucket), and from S3 again
      (served from the cache).

The S3 server is moto's server mode (tests/s3_server.py): an emulator in Python, in its own
process, over HTTP on 127.0.0.1 -- the ratios say what the S3 code path costs against that
server, not what AWS S3 or MinIO would. SQLite database; the baseline of every ratio is the
local store measured in the same run.

Usage: .venv/bin/python benchmarks/media_store.py [--quick] [--n N]
"""
from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def make_photos(folder: Path, n: int) -> None:
    """``n`` distinct JPEGs of a noisy scene with a camera's EXIF (time, serial)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(7)
    base = rng.integers(0, 255, (270, 480, 3), dtype=np.uint8)
    scene = Image.fromarray(base).resize((1920, 1080), Image.BILINEAR)
    t0 = datetime(2026, 3, 2, 6, 0, 0)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        im = scene.copy()
        im.paste((i * 37 % 255, 90, 40), (i % 100, 0, i % 100 + 40, 40))  # distinct bytes per file
        e = Image.Exif()
        e[0x010F], e[0x0110] = "Bench", "HF2"
        ifd = e.get_ifd(0x8769)
        ifd[0x9003] = (t0 + timedelta(seconds=40 * i)).strftime("%Y:%m:%d %H:%M:%S")
        ifd[0xA431] = "BENCH-01"
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=88, exif=e)
        (folder / f"IMG_{i:05d}.JPG").write_bytes(buf.getvalue())


def build_app(work: Path, extra: dict):
    from server import create_app
    from server.migrate import upgrade

    data = work / "data"
    data.mkdir(parents=True)
    url = f"sqlite:///{data / 'saola.db'}"
    upgrade(url)
    return create_app({"DATABASE_URL": url, "DATA_DIR": str(data), "SECRET_KEY": "bench", "WORKER": "external",
                       "LANGUAGE": "en", **extra})


def setup_world(app):
    from server.auth.tokens import issue_token
    from server.db import session_scope
    from server.models import Program, ProtectedArea, User
    from server.services.deployments import build_deployment

    with session_scope(app.config["DATABASE_URL"]) as s:
        area = ProtectedArea(code="BENCH", name="Bench")
        s.add(area)
        s.flush()
        program = Program(area_id=area.id, name="Cameras")
        s.add(program)
        s.flush()
        dep = build_deployment(s, program, {"deployment_start": datetime(2026, 3, 1, tzinfo=timezone.utc),
                                            "camera_id": "BENCH-01", "timezone": "Asia/Ho_Chi_Minh"},
                               location={"name": "S01", "latitude": 17.5, "longitude": 106.3})
        admin = User(username="bench", password_hash="x", is_admin=True)
        s.add(admin)
        s.flush()
        token, _ = issue_token(s, admin, kind="api", days=1)
        return dep.id, token


def make_thumbnails(app) -> None:
    """Run the queued ``derivatives`` jobs here, as ``saola worker`` would."""
    from sqlmodel import select

    from server.db import session_scope
    from server.jobs import run_job
    from server.models import Job

    with session_scope(app.config["DATABASE_URL"]) as s:
        ids = list(s.exec(select(Job.id).where(Job.kind == "derivatives", Job.status == "queued")))
    for job_id in ids:
        run_job(job_id, app.config)


def run_backend(name: str, photos: Path, work: Path, extra: dict) -> dict:
    from sqlmodel import select

    from server.db import session_scope
    from server.ingest.pipeline import ingest_path
    from server.models import Media

    app = build_app(work / name, extra)
    dep_id, token = setup_world(app)
    t = time.perf_counter()
    rep = ingest_path(app, photos, deployment_id=dep_id, workers=2)
    make_thumbnails(app)  # the background derivatives jobs ingest queued (a worker's work), timed with it
    ingest_s = time.perf_counter() - t
    assert rep.ingested == len(list(photos.glob("*.JPG"))), rep
    with session_scope(app.config["DATABASE_URL"], read_only=True) as s:
        ids = list(s.exec(select(Media.id)))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def serve_all() -> float:
        t0 = time.perf_counter()
        for mid in ids:
            r = client.get(f"/api/v1/media/{mid}/thumbnail", headers=headers)
            assert r.status_code == 200 and r.get_data()[:2] == b"\xff\xd8", r.status_code
            r.close()
        return time.perf_counter() - t0

    out = {"ingest_per_s": len(ids) / ingest_s}
    cache = Path(app.config["DATA_DIR"]) / "s3-cache"
    shutil.rmtree(cache, ignore_errors=True)  # S3: nothing local, every thumbnail from the bucket
    out["thumb_cold_per_s"] = len(ids) / serve_all()
    out["thumb_warm_per_s"] = len(ids) / serve_all()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="30 photos (seconds)")
    ap.add_argument("--n", type=int, default=None, help="number of photos (default 300; --quick 30)")
    args = ap.parse_args()
    n = args.n or (30 if args.quick else 300)
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    from tests import s3_server

    work = Path(tempfile.mkdtemp(prefix="saola-bench-s3-"))
    server = s3_server.start()
    try:
        photos = work / "card"
        make_photos(photos, n)
        size_mb = sum(p.stat().st_size for p in photos.glob("*.JPG")) / 1e6
        print(f"{n} photos, {size_mb:.0f} MB; S3: moto server mode at {server.endpoint}; load {os.getloadavg()}")
        local = run_backend("local", photos, work, {})
        url = f"s3://{server.bucket()}/bench"
        s3 = run_backend("s3", photos, work, server.config(url))
    finally:
        s3_server.stop(server)
        shutil.rmtree(work, ignore_errors=True)
    for k in ("ingest_per_s", "thumb_cold_per_s", "thumb_warm_per_s"):
        print(f"  {k:18s} local {local[k]:8.1f}   s3 {s3[k]:8.1f}")
    print(f"BENCH s3_ingest_photos_per_s {s3['ingest_per_s']:.1f} photos/s ingested into S3 (moto server over HTTP), "
          f"{n} photos 1920x1080, 2 workers")
    print(f"BENCH local_ingest_photos_per_s {local['ingest_per_s']:.1f} photos/s ingested into the local store "
          "(baseline, same photos, same run)")
    print(f"BENCH s3_vs_local_ingest {s3['ingest_per_s'] / local['ingest_per_s']:.2f} ratio of ingest throughput, "
          "S3 over local")
    print(f"BENCH s3_vs_local_thumbnail_cold {s3['thumb_cold_per_s'] / local['thumb_cold_per_s']:.2f} ratio of "
          "thumbnails served per second, S3 with an empty cache (each from the bucket) over local")
    print(f"BENCH s3_vs_local_thumbnail_warm {s3['thumb_warm_per_s'] / local['thumb_warm_per_s']:.2f} ratio of "
          "thumbnails served per second, S3 from the local cache over local")


if __name__ == "__main__":
    main()
