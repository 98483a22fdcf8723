"""Helpers for the server sound-trap tests: a protected area with an acoustic deployment, recordings."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from tests.classifiers.audio.wavtools import guano_chunk, info_list, noise, tone, write_wav  # noqa: F401

RATE = 16000
SERIAL = "24A04F085A1B2C3D"
AM_COMMENT = (f"Recorded at 05:00:00 15/06/2026 (UTC+7) by AudioMoth {SERIAL} at medium gain while "
              "battery was 4.2V and temperature was 25.6C.")


def gibbon_like(seconds: float = 30.0, rate: int = RATE) -> np.ndarray:
    """Quiet noise with a 1 kHz 'song' from 10 s to 18 s (inside the default gibbon band), when that long."""
    x = noise(seconds, rate, amp=0.005, seed=1)
    if seconds >= 18:
        x[10 * rate:18 * rate] += tone(1000, 8, rate, amp=0.3)
    else:  # short files differ by a tone anyway (distinct SHA-256)
        x += tone(440, seconds, rate, amp=0.05)
    return x


def setup(world, *, serial: str | None = SERIAL, tz: str = "Asia/Ho_Chi_Minh", clock_offset_s: int = 0,
          settings: dict | None = None, code: str = "PNKB"):
    """Area, acoustic program and deployment (from 2026-06-01); returns (area, program, deployment)."""
    area = world.area(code=code, name=f"Area {code}")
    program = world.program(area.id, name="Sound traps", protocol="acoustic", settings=settings or {})
    dep = world.deployment(program, kind="acoustic", camera_id=serial, timezone=tz, clock_offset_s=clock_offset_s,
                           deployment_start=datetime(2026, 6, 1, tzinfo=timezone.utc))
    return area, program, dep


def audiomoth_wav(folder: Path, name: str = "20260615_050000.WAV", seconds: float = 30.0,
                  comment: str = AM_COMMENT) -> Path:
    """An AudioMoth-style WAV (LIST/INFO ICMT comment) with a gibbon-like song."""
    folder.mkdir(parents=True, exist_ok=True)
    return write_wav(folder / name, gibbon_like(seconds), RATE, before_data=info_list(ICMT=comment))
