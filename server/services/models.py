"""Model files uploaded from the browser, which programs use them, and deleting unused ones.

An administrator uploads an ONNX file with the SHA-256 published with it. The upload is
streamed to a hidden file in ``DATA_DIR/models`` in chunks while its checksum is computed
(never held in memory), compared with the published one, opened with onnxruntime (a file
that is not a loadable ONNX graph is refused), then checked for what its kind needs (a
detector: one NCHW float image input and a rank-3 output, as
:class:`classifiers.megadetector.Detector` reads it; a species classifier: one image batch
input and as many scores as labels, as :class:`classifiers.species.SpeciesClassifier`).
Only then is it renamed into place and registered through server/detect/registry.py (the
same row and audit entry as ``saola models add``). A refused upload leaves nothing behind.

A program uses the models its settings name (``detector_model``, ``classifier_model``,
``audio_classifiers``, and ``enabled_models``: the models a manager may run on its
deployments from the jobs page). A model is deleted only when no program uses it, no job
waiting or running names it and it is not the installation's default.
"""
from __future__ import annotations

import hashlib
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlmodel import Session, col, select
from werkzeug.utils import secure_filename

from .. import audit
from ..errors import Conflict
from ..i18n import gettext as _
from ..models import AuditLog, Job, MLModel, Program
from . import crud

#: The kinds of model the page uploads (audio classifiers are registered with `saola models add`).
UPLOAD_KINDS = ("detector", "classifier")
#: Program settings that name models.
MODEL_SETTINGS = ("detector_model", "classifier_model", "audio_classifiers", "enabled_models")
CHUNK = 1024 * 1024
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class ModelUploadError(ValueError):
    """An upload refused, with the form field the message belongs next to."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


@dataclass
class Usage:
    """What keeps a model from being deleted."""

    programs: list[Program] = field(default_factory=list)
    active_jobs: int = 0
    default_for: list[str] = field(default_factory=list)  # "detector" / "classifier" of the installation

    @property
    def used(self) -> bool:
        return bool(self.programs or self.active_jobs or self.default_for)


def models_dir(config: dict[str, Any]) -> Path:
    """Where uploaded model files live (``saola models add --copy`` uses the same folder)."""
    return Path(config["DATA_DIR"]) / "models"


def _labels(text: str | None) -> list[str]:
    labels = [ln.strip() for ln in (text or "").splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise ModelUploadError("labels", _("Each label once: {labels} repeated.", labels=", ".join(dupes[:5])))
    return labels


def check_fields(session: Session, *, name: str | None, kind: str | None, sha256: str | None,
                 labels: str | None, input_size: str | None) -> dict[str, str]:
    """Messages for the form's fields (before the file is read), keyed by field."""
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = _("This field is required.")
    elif len(name) > 64 or "@" in name or name != name.strip():
        errors["name"] = _("Use at most 64 characters, without @.")
    elif session.exec(select(MLModel.id).where(MLModel.name == name)).first():
        errors["name"] = _("A model called {name} is already registered.", name=name)
    if kind not in UPLOAD_KINDS:
        errors["kind"] = _("Choose one of the listed values.")
    digest = (sha256 or "").strip().lower()
    if not digest:
        errors["sha256"] = _("Paste the SHA-256 checksum published with the model.")
    elif not SHA256_RE.match(digest):
        errors["sha256"] = _("A SHA-256 checksum is 64 hexadecimal digits (0-9, a-f).")
    if kind == "classifier":
        try:
            if not _labels(labels):
                errors["labels"] = _("A species classifier needs its labels, one per line in the model's output order.")
        except ModelUploadError as e:
            errors[e.field] = e.message
    if input_size:
        if not input_size.isdigit() or not 8 <= int(input_size) <= 4096:
            errors["input_size"] = _("Enter a whole number of pixels from 8 to 4096.")
    return errors


def _stream_to(stream: IO[bytes], dest: Path, limit: int | None) -> tuple[str, int]:
    """Copy ``stream`` into ``dest`` in chunks; (sha256, size)."""
    h = hashlib.sha256()
    size = 0
    with open(dest, "wb") as out:
        while True:
            chunk = stream.read(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if limit is not None and size > limit:
                raise ModelUploadError("file", _("The file is larger than {mb} MiB.", mb=limit // (1024 * 1024)))
            h.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return h.hexdigest(), size


def _check_graph(path: Path, kind: str, labels: list[str], input_size: int | None) -> dict[str, Any]:
    """What the model says about itself; ModelUploadError when it cannot serve as ``kind``."""
    import onnxruntime as ort

    try:
        ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime's own error types (InvalidProtobuf, Fail, ...)
        reason = str(e).replace(str(path), "").strip(" :")[:300]
        raise ModelUploadError("file", _("This file is not a loadable ONNX model ({reason}).", reason=reason)) from None
    from classifiers.megadetector import ModelError

    if kind == "detector":
        from classifiers.megadetector import Detector

        from ..detect.registry import DEFAULT_STORE_THRESHOLD

        try:
            det = Detector(path, providers="cpu", conf_threshold=DEFAULT_STORE_THRESHOLD,
                           **({"image_size": (input_size, input_size)} if input_size else {}))
        except (ModelError, ValueError) as e:
            raise ModelUploadError("file", _("This ONNX model is not a detector Saola can run: {reason}",
                                             reason=str(e).replace(path.name, "the model"))) from None
        return {"input_shape": det.info.input_shape, "layout": det.info.layout,
                "class_names": det.info.class_names, "stride": det.info.stride}
    from classifiers.species import SpeciesClassifier

    try:
        clf = SpeciesClassifier(path, labels, **({"input_size": input_size} if input_size else {}))
    except (ModelError, ValueError) as e:
        message = str(e).replace(path.name, "the model")
        field_name = "labels" if "labels were given" in message else (
            "input_size" if "input size is dynamic" in message else "file")
        raise ModelUploadError(field_name, _("This ONNX model is not a species classifier Saola can run: {reason}",
                                             reason=message)) from None
    return {"input_size": list(clf.input_size), "layout": clf.layout, "labels": len(clf.labels)}


def upload_model(session: Session, config: dict[str, Any], stream: IO[bytes], filename: str, *, name: str,
                 kind: str, sha256: str, version: str | None = None, labels: str | None = None,
                 input_size: str | None = None, limit: int | None = None) -> MLModel:
    """Store and register an uploaded model (see the module docstring); ModelUploadError otherwise.

    The fields are expected checked with :func:`check_fields`. Nothing is left on disk or in
    the database when the upload is refused.
    """
    folder = models_dir(config)
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f".upload-{uuid.uuid4().hex}.part"
    expected = sha256.strip().lower()
    size_px = int(input_size) if input_size else None
    label_list = _labels(labels) if kind == "classifier" else []
    try:
        actual, size = _stream_to(stream, part, limit)
        if size == 0:
            raise ModelUploadError("file", _("The file is empty."))
        if actual != expected:
            raise ModelUploadError("sha256", _("The file's SHA-256 is {actual}, not the checksum given: the file is "
                                               "damaged or not the published one. Nothing was stored.", actual=actual))
        info = _check_graph(part, kind, label_list, size_px)
        safe = secure_filename(filename or "") or "model.onnx"
        dest = folder / f"{actual[:16]}-{safe}"
        if dest.exists():
            part.unlink()
        else:
            part.replace(dest)
    finally:
        if part.exists():
            part.unlink()
    cfg: dict[str, Any] = {"model_info": info, "original_name": filename, "uploaded": True}
    if kind == "classifier":
        cfg["labels"] = label_list
    if size_px:
        cfg["input_size" if kind == "classifier" else "image_size"] = (
            size_px if kind == "classifier" else [size_px, size_px])
    from ..detect.registry import add_model

    return add_model(session, dest, name, kind=kind, version=(version or "").strip() or None, config=cfg,
                     check=False)


def uploaded_by(session: Session, model_ids: list[str]) -> dict[str, str]:
    """Who registered each model, from its audit entry (the CLI's ``cli:<login>`` for `saola models add`)."""
    if not model_ids:
        return {}
    rows = session.exec(select(AuditLog.entity_id, AuditLog.actor).where(
        AuditLog.entity == "ml_model", AuditLog.action == "create", col(AuditLog.entity_id).in_(model_ids)))
    return {mid: who or "" for mid, who in rows}


def program_models(program: Program) -> set[str]:
    """Names of the models a program's settings use."""
    settings = program.settings if isinstance(program.settings, dict) else {}
    names: set[str] = set()
    for key in MODEL_SETTINGS:
        v = settings.get(key)
        if isinstance(v, str):
            names.add(v)
        elif isinstance(v, list):
            names.update(x for x in v if isinstance(x, str))
    return names


def enabled_models(program: Program) -> list[str]:
    """The models a manager may run on the program's deployments: those enabled for it, and the detector
    and classifier its settings choose."""
    settings = program.settings if isinstance(program.settings, dict) else {}
    names = list(settings.get("enabled_models") or [])
    for key in ("detector_model", "classifier_model"):
        if settings.get(key) and settings[key] not in names:
            names.append(settings[key])
    return names


def usage(session: Session, model: MLModel, config: dict[str, Any]) -> Usage:
    """The programs, waiting or running jobs and installation settings that use ``model``."""
    out = Usage()
    out.programs = [p for p in session.exec(select(Program).order_by(Program.name)) if model.name in program_models(p)]
    for job in session.exec(select(Job).where(col(Job.status).in_(("queued", "running")),
                                              col(Job.kind).in_(("detect", "classify")))):
        params = job.params if isinstance(job.params, dict) else {}
        if model.name in (params.get("model"), params.get("classifier")):
            out.active_jobs += 1
    for key, what in (("DETECTOR_MODEL", "detector"), ("CLASSIFIER_MODEL", "classifier")):
        if config.get(key) == model.name:
            out.default_for.append(what)
    return out


def set_enabled(session: Session, program: Program, model: MLModel, enabled: bool) -> bool:
    """Enable or disable ``model`` for ``program`` (audited); whether anything changed."""
    settings = dict(program.settings) if isinstance(program.settings, dict) else {}
    names = list(settings.get("enabled_models") or [])
    if enabled == (model.name in names):
        return False
    names = names + [model.name] if enabled else [n for n in names if n != model.name]
    if names:
        settings["enabled_models"] = names
    else:
        settings.pop("enabled_models", None)
    crud.update(session, program, {"settings": settings}, program.area_id, commit=False)
    return True


def delete_model(session: Session, model: MLModel, config: dict[str, Any]) -> None:
    """Delete an unused model's row (audited) and its file when Saola holds it; Conflict when in use.

    Detections the model made stay: they name it as ``name@version``.
    """
    use = usage(session, model, config)
    if use.used:
        reasons = []
        if use.programs:
            reasons.append(_("programs {names}", names=", ".join(p.name for p in use.programs[:5])))
        if use.active_jobs:
            reasons.append(_("{n} waiting or running job(s)", n=use.active_jobs))
        if use.default_for:
            reasons.append(_("the installation's default model"))
        raise Conflict(_("Model {name} is in use ({reasons}); it cannot be deleted.", name=model.name,
                         reasons="; ".join(reasons)))
    path = Path(model.file_path)
    before = audit.snapshot(model)
    session.delete(model)
    session.flush()
    audit.record(session, "delete", "ml_model", model.id, area_id=None, before=before)
    others = session.exec(select(MLModel.id).where(MLModel.file_path == model.file_path)).first()
    session.commit()
    folder = models_dir(config).resolve()
    if others is None and path.resolve().parent == folder and path.is_file():
        path.unlink()  # only files Saola copied in; a file the user registered in place stays theirs
