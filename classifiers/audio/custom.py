"""User-supplied ONNX audio classifiers over mel-spectrogram windows (e.g. a gibbon model).

The user describes the model's input in a :class:`CustomModelConfig`; Saola
reads the recording in blocks, resamples it (soxr) to the model's rate, cuts
windows of ``window_s`` every ``hop_s`` seconds, turns each into a mel
spectrogram with librosa::

    M = librosa.feature.melspectrogram(y=window, sr=sample_rate, n_fft=n_fft,
            hop_length=hop_length, n_mels=n_mels, fmin=fmin, fmax=fmax, power=2.0)
    M = librosa.power_to_db(M, ref=1.0, top_db=None)   # when log_mel (default)

and feeds batches laid out as ``input_layout``:

* ``NCHW``: (batch, 1, n_mels, frames), the usual CNN layout (default)
* ``NHWC``: (batch, n_mels, frames, 1)
* ``NMT``:  (batch, n_mels, frames)
* ``NTM``:  (batch, frames, n_mels)

The model's first output is (batch, n_labels); ``output_activation`` turns it
into confidences (``sigmoid``, ``softmax`` or ``none`` when the model already
outputs probabilities). Labels come from a text file, one per line.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

LAYOUTS = ("NCHW", "NHWC", "NMT", "NTM")
ACTIVATIONS = ("sigmoid", "softmax", "none")


class CustomModelError(ValueError):
    """The custom model, its label file or its configuration do not fit together."""


@dataclass(frozen=True)
class CustomModelConfig:
    """How to feed a user's ONNX audio classifier (see module docstring)."""

    model_path: str
    labels_path: str
    name: str = "custom"
    version: str = "1"
    sample_rate: int = 16000
    window_s: float = 3.0
    hop_s: float | None = None  # default: window_s (no overlap)
    n_fft: int = 1024
    hop_length: int = 512
    n_mels: int = 64
    fmin: float = 0.0
    fmax: float | None = None
    log_mel: bool = True
    input_layout: str = "NCHW"
    output_activation: str = "sigmoid"
    min_conf: float = 0.5
    batch_size: int = 16

    def __post_init__(self):
        if self.input_layout not in LAYOUTS:
            raise CustomModelError(f"input_layout must be one of {', '.join(LAYOUTS)}, got {self.input_layout!r}")
        if self.output_activation not in ACTIVATIONS:
            raise CustomModelError(
                f"output_activation must be one of {', '.join(ACTIVATIONS)}, got {self.output_activation!r}"
            )
        if self.sample_rate <= 0 or self.window_s <= 0 or (self.hop_s is not None and self.hop_s <= 0):
            raise CustomModelError("sample_rate, window_s and hop_s must be positive")
        if self.n_mels < 1 or self.n_fft < 8 or self.hop_length < 1:
            raise CustomModelError("n_mels, n_fft and hop_length must be positive")

    @classmethod
    def from_json(cls, path) -> "CustomModelConfig":
        """Load a config from a JSON file; relative model/label paths are relative to it."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise CustomModelError(f"{path}: cannot read model config ({exc})") from None
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise CustomModelError(f"{path}: unknown config field(s) {', '.join(sorted(unknown))}")
        for key in ("model_path", "labels_path"):
            if key not in data:
                raise CustomModelError(f"{path}: missing field {key!r}")
            data[key] = str((path.parent / data[key]).resolve())
        return cls(**data)

    def as_dict(self) -> dict:
        """JSON-able form."""
        return asdict(self)


@dataclass
class CustomDetection:
    """One label in one window of a custom model."""

    start_s: float
    end_s: float
    label: str
    confidence: float

    def as_dict(self) -> dict:
        """JSON-able form."""
        return asdict(self)


class CustomClassifier:
    """An ONNX audio classifier run with onnxruntime on mel-spectrogram windows."""

    def __init__(self, config: CustomModelConfig):
        import onnxruntime

        self.config = config
        labels_path = Path(config.labels_path)
        try:
            self.labels = [line.strip() for line in labels_path.read_text(encoding="utf-8").splitlines() if line.strip()]
        except OSError as exc:
            raise CustomModelError(f"{labels_path}: cannot read label file ({exc})") from None
        if not self.labels:
            raise CustomModelError(f"{labels_path}: label file is empty")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        try:
            self.session = onnxruntime.InferenceSession(
                str(config.model_path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise CustomModelError(f"{config.model_path}: cannot load ONNX model ({exc})") from None
        self.input_name = self.session.get_inputs()[0].name

    @property
    def model_id(self) -> str:
        """``name@version`` stored with detections."""
        return f"{self.config.name}@{self.config.version}"

    def features(self, window: np.ndarray) -> np.ndarray:
        """Mel spectrogram (n_mels, frames) of one window, in dB when ``log_mel``."""
        import librosa

        c = self.config
        mel = librosa.feature.melspectrogram(
            y=np.asarray(window, dtype=np.float32), sr=c.sample_rate, n_fft=c.n_fft,
            hop_length=c.hop_length, n_mels=c.n_mels, fmin=c.fmin, fmax=c.fmax, power=2.0,
        )
        if c.log_mel:
            mel = librosa.power_to_db(mel, ref=1.0, top_db=None)
        return mel.astype(np.float32)

    def _layout(self, feats: np.ndarray) -> np.ndarray:
        layout = self.config.input_layout
        if layout == "NCHW":
            return feats[:, None, :, :]
        if layout == "NHWC":
            return feats[:, :, :, None]
        if layout == "NTM":
            return feats.transpose(0, 2, 1)
        return feats

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """Confidences (n_windows, n_labels) of windows of ``window_s`` at the model's rate."""
        feats = np.stack([self.features(w) for w in windows])
        try:
            raw = self.session.run(None, {self.input_name: np.ascontiguousarray(self._layout(feats))})[0]
        except Exception as exc:
            raise CustomModelError(
                f"{self.config.model_path}: model rejected input of shape {self._layout(feats).shape} "
                f"(layout {self.config.input_layout}; check n_mels, window_s, hop_length) ({exc})"
            ) from None
        raw = np.asarray(raw, dtype=np.float64).reshape(len(windows), -1)
        if raw.shape[1] != len(self.labels):
            raise CustomModelError(
                f"{self.config.model_path}: model outputs {raw.shape[1]} classes but "
                f"{self.config.labels_path} lists {len(self.labels)} labels"
            )
        act = self.config.output_activation
        if act == "sigmoid":
            return 1.0 / (1.0 + np.exp(-raw))
        if act == "softmax":
            e = np.exp(raw - raw.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
        return raw

    def run(self) -> "CustomRun":
        """A streaming run over one recording: ``feed`` mono blocks in order, then ``finish``."""
        return CustomRun(self)

    def analyse_file(self, path, progress: Callable[[float, float], None] | None = None) -> list[CustomDetection]:
        """Detections (confidence >= ``min_conf``) over a whole file, read in blocks.

        ``progress(done_s, total_s)`` is called after each block.
        """
        import soundfile

        from .stream import iter_blocks

        total = soundfile.info(str(path)).duration
        run = self.run()
        for first, block, rate in iter_blocks(path):
            run.feed(block, rate)
            if progress:
                progress(min(total, (first + len(block)) / rate), total)
        return run.finish()


class CustomRun:
    """Windows of ``window_s`` every ``hop_s`` at the model's rate; a tail under half a window is dropped."""

    def __init__(self, classifier: CustomClassifier):
        c = classifier.config
        self.classifier = classifier
        self.length = int(round(c.window_s * c.sample_rate))
        self.hop_s = c.hop_s or c.window_s
        self.step = int(round(self.hop_s * c.sample_rate))
        self.buffer = np.zeros(0, dtype=np.float32)
        self.index = 0
        self.resampler = None
        self.rate: int | None = None
        self._held: np.ndarray | None = None
        self.pending: list[tuple[float, np.ndarray]] = []
        self.detections: list[CustomDetection] = []

    def feed(self, block: np.ndarray, sample_rate: int) -> None:
        """Add the next mono block of the recording."""
        if self.rate is None:
            self.rate = sample_rate
            if sample_rate != self.classifier.config.sample_rate:
                import soxr

                self.resampler = soxr.ResampleStream(sample_rate, self.classifier.config.sample_rate, 1,
                                                     dtype="float32", quality="HQ")
        if self._held is not None:  # hold one block back so the last one is known
            self._window(self._held, last=False)
        self._held = block

    def finish(self) -> list[CustomDetection]:
        """Classify what is left and return all detections in time order."""
        if self._held is not None:
            self._window(self._held, last=True)
            self._held = None
        self._classify(force=True)
        return self.detections

    def _window(self, block: np.ndarray, last: bool) -> None:
        if self.resampler is not None:
            block = self.resampler.resample_chunk(np.asarray(block, dtype=np.float32), last=last)
        self.buffer = np.concatenate([self.buffer, block])
        while len(self.buffer) >= self.length:
            self.pending.append((self.index * self.hop_s, self.buffer[: self.length].copy()))
            self.buffer = self.buffer[self.step :]
            self.index += 1
        if last and len(self.buffer) >= self.length / 2:
            window = np.zeros(self.length, dtype=np.float32)
            window[: len(self.buffer)] = self.buffer
            self.pending.append((self.index * self.hop_s, window))
        self._classify(force=False)

    def _classify(self, force: bool) -> None:
        c = self.classifier.config
        while len(self.pending) >= c.batch_size or (force and self.pending):
            batch, self.pending = self.pending[: c.batch_size], self.pending[c.batch_size :]
            conf = self.classifier.predict(np.stack([w for _, w in batch]))
            for (start, _), row in zip(batch, conf):
                for j in np.flatnonzero(row >= c.min_conf):
                    self.detections.append(
                        CustomDetection(start, start + c.window_s, self.classifier.labels[j], float(row[j]))
                    )
