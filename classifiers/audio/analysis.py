"""Soundscape analysis of a whole recording in one streaming pass (librosa/numpy/scipy).

Per block of ``block_s`` seconds (default one minute): one STFT, from which the
acoustic indices (:mod:`.indices`) and the band energy event detector
(:mod:`.detector`) are computed. Only one block is in memory at a time, so a
24-hour recording costs the same memory as a 1-minute one.

Re-exports the pieces so callers can ``from classifiers.audio.analysis import ...``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .detector import GIBBON_BAND, AcousticEvent, Band, EventDetector
from .indices import IndexParams, MinuteIndices, Spectrogram, compute_indices, stft
from .spectrogram import SpectrogramImage, render_spectrogram
from .stream import iter_blocks, read_range

#: Called as ``progress(done_seconds, total_seconds)``.
ProgressCallback = Callable[[float, float], None]


@dataclass
class SoundscapeResult:
    """Indices per block and detected events of one recording."""

    indices: list[MinuteIndices] = field(default_factory=list)
    events: list[AcousticEvent] = field(default_factory=list)
    params: IndexParams = field(default_factory=IndexParams)


class SoundscapeAnalyser:
    """Streaming consumer: feed mono blocks in order, then :meth:`finish`.

    Blocks shorter than ``min_block_s`` (the tail of a recording) get no indices:
    a few seconds of audio give index values not comparable with full minutes.
    """

    def __init__(self, params: IndexParams = IndexParams(), bands=(GIBBON_BAND,), min_block_s: float = 10.0,
                 indices: bool = True):
        self.params = params
        self.with_indices = indices
        self.detector = EventDetector(list(bands)) if bands else None
        self.min_block_s = min_block_s
        self.result = SoundscapeResult(params=params)

    def feed(self, samples, sample_rate: int, start_s: float) -> None:
        """Analyse one block that starts ``start_s`` seconds into the recording."""
        if len(samples) < self.min_block_s * sample_rate:
            return
        spec = stft(samples, sample_rate, self.params.nperseg, self.params.noverlap)
        if self.with_indices:
            self.result.indices.append(compute_indices(samples, sample_rate, self.params, spec, start_s))
        if self.detector is not None:
            self.detector.feed(spec, start_s)

    def finish(self) -> SoundscapeResult:
        """Close open events and return everything."""
        if self.detector is not None:
            self.result.events = self.detector.finish()
        return self.result


def analyse_soundscape(path, params: IndexParams = IndexParams(), bands=(GIBBON_BAND,), block_s: float = 60.0,
                       progress: ProgressCallback | None = None) -> SoundscapeResult:
    """Indices per minute and band events of a WAV/FLAC file, read in blocks."""
    import soundfile

    total = soundfile.info(str(path)).duration
    analyser = SoundscapeAnalyser(params, bands)
    for first, block, rate in iter_blocks(path, block_s):
        analyser.feed(block, rate, first / rate)
        if progress:
            progress(min(total, (first + len(block)) / rate), total)
    return analyser.finish()


__all__ = [
    "AcousticEvent",
    "Band",
    "EventDetector",
    "GIBBON_BAND",
    "IndexParams",
    "MinuteIndices",
    "ProgressCallback",
    "SoundscapeAnalyser",
    "SoundscapeResult",
    "Spectrogram",
    "SpectrogramImage",
    "analyse_soundscape",
    "compute_indices",
    "iter_blocks",
    "read_range",
    "render_spectrogram",
    "stft",
]
