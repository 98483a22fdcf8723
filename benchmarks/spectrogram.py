"""Spectrogram memory and time: the review page's overview of a whole recording and the API's longest range.

Writes a 48 kHz mono 16-bit WAV of noise with a tone each minute (block by block),
then renders, each in a fresh interpreter, (1) the overview the sound review page
shows (whole recording, 1600 x 256) and (2) the API's image with axes of its
longest range (900 s, or the whole recording when shorter). Reports each one's
peak resident memory (the interpreter with numpy, soundfile, Pillow and matplotlib
loaded included), wall and CPU time. Before the bounded path, an hour took 10.6 GB
and 15 s for the page and 900 s took 8.9 GB through the API.

    .venv/bin/python benchmarks/spectrogram.py            # 60-minute recording (~345 MB)
    .venv/bin/python benchmarks/spectrogram.py --quick    # 10 minutes

Ends with BENCH lines.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parent.parent
RATE = 48000

RENDER = r"""
import json, sys, time
which, path, out = sys.argv[1:4]


def peak_mb():
    # VmHWM, the peak resident memory of this program (getrusage's ru_maxrss carries the parent's over exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024


wall, cpu = time.perf_counter(), time.process_time()
from classifiers.audio.spectrogram import overview_png, render_spectrogram, spectrogram_grid
if which == "page":
    data = overview_png(spectrogram_grid(path, 0.0, None, n_fft=512, columns=1600))
    open(out, "wb").write(data)
else:
    import soundfile
    length = soundfile.info(path).duration
    render_spectrogram(path, out, 0.0, min(900.0, length))
print(json.dumps({"peak_mb": peak_mb(),
                  "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}))
"""


def write_recording(path: Path, minutes: int) -> None:
    """Noise with a 3 kHz tone for one second each minute, written ten seconds at a time."""
    rng = np.random.default_rng(1)
    t = np.arange(10 * RATE) / RATE
    with soundfile.SoundFile(str(path), "w", samplerate=RATE, channels=1, subtype="PCM_16") as f:
        for block in range(minutes * 6):
            x = rng.normal(0.0, 0.02, 10 * RATE)
            if block % 6 == 0:
                x[RATE:2 * RATE] += 0.3 * np.sin(2 * np.pi * 3000 * t[RATE:2 * RATE])
            f.write(x.astype(np.float32))


def render(which: str, wav: Path, out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", RENDER, which, str(wav), str(out)], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a 10-minute recording instead of 60")
    args = ap.parse_args()
    minutes = 10 if args.quick else 60
    with tempfile.TemporaryDirectory(prefix="saola-bench-spectrogram-") as tmp:
        wav = Path(tmp) / "recording.wav"
        t = time.perf_counter()
        write_recording(wav, minutes)
        print(f"wrote {minutes} min at {RATE} Hz: {wav.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t:.1f} s")
        page = render("page", wav, Path(tmp) / "page.png")
        api = render("api", wav, Path(tmp) / "api.png")
    api_s = min(900, minutes * 60)
    print(f"page overview of {minutes} min: peak {page['peak_mb']:.0f} MB, {page['wall_s']:.1f} s wall, "
          f"{page['cpu_s']:.1f} s CPU")
    print(f"API image of {api_s} s: peak {api['peak_mb']:.0f} MB, {api['wall_s']:.1f} s wall, {api['cpu_s']:.1f} s CPU")
    print(f"BENCH spectrogram_page_{minutes}min_peak_mb {page['peak_mb']:.0f} peak MB resident of the process "
          f"rendering the review page's spectrogram of a {minutes}-minute 48 kHz recording (limit 300)")
    print(f"BENCH spectrogram_page_{minutes}min_cpu_s {page['cpu_s']:.2f} CPU seconds for that page spectrogram")
    print(f"BENCH spectrogram_api_{api_s}s_peak_mb {api['peak_mb']:.0f} peak MB resident of the process rendering "
          f"the API spectrogram of {api_s} s (limit 300)")
    print(f"BENCH spectrogram_api_{api_s}s_cpu_s {api['cpu_s']:.2f} CPU seconds for that API spectrogram")


if __name__ == "__main__":
    main()
