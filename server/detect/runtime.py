"""Loaded models, cached once per worker process.

Loading a large detector takes seconds and hundreds of MiB, so a worker keeps
each one it loaded, keyed by the file's SHA-256 and the options it was opened
with. The checksum is verified on first load and again whenever the file's
size or modification time changed since, so a file swapped behind Saola's
back is refused (:class:`~server.detect.registry.ModelFileError`) instead of
silently producing detections under the wrong model name.
"""
from __future__ import annotations

import json
import os
import threading
from typing import Any, Callable

from ..models import MLModel
from .registry import ModelFileError, detector_options, verify_file

_lock = threading.Lock()
# (sha256, options json) -> (stat signature, loaded object)
_cache: dict[tuple[str, str], tuple[tuple, Any]] = {}


def _signature(path: str) -> tuple:
    st = os.stat(path)
    return (path, st.st_size, st.st_mtime_ns)


def _cached(model: MLModel, options: dict[str, Any], load: Callable[[str], Any]) -> Any:
    key = (model.sha256, json.dumps(options, sort_keys=True, default=str))
    with _lock:  # one loader at a time: two threads must not both load a 500 MiB model
        hit = _cache.get(key)
        try:
            sig = _signature(model.file_path)
        except FileNotFoundError:
            sig = None
        if hit is not None and sig is not None and hit[0] == sig:
            return hit[1]
        _cache.pop(key, None)
        path = verify_file(model)  # raises ModelFileError naming the model and file
        obj = load(str(path))
        _cache[key] = (_signature(str(path)), obj)
        return obj


def get_detector(model: MLModel, providers: str | None = None):
    """The :class:`classifiers.megadetector.Detector` for a registered detector model."""
    from classifiers.megadetector import Detector, ModelError

    opts = detector_options(model.config or {})

    def load(path: str):
        try:
            return Detector(path, providers=providers, **opts)
        except (ModelError, ValueError) as e:
            raise ModelFileError(f"model {model.name!r}: {e}") from None

    return _cached(model, {"kind": "detector", "providers": providers, **opts}, load)


def get_classifier(model: MLModel):
    """The species classifier for a registered classifier model (see server.detect.species)."""
    from .species import load_classifier

    return _cached(model, {"kind": "classifier", **(model.config or {})}, lambda p: load_classifier(model, p))


def clear() -> None:
    """Forget every loaded model (tests; a worker that must re-read files)."""
    with _lock:
        _cache.clear()
