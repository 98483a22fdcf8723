"""Benchmark: publishing an area server's records and thumbnails to a national hub on the same machine.

One run, SQLite on both sides, the hub a real ``saola serve`` process (``SAOLA_ROLE=hub``, waitress,
4 threads) on 127.0.0.1, the area's publisher in this process (``server.hub.publish``, the code of
``saola publish``):

  (a) clean run: N observations and N media rows (with 100 deployments, 50 stations, their
      program and area) published, then N thumbnails (``--thumb-kb`` random bytes each);
      ``publish_obs_per_s`` is observations per second of the records phase, which carries the
      media rows too (2N records);
  (b) no-op run against the same hub: nothing changed, so the cost is rebuilding and hashing every
      record and comparing it with what the hub acknowledged;
  (c) kill at half-way: into a second, empty hub the same publish is started, the hub process is
      killed (SIGKILL) once it holds N/2 observations, restarted, and the publish run again until
      done; ``publish_resume_ratio`` = (time of the cut run + time of the resumed run) / time of
      the clean run (1.0 would mean resumption costs nothing), and the hub's counts are checked
      (nothing lost, nothing doubled).

The machine is shared (load average printed); the baseline of every ratio is measured in the same run.

Usage: .venv/bin/python benchmarks/publish.py [--quick] [--n N] [--thumb-kb K]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SAOLA = str(Path(sys.executable).with_name("saola"))


def log(msg: str) -> None:
    print(msg, flush=True)


def seed(url: str, data_dir: Path, n: int, thumb_kb: int) -> None:
    """The area: 1 program, 50 stations, 100 deployments, ``n`` media with thumbnails, ``n`` observations."""
    from sqlalchemy import insert

    from server.db import session_scope
    from server.ingest.derivatives import thumb_key
    from server.models import Deployment, Location, Media, Observation, Program, ProtectedArea, Taxon, new_id

    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    deriv = data_dir / "derivatives"
    with session_scope(url) as s:
        area = ProtectedArea(code="BENCH", name="Bench area")
        s.add(area)
        s.flush()
        prog = Program(area_id=area.id, name="Camera traps")
        taxon = Taxon(scientific_name="Muntiacus vaginalis", rank="species", iucn_category="LC")
        s.add_all([prog, taxon])
        s.flush()
        locs = [Location(area_id=area.id, name=f"S{i:02d}", latitude=17.5 + i / 100, longitude=106.3) for i in range(50)]
        s.add_all(locs)
        s.flush()
        deps = [Deployment(program_id=prog.id, location_id=locs[i % 50].id, deployment_start=t0,
                           deployment_end=t0 + timedelta(days=60), camera_id=f"CAM{i:03d}") for i in range(100)]
        s.add_all(deps)
        s.flush()
        dep_ids, taxon_id = [d.id for d in deps], taxon.id
    step = 5000
    for start in range(0, n, step):
        media, obs = [], []
        for i in range(start, min(n, start + step)):
            thumb = secrets.token_bytes(thumb_kb * 1024)
            sha = hashlib.sha256(b"original-%d" % i).hexdigest()
            path = deriv / thumb_key(sha)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(thumb)
            mid = new_id()
            when = t0 + timedelta(minutes=i)
            media.append(dict(id=mid, sha256=sha, kind="image", deployment_id=dep_ids[i % 100], sequence_id=None,
                              file_name=f"IMG_{i:06d}.JPG", file_path=None, media_type="image/jpeg",
                              size_bytes=2_000_000, storage_key=f"{sha[:2]}/{sha[2:4]}/{sha}.jpg",
                              captured_at_raw=None, captured_at=when, utc_offset_min=None, timestamp_source="exif",
                              width=1920, height=1080, orientation=1, duration_s=None, sample_rate=None, channels=None,
                              camera_make="Bench", camera_model="HF2", camera_serial=f"CAM{i % 100:03d}",
                              latitude=None, longitude=None, capture_method="activityDetection", flags=[],
                              meta={"exif": {"Make": "Bench"}}, has_derivatives=True, contains_person=False,
                              favorite=False, favorite_by=None, favorite_at=None, media_comments=None, created_at=when))
            obs.append(dict(id=new_id(), deployment_id=dep_ids[i % 100], media_id=mid, sequence_id=None,
                            detection_id=None, event_start=when, event_end=when, observation_level="media",
                            observation_type="animal", taxon_id=taxon_id, count=1, life_stage=None, sex=None,
                            behavior=None, individual_id=None, bbox_x=0.1, bbox_y=0.2, bbox_width=0.3,
                            bbox_height=0.3, classification_method="human", classified_by="bench",
                            classification_timestamp=when, classification_probability=None, observation_tags=None,
                            observation_comments=None, extra={}, revision=1, created_at=when, updated_at=when))
        with session_scope(url) as s:
            s.execute(insert(Media), media)
            s.execute(insert(Observation), obs)


class Hub:
    """A hub: ``saola serve`` with SAOLA_ROLE=hub on its own SQLite database."""

    def __init__(self, work: Path, name: str):
        from server.migrate import upgrade
        from tests.saola_server import free_port

        self.dir = work / name
        self.url_db = f"sqlite:///{work / (name + '.db')}"
        upgrade(self.url_db)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "SAOLA_DATABASE_URL": self.url_db, "SAOLA_DATA_DIR": str(self.dir),
                    "SAOLA_SECRET_KEY": "bench", "SAOLA_ROLE": "hub", "SAOLA_WORKER": "external",
                    "SAOLA_THREADS": "4", "PYTHONPATH": str(REPO)}
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        import requests

        self.proc = subprocess.Popen([SAOLA, "serve", "--port", str(self.port)], env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                if requests.get(self.url + "/api/v1/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.3)
        raise SystemExit("the hub did not start")

    def kill(self) -> None:
        import signal

        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)

    def token(self) -> str:
        from server.db import session_scope
        from server.hub.peers import add_peer

        with session_scope(self.url_db) as s:
            _p, tok = add_peer(s, "bench", "BENCH")
        return tok

    def count(self, model) -> int:
        from sqlalchemy import func
        from sqlmodel import select

        from server.db import session_scope

        with session_scope(self.url_db, read_only=True) as s:
            return s.exec(select(func.count()).select_from(model)).one()


def run(config: dict, hub: Hub, token: str, thumbnails: bool = True):
    from server.hub.publish import Options, Publisher

    pub = Publisher(config, Options(hub_url=hub.url, token=token, thumbnails=False))
    t0 = time.perf_counter()
    pub.run()
    t_records = time.perf_counter() - t0
    t_thumbs = 0.0
    if thumbnails:
        pub2 = Publisher(config, Options(hub_url=hub.url, token=token, thumbnails=True))
        t1 = time.perf_counter()
        pub2.run()
        t_thumbs = time.perf_counter() - t1
        pub.report.files.update(pub2.report.files)
    return pub.report, t_records, t_thumbs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2,000 observations and media: runs in seconds")
    ap.add_argument("--n", type=int, default=None, help="observations and media (default 100,000)")
    ap.add_argument("--thumb-kb", type=int, default=4, help="size of each thumbnail in KiB (default 4)")
    args = ap.parse_args()
    n = args.n or (2000 if args.quick else 100_000)
    from server import settings
    from server.migrate import upgrade
    from server.models import Media, Observation

    log(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="saola-bench-publish-") as tmp:
        work = Path(tmp)
        area_url = f"sqlite:///{work / 'area.db'}"
        upgrade(area_url)
        t = time.perf_counter()
        seed(area_url, work / "area", n, args.thumb_kb)
        log(f"seeded {n} observations, {n} media and their thumbnails in {time.perf_counter() - t:.1f} s")
        config = settings.resolve_paths(settings.load({"DATABASE_URL": area_url, "DATA_DIR": str(work / "area"),
                                                       "SECRET_KEY": "bench"}))
        # (a) clean run
        hub = Hub(work, "hub-a")
        hub.start()
        token = hub.token()
        rep, t_rec, t_thumb = run(config, hub, token)
        assert hub.count(Observation) == n and hub.count(Media) == n, "clean run incomplete"
        log(f"clean run: records {t_rec:.1f} s ({sum(rep.sent.values())} records), thumbnails {t_thumb:.1f} s "
            f"({rep.files['thumb']})")
        # (b) nothing changed
        from server.hub.publish import Options, Publisher

        t = time.perf_counter()
        noop = Publisher(config, Options(hub_url=hub.url, token=token)).run()
        t_noop = time.perf_counter() - t
        assert not noop.sent, noop.summary()
        hub.kill()
        # (c) killed at half-way, restarted, finished
        hub_b = Hub(work, "hub-b")
        hub_b.start()
        token_b = hub_b.token()
        errors: list[str] = []

        def cut_run() -> None:
            try:
                Publisher(config, Options(hub_url=hub_b.url, token=token_b, thumbnails=False)).run()
            except Exception as e:  # the hub is killed under it
                errors.append(str(e))

        t = time.perf_counter()
        th = threading.Thread(target=cut_run)
        th.start()
        while th.is_alive() and hub_b.count(Observation) < n // 2:
            time.sleep(0.05)
        hub_b.kill()
        th.join()
        t_cut = time.perf_counter() - t
        at_kill = hub_b.count(Observation)
        log(f"hub killed with {at_kill} of {n} observations after {t_cut:.1f} s: {errors[:1]}")
        hub_b.start()
        t = time.perf_counter()
        Publisher(config, Options(hub_url=hub_b.url, token=token_b, thumbnails=False)).run()
        t_resume = time.perf_counter() - t
        hub_b.kill()
        assert hub_b.count(Observation) == n and hub_b.count(Media) == n, "resumed run incomplete or doubled"
        log(f"resumed run {t_resume:.1f} s; hub holds {n} observations and {n} media: nothing lost or doubled")
        log(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        mb = n * args.thumb_kb / 1024
        print(f"BENCH publish_records_per_s {2 * n / t_rec:.0f} records (observations + media rows) per second to a hub on this machine")
        print(f"BENCH publish_thumbs_per_s {n / t_thumb:.0f} thumbnails ({args.thumb_kb} KiB) per second, {mb / t_thumb:.1f} MiB/s")
        print(f"BENCH publish_noop_s {t_noop:.2f} seconds of a run with nothing to send ({2 * n} records rebuilt and hashed)")
        print(f"BENCH publish_resume_ratio {(t_cut + t_resume) / t_rec:.2f} (cut run + resumed run) / clean run, hub killed at half-way")
        print(f"BENCH publish_obs_per_s {n / t_rec:.0f} observations per second (records phase, carrying {n} media rows too)")


if __name__ == "__main__":
    main()
