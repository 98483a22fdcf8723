"""Registered model files (the ``ml_model`` table): add, list, fetch, verify.

A model is a file the user keeps (or that Saola copied into ``DATA_DIR/models``)
plus what identifies it: name, kind, version, SHA-256 and size. Detections
name their model as ``name@version`` (:func:`model_key`), so results of two
versions of a model never overwrite each other. When no version is given the
first 12 hex digits of the SHA-256 are the version: a different file is then
always a different version.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from classifiers import modelfiles

from .. import audit
from ..models import MLModel

KINDS = ("detector", "classifier", "audio_classifier")


class ModelNotFound(LookupError):
    """No registered model of that name."""


class ModelFileError(RuntimeError):
    """A registered model's file is missing or no longer matches its recorded checksum."""


def model_key(model: MLModel) -> str:
    """What detections record as their model: ``name@version``."""
    return f"{model.name}@{model.version}"


def get_model(session: Session, name: str, kind: str | None = None) -> MLModel:
    """The registered model called ``name`` (optionally of ``kind``), or ModelNotFound."""
    row = session.exec(select(MLModel).where(MLModel.name == name)).first()
    if row is None:
        known = ", ".join(session.exec(select(MLModel.name).order_by(MLModel.name))) or "none"
        raise ModelNotFound(f"no registered model {name!r} (registered: {known}; add one with `saola models add`)")
    if kind is not None and row.kind != kind:
        raise ModelNotFound(f"model {name!r} is a {row.kind}, not a {kind}")
    return row


def parse_config(text: str | None) -> dict[str, Any]:
    """The ``--config`` JSON object, or ValueError naming the problem."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"--config is not valid JSON: {e.msg} at column {e.colno}") from None
    if not isinstance(value, dict):
        raise ValueError("--config must be a JSON object, e.g. '{\"conf_threshold\": 0.1}'")
    return value


def read_labels(path: str | Path) -> list[str]:
    """Class labels from a text file: one per line (blank lines and '#' comments skipped)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"labels file not found: {p}") from None
    except UnicodeDecodeError:
        raise ValueError(f"labels file {p} is not UTF-8 text") from None
    labels = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not labels:
        raise ValueError(f"labels file {p} has no labels")
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise ValueError(f"labels file {p} repeats labels: {', '.join(dupes[:5])}")
    return labels


def check_loadable(path: Path, kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """Open the model once to catch a bad file at registration; returns facts worth recording."""
    if kind == "detector":
        from classifiers.megadetector import Detector

        det = Detector(path, providers="cpu", **detector_options(config))
        return {"input_shape": det.info.input_shape, "layout": det.info.layout,
                "class_names": det.info.class_names, "stride": det.info.stride}
    import onnxruntime as ort

    try:
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime's own error types
        raise ValueError(f"cannot load ONNX model {path}: {e}") from None
    shape = [d if isinstance(d, int) else None for d in sess.get_inputs()[0].shape]
    labels = config.get("labels")
    n_out = sess.get_outputs()[0].shape[-1]
    if labels and isinstance(n_out, int) and n_out != len(labels):
        raise ValueError(f"{path.name} outputs {n_out} classes but {len(labels)} labels were given")
    return {"input_shape": shape}


# Detector constructor options a model's config may carry.
_DETECTOR_OPTIONS = ("layout", "image_size", "stride", "class_names", "conf_threshold", "iou_threshold",
                     "max_detections", "draft_decode")
#: Detections below this confidence are not stored unless the model's config says otherwise
#: (MegaDetector's own files go down to 0.005; 0.05 is its "conservative" review threshold).
DEFAULT_STORE_THRESHOLD = 0.05


def detector_options(config: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for :class:`classifiers.megadetector.Detector` from a model's config."""
    opts = {k: config[k] for k in _DETECTOR_OPTIONS if k in config}
    opts.setdefault("conf_threshold", DEFAULT_STORE_THRESHOLD)
    if isinstance(opts.get("image_size"), list):
        opts["image_size"] = tuple(opts["image_size"])
    return opts


def add_model(session: Session, file: str | Path, name: str, *, kind: str = "detector", version: str | None = None,
              config: dict[str, Any] | None = None, labels_file: str | Path | None = None,
              copy_to: Path | None = None, replace: bool = False, check: bool = True) -> MLModel:
    """Register a model file: record its SHA-256, size and version (see module docstring).

    ``copy_to`` (a folder) copies the file there, named by its checksum, so it
    survives the user moving the original. Raises ValueError with a message
    naming the file or field for anything wrong.
    """
    if kind not in KINDS:
        raise ValueError(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if not name or len(name) > 64 or "@" in name:
        raise ValueError(f"model name {name!r} must be 1-64 characters without '@'")
    src = Path(file).expanduser()
    try:
        info = modelfiles.describe_file(src)
    except FileNotFoundError as e:
        raise ValueError(str(e)) from None
    config = dict(config or {})
    if labels_file is not None:
        config["labels"] = read_labels(labels_file)
    if kind in ("classifier", "audio_classifier") and not config.get("labels"):
        raise ValueError(f"classifier {name!r} needs its class labels: --labels FILE (one label per line, "
                         "in the model's output order)")
    path = src.resolve()
    if copy_to is not None:
        copy_to.mkdir(parents=True, exist_ok=True)
        dest = copy_to / f"{info.sha256[:16]}-{src.name}"
        if not dest.exists():
            tmp = dest.with_name("." + dest.name + ".part")
            shutil.copyfile(src, tmp)
            tmp.replace(dest)
        path = dest.resolve()
    if check:
        config.setdefault("model_info", check_loadable(path, kind, config))
    version = (version or "").strip() or info.sha256[:12]
    if len(version) > 64:
        raise ValueError("--version must be at most 64 characters")
    row = session.exec(select(MLModel).where(MLModel.name == name)).first()
    if row is not None and not replace:
        if row.sha256 == info.sha256 and row.version == version:
            return row  # registering the same file again is a no-op
        raise ValueError(f"a model named {name!r} is already registered ({row.file_path}, version {row.version}); "
                         "use --replace to point the name at the new file")
    before = audit.snapshot(row)
    if row is None:
        row = MLModel(name=name, kind=kind, version=version, file_path=str(path), sha256=info.sha256,
                      size_bytes=info.size, config=config)
    else:
        row.kind, row.version, row.file_path, row.sha256, row.size_bytes, row.config = (
            kind, version, str(path), info.sha256, info.size, config)
    session.add(row)
    session.flush()
    audit.record(session, "update" if before else "create", "ml_model", row.id, area_id=None, before=before,
                 after=audit.snapshot(row))
    return row


def verify_file(model: MLModel) -> Path:
    """The model's file, after checking it still is the registered one (ModelFileError otherwise)."""
    path = Path(model.file_path)
    if not path.is_file():
        raise ModelFileError(f"model {model.name!r}: file {path} is missing (registered with `saola models add`; "
                             "put the file back or register it again)")
    try:
        modelfiles.verify_sha256(path, model.sha256)
    except modelfiles.ChecksumMismatch as e:
        raise ModelFileError(f"model {model.name!r}: file {path} no longer matches its recorded SHA-256 "
                             f"(expected {e.expected}, got {e.actual}); it was changed or corrupted — "
                             "restore it or register it again with `saola models add --replace`") from None
    return path
