"""Read a recording block by block, so a 24-hour file never sits whole in memory."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile

from .errors import CorruptAudioError, TruncatedAudioError


def iter_blocks(path, block_s: float = 60.0, start_s: float = 0.0, end_s: float | None = None
                ) -> Iterator[tuple[int, np.ndarray, int]]:
    """Yield ``(first_frame, mono_float32_samples, sample_rate)`` blocks of ``block_s`` seconds.

    Multi-channel files are mixed to mono by averaging channels (as librosa and
    BirdNET do). Only one block is in memory at a time. Raises
    :class:`TruncatedAudioError` when the file ends before its header says.
    """
    path = Path(path)
    try:
        sf = soundfile.SoundFile(str(path))
    except (soundfile.LibsndfileError, RuntimeError) as exc:
        raise CorruptAudioError(path, f"cannot open audio ({exc})") from None
    with sf:
        rate = sf.samplerate
        first = int(round(start_s * rate))
        last = sf.frames if end_s is None else min(sf.frames, int(round(end_s * rate)))
        block = max(1, int(round(block_s * rate)))
        if first >= last:
            return
        if first:
            sf.seek(first)
        pos = first
        while pos < last:
            want = min(block, last - pos)
            try:
                data = sf.read(want, dtype="float32", always_2d=True)
            except (soundfile.LibsndfileError, RuntimeError) as exc:
                raise CorruptAudioError(
                    path, f"sample data unreadable between {pos / rate:.1f} and {(pos + want) / rate:.1f} s ({exc})"
                ) from None
            if len(data) == 0:
                raise TruncatedAudioError(
                    path, f"sample data ends at {pos / rate:.1f} s; header promises {sf.frames / rate:.1f} s"
                )
            mono = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float32)
            yield pos, np.ascontiguousarray(mono), rate
            pos += len(data)


def read_range(path, start_s: float, end_s: float) -> tuple[np.ndarray, int]:
    """Mono float32 samples of ``[start_s, end_s)`` (only that range is read)."""
    parts = []
    rate = None
    for _, block, rate in iter_blocks(path, block_s=60.0, start_s=start_s, end_s=end_s):  # noqa: B007 (rate: used below)
        parts.append(block)
    if rate is None:
        raise ValueError(f"{path}: time range {start_s}-{end_s} s holds no audio (past the end of the recording?)")
    return np.concatenate(parts), rate
