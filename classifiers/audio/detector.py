"""Band-limited energy event detector (e.g. gibbon song 400-2000 Hz, 4-12 s phrases).

For each configured band, the energy in the band is summed per spectrogram frame
(the same STFT the indices use), compared to that minute's noise floor (a low
percentile of the band energy, robust to calls that fill part of the minute),
and frames ``threshold_db`` or more above the floor are joined into events
when separated by at most ``max_gap_s``. Events shorter than ``min_duration_s``
or longer than ``max_duration_s`` are dropped (a passing motorbike is not a
gibbon phrase). Score: mean excess over the floor in dB. The detector is
streaming: an event that straddles a block boundary is carried over.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .indices import Spectrogram


@dataclass(frozen=True)
class Band:
    """One detection band of a monitoring program."""

    name: str
    f_low: float
    f_high: float
    min_duration_s: float
    max_duration_s: float
    threshold_db: float = 6.0
    max_gap_s: float = 0.5
    floor_percentile: float = 20.0

    def __post_init__(self):
        if not 0 <= self.f_low < self.f_high:
            raise ValueError(f"band {self.name!r}: need 0 <= f_low < f_high, got {self.f_low}-{self.f_high} Hz")
        if not 0 < self.min_duration_s <= self.max_duration_s:
            raise ValueError(
                f"band {self.name!r}: need 0 < min_duration_s <= max_duration_s, "
                f"got {self.min_duration_s}-{self.max_duration_s} s"
            )


#: Default band: gibbon (Nomascus) great-call phrases.
GIBBON_BAND = Band("gibbon", 400.0, 2000.0, 4.0, 12.0)


@dataclass
class AcousticEvent:
    """A detected event: time and frequency box plus a score (dB above the floor)."""

    start_s: float
    end_s: float
    f_low: float
    f_high: float
    score: float
    band: str

    def as_tuple(self) -> tuple[float, float, float, float, float]:
        """``(start_s, end_s, f_low, f_high, score)``."""
        return (self.start_s, self.end_s, self.f_low, self.f_high, self.score)

    def as_dict(self) -> dict:
        """JSON-able form."""
        return asdict(self)


class _BandTracker:
    def __init__(self, band: Band):
        self.band = band
        self.open_start: float | None = None  # start of the event being grown
        self.open_end = 0.0  # end of its last loud frame
        self.excess_sum = 0.0
        self.excess_n = 0
        self.events: list[AcousticEvent] = []

    def feed(self, spec: Spectrogram, offset_s: float) -> None:
        b = self.band
        rows = (spec.freqs >= b.f_low) & (spec.freqs <= b.f_high)
        if not rows.any():
            return  # band above this recording's Nyquist frequency
        sub = spec.amplitude[:, rows]
        energy = np.einsum("tf,tf->t", sub, sub, dtype=np.float64)
        floor = np.percentile(energy, b.floor_percentile)
        with np.errstate(divide="ignore"):
            excess = 10 * np.log10(np.maximum(energy, 1e-30) / max(floor, 1e-30))
        loud = np.flatnonzero(excess >= b.threshold_db)
        if len(spec.times) > 1:
            half = (spec.times[1] - spec.times[0]) / 2
        else:
            half = 0.0
        for i in loud:
            t0 = offset_s + spec.times[i] - half
            t1 = offset_s + spec.times[i] + half
            if self.open_start is not None and t0 - self.open_end > b.max_gap_s:
                self._close()
            if self.open_start is None:
                self.open_start = t0
            self.open_end = t1
            self.excess_sum += float(excess[i])
            self.excess_n += 1

    def flush_before(self, t: float) -> None:
        """Close the open event if nothing can extend it any more (called per block)."""
        if self.open_start is not None and t - self.open_end > self.band.max_gap_s:
            self._close()

    def _close(self) -> None:
        b = self.band
        duration = self.open_end - self.open_start
        if b.min_duration_s <= duration <= b.max_duration_s:
            self.events.append(
                AcousticEvent(
                    start_s=float(round(self.open_start, 3)),
                    end_s=float(round(self.open_end, 3)),
                    f_low=b.f_low,
                    f_high=b.f_high,
                    score=float(round(self.excess_sum / self.excess_n, 2)),
                    band=b.name,
                )
            )
        self.open_start = None
        self.excess_sum = 0.0
        self.excess_n = 0

    def finish(self) -> None:
        if self.open_start is not None:
            self._close()


class EventDetector:
    """Streaming detector over spectrogram blocks for several bands at once."""

    def __init__(self, bands: list[Band] | tuple[Band, ...] = (GIBBON_BAND,)):
        self.trackers = [_BandTracker(b) for b in bands]

    def feed(self, spec: Spectrogram, offset_s: float) -> None:
        """Add one block's spectrogram; ``offset_s`` is the block's start in the recording."""
        for tracker in self.trackers:
            tracker.flush_before(offset_s)
            tracker.feed(spec, offset_s)

    def finish(self) -> list[AcousticEvent]:
        """Close open events and return all events, sorted by start time."""
        for tracker in self.trackers:
            tracker.finish()
        return sorted((e for t in self.trackers for e in t.events), key=lambda e: (e.start_s, e.band))
