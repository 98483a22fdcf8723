"""Sync throughput against a real `saola serve` on loopback.

Reports, in one run on this machine:
- observations per second pushed (the app's SyncClient, batches of 250) and pulled;
- photo upload throughput with the resumable protocol (create, chunks, hash check,
  media row) as a ratio to ONE plain HTTP PUT of the same bytes to the same server
  (/api/v1/diagnostics/upload-sink?store=1 writes the body to disk and fsyncs it, as
  any upload that keeps the file must). Target >= 0.8. The ratio against a PUT whose
  body is discarded unread-to-disk is printed too, as a lower bound.

    .venv/bin/python benchmarks/sync.py [--quick] [--database-url URL | --postgres ADMIN_URL]

``--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test`` runs it on a scratch
PostgreSQL database created beside that one and dropped at the end. Everything the run
writes (server data, the tablets' stores, the photos) is removed at the end.

Ends with BENCH lines.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAOLA = str(Path(sys.executable).with_name("saola"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(env: dict, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([SAOLA, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(150):
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit("saola serve did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a few seconds: 300 observations, 8 MiB photo")
    ap.add_argument("--observations", type=int, default=None)
    ap.add_argument("--photo-mib", type=int, default=None)
    ap.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    ap.add_argument("--postgres", metavar="ADMIN_URL", default="",
                    help="run on a scratch database created (and dropped) on this PostgreSQL server")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="saola-bench-sync-") as tmp:
        if args.postgres:
            with scratch_postgres(args.postgres) as url:
                run(args, url, Path(tmp))
        else:
            run(args, args.database_url, Path(tmp))


@contextlib.contextmanager
def scratch_postgres(admin_url: str):
    """A new, empty PostgreSQL database on the server of ``admin_url``, dropped afterwards; its URL."""
    import secrets

    from sqlalchemy import create_engine, text

    name = f"saola_bench_sync_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(args, database_url: str, tmp: Path) -> None:
    """Set up a server with one ranger, push, pull and upload; print the results and BENCH lines."""
    n_obs = args.observations or (300 if args.quick else 5000)
    photo_mib = args.photo_mib or (8 if args.quick else 64)
    db_name = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"

    from mobile.store import Store
    from mobile.sync import SyncClient

    env = {**os.environ, "SAOLA_DATA_DIR": str(tmp / "server"), "SAOLA_SECRET_KEY": "bench-secret-0123456789",
           "SAOLA_WORKER": "external", "SAOLA_DATABASE_URL": database_url}
    subprocess.run([SAOLA, "init"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([SAOLA, "areas", "add", "BENCH", "Bench area"], env=env, check=True, stdout=subprocess.DEVNULL)
    prog = subprocess.run([SAOLA, "programs", "add", "BENCH", "Transects", "--protocol", "line-transect"], env=env,
                          check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    subprocess.run([SAOLA, "users", "add", "ranger", "--password", "bench-pass-1", "--area", "BENCH:ranger"],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    # The disk-writing upload sink (?store=1) is an administrator's diagnostic.
    subprocess.run([SAOLA, "users", "add", "benchadmin", "--password", "bench-pass-1", "--admin"],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    csv = tmp / "taxa.csv"
    csv.write_text("scientific_name\nPygathrix nemaeus\n")
    subprocess.run([SAOLA, "taxa", "import", str(csv)], env=env, check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    proc = start_server(env, port)
    url = f"http://127.0.0.1:{port}"
    try:
        store = Store(tmp / "tablet")
        tok = requests.post(f"{url}/api/v1/auth/device", json={"username": "ranger", "password": "bench-pass-1",
                                                               "device_id": store.device_id}, timeout=10).json()["token"]
        for i in range(n_obs):
            store.save_record("observation", "line_transect@1.0", "observation", {
                "observed_at": "2026-03-01T07:30:00+07:00", "taxon": "Pygathrix nemaeus", "sign_type": "sighting",
                "count": 1 + i % 4, "distance_m": 12.5, "bearing_deg": 30.0, "transect_bearing_deg": 0.0,
                "location": {"lat": 17.5, "lon": 106.2}}, program_id=prog)
        client = SyncClient(store, url, tok, batch_size=250)
        t, server_cpu, client_cpu = time.perf_counter(), cpu_s(proc.pid), time.process_time()
        rep = client.push()
        push_s = time.perf_counter() - t
        # CPU time as well as wall time: on a shared machine the wall time also measures the neighbours.
        server_cpu, client_cpu = cpu_s(proc.pid) - server_cpu, time.process_time() - client_cpu
        assert rep.pushed == {"applied": n_obs}, rep.pushed
        t = time.perf_counter()
        fresh = Store(tmp / "tablet2")
        SyncClient(fresh, url, tok).pull()
        pull_s = time.perf_counter() - t

        admin_tok = requests.post(f"{url}/api/v1/auth/token", json={"username": "benchadmin",
                                                                     "password": "bench-pass-1"}, timeout=10).json()["token"]
        hput = {"Authorization": f"Bearer {admin_tok}", "Content-Type": "application/octet-stream"}
        s = requests.Session()
        s.put(f"{url}/api/v1/diagnostics/upload-sink", data=b"x" * 1024, headers=hput, timeout=60)  # warm up
        rounds = 3 if args.quick else 7
        put_t, discard_t, upload_t = [], [], []
        for rnd in range(rounds):
            # A new photo each round (same size): the server must not find it already stored.
            payload = random.Random(rnd).randbytes(photo_mib * 1024 * 1024)
            photo = tmp / f"big{rnd}.jpg"
            photo.write_bytes(payload)
            store.add_photo(photo)
            t = time.perf_counter()
            r = s.put(f"{url}/api/v1/diagnostics/upload-sink?store=1", data=payload, headers=hput, timeout=600)
            put_t.append(time.perf_counter() - t)
            assert r.json()["bytes"] == len(payload), r.text
            t = time.perf_counter()
            s.put(f"{url}/api/v1/diagnostics/upload-sink", data=payload, headers=hput, timeout=600)
            discard_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            up = client.upload_photos()
            upload_t.append(time.perf_counter() - t)
            assert up.uploaded_photos == 1, up
        put_s, discard_s, upload_s = (statistics.median(x) for x in (put_t, discard_t, upload_t))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)

    mib = photo_mib
    print(f"push  {n_obs} observations: {push_s:.2f} s  -> {n_obs / push_s:.0f} obs/s; CPU: server {server_cpu:.2f} s, "
          f"client {client_cpu:.2f} s -> {n_obs / (server_cpu + client_cpu):.0f} obs per CPU second "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    print(f"pull  {n_obs} observations: {pull_s:.2f} s  -> {n_obs / pull_s:.0f} obs/s")
    print(f"photo {mib:.0f} MiB, median of {len(put_t)} rounds: plain PUT stored+fsynced {put_s:.2f} s ({mib / put_s:.0f} MiB/s), "
          f"plain PUT discarded {discard_s:.2f} s ({mib / discard_s:.0f} MiB/s), "
          f"resumable upload {upload_s:.2f} s ({mib / upload_s:.0f} MiB/s)")
    print(f"resumable vs a PUT whose body is thrown away (no disk at all): {discard_s / upload_s:.3f}")
    print(f"BENCH push_obs_per_s {n_obs / push_s:.1f} observations pushed per second (SyncClient -> saola serve, "
          f"{db_name})")
    print(f"BENCH push_server_cpu_ms_per_obs {1000 * server_cpu / n_obs:.3f} server CPU milliseconds per observation "
          "pushed (independent of other load on the machine)")
    print(f"BENCH pull_obs_per_s {n_obs / pull_s:.1f} observations pulled per second")
    print(f"BENCH upload_vs_plain_put {put_s / upload_s:.3f} resumable photo upload throughput / one plain PUT "
          f"of the same {mib:.0f} MiB to the same server, stored and fsynced")


if __name__ == "__main__":
    main()
