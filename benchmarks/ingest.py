"""Benchmark: `saola ingest` of a camera card vs `exiftool -json -r` reading only its metadata.

Generates N camera-trap-like JPEGs (2048 x 1440, the Reconyx HyperFire 2 size,
with EXIF: DateTimeOriginal, Make, Model, BodySerialNumber, exposure...),
then in the same run times

  (a) `saola ingest DIR --deployment ID` into a fresh SQLite data folder:
      SHA-256, EXIF and maker notes, originals copied into the media store
      (synced), database rows and sequences; the whole command, start-up
      included. Thumbnails are not made here (issue 16: decode once,
      derivatives later): ingest queues the background derivative job;
  (b) `exiftool -json -r DIR` (metadata only, output discarded);
  (c) that derivative job, `saola worker --once` on the same data folder
      (start-up included): its throughput is reported separately.

and prints the ratio (a)/(b) (target <= 0.5). A full run also ingests 4N
photos to show that peak memory does not grow with the card (RSS of the whole
process tree, sampled every 200 ms, and of the largest single process). The
machine's load average is printed before and after: the ratios are only
comparable at similar load.

Photos are made fast: a few base scenes are JPEG-encoded once, and each file
is a base scan with its own EXIF segment spliced in after the SOI marker (so
every file has distinct bytes and a distinct capture time).

Usage: .venv/bin/python benchmarks/ingest.py [--quick] [--n N] [--keep DIR]
Needs exiftool (Debian package libimage-exiftool-perl, installed by scripts/setup.sh).
"""
from __future__ import annotations

import argparse
import io
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAOLA = [sys.executable, "-c", "import sys; from server.cli import main; sys.exit(main())"]
W, H = 2048, 1440
BASES = 6
SERIAL = "H2-BENCH-01"


def base_scans(n: int = BASES) -> list[bytes]:
    """JPEG bytes (no EXIF) of ``n`` forest-like scenes with camera-like noise, ~300-500 KB each."""
    import numpy as np
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(7)
    out = []
    for i in range(n):
        coarse = rng.integers(30, 200, (45, 64, 3), dtype=np.uint8)
        im = Image.fromarray(coarse).resize((W, H), Image.BICUBIC).filter(ImageFilter.GaussianBlur(3))
        arr = np.asarray(im).astype(np.int16)
        arr += rng.normal(0, 6, arr.shape).astype(np.int16)  # sensor noise: files about the size of real ones
        if i % 2:  # night: infrared, greyscale stored as RGB like most trail cameras
            g = arr.mean(axis=2, keepdims=True).astype(np.int16)
            arr = np.repeat(g, 3, axis=2)
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=80)
        out.append(buf.getvalue())
    return out


def exif_segment(when: datetime, seq: int) -> bytes:
    """An APP1 EXIF segment like a trail camera writes."""
    from PIL import Image

    e = Image.Exif()
    e[0x010F], e[0x0110] = "RECONYX", "HYPERFIRE 2 COVERT"
    e[0x0132] = when.strftime("%Y:%m:%d %H:%M:%S")
    e[0x011A], e[0x011B], e[0x0128] = 72.0, 72.0, 2
    ifd = e.get_ifd(0x8769)
    ifd[0x9003] = ifd[0x9004] = when.strftime("%Y:%m:%d %H:%M:%S")
    ifd[0x829A] = 1 / 30
    ifd[0x8827] = 400 + (seq % 4) * 400
    ifd[0x9209] = 16 if seq % 2 else 0
    ifd[0xA002], ifd[0xA003] = W, H
    ifd[0xA431] = SERIAL
    ifd[0x9286] = f"frame {seq}"  # a per-file user comment, as some cameras write
    body = e.tobytes()
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def real_photos(folder: Path) -> list[tuple[bytes, list[bytes]]]:
    """(bytes, EXIF date strings in them) of the JPEGs in ``folder`` (e.g. real camera photos)."""
    import re

    out = []
    for p in sorted(folder.glob("*.[Jj][Pp][Gg]")):
        data = p.read_bytes()
        dates = sorted(set(re.findall(rb"\d{4}:\d{2}:\d{2} \d{2}:\d{2}:\d{2}", data[:65536])))
        if dates:
            out.append((data, dates))
    if not out:
        raise SystemExit(f"no JPEG with an EXIF date in {folder}")
    return out


def generate(folder: Path, n: int, start: datetime, source: Path | None = None) -> tuple[int, float]:
    """Write ``n`` photos under folder/DCIM/1xxRECNX/ (1000 per folder); (total bytes, seconds).

    With ``source``, copies of its real photos are written instead, each with its EXIF
    date strings replaced in place (same length), so every copy has distinct bytes.
    """
    t0 = time.perf_counter()
    scans = base_scans() if source is None else None
    reals = real_photos(source) if source is not None else None
    total = 0
    when = start
    for i in range(n):
        # Bursts of 3 one second apart, then a pause: ~n/3 sequences.
        when += timedelta(seconds=1 if i % 3 else 137)
        sub = folder / "DCIM" / f"{100 + i // 1000:03d}RECNX"
        if i % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        if reals is not None:
            data, dates = reals[i % len(reals)]
            stamp = when.strftime("%Y:%m:%d %H:%M:%S").encode()
            for d in dates:
                data = data.replace(d, stamp)
        else:
            scan = scans[i % len(scans)]
            data = scan[:2] + exif_segment(when, i) + scan[2:]
        (sub / f"RCNX{i:05d}.JPG").write_bytes(data)
        total += len(data)
    return total, time.perf_counter() - t0


class TreeRSS:
    """Samples the resident memory of a process and all its descendants."""

    def __init__(self, pid: int, every: float = 0.2):
        self.pid, self.every = pid, every
        self.peak_sum = self.peak_max = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _rss_kb(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat") as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                    children.setdefault(ppid, []).append(int(d))
                except (OSError, ValueError, IndexError):
                    continue
        out, todo = [], [self.pid]
        while todo:
            p = todo.pop()
            out.append(p)
            todo.extend(children.get(p, []))
        return out

    def _run(self) -> None:
        while not self._stop.is_set():
            sizes = [self._rss_kb(p) for p in self._tree()]
            self.peak_sum = max(self.peak_sum, sum(sizes))
            self.peak_max = max(self.peak_max, max(sizes, default=0))
            self._stop.wait(self.every)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measure(cmd: list[str], env: dict) -> tuple[float, float, TreeRSS, str]:
    """(wall s, CPU s of the whole process tree, RSS sampler, stdout) of one command."""
    cpu0, t0 = _cpu(), time.perf_counter()
    p = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with TreeRSS(p.pid) as rss:
        out, err = p.communicate()
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}... failed ({p.returncode}): {err.decode(errors='replace')[-2000:]}")
    return dt, _cpu() - cpu0, rss, out.decode(errors="replace")


def fresh_saola(work: Path, name: str) -> tuple[dict, str]:
    """A fresh data folder with a deployment; (environment, deployment id)."""
    data = work / name
    env = {**os.environ, "SAOLA_DATA_DIR": str(data), "SAOLA_DATABASE_URL": "", "SAOLA_WORKER": "external",
           "SAOLA_LOG_LEVEL": "WARNING"}
    # Compiled modules cached as an installed package has them (pip writes .pyc files), in the work
    # folder: with PYTHONDONTWRITEBYTECODE every command would compile all of Saola's modules again.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    subprocess.run(SAOLA + ["init"], env=env, cwd=REPO, check=True, capture_output=True)
    subprocess.run(SAOLA + ["areas", "add", "BENCH", "Benchmark park"], env=env, cwd=REPO, check=True,
                   capture_output=True)
    out = subprocess.run(SAOLA + ["deployments", "add", "--area", "BENCH", "--program", "Bench", "--location",
                                  "S01", "--start", "2026-01-01T00:00", "--serial", SERIAL], env=env, cwd=REPO,
                         check=True, capture_output=True, text=True).stdout
    return env, out.strip().splitlines()[-1]


def ingest_once(work: Path, card: Path, name: str, workers: int | None,
                derivatives: bool = False) -> tuple[float, float, TreeRSS, str, tuple[float, float] | None]:
    """(wall, CPU, RSS, summary) of `saola ingest`, and with ``derivatives`` (wall, CPU) of the
    background derivative job it queued (`saola worker --once`)."""
    env, dep = fresh_saola(work, name)
    cmd = SAOLA + ["ingest", str(card), "--deployment", dep, "--quiet"]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    t, cpu, rss, out = measure(cmd, env)
    job = None
    if derivatives:
        jt, jcpu, _, jout = measure(SAOLA + ["worker", "--once"], env)
        if "ran " not in jout:
            raise SystemExit(f"saola worker --once: unexpected output {jout!r}")
        job = (jt, jcpu)
    shutil.rmtree(work / name, ignore_errors=True)
    return t, cpu, rss, out, job


def pipeline_seconds(summary: str) -> float:
    """The ingest's own time from its summary line ``time: X s``: from the end of the command's start-up
    to the end. The workers start on the card before the command's imports and database
    (server/ingest/early.py): what they did meanwhile is hidden in the start-up, not counted here."""
    for line in summary.splitlines():
        if line.startswith("time: "):
            return float(line.split()[1])
    raise SystemExit("no 'time:' line in the ingest summary")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N=200 and no 4N run (seconds)")
    ap.add_argument("--n", type=int, default=2000, help="photos on the card (default 2000)")
    ap.add_argument("--workers", type=int, default=None, help="saola ingest --workers (default: CPU cores)")
    ap.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    ap.add_argument("--source", type=Path, default=None,
                    help="copy the real JPEGs of this folder instead of drawing scenes (e.g. "
                         "../shared/standards/camtrap-dp/example/media: Reconyx photos with maker notes)")
    args = ap.parse_args()
    n = 200 if args.quick else args.n
    exiftool = shutil.which("exiftool")
    if exiftool is None:
        raise SystemExit("exiftool is missing: apt-get install libimage-exiftool-perl (scripts/setup.sh does)")
    work = args.keep or Path(tempfile.mkdtemp(prefix="saola-bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        card = work / "card"
        shutil.rmtree(card, ignore_errors=True)
        size, gen_s = generate(card, n, datetime(2026, 3, 1, 6, 0), args.source)
        print(f"generated {n} photos ({'copies of ' + str(args.source) if args.source else f'{W}x{H} scenes'}), "
              f"{size / n / 1024:.0f} KiB each, in {gen_s:.1f} s; "
              f"{os.cpu_count()} CPU cores")
        # Warm the page cache for both tools alike.
        for p in card.rglob("*.JPG"):
            p.read_bytes()
        load0 = os.getloadavg()
        t_exif, cpu_exif, _, _ = measure([exiftool, "-json", "-r", str(card)], os.environ.copy())
        t_ingest, cpu_ingest, rss, out, job = ingest_once(work, card, "data-n", args.workers, derivatives=True)
        assert job is not None
        t_job, cpu_job = job
        t_exif2, cpu_exif2, _, _ = measure([exiftool, "-json", "-r", str(card)], os.environ.copy())
        if t_exif2 < t_exif:
            t_exif, cpu_exif = t_exif2, cpu_exif2
        t_pipe = pipeline_seconds(out)
        print(out.strip())
        print(f"saola ingest: {t_ingest:.2f} s wall ({n / t_ingest:.0f} photos/s), {cpu_ingest:.2f} s CPU; "
              f"of which the ingest after the command's start-up {t_pipe:.2f} s (its workers start on the card "
              "during the start-up)")
        print(f"exiftool -json -r: {t_exif:.2f} s wall ({n / t_exif:.0f} photos/s), {cpu_exif:.2f} s CPU")
        print(f"derivative job (saola worker --once): {t_job:.2f} s wall ({n / t_job:.0f} photos/s), "
              f"{cpu_job:.2f} s CPU")
        print(f"peak RSS at N={n}: process tree {rss.peak_sum / 1024:.0f} MiB, largest process "
              f"{rss.peak_max / 1024:.0f} MiB")
        rss4 = None
        if not args.quick:
            shutil.rmtree(card, ignore_errors=True)
            generate(card, 4 * n, datetime(2026, 3, 1, 6, 0), args.source)
            t4, cpu4, rss4, out4, _ = ingest_once(work, card, "data-4n", args.workers)
            print(f"saola ingest of 4N={4 * n}: {t4:.2f} s wall ({4 * n / t4:.0f} photos/s), {cpu4:.2f} s CPU; "
                  f"peak RSS process tree {rss4.peak_sum / 1024:.0f} MiB, largest process "
                  f"{rss4.peak_max / 1024:.0f} MiB")
        load1 = os.getloadavg()
        print(f"load average (1, 5, 15 min): before {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, "
              f"after {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}; {os.cpu_count()} CPU cores")
        tag = "" if args.source is None else "_real"  # copies of real photos: a separate series
        what = f"photos {W}x{H}" if args.source is None else f"copies of the photos in {args.source}"
        print(f"BENCH ingest_vs_exiftool{tag} {t_ingest / t_exif:.2f} wall time of `saola ingest` (start-up, hash, EXIF "
              f"and maker notes, store with sync, DB rows, sequences; thumbnails left to the background job) / "
              f"`exiftool -json -r`, N={n} {what} (target <= 0.5)")
        print(f"BENCH ingest{tag}_pipeline_vs_exiftool {t_pipe / t_exif:.2f} the same after the `saola` command's "
              "start-up (imports, database; the workers begin on the card during it) (target < 1.0)")
        print(f"BENCH ingest{tag}_derivatives_photos_per_s {n / t_job:.0f} the background derivative job's "
              f"throughput (thumbnails and review images, `saola worker --once` with its start-up), N={n}")
        print(f"BENCH ingest{tag}_derivatives_vs_exiftool {t_job / t_exif:.2f} that job's wall time / "
              "`exiftool -json -r` (for scale: the job runs after the card is done, the UI does not wait on it)")
        print(f"BENCH ingest{tag}_cpu_vs_exiftool {cpu_ingest / cpu_exif:.2f} CPU seconds, all processes, ingest / exiftool "
              f"({os.cpu_count()} cores: ingest uses them all, exiftool one)")
        print(f"BENCH ingest{tag}_photos_per_s {n / t_ingest:.0f} saola ingest throughput, N={n}")
        print(f"BENCH ingest{tag}_peak_rss_mib {rss.peak_sum / 1024:.0f} process-tree peak RSS at N={n}")
        if rss4 is not None:
            print(f"BENCH ingest{tag}_peak_rss_mib_4n {rss4.peak_sum / 1024:.0f} process-tree peak RSS at 4N={4 * n}")
            print(f"BENCH ingest{tag}_rss_growth {rss4.peak_sum / max(rss.peak_sum, 1):.2f} peak RSS at 4N / at N "
                  "(flat is 1.0)")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
