"""Benchmark: a camera card uploaded from the browser vs ``saola ingest`` of the same folder.

A card folder is made from the Reconyx burst of the official Camtrap DP example
(``$SAOLA_SHARED/standards/camtrap-dp/example/media``): N photos (default 600, about 175 MB;
``--quick``: 40), each a copy of one of the ten with a few bytes after its JPEG end so every
file has its own SHA-256, under DCIM/100RECNX/ as a camera writes them.

Baseline: ``saola ingest CARD --deployment D`` (the command line, its process pool) into a
fresh database and data folder, wall-clock from start to exit (rows, originals, thumbnails,
sequences). Measured: the same folder chosen in the card upload page (headless Debian chromium
through Playwright, a real ``saola serve`` with its in-process worker, on loopback) into another
fresh database and data folder, wall-clock from choosing the folder to the page showing the
ingest report (manifest, checksummed pieces, ingest while the rest arrives, resequencing). Both
runs ingest every photo: the database is checked.

The figure is the throughput ratio, browser / command line (1.0: as fast as the command line;
the issue's target is at least 0.8). The machine's load is printed with it.

Usage:  .venv/bin/python benchmarks/card_upload_browser.py [--quick] [--photos N] [--backend sqlite|postgresql]
Ends with ``BENCH card_upload_browser_vs_cli <ratio> ...`` and the two throughputs.
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PG_ADMIN_URL = os.environ.get("SAOLA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def shared() -> Path:
    return Path(os.environ.get("SAOLA_SHARED") or REPO.parent / "shared").resolve()


def make_card(root: Path, n: int) -> int:
    """N distinct photos under root/DCIM/100RECNX; returns the bytes written."""
    photos = sorted((shared() / "standards" / "camtrap-dp" / "example" / "media").glob("*.JPG"))
    if not photos:
        sys.exit(f"the Reconyx example photos are missing under {shared()} (set SAOLA_SHARED)")
    data = [p.read_bytes() for p in photos]
    folder = root / "DCIM" / "100RECNX"
    folder.mkdir(parents=True)
    total = 0
    for i in range(n):
        body = data[i % len(data)] + i.to_bytes(4, "big")  # after the JPEG's end: a new SHA-256, same photo
        (folder / f"RCNX{i:05d}.JPG").write_bytes(body)
        total += len(body)
    return total


def fresh_db(backend: str, tmp: Path, tag: str) -> tuple[str, callable]:
    from server.migrate import upgrade

    if backend == "sqlite":
        url = f"sqlite:///{tmp / (tag + '.db')}"
        upgrade(url)
        return url, lambda: None
    from sqlalchemy import create_engine, text

    name = f"saola_bench_{tag}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    def drop():
        from server.db import dispose_engine

        dispose_engine(url)
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    upgrade(url)
    return url, drop


def seed(url: str) -> tuple[str, str]:
    """An area, a program, a deployment covering the photos' dates, and a manager; (area id, deployment id)."""
    from server.auth.passwords import hash_password
    from server.db import session_scope
    from server.models import Membership, Program, ProtectedArea, User
    from server.services.deployments import build_deployment

    with session_scope(url) as s:
        area = ProtectedArea(code="BENCH", name="Bench area")
        s.add(area)
        s.flush()
        program = Program(area_id=area.id, name="Camera traps")
        user = User(username="manager", password_hash=hash_password("password123"), language="en")
        s.add_all([program, user])
        s.flush()
        s.add(Membership(user_id=user.id, area_id=area.id, role="manager"))
        dep = build_deployment(s, program, {"deployment_start": datetime(2021, 1, 1, tzinfo=timezone.utc),
                                            "deployment_end": datetime(2021, 12, 31, tzinfo=timezone.utc)},
                               location={"name": "R01", "latitude": 17.5, "longitude": 106.3})
        return area.id, dep.id


def count_media(url: str, dep_id: str) -> int:
    from sqlalchemy import func
    from sqlmodel import select

    from server.db import session_scope
    from server.models import Media

    with session_scope(url) as s:
        return s.exec(select(func.count()).select_from(Media).where(Media.deployment_id == dep_id)).one()


def saola_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("saola")
    return [str(exe)] if exe.exists() else [sys.executable, "-c", "from server.cli import main; main()"]


def env_for(url: str, data: Path, **extra) -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "SAOLA_DATABASE_URL": url, "SAOLA_DATA_DIR": str(data),
            "SAOLA_SECRET_KEY": "bench-secret", "SAOLA_LANGUAGE": "en", "SAOLA_LOG_LEVEL": "WARNING", **extra}


def run_cli(card: Path, backend: str, tmp: Path, n: int) -> float:
    url, drop = fresh_db(backend, tmp, "cli")
    try:
        _area, dep = seed(url)
        t0 = time.perf_counter()
        done = subprocess.run(saola_cmd() + ["ingest", str(card), "--deployment", dep],
                              env=env_for(url, tmp / "cli-data"), cwd=REPO, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"saola ingest failed: {done.stderr[-2000:]}")
        elapsed = time.perf_counter() - t0
        got = count_media(url, dep)
        if got != n:
            sys.exit(f"saola ingest stored {got} of {n} photos")
        return elapsed
    finally:
        drop()


def run_browser(card: Path, backend: str, tmp: Path, n: int) -> float:
    from playwright.sync_api import sync_playwright

    url, drop = fresh_db(backend, tmp, "web")
    proc = None
    try:
        area, dep = seed(url)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        workers = str(min(os.cpu_count() or 1, 4))
        proc = subprocess.Popen(saola_cmd() + ["serve", "--host", "127.0.0.1", "--port", str(port)], cwd=REPO,
                                env=env_for(url, tmp / "web-data", SAOLA_WORKER="inprocess",
                                            SAOLA_WORKER_THREADS=workers),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120  # a loaded machine starts the server slowly
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    sys.exit("saola serve did not start")
                time.sleep(0.2)
        base = f"http://127.0.0.1:{port}"
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = b.new_page(viewport={"width": 1366, "height": 768})
            page.goto(base + "/login")
            page.fill("#username", "manager")
            page.fill("#password", "password123")
            page.press("#password", "Enter")
            page.wait_for_url(base + "/")
            page.goto(f"{base}/admin/areas/{area}/uploads?deployment_id={dep}")
            t0 = time.perf_counter()
            page.set_input_files("#pick-folder", str(card))
            page.wait_for_function("() => ['done', 'failed', 'refused', 'error'].includes("
                                   "document.getElementById('card-upload').dataset.status)", timeout=3600_000,
                                   polling=100)
            elapsed = time.perf_counter() - t0
            status = page.get_attribute("#card-upload", "data-status")
            b.close()
        if status != "done":
            sys.exit(f"the browser upload ended {status}")
        got = count_media(url, dep)
        if got != n:
            sys.exit(f"the browser upload stored {got} of {n} photos")
        return elapsed
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=15)
        drop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="40 photos (seconds)")
    ap.add_argument("--photos", type=int, default=None, help="photos on the card (default 600)")
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = ap.parse_args()
    n = args.photos or (40 if args.quick else 600)
    tmp = Path(tempfile.mkdtemp(prefix="saola-card-bench-"))
    try:
        card = tmp / "card"
        size = make_card(card, n)
        mb = size / 1e6
        load = os.getloadavg()
        print(f"card: {n} photos, {mb:.1f} MB; backend {args.backend}; {os.cpu_count()} CPUs; "
              f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        cli = run_cli(card, args.backend, tmp, n)
        print(f"saola ingest: {cli:.2f} s ({mb / cli:.1f} MB/s, {n / cli:.1f} photos/s)")
        web = run_browser(card, args.backend, tmp, n)
        print(f"browser upload: {web:.2f} s ({mb / web:.1f} MB/s, {n / web:.1f} photos/s)")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"BENCH card_upload_browser_vs_cli {cli / web:.3f} browser upload throughput / saola ingest "
              f"throughput, same {n}-photo folder ({args.backend}; target >= 0.8)")
        print(f"BENCH card_upload_browser_mb_per_s {mb / web:.2f} browser upload + ingest, MB/s")
        print(f"BENCH card_ingest_cli_mb_per_s {mb / cli:.2f} saola ingest, MB/s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
