"""Spectrogram images of recordings: the review page's overview and time ranges with axes.

One path for both. Only the requested range is read, block by block
(:func:`.stream.iter_blocks`); each block's STFT frames are computed in float32,
a few MiB at a time, and pooled at once into at most ``columns`` time columns:
a column keeps the loudest power of the frames it covers, so a one-second call
in an hour-long recording still shows. Images are drawn from that small grid
(frequency bins x columns). Memory is bounded by one block and the grid, tens of
MiB for any length (whole recordings used to be read as float32 and framed at
once: 10 GB for an hour); CPU grows linearly with the range.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from .errors import CorruptAudioError
from .stream import iter_blocks

MAX_RANGE_S = 900.0  # longest range of one image with axes (the API's limit): CPU per request stays bounded
BLOCK_S = 10.0  # seconds of audio read at a time
_SLICE_BYTES = 4 << 20  # frames transformed at a time (float32)


@dataclass
class SpectrogramGrid:
    """Power in dB (0 = loudest cell, floor ``-db_range``) of a range of a recording.

    ``db`` has one row per frequency bin (row 0 is 0 Hz, ``freqs`` gives each
    row's frequency in Hz) and one column per time slice from ``start_s`` to
    ``end_s`` (seconds in the recording).
    """

    db: np.ndarray
    freqs: np.ndarray
    start_s: float
    end_s: float
    sample_rate: int
    db_range: float


def spectrogram_grid(path, start_s: float, end_s: float | None = None, *, n_fft: int = 1024,
                     columns: int = 1600, f_max: float | None = None, db_range: float = 80.0) -> SpectrogramGrid:
    """The spectrogram of ``[start_s, end_s)`` of a recording (default: to its end) at most ``columns`` wide.

    Hann-windowed frames of ``n_fft`` samples (each frame's mean removed) every
    ``n_fft/4`` samples, or every ``n_fft/2`` when there are many more frames
    than columns (half overlap still weighs every sample). Rows above ``f_max``
    Hz are left out. Raises ValueError naming the file for an empty or too
    short range.
    """
    end_label = "end" if end_s is None else f"{end_s}"
    if not (end_s is None or end_s > start_s) or start_s < 0:
        raise ValueError(f"{path}: need 0 <= start_s < end_s, got {start_s}-{end_label} s")
    try:
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError) as exc:
        raise CorruptAudioError(Path(path), f"cannot open audio ({exc})") from None
    rate = int(info.samplerate)
    first = int(round(start_s * rate))
    last = info.frames if end_s is None else min(info.frames, int(round(end_s * rate)))
    if first >= last:
        raise ValueError(f"{path}: time range {start_s}-{end_label} s holds no audio "
                         "(past the end of the recording?)")
    n = last - first
    if n < 2 * n_fft:
        raise ValueError(f"{path}: range {start_s}-{end_label} s is too short for a spectrogram")
    hop = n_fft // 4
    if (n - n_fft) // hop + 1 > 4 * columns:
        hop = n_fft // 2
    n_frames = (n - n_fft) // hop + 1
    cols = min(columns, n_frames)
    pooled = _pooled_power(path, first, last, rate, n_fft, hop, n_frames, cols)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    if f_max is not None:
        rows = freqs <= f_max
        freqs, pooled = freqs[rows], pooled[:, rows]
    power = pooled.T  # frequency bins x columns
    top = float(power.max())
    if top <= 0.0:  # digital silence
        db = np.full(power.shape, -db_range, dtype=np.float32)
    else:
        floor = top * 10.0 ** (-db_range / 10.0)
        db = (10.0 * np.log10(np.maximum(power, floor) / top)).astype(np.float32)
    return SpectrogramGrid(db, freqs, first / rate, last / rate, rate, db_range)


def _pooled_power(path, first: int, last: int, rate: int, n_fft: int, hop: int, n_frames: int,
                  cols: int) -> np.ndarray:
    """columns x (n_fft/2 + 1) float32: the largest power of the frames in each column."""
    # Periodic Hann window (scipy's get_window("hann")); numpy only, scipy.signal alone is 50 MB resident.
    win = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    pooled = np.zeros((cols, n_fft // 2 + 1), dtype=np.float32)
    step = max(1, _SLICE_BYTES // (n_fft * 4))
    done = 0  # frames computed so far
    buf = np.empty(0, dtype=np.float32)
    for _, block, _ in iter_blocks(path, block_s=BLOCK_S, start_s=first / rate, end_s=last / rate):
        buf = block if buf.size == 0 else np.concatenate([buf, block])
        ready = min(n_frames - done, (len(buf) - n_fft) // hop + 1) if len(buf) >= n_fft else 0
        if ready <= 0:
            continue
        frames = np.lib.stride_tricks.sliding_window_view(buf, n_fft)[: (ready - 1) * hop + 1 : hop]
        for a in range(0, ready, step):
            part = frames[a : a + step]
            x = (part - part.mean(axis=1, keepdims=True, dtype=np.float32)) * win
            spec = np.fft.rfft(x, axis=1)  # complex64 for float32 input (numpy >= 2)
            power = spec.real * spec.real + spec.imag * spec.imag
            col = (done + a + np.arange(len(part))) * cols // n_frames
            starts = np.flatnonzero(np.r_[True, col[1:] != col[:-1]])
            at = col[starts]
            pooled[at] = np.maximum(pooled[at], np.maximum.reduceat(power, starts, axis=0))
        done += ready
        buf = buf[ready * hop :]  # what the next frames overlap
        if done >= n_frames:
            break
    return pooled


def _rgb(grid: SpectrogramGrid) -> np.ndarray:
    """The grid in the magma colour map, 0 Hz at the bottom (rows x columns x 3, uint8)."""
    from matplotlib import colormaps

    lut = (colormaps["magma"](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)
    norm = np.clip((grid.db + grid.db_range) / grid.db_range, 0.0, 1.0)
    return lut[(norm[::-1] * 255).astype(np.uint8)]


def overview_png(grid: SpectrogramGrid, height_px: int = 256) -> bytes:
    """A bare PNG (no axes): time left to right over the grid's range, 0 Hz at the bottom up to its top row.

    The review page lays detection boxes over it by time and frequency.
    """
    from PIL import Image

    rgb = _rgb(grid)
    im = Image.fromarray(rgb, "RGB").resize((rgb.shape[1], height_px))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


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
    """Write a PNG spectrogram with axes of ``[start_s, end_s)`` of a recording (only that range is read).

    The x axis is seconds from the start of the recording, the y axis kHz up to
    ``f_max`` (default: Nyquist). Colours are dB relative to the loudest cell,
    clipped at ``-db_range``. The plotted image has at most ``width_px``
    columns. Uses matplotlib's Agg canvas (no display, thread-safe).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not end_s > start_s >= 0:
        raise ValueError(f"{path}: need 0 <= start_s < end_s, got {start_s}-{end_s} s")
    if end_s - start_s > MAX_RANGE_S:
        raise ValueError(f"{path}: spectrogram range {end_s - start_s:.0f} s exceeds {MAX_RANGE_S:.0f} s")
    grid = spectrogram_grid(path, start_s, end_s, n_fft=nperseg, columns=width_px, f_max=f_max,
                            db_range=db_range)
    top_hz = float(grid.freqs[-1])
    dpi = 100
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(grid.db, origin="lower", aspect="auto", cmap="magma", vmin=-db_range, vmax=0.0,
              extent=(grid.start_s, grid.end_s, 0, top_hz / 1000), interpolation="nearest")
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("Frequency (kHz)")
    ax.set_title(title or f"{Path(path).name}  {grid.start_s:.1f}-{grid.end_s:.1f} s")
    fig.tight_layout()
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, format="png")
    return SpectrogramImage(str(out_png), grid.start_s, grid.end_s, 0.0, top_hz, width_px, height_px)
