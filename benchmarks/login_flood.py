"""A ranger's sync while anonymous clients flood the sign-in with wrong passwords.

Against a real `saola serve` on loopback: a ranger's tablet (the app's SyncClient with a
device token) pushes small batches of observations in a loop, first alone, then while
16 anonymous threads (in another process, like attackers elsewhere) post wrong passwords
to /api/v1/auth/device, /api/v1/auth/token and /login for the ranger's username. Before
sign-in limits this cut the ranger from 1,693 pushes to 8 (SQLite) in 30 s.

    .venv/bin/python benchmarks/login_flood.py [--quick] [--database-url URL] [--seconds S]

Ends with BENCH lines: pushes during the flood / pushes alone (1.0 = unaffected).
"""
from __future__ import annotations

import argparse
import collections
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from sync import SAOLA, free_port, start_server  # noqa: E402  (benchmarks/sync.py)


def flood(url: str, username: str, threads: int, seconds: float, out) -> None:
    """Wrong passwords from ``threads`` threads for ``seconds``; puts status counts on ``out``."""
    counts: collections.Counter = collections.Counter()
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def attacker(i: int) -> None:
        import re

        s = requests.Session()
        # A scripted attacker fetches the sign-in form once for its CSRF token (pre-session cookie).
        form = re.search(r'name="csrf_token" value="([^"]+)"', s.get(f"{url}/login", timeout=60).text)
        token = form.group(1) if form else ""
        n = 0
        while time.monotonic() < end:
            n += 1
            try:
                kind = n % 3
                if kind == 0:
                    r = s.post(f"{url}/api/v1/auth/device", json={"username": username, "password": f"guess-{i}-{n}",
                                                                   "device_id": f"evil-{i:04d}"}, timeout=60)
                elif kind == 1:
                    r = s.post(f"{url}/api/v1/auth/token", json={"username": username, "password": f"guess-{i}-{n}"},
                               timeout=60)
                else:
                    r = s.post(f"{url}/login", data={"username": username, "password": f"guess-{i}-{n}",
                                                     "csrf_token": token}, timeout=60)
                code = r.status_code
            except requests.RequestException:
                code = "error"
            with lock:
                counts[code] += 1

    ts = [threading.Thread(target=attacker, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.put(dict(counts))


def ranger_pushes(client, store, prog: str, seconds: float) -> tuple[int, int]:
    """(push requests answered, failures) in ``seconds``: two observations per push."""
    pushes = failures = 0
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        for _ in range(2):
            i += 1
            store.save_record("observation", "line_transect@1.0", "observation", {
                "observed_at": "2026-03-01T07:30:00+07:00", "taxon": "Pygathrix nemaeus", "sign_type": "sighting",
                "count": 1 + i % 4, "distance_m": 12.5, "bearing_deg": 30.0, "transect_bearing_deg": 0.0,
                "location": {"lat": 17.5, "lon": 106.2}}, program_id=prog)
        try:
            rep = client.push()
            if rep.pushed.get("applied") != 2:
                failures += 1
            pushes += 1
        except Exception:  # noqa: BLE001 - a refused or failed push is what we count
            failures += 1
    return pushes, failures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="8 s per phase instead of 30")
    ap.add_argument("--seconds", type=float, default=None, help="length of each phase")
    ap.add_argument("--threads", type=int, default=16, help="anonymous wrong-password threads")
    ap.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    args = ap.parse_args()
    seconds = args.seconds or (8.0 if args.quick else 30.0)
    backend = "postgresql" if args.database_url.startswith("postgresql") else "sqlite"

    from mobile.store import Store
    from mobile.sync import SyncClient

    tmp = Path(tempfile.mkdtemp(prefix="saola-bench-flood-"))
    env = {**os.environ, "SAOLA_DATA_DIR": str(tmp / "server"), "SAOLA_SECRET_KEY": "bench-secret-0123456789",
           "SAOLA_WORKER": "external", "SAOLA_DATABASE_URL": args.database_url}
    subprocess.run([SAOLA, "init"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([SAOLA, "areas", "add", "BENCH", "Bench area"], env=env, check=True, stdout=subprocess.DEVNULL)
    prog = subprocess.run([SAOLA, "programs", "add", "BENCH", "Transects", "--protocol", "line-transect"], env=env,
                          check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    subprocess.run([SAOLA, "users", "add", "ranger", "--password", "bench-pass-1", "--area", "BENCH:ranger"],
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
                                                               "device_id": store.device_id}, timeout=30).json()["token"]
        client = SyncClient(store, url, tok, batch_size=50, retries=0)
        ranger_pushes(client, store, prog, 1.0)  # warm up
        alone, alone_fail = ranger_pushes(client, store, prog, seconds)

        out: multiprocessing.Queue = multiprocessing.Queue()
        attackers = multiprocessing.Process(target=flood, args=(url, "ranger", args.threads, seconds, out))
        attackers.start()
        flooded, flooded_fail = ranger_pushes(client, store, prog, seconds)
        answers = out.get(timeout=seconds + 300)
        attackers.join(60)
        # After the flood the ranger's username may be waiting; the device token still works.
        after = requests.get(f"{url}/api/v1/users/me", headers={"Authorization": f"Bearer {tok}"}, timeout=30)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)

    ratio = flooded / alone if alone else 0.0
    print(f"database: {backend}; each phase {seconds:.0f} s")
    print(f"ranger alone:        {alone} pushes ({alone_fail} failed)")
    print(f"ranger under flood:  {flooded} pushes ({flooded_fail} failed)")
    print(f"flood answers ({args.threads} threads): "
          + ", ".join(f"{k}: {v}" for k, v in sorted(answers.items(), key=lambda kv: str(kv[0]))))
    print(f"device token after the flood: GET /users/me -> {after.status_code}")
    print(f"BENCH sync_push_under_login_flood {ratio:.3f} ranger's sync pushes with {args.threads} anonymous "
          f"wrong-password threads / alone, {seconds:.0f} s each ({backend}; {flooded} vs {alone})")


if __name__ == "__main__":
    main()
