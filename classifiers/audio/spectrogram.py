"""Spectrogram images for the biologist's review screen (time and frequency axes)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .indices import stft
from .stream import read_range


MAX_RANGE_S = 900.0


@dataclass
class SpectrogramImage:
    """Where the PNG went and what its plotted area covers (seconds in the recording, Hz)."""

    path: str
    start_s: float
    end_s: float
    f_min: float
    f_max: float
    width_px: int
    height_px: int


def render_spectrogram(path, out_png, start_s: float, end_s: float, *, f_max: float | None = None,
                       nperseg: int = 1024, db_range: float = 80.0, width_px: int = 1200,
                       height_px: int = 400, title: str | None = None) -> SpectrogramImage:
    """Write a PNG spectrogram of ``[start_s, end_s)`` of a recording (only that range is read).

    The x axis is seconds from the start of the recording, the y axis kHz up to
    ``f_max`` (default: Nyquist). Colours are dB relative to the loudest cell,
    clipped at ``-db_range``. Uses matplotlib's Agg canvas (no display, thread-safe).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not end_s > start_s >= 0:
        raise ValueError(f"{path}: need 0 <= start_s < end_s, got {start_s}-{end_s} s")
    if end_s - start_s > MAX_RANGE_S:
        # the range is read whole; review images are for minutes, not hours
        raise ValueError(f"{path}: spectrogram range {end_s - start_s:.0f} s exceeds {MAX_RANGE_S:.0f} s")
    samples, rate = read_range(path, start_s, end_s)
    if len(samples) < 2 * nperseg:
        raise ValueError(f"{path}: range {start_s}-{end_s} s is too short for a spectrogram")
    spec = stft(samples, rate, nperseg, nperseg * 3 // 4)
    nyquist = rate / 2
    f_max = nyquist if f_max is None else min(f_max, nyquist)
    rows = spec.freqs <= f_max
    power = spec.psd[:, rows].T
    db = 10 * np.log10(np.maximum(power, 1e-20) / max(float(power.max()), 1e-20))
    db = np.maximum(db, -db_range)
    real_end = start_s + len(samples) / rate

    dpi = 100
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(db, origin="lower", aspect="auto", cmap="magma",
              extent=(start_s, real_end, 0, spec.freqs[rows][-1] / 1000), interpolation="nearest")
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("Frequency (kHz)")
    ax.set_title(title or f"{Path(path).name}  {start_s:.1f}-{real_end:.1f} s")
    fig.tight_layout()
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, format="png")
    return SpectrogramImage(str(out_png), start_s, real_end, 0.0, float(spec.freqs[rows][-1]),
                            width_px, height_px)
