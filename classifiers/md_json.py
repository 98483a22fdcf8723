"""MegaDetector batch-output JSON (format 1.6): write and read with validation.

This is the interchange format of MegaDetector's ``run_detector_batch``,
Timelapse and AddaxAI.  `write_results` produces it from `ImageResult`s;
`read_results` parses a file written by Saola or by the official MegaDetector
on another machine and checks every field it relies on, naming the image and
field when something is wrong.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Mapping

from classifiers.megadetector import MD_CATEGORIES, Detection, ImageResult

FORMAT_VERSION = "1.6"


class MDJsonError(ValueError):
    """A MegaDetector results file that is not valid; the message names file and field."""


@dataclass
class MDBatch:
    """The content of a MegaDetector results file."""

    images: list[ImageResult]
    detection_categories: dict[str, str] = field(default_factory=lambda: dict(MD_CATEGORIES))
    classification_categories: dict[str, str] | None = None
    classification_category_descriptions: dict[str, str] | None = None
    info: dict = field(default_factory=dict)

    @property
    def format_version(self) -> str:
        return str(self.info.get("format_version", ""))


def completion_time(when: datetime | None = None) -> str:
    """Timestamp in MegaDetector's style ("YYYY-MM-DD HH:MM:SS", UTC here)."""
    return (when or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M:%S")


def to_dict(batch: MDBatch) -> dict:
    """The JSON-ready dict of a batch (info gets format_version 1.6 if missing)."""
    info = {"format_version": FORMAT_VERSION, **batch.info}
    out = {"info": info, "detection_categories": dict(batch.detection_categories)}
    if batch.classification_categories is not None:
        out["classification_categories"] = dict(batch.classification_categories)
    if batch.classification_category_descriptions is not None:
        out["classification_category_descriptions"] = dict(batch.classification_category_descriptions)
    out["images"] = [img.to_dict() for img in batch.images]
    return out


def write_results(path: str | os.PathLike, results: Iterable[ImageResult], *,
                  detector: str, detection_categories: Mapping[str, str] = MD_CATEGORIES,
                  detector_metadata: Mapping | None = None,
                  classification_categories: Mapping[str, str] | None = None,
                  classifier: str | None = None, extra_info: Mapping | None = None,
                  completed: datetime | None = None) -> Path:
    """Write a MegaDetector results file atomically (temp file + rename) and return its path.

    `detector` is the model file's base name (e.g. ``md_v5a.0.0.onnx``): tools
    such as Timelapse pick default thresholds from it.
    """
    info: dict = {"format_version": FORMAT_VERSION, "detector": detector,
                  "detection_completion_time": completion_time(completed)}
    if detector_metadata is not None:
        info["detector_metadata"] = dict(detector_metadata)
    if classifier is not None:
        info["classifier"] = classifier
        info["classification_completion_time"] = info["detection_completion_time"]
    info.update(extra_info or {})
    batch = MDBatch(list(results), dict(detection_categories),
                    dict(classification_categories) if classification_categories is not None else None,
                    info=info)
    data = to_dict(batch)
    validate(data, source=str(path))  # never write what we would refuse to read
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, ensure_ascii=False)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def read_results(path: str | os.PathLike) -> MDBatch:
    """Read and validate a MegaDetector results file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise MDJsonError(f"{path}: file not found") from exc
    except UnicodeDecodeError as exc:
        raise MDJsonError(f"{path}: not UTF-8 text ({exc})") from exc
    return parse(text, source=str(path))


def parse(text: str, *, source: str = "<string>") -> MDBatch:
    """Parse MegaDetector JSON text (see `read_results`)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MDJsonError(f"{source}: malformed JSON at line {exc.lineno} column {exc.colno}: "
                          f"{exc.msg}") from exc
    validate(data, source=source)
    images = []
    for im in data["images"]:
        failure = im.get("failure")
        if failure is not None:
            images.append(ImageResult(im["file"], None, failure))
            continue
        dets = [Detection(d["category"], float(d["conf"]), tuple(float(v) for v in d["bbox"]),
                          tuple((c, float(p)) for c, p in d.get("classifications") or ()))
                for d in im["detections"]]
        images.append(ImageResult(im["file"], dets))
    return MDBatch(images, dict(data["detection_categories"]),
                   data.get("classification_categories"),
                   data.get("classification_category_descriptions"), dict(data["info"]))


def _category_map(value, where: str) -> None:
    if not isinstance(value, dict):
        raise MDJsonError(f"{where} must be an object mapping category ids to names")
    for k, v in value.items():
        if not (isinstance(k, str) and k.isdigit()):
            raise MDJsonError(f"{where}: category id {k!r} is not a non-negative integer string")
        if not isinstance(v, str) or not v.strip():
            raise MDJsonError(f"{where}[{k!r}]: category name must be a non-blank string")


def _number(value, where: str, lo: float = -math.inf, hi: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise MDJsonError(f"{where} must be a number, got {value!r}")
    if not lo <= value <= hi:
        raise MDJsonError(f"{where} = {value} is outside [{lo}, {hi}]")
    return float(value)


# Rounding to 4 decimals can push x+w a hair past 1.
_BBOX_SLACK = 1e-3


def validate(data, *, source: str = "<data>") -> None:
    """Raise `MDJsonError` unless `data` is a valid MegaDetector results dict."""
    if not isinstance(data, dict):
        raise MDJsonError(f"{source}: top level must be an object, got {type(data).__name__}")
    for key in ("info", "detection_categories", "images"):
        if key not in data:
            raise MDJsonError(f"{source}: missing required key {key!r}")
    info = data["info"]
    if not isinstance(info, dict):
        raise MDJsonError(f"{source}: 'info' must be an object")
    if "format_version" not in info:
        raise MDJsonError(f"{source}: info.format_version is required")
    try:
        float(str(info["format_version"]))
    except ValueError:
        raise MDJsonError(f"{source}: info.format_version must be a number string, "
                          f"got {info['format_version']!r}") from None
    _category_map(data["detection_categories"], f"{source}: detection_categories")
    det_cats = data["detection_categories"]
    cls_cats = data.get("classification_categories")
    if cls_cats is not None:
        _category_map(cls_cats, f"{source}: classification_categories")
    descriptions = data.get("classification_category_descriptions")
    if descriptions is not None:
        _category_map(descriptions, f"{source}: classification_category_descriptions")
        if cls_cats is None or set(descriptions) != set(cls_cats):
            raise MDJsonError(f"{source}: classification_category_descriptions must have the "
                              "same ids as classification_categories")
    images = data["images"]
    if not isinstance(images, list):
        raise MDJsonError(f"{source}: 'images' must be a list")
    for n, im in enumerate(images):
        where = f"{source}: images[{n}]"
        if not isinstance(im, dict):
            raise MDJsonError(f"{where} must be an object")
        if not isinstance(im.get("file"), str) or not im["file"]:
            raise MDJsonError(f"{where}: 'file' is required and must be a non-empty string")
        where = f"{source}: images[{n}] ({im['file']})"
        failure = im.get("failure")
        dets = im.get("detections")
        if failure is not None:
            if not isinstance(failure, str):
                raise MDJsonError(f"{where}: 'failure' must be a string or null")
            if dets:
                raise MDJsonError(f"{where}: a failed image must not carry detections")
            continue
        if not isinstance(dets, list):
            raise MDJsonError(f"{where}: 'detections' must be a list for a processed image "
                              "(empty when nothing was detected)")
        for k, d in enumerate(dets):
            _validate_detection(d, f"{where}.detections[{k}]", det_cats, cls_cats)


def _validate_detection(d, where, det_cats, cls_cats) -> None:
    if not isinstance(d, dict):
        raise MDJsonError(f"{where} must be an object")
    for key in ("category", "conf", "bbox"):
        if key not in d:
            raise MDJsonError(f"{where}: missing {key!r}")
    if d["category"] not in det_cats:
        raise MDJsonError(f"{where}: category {d['category']!r} is not in detection_categories")
    _number(d["conf"], f"{where}.conf", 0, 1)
    bbox = d["bbox"]
    if not isinstance(bbox, list) or len(bbox) != 4:
        raise MDJsonError(f"{where}.bbox must be [x_min, y_min, width, height], got {bbox!r}")
    x, y, w, h = (_number(v, f"{where}.bbox[{i}]", 0, 1) for i, v in enumerate(bbox))
    if x + w > 1 + _BBOX_SLACK or y + h > 1 + _BBOX_SLACK:
        raise MDJsonError(f"{where}.bbox {bbox} extends past the image (x+width or y+height > 1)")
    cls = d.get("classifications")
    if cls is None:
        return
    if cls_cats is None:
        raise MDJsonError(f"{where}: has classifications but the file has no classification_categories")
    if not isinstance(cls, list):
        raise MDJsonError(f"{where}.classifications must be a list of [category, conf] pairs")
    last = math.inf
    for j, pair in enumerate(cls):
        if not (isinstance(pair, list) and len(pair) == 2):
            raise MDJsonError(f"{where}.classifications[{j}] must be [category, conf], got {pair!r}")
        if pair[0] not in cls_cats:
            raise MDJsonError(f"{where}.classifications[{j}]: category {pair[0]!r} is not in "
                              "classification_categories")
        p = _number(pair[1], f"{where}.classifications[{j}][1]", 0, 1)
        if p > last:
            raise MDJsonError(f"{where}.classifications must be in descending order of confidence")
        last = p
