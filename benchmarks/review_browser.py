"""Benchmark: a biologist labelling camera-trap sequences by keyboard in a real browser.

A fresh database (SQLite file, or a fresh PostgreSQL database on 127.0.0.1:5432 with
``--backend postgresql``) gets one deployment of N sequences (default 300; ``--quick``: 40)
of 3 photos each, 1280x960 JPEGs with their review copies in the derivatives store as
ingest leaves them, and one machine box per photo. A real ``saola serve`` runs on a
loopback port and headless Debian chromium (Playwright) signs in and works through the
queue with the keyboard only: a number key chooses one of the program's common species
and Enter accepts (every tenth sequence: b for blank), then waits until the next sequence
is on screen with its photo loaded.

Measured in the page (performance.now(), resource timing) for each item, from the
key press that finishes it to the next sequence shown with its photo decoded:

- machine time per item (the human's thinking time excluded): items per minute of it is
  the figure the issue asks for;
- the server's part: the critical-path requests (label, next item, the photo) from
  request start to the last byte, on loopback; the rest is the UI's part (script,
  layout, decoding, painting); the UI must never be the bottleneck;
- CPU seconds of the server process and of the browser's processes over the run
  (from /proc), the driver (Playwright) apart.

The database is checked at the end: every sequence labelled or blank, by "bio".

Usage:  .venv/bin/python benchmarks/review_browser.py [--quick] [--sequences N] [--backend sqlite|postgresql]
Ends with ``BENCH review_items_per_min <value> ...`` and the split lines.
"""
from __future__ import annotations

import argparse
import io
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PG_ADMIN_URL = os.environ.get("SAOLA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
T0 = datetime(2026, 3, 1, 0, 0, tzinfo=timezone.utc)
PHOTOS = 8          # distinct pictures (each media row gets its own SHA-256; files are shared by hard links)
PER_SEQUENCE = 3
SPECIES = 9         # the program's common species: number keys 1-9

# Installed before the page's own scripts: key presses, each sequence shown, each photo decoded.
PROBE = """
window.__bench = {keys: [], shown: [], loaded: []};
performance.setResourceTimingBufferSize(100000);
document.addEventListener('keydown', (e) => window.__bench.keys.push([e.key, performance.now()]), true);
document.addEventListener('DOMContentLoaded', () => {
  const stage = document.getElementById('stage'), img = document.getElementById('image');
  if (!stage) return;
  new MutationObserver(() => window.__bench.shown.push([stage.dataset.sequenceId, performance.now()]))
    .observe(stage, {attributes: true, attributeFilter: ['data-sequence-id']});
  img.addEventListener('load', () => {
    const src = img.getAttribute('src');
    // decode() fails when the page moved on to another photo meanwhile: nothing to record then.
    img.decode().then(() => requestAnimationFrame(() =>
      window.__bench.loaded.push([stage.dataset.sequenceId, src, performance.now()]))).catch(() => {});
  });
});
"""


def _jpeg(i: int, size=(1280, 960)) -> bytes:
    """A camera-trap-sized JPEG with texture (so its size and decoding cost are realistic)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(i)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * (i + 1)) % 256, (yy * 2) % 256, ((xx + yy) // 3) % 256], axis=-1)
    noise = rng.integers(0, 60, size=(h, w, 3))
    arr = np.clip(base * 0.6 + noise, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(arr, "RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


def generate(url: str, data_dir: Path, n_seq: int) -> dict:
    """The area, program (9 common species), one deployment, the sequences, photos and boxes."""
    import hashlib

    from argon2 import PasswordHasher
    from sqlalchemy import insert

    from server.db import get_engine
    from server.models import (Deployment, Detection, Location, Media, Membership, Program, ProtectedArea,
                               Sequence, Taxon, User, new_id)

    now = datetime.now(timezone.utc)
    media_root, deriv_root = data_dir / "media", data_dir / "derivatives"
    originals = []
    for i in range(PHOTOS):
        data = _jpeg(i)
        sha = hashlib.sha256(data).hexdigest()
        p = media_root / sha[:2] / sha[2:4] / f"{sha}.jpg"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        originals.append((p, f"{sha[:2]}/{sha[2:4]}/{sha}.jpg", len(data)))
    area_id, program_id, dep_id, loc_id, user_id = (new_id() for _ in range(5))
    taxa = [new_id() for _ in range(SPECIES)]
    seqs, media, dets = [], [], []
    for k in range(n_seq):
        start = T0 + timedelta(minutes=10 * k)
        sid = new_id()
        seqs.append({"id": sid, "deployment_id": dep_id, "event_start": start,
                     "event_end": start + timedelta(seconds=2 * (PER_SEQUENCE - 1)), "media_count": PER_SEQUENCE,
                     "review_status": "unreviewed"})
        for j in range(PER_SEQUENCE):
            n = k * PER_SEQUENCE + j
            path, key, size = originals[n % PHOTOS]
            sha = hashlib.sha256(f"bench-{n}".encode()).hexdigest()
            review = deriv_root / "review" / sha[:2] / sha[2:4] / f"{sha}.jpg"  # as ingest leaves it
            review.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, review)
            mid = new_id()
            media.append({"id": mid, "sha256": sha, "kind": "image", "deployment_id": dep_id, "sequence_id": sid,
                          "file_name": f"IMG_{n:05d}.JPG", "media_type": "image/jpeg", "size_bytes": size,
                          "storage_key": key, "captured_at": start + timedelta(seconds=2 * j), "utc_offset_min": 420,
                          "timestamp_source": "exif", "width": 1280, "height": 960, "flags": [], "meta": {},
                          "has_derivatives": True, "contains_person": False, "favorite": False, "created_at": now})
            dets.append({"id": new_id(), "media_id": mid, "model": "megadetector@5a", "category": "animal",
                         "confidence": 0.9, "bbox_x": 0.2, "bbox_y": 0.3, "bbox_width": 0.25, "bbox_height": 0.3,
                         "taxon_id": taxa[k % SPECIES], "label": f"Genus species{k % SPECIES}",
                         "label_confidence": 0.8, "dismissed": False, "review_status": "unreviewed", "extra": {},
                         "created_at": now})
    eng = get_engine(url)
    with eng.begin() as c:
        c.execute(insert(ProtectedArea), [{"id": area_id, "code": "BENCH", "name": "Bench park", "created_at": now}])
        c.execute(insert(Taxon), [{"id": tid, "scientific_name": f"Genus species{i}", "rank": "species",
                                   "english_name": f"Species {i}", "search_text": f"genus species{i}",
                                   "sensitive": False, "created_at": now, "updated_at": now}
                                  for i, tid in enumerate(taxa)])
        c.execute(insert(Program), [{"id": program_id, "area_id": area_id, "name": "Cameras",
                                     "protocol": "camera-trap", "sequence_gap_s": 60,
                                     "capture_method": "activityDetection",
                                     "settings": {"common_species": taxa}, "created_at": now}])
        c.execute(insert(Location), [{"id": loc_id, "area_id": area_id, "name": "S01", "created_at": now}])
        c.execute(insert(Deployment), [{"id": dep_id, "program_id": program_id, "location_id": loc_id,
                                        "kind": "camera", "deployment_start": T0 - timedelta(days=1),
                                        "timezone": "Asia/Ho_Chi_Minh", "clock_offset_s": 0,
                                        "timestamp_issues": False, "bait_use": False, "settings": {},
                                        "created_at": now, "updated_at": now}])
        pw = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash("password123")
        c.execute(insert(User), [{"id": user_id, "username": "bio", "password_hash": pw, "is_admin": False,
                                  "language": "en", "active": True, "created_at": now}])
        c.execute(insert(Membership), [{"id": new_id(), "user_id": user_id, "area_id": area_id,
                                        "role": "biologist", "created_at": now}])
        c.execute(insert(Sequence), seqs)
        c.execute(insert(Media), media)
        c.execute(insert(Detection), dets)
    return {"deployment_id": dep_id, "sequences": [s["id"] for s in seqs]}


# ---- CPU time from /proc ----------------------------------------------------------------------------
TICK = os.sysconf("SC_CLK_TCK")


def _proc_table() -> dict[int, tuple[int, float, str]]:
    """pid -> (parent pid, CPU seconds used, command line)."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
            cmd = Path(f"/proc/{d}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        out[int(d)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK, cmd)
    return out


def cpu_by_part(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the server, the browser (chromium processes) and the driver,
    among this process's descendants."""
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _c, _cmd) in table.items():
        children.setdefault(ppid, []).append(pid)
    parts = {"server": 0.0, "browser": 0.0, "driver": 0.0}
    stack = list(children.get(os.getpid(), []))
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        _ppid, cpu, cmd = table[pid]
        if pid == server_pid:
            parts["server"] += cpu
        elif "chromium" in cmd:
            parts["browser"] += cpu
        elif not _is_under(table, pid, server_pid):
            parts["driver"] += cpu
    return parts


def _is_under(table, pid: int, ancestor: int) -> bool:
    while pid in table and pid > 1:
        if pid == ancestor:
            return True
        pid = table[pid][0]
    return False


# ---- the run -----------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database(backend: str, tmp: Path):
    """(url, cleanup) of a fresh migrated database."""
    from server.migrate import upgrade

    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
        upgrade(url)
        return url, lambda: None
    from sqlalchemy import create_engine, text

    name = f"saola_bench_browser_{secrets.token_hex(3)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    def cleanup():
        from server.db import dispose_engine

        dispose_engine(url)
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    upgrade(url)
    return url, cleanup


def _serve(url: str, data_dir: Path, log: Path):
    port = _free_port()
    env = {**os.environ, "SAOLA_DATABASE_URL": url, "SAOLA_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO),
           "SAOLA_SECRET_KEY": "bench-secret", "SAOLA_WORKER": "external", "SAOLA_LANGUAGE": "en",
           "SAOLA_LOG_LEVEL": "WARNING"}
    saola = Path(sys.executable).with_name("saola")
    cmd = [str(saola)] if saola.exists() else [sys.executable, "-c", "from server.cli import main; main()"]
    proc = subprocess.Popen(cmd + ["serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=REPO,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("saola serve did not start: " + log.read_text()[-2000:]) from None
            time.sleep(0.2)


def _wait_next(page, seq_id: str) -> None:
    """Until the sequence after ``seq_id`` is on screen with its photo loaded (or the queue is empty)."""
    page.wait_for_function(
        """prev => {
            const st = document.getElementById('stage'), img = document.getElementById('image');
            if (st.dataset.sequenceId === prev) return false;
            if (!st.dataset.sequenceId) return true;
            return img.complete && img.naturalWidth > 0;
        }""", arg=seq_id, polling=5, timeout=30000)


def run(backend: str, n_seq: int) -> dict:
    from playwright.sync_api import sync_playwright

    from server.db import dispose_engine, session_scope

    tmp = Path(tempfile.mkdtemp(prefix="saola-bench-browser-"))
    data_dir = tmp / "data"
    url, cleanup = _database(backend, tmp)
    proc = None
    try:
        t = time.perf_counter()
        info = generate(url, data_dir, n_seq)
        print(f"# {backend}: generated {n_seq} sequences ({n_seq * PER_SEQUENCE} photos) in "
              f"{time.perf_counter() - t:.1f} s", flush=True)
        proc, base = _serve(url, data_dir, tmp / "serve.log")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-US")
            ctx.add_init_script(PROBE)
            page = ctx.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(base + "/login")
            page.fill("#username", "bio")
            page.fill("#password", "password123")
            page.press("#password", "Enter")
            page.wait_for_url(base + "/")
            page.goto(f"{base}/review?deployment_id={info['deployment_id']}")
            page.wait_for_function("() => document.querySelectorAll('#shortcuts li').length === 9")
            page.wait_for_function("id => document.getElementById('stage').dataset.sequenceId === id "
                                   "&& document.getElementById('image').naturalWidth > 0", arg=info["sequences"][0])
            cpu0 = cpu_by_part(proc.pid)
            wall0 = time.perf_counter()
            for k, seq_id in enumerate(info["sequences"]):
                if k % 10 == 9:
                    page.keyboard.press("b")
                else:
                    page.keyboard.press(str(1 + k % SPECIES))
                    page.keyboard.press("Enter")
                _wait_next(page, seq_id)
            wall = time.perf_counter() - wall0
            cpu1 = cpu_by_part(proc.pid)
            bench = page.evaluate("window.__bench")
            resources = page.evaluate("""() => performance.getEntriesByType('resource').map(e => ({
                name: e.name, start: e.startTime, req: e.requestStart, resp: e.responseStart, end: e.responseEnd}))""")
            browser.close()
        assert errors == [], errors
        with session_scope(url) as s:
            from sqlmodel import func, select

            from server.models import Sequence

            done = s.exec(select(func.count()).select_from(Sequence).where(
                Sequence.review_status.in_(("reviewed", "blank")), Sequence.reviewed_by == "bio")).one()
        assert done == n_seq, f"{done} of {n_seq} sequences labelled"
        return _split(info["sequences"], bench, resources, wall, cpu0, cpu1)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        dispose_engine(url)
        cleanup()


def _split(seq_ids: list[str], bench: dict, resources: list[dict], wall: float, cpu0: dict, cpu1: dict) -> dict:
    """Per item: the finishing key press -> the next sequence shown -> its photo decoded and painted;
    the critical-path requests in that window (server and loopback) and the rest (the UI)."""
    finishing = [ts for key, ts in bench["keys"] if key in ("Enter", "b")]
    shown = {sid: ts for sid, ts in bench["shown"]}
    loaded: dict[str, float] = {}
    photo: dict[str, str] = {}
    for sid, src, ts in bench["loaded"]:
        loaded.setdefault(sid, ts)
        photo.setdefault(sid, src)
    items, server, ui = [], [], []
    kinds: dict[str, list[float]] = {"label": [], "next": [], "photo": []}
    for k, key_ts in enumerate(finishing[:len(seq_ids) - 1]):
        nxt = seq_ids[k + 1]
        if nxt not in shown or nxt not in loaded:
            continue
        end = max(loaded[nxt], shown[nxt])
        total = end - key_ts
        # Requests on the critical path started in the window: the label (or blank), the next item, the photo
        # shown (the burst's other photos are fetched beside it, off the critical path).
        crit = [r for r in resources if key_ts <= r["start"] <= end and
                ("/review/sequences/" in r["name"] or "/review/next" in r["name"]
                 or r["name"].endswith(photo[nxt]))]
        srv = sum(r["end"] - r["start"] for r in crit)
        for r in crit:
            kind = "next" if "/review/next" in r["name"] else "label" if "/review/sequences/" in r["name"] else "photo"
            kinds[kind].append(r["end"] - r["start"])
        items.append(total)
        server.append(srv)
        ui.append(max(0.0, total - srv))
    machine_s = sum(items) / 1000
    ttfb = [r["resp"] - r["req"] for r in resources if "/api/v1/review/" in r["name"] and r["req"] > 0]
    return {"items": len(items), "per_min_machine": 60 * len(items) / machine_s if machine_s else 0.0,
            "per_min_wall": 60 * len(seq_ids) / wall, "item_ms": statistics.median(items),
            "item_p95_ms": statistics.quantiles(items, n=20)[18] if len(items) > 1 else items[0],
            "server_ms": statistics.median(server), "ui_ms": statistics.median(ui),
            "api_ttfb_ms": statistics.median(ttfb) if ttfb else 0.0,
            "by_kind": {k: statistics.median(v) if v else 0.0 for k, v in kinds.items()},
            "cpu": {k: cpu1[k] - cpu0[k] for k in cpu0}, "wall_s": wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="40 sequences")
    ap.add_argument("--sequences", type=int, default=None, help="sequences to label (default 300)")
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = ap.parse_args()
    n = args.sequences or (40 if args.quick else 300)
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing (apt-get install chromium)")
    r = run(args.backend, n)
    cpu = r["cpu"]
    print(f"# {args.backend}: {n} sequences labelled in {r['wall_s']:.1f} s wall; per item (median) "
          f"{r['item_ms']:.0f} ms machine time (p95 {r['item_p95_ms']:.0f}), of which server+loopback "
          f"{r['server_ms']:.0f} ms and UI {r['ui_ms']:.0f} ms; API time to first byte {r['api_ttfb_ms']:.1f} ms")
    k = r["by_kind"]
    print(f"# requests (median, request start to last byte): label or blank {k['label']:.0f} ms, next item "
          f"{k['next']:.0f} ms, photo {k['photo']:.0f} ms")
    print(f"# CPU over the run: server {cpu['server']:.1f} s, browser {cpu['browser']:.1f} s, "
          f"Playwright driver {cpu['driver']:.1f} s")
    print(f"BENCH review_items_per_min {r['per_min_machine']:.0f} sequences labelled by keyboard per minute of "
          f"machine time (key press to the next sequence shown with its photo), {args.backend}, {n} sequences; "
          f"server {r['server_ms']:.0f} ms vs UI {r['ui_ms']:.0f} ms per item")
    print(f"BENCH review_items_per_min_wall {r['per_min_wall']:.0f} the same, per minute of wall time with the "
          "Playwright driver's round trips")
    print(f"BENCH review_item_server_ms {r['server_ms']:.1f} median per item: label + next item + photo requests "
          "(server and loopback)")
    print(f"BENCH review_item_ui_ms {r['ui_ms']:.1f} median per item: the page's own work (script, layout, "
          "photo decoding, paint)")
    print(f"BENCH review_cpu_server_s {cpu['server']:.1f} vs browser {cpu['browser']:.1f} s CPU over {n} items")


if __name__ == "__main__":
    main()
