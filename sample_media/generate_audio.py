"""Generate the project's own sample sound-trap recording (synthetic, no third-party audio).

    .venv/bin/python sample_media/generate_audio.py

Writes sample_media/audio/20260301_050000.WAV: 16 s, 16 kHz mono 16-bit, as an
AudioMoth names and labels its files (LIST/INFO/ICMT header comment with the
start time in UTC+7, recorder id, gain, battery and temperature). The sound is
a gibbon-like song (rising frequency-modulated notes, 600-1500 Hz, about 8 s)
over a quiet forest-noise floor, so the band event detector has something to
find and the acoustic indices something to measure. Deterministic (fixed seed).
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

SR = 16000
SECONDS = 16
OUT = Path(__file__).resolve().parent / "audio" / "20260301_050000.WAV"
COMMENT = ("Recorded at 05:00:00 01/03/2026 (UTC+7) by AudioMoth 24F319055F2A5E3C at medium gain "
           "while battery was 4.1V and temperature was 22.5C.")


def song() -> np.ndarray:
    rng = np.random.default_rng(2026)
    t = np.arange(SR * SECONDS) / SR
    # pinkish background: white noise through a one-pole low-pass, quiet
    white = rng.normal(0, 1, t.size)
    noise = np.empty_like(white)
    acc = 0.0
    for i, w in enumerate(white):
        acc = 0.97 * acc + 0.03 * w
        noise[i] = acc
    y = 0.02 * noise / (np.abs(noise).max() + 1e-9)
    # 12 rising notes between 4 s and 12 s, each 0.45 s, sweeping up like a great call
    for k in range(12):
        start = 4.0 + k * 0.66
        n = int(0.45 * SR)
        i0 = int(start * SR)
        tt = np.arange(n) / SR
        f0, f1 = 600 + 40 * k, 1000 + 45 * k
        phase = 2 * np.pi * (f0 * tt + (f1 - f0) * tt ** 2 / (2 * 0.45))
        env = np.sin(np.pi * tt / 0.45) ** 2
        y[i0:i0 + n] += 0.35 * env * np.sin(phase)
    return np.clip(y, -1, 1)


def wav_bytes(samples: np.ndarray) -> bytes:
    pcm = (samples * 32767).astype("<i2").tobytes()
    icmt = COMMENT.encode("ascii") + b"\0"
    if len(icmt) % 2:
        icmt += b"\0"
    info = b"INFO" + b"ICMT" + struct.pack("<I", len(icmt)) + icmt
    lst = b"LIST" + struct.pack("<I", len(info)) + info
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, SR, SR * 2, 2, 16)
    data = b"data" + struct.pack("<I", len(pcm)) + pcm
    body = b"WAVE" + fmt + lst + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(wav_bytes(song()))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
