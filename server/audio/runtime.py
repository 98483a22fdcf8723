"""Models loaded once per worker process: BirdNET and the registered custom audio classifiers."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Optional

from sqlmodel import Session

from ..detect.registry import ModelFileError, ModelNotFound, get_model, verify_file
from ..models import MLModel

KIND = "audio_classifier"
_lock = threading.Lock()
# A TFLite interpreter must not be used by two threads at once: one BirdNET per worker thread
# (a Celery prefork worker or `saola worker` with one thread: one per process).
_local = threading.local()
_birdnet_error: Optional[str] = None
_custom: dict[tuple[str, str, str], Any] = {}

# CustomModelConfig fields a registered model's config may carry (the rest are Saola's own).
_CONFIG_FIELDS = ("sample_rate", "window_s", "hop_s", "n_fft", "hop_length", "n_mels", "fmin", "fmax", "log_mel",
                  "input_layout", "output_activation", "min_conf", "batch_size")


def get_birdnet():
    """This worker thread's BirdNET (loaded on first use, then reused by every job), or None when the
    ``birdnet`` extra is missing (then :func:`birdnet_unavailable` says why)."""
    global _birdnet_error
    model = getattr(_local, "birdnet", None)
    if model is None and _birdnet_error is None:
        from classifiers.audio.birdnet import BirdNET, BirdNETUnavailableError

        try:
            model = _local.birdnet = BirdNET()
        except (BirdNETUnavailableError, ImportError) as e:
            _birdnet_error = str(e)
    return model


def birdnet_unavailable() -> Optional[str]:
    """Why BirdNET could not be loaded in this process (None when it was, or was not tried)."""
    return _birdnet_error


def custom_classifier(session: Session, name: str, labels_dir: Path):
    """The registered ``audio_classifier`` model ``name`` as a CustomClassifier (cached per file and version).

    Raises ModelNotFound / ModelFileError / CustomModelError with a message naming the model.
    """
    from classifiers.audio.custom import CustomClassifier, CustomModelConfig

    row: MLModel = get_model(session, name, KIND)
    key = (row.name, row.version, row.sha256)
    with _lock:
        if key in _custom:
            return _custom[key]
    path = verify_file(row)
    cfg = dict(row.config or {})
    labels_path = cfg.get("labels_path")
    if not labels_path:
        labels = cfg.get("labels")
        if not labels:
            raise ModelNotFound(f"audio classifier {name!r} has no labels (config 'labels' or 'labels_path')")
        # CustomClassifier reads a label file: write the registered list once per version.
        labels_dir.mkdir(parents=True, exist_ok=True)
        labels_file = labels_dir / f"{row.name}@{row.version}-{row.sha256[:12]}.txt"
        if not labels_file.exists():
            tmp = labels_file.with_suffix(".part")
            tmp.write_text("\n".join(labels) + "\n", encoding="utf-8")
            tmp.replace(labels_file)
        labels_path = str(labels_file)
    options = {k: cfg[k] for k in _CONFIG_FIELDS if k in cfg}
    clf = CustomClassifier(CustomModelConfig(str(path), str(labels_path), name=row.name, version=row.version,
                                             **options))
    with _lock:
        _custom[key] = clf
    return clf


__all__ = ["KIND", "ModelFileError", "ModelNotFound", "custom_classifier", "get_birdnet", "birdnet_unavailable"]
