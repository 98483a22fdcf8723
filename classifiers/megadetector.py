"""MegaDetector (and other YOLO-family detectors) through onnxruntime.

`Detector` loads an ONNX file, reads what it can from the graph (input name
and shape, stride and class names from the metadata Ultralytics and YOLOv5
write), letterboxes images as the reference pipeline does, and returns
MegaDetector-style detections: category '1' animal, '2' person, '3' vehicle,
confidence, and a box normalised to the original image as
``[x_min, y_min, width, height]``.

Nothing here touches a database: a worker calls `Detector.detect_batch` (or
`classifiers.pipeline.detect_paths` for overlapped loading) and stores the
`ImageResult` objects it gets back.
"""

from __future__ import annotations

import ast
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from classifiers import boxes as _boxes
from classifiers.image import (ImageSource, Letterbox, decode_for_model, describe_source,
                               letterbox_geometry, letterbox_image, to_nchw_float)
from classifiers.modelfiles import verify_sha256

#: MegaDetector's detection categories (class index + 1).
MD_CATEGORIES = {"1": "animal", "2": "person", "3": "vehicle"}
#: Threshold MegaDetector uses when writing batch output files.
DEFAULT_CONF_THRESHOLD = 0.005
DEFAULT_IOU_THRESHOLD = 0.45
DEFAULT_MAX_DETECTIONS = 300
#: MegaDetector's failure strings, kept as prefixes so Timelapse etc. recognise them.
FAILURE_IMAGE_ACCESS = "Failure image access"
FAILURE_INFERENCE = "Failure inference"


class ModelError(ValueError):
    """A model file that cannot be used as a detector (bad graph, wrong input, bad metadata)."""


class InputShapeError(ValueError):
    """A tensor handed to the model does not match the model's input."""


class InferenceError(RuntimeError):
    """onnxruntime failed while running the model on a batch."""


class ProviderUnavailable(RuntimeError):
    """An onnxruntime execution provider was asked for but is not installed here."""


@dataclass(frozen=True)
class Detection:
    """One box: `category` is a key of the detector's `detection_categories`."""

    category: str
    conf: float
    bbox: tuple[float, float, float, float]  # x_min, y_min, width, height, normalised
    classifications: tuple[tuple[str, float], ...] = ()

    def to_dict(self) -> dict:
        """MegaDetector-JSON form (rounded as MegaDetector rounds)."""
        d = {"category": self.category, "conf": round(float(self.conf), 3),
             "bbox": [round(float(v), 4) for v in self.bbox]}
        if self.classifications:
            d["classifications"] = [[c, round(float(p), 3)] for c, p in self.classifications]
        return d


@dataclass
class ImageResult:
    """Detections for one image, or the reason it failed (`detections` is then None)."""

    file: str
    detections: list[Detection] | None
    failure: str | None = None
    width: int | None = None
    height: int | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def max_conf(self) -> float:
        return max((d.conf for d in self.detections or ()), default=0.0)

    def to_dict(self) -> dict:
        if self.failure is not None:
            return {"file": self.file, "failure": self.failure, "detections": None}
        return {"file": self.file, "detections": [d.to_dict() for d in self.detections]}


@dataclass
class PreparedImage:
    """A decoded, letterboxed image ready for the model (made in loader threads)."""

    file: str
    tensor: np.ndarray  # CHW float32
    letterbox: Letterbox  # from the full oriented image, even after a reduced decode
    width: int  # full oriented size of the image
    height: int
    decode_scale: int = 1  # JPEG DCT reduction the decoder used (1, 2, 4 or 8)


@dataclass
class ModelInfo:
    """What the detector learnt from the graph and its metadata."""

    input_name: str
    input_shape: list  # ints or None for dynamic axes
    output_name: str
    output_shape: list
    dynamic: bool
    image_size: tuple[int, int]  # (height, width) the long side is letterboxed to
    stride: int
    layout: str | None
    class_names: list[str]
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def detection_categories(self) -> dict[str, str]:
        return {str(i + 1): name for i, name in enumerate(self.class_names)}


def available_providers() -> list[str]:
    """Execution providers onnxruntime has here."""
    import onnxruntime as ort
    return list(ort.get_available_providers())


def resolve_providers(providers: str | Sequence[str] | None) -> list[str]:
    """Turn ``None`` / ``'cpu'`` / ``'cuda'`` / an explicit list into onnxruntime providers.

    ``None`` means CUDA when onnxruntime-gpu is installed, else CPU.  Asking for
    a provider that is not installed raises `ProviderUnavailable` saying so,
    rather than silently running on the CPU.
    """
    have = available_providers()
    if providers is None:
        wanted = ["CUDAExecutionProvider"] if "CUDAExecutionProvider" in have else []
        return wanted + ["CPUExecutionProvider"]
    if isinstance(providers, str):
        short = {"cpu": ["CPUExecutionProvider"],
                 "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"]}
        if providers.lower() not in short:
            raise ValueError(f"unknown provider {providers!r}: use 'cpu', 'cuda' or a list of "
                             f"onnxruntime provider names ({', '.join(have)})")
        providers = short[providers.lower()]
    missing = [p for p in providers if p not in have]
    if missing:
        hint = (" (CUDA needs the onnxruntime-gpu package instead of onnxruntime, "
                "and an NVIDIA driver)" if "CUDAExecutionProvider" in missing else "")
        raise ProviderUnavailable(f"onnxruntime provider(s) {', '.join(missing)} not available "
                                  f"here; available: {', '.join(have)}{hint}")
    return list(providers)


def parse_metadata_names(text: str) -> list[str]:
    """Parse class names as Ultralytics/YOLOv5 store them ("{0: 'animal', ...}", JSON, or a list)."""
    try:
        value = json.loads(text)
    except ValueError:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError) as exc:
            raise ModelError(f"model metadata 'names' is not a dict or list: {text[:80]!r}") from exc
    if isinstance(value, dict):
        try:
            items = sorted((int(k), str(v)) for k, v in value.items())
        except (TypeError, ValueError) as exc:
            raise ModelError(f"model metadata 'names' keys must be class indices: {text[:80]!r}") from exc
        if [k for k, _ in items] != list(range(len(items))):
            raise ModelError(f"model metadata 'names' indices are not 0..n-1: {text[:80]!r}")
        return [v for _, v in items]
    if isinstance(value, list):
        return [str(v) for v in value]
    raise ModelError(f"model metadata 'names' is not a dict or list: {text[:80]!r}")


def _parse_imgsz(text: str) -> tuple[int, int] | None:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    if isinstance(value, int):
        return value, value
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return int(value[0]), int(value[1])
    return None


def guess_layout(shape: Sequence, num_classes: int | None) -> str | None:
    """Guess the output layout from a ``[B, a, b]`` shape (ints, or None/str for dynamic).

    Returns None when the static shape cannot tell; the first real output decides then.
    """
    if len(shape) != 3:
        return None
    a, b = (d if isinstance(d, int) else None for d in shape[1:])
    if num_classes is not None:
        if b == 5 + num_classes:
            return _boxes.YOLOV5
        if a == 4 + num_classes:
            return _boxes.YOLOV8
    if b == 6:
        return _boxes.E2E
    if a is not None and a < 5:
        return _boxes.YOLOV5
    if a is not None and (b is None or a < b):
        return _boxes.YOLOV8
    if b is not None:
        return _boxes.YOLOV5
    return None


class Detector:
    """An ONNX YOLO-family detector with MegaDetector pre- and postprocessing.

    Parameters mirror MegaDetector's: `conf_threshold` (0.005 for output files;
    0.2 is a typical review threshold), `iou_threshold` for per-class NMS and
    `max_detections` per image.  `layout`, `image_size`, `stride` and
    `class_names` override what is read from the model.  `sha256`, when given,
    is checked before the model is loaded.  `providers`: None (CUDA if
    onnxruntime-gpu is installed, else CPU), 'cpu', 'cuda' or a list of
    onnxruntime provider names.  `draft_decode` (on by default) lets the JPEG
    decoder drop detail the letterbox discards anyway (DCT scaling: a 2048 px
    photo for a 640 px model is decoded at 1024 px, about half the loader's
    CPU); boxes still map exactly to the original, only the resampled pixels
    differ slightly from the reference pipeline's.  False decodes at full size
    as MegaDetector's own code does.
    """

    def __init__(self, model_path: str | os.PathLike, *, sha256: str | None = None,
                 providers: str | Sequence[str] | None = None, layout: str | None = None,
                 image_size: int | tuple[int, int] | None = None, stride: int | None = None,
                 class_names: Sequence[str] | None = None,
                 conf_threshold: float = DEFAULT_CONF_THRESHOLD,
                 iou_threshold: float = DEFAULT_IOU_THRESHOLD,
                 max_detections: int = DEFAULT_MAX_DETECTIONS,
                 intra_op_threads: int | None = None, allow_spinning: bool = False,
                 draft_decode: bool = True):
        import onnxruntime as ort

        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise ModelError(f"model file not found: {self.model_path}")
        if sha256 is not None:
            verify_sha256(self.model_path, sha256)
        if layout is not None and layout not in _boxes.LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(_boxes.LAYOUTS)}, got {layout!r}")
        if not 0 <= conf_threshold < 1:
            raise ValueError(f"conf_threshold must be in [0, 1), got {conf_threshold}")
        self.conf_threshold = conf_threshold
        self.iou_threshold = iou_threshold
        self.max_detections = max_detections
        self.draft_decode = draft_decode
        self.providers = resolve_providers(providers)

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if intra_op_threads:
            options.intra_op_num_threads = intra_op_threads
        # Spinning intra-op threads burn the cores that loader threads need to decode
        # the next images; without it end-to-end throughput stays near bare inference.
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if allow_spinning else "0")
        try:
            self.session = ort.InferenceSession(str(self.model_path), options, providers=self.providers)
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise ModelError(f"cannot load ONNX model {self.model_path}: {exc}") from exc
        self.info = self._read_model_info(layout, image_size, stride, class_names)

    # -- model description -------------------------------------------------
    def _read_model_info(self, layout, image_size, stride, class_names) -> ModelInfo:
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1:
            raise ModelError(f"{self.model_path.name}: a detector has one image input, "
                             f"this model has {len(inputs)}: {[i.name for i in inputs]}")
        inp = inputs[0]
        shape = [d if isinstance(d, int) else None for d in inp.shape]
        if len(shape) != 4 or shape[1] not in (3, None):
            raise ModelError(f"{self.model_path.name}: input {inp.name!r} must be NCHW with 3 "
                             f"channels ([B, 3, H, W]), model declares {inp.shape}")
        if inp.type != "tensor(float)":
            raise ModelError(f"{self.model_path.name}: input {inp.name!r} must be float32, "
                             f"model declares {inp.type}")
        out = outputs[0]
        out_shape = [d if isinstance(d, int) else None for d in out.shape]
        if len(out_shape) != 3:
            raise ModelError(f"{self.model_path.name}: first output {out.name!r} must be rank 3 "
                             f"([B, N, 5+nc], [B, 4+nc, N] or [B, K, 6]), model declares {out.shape}")
        meta = dict(self.session.get_modelmeta().custom_metadata_map)

        if class_names is None and "names" in meta:
            class_names = parse_metadata_names(meta["names"])
        if stride is None and "stride" in meta:
            try:
                stride = int(float(meta["stride"]))
            except ValueError as exc:
                raise ModelError(f"{self.model_path.name}: metadata 'stride' is not a number: "
                                 f"{meta['stride']!r}") from exc
        stride = stride or 32
        dynamic = shape[2] is None or shape[3] is None
        if not dynamic:
            size = (shape[2], shape[3])
            if image_size is not None:
                asked = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
                if asked != size:
                    raise ModelError(f"{self.model_path.name}: fixed input size {size} cannot run at {asked}")
        elif image_size is not None:
            size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        else:
            size = _parse_imgsz(meta.get("imgsz", "")) or ((1280, 1280) if stride >= 64 else (640, 640))

        nc = len(class_names) if class_names is not None else None
        if layout is None:
            layout = guess_layout(out_shape, nc)
        if class_names is None:
            nc = self._classes_from_shape(layout, out_shape)
            class_names = (list(MD_CATEGORIES.values()) if nc == 3
                           else [f"class_{i}" for i in range(nc)] if nc else [])
        return ModelInfo(inp.name, shape, out.name, out_shape, dynamic, size, stride, layout,
                         list(class_names), meta)

    @staticmethod
    def _classes_from_shape(layout, shape) -> int | None:
        if layout == _boxes.YOLOV5 and isinstance(shape[2], int):
            return shape[2] - 5
        if layout == _boxes.YOLOV8 and isinstance(shape[1], int):
            return shape[1] - 4
        return None

    @property
    def batch_size(self) -> int:
        """Images per model call by default: a fixed batch axis's size, else 1.

        On the CPU a dynamic model gains nothing from stacking images (the
        convolutions already use every core); a GPU provider takes 8 at a time.
        """
        fixed = self.info.input_shape[0]
        if fixed:
            return int(fixed)
        return 8 if self.providers[0] != "CPUExecutionProvider" else 1

    @property
    def detection_categories(self) -> dict[str, str]:
        """Category id -> name, as in MegaDetector JSON."""
        return self.info.detection_categories

    def detector_metadata(self) -> dict:
        """The ``info.detector_metadata`` block for MegaDetector JSON."""
        return {"image_size": max(self.info.image_size),
                "typical_detection_threshold": 0.2,
                "conservative_detection_threshold": 0.05}

    # -- preprocessing ---------------------------------------------------------
    def letterbox_for(self, width: int, height: int) -> Letterbox:
        """Letterbox geometry this model uses for a `width` x `height` image."""
        return letterbox_geometry(width, height, self.info.image_size, stride=self.info.stride,
                                  pad_to_stride=self.info.dynamic)

    def prepare(self, source: ImageSource, name: str | None = None) -> PreparedImage:
        """Decode and letterbox one image (safe to call from loader threads).

        With `draft_decode` a JPEG is decoded at the smallest DCT scale that still
        covers the letterboxed size; the letterbox is computed for the full image
        and the decoded pixels resized onto it, so boxes map back exactly.
        Raises `ImageDecodeError` for unreadable images.
        """
        decoded = decode_for_model(source, draft_for=self.info.image_size if self.draft_decode else None)
        full_w, full_h = decoded.full_size
        box = self.letterbox_for(full_w, full_h)
        return PreparedImage(name or describe_source(source),
                             to_nchw_float(letterbox_image(decoded.image, box, decoded.region)), box,
                             full_w, full_h, decoded.scale)

    # -- inference -------------------------------------------------------------
    def check_input(self, batch: np.ndarray) -> None:
        """Raise `InputShapeError` unless `batch` fits the model input."""
        want = self.info.input_shape
        if not isinstance(batch, np.ndarray) or batch.dtype != np.float32:
            raise InputShapeError(f"model input {self.info.input_name!r} needs a float32 array, "
                                  f"got {getattr(batch, 'dtype', type(batch).__name__)}")
        if batch.ndim != 4:
            raise InputShapeError(f"model input {self.info.input_name!r} needs [B, 3, H, W], "
                                  f"got shape {list(batch.shape)}")
        for axis, (have, need) in enumerate(zip(batch.shape, want)):
            if need is not None and have != need:
                raise InputShapeError(
                    f"model input {self.info.input_name!r} is {want} (None = dynamic), got "
                    f"{list(batch.shape)}: axis {axis} is {have}, must be {need}")
        if self.info.dynamic and (batch.shape[2] % self.info.stride or batch.shape[3] % self.info.stride):
            raise InputShapeError(f"model input {self.info.input_name!r}: height and width must be "
                                  f"multiples of the stride {self.info.stride}, got {list(batch.shape)}")

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """Run the model on an NCHW float32 batch and return its raw first output."""
        self.check_input(batch)
        try:
            out = self.session.run([self.info.output_name], {self.info.input_name: batch})[0]
        except MemoryError:
            raise
        except Exception as exc:  # onnxruntime's errors derive from Exception only
            raise InferenceError(f"{self.model_path.name}: inference failed for input "
                                 f"{list(batch.shape)}: {exc}") from exc
        if out.ndim != 3 or out.shape[0] != batch.shape[0]:
            raise ModelError(f"{self.model_path.name}: output {self.info.output_name!r} has shape "
                             f"{list(out.shape)} for a batch of {batch.shape[0]}")
        if self.info.layout is None:
            self.info.layout = guess_layout(list(out.shape), len(self.info.class_names) or None)
            if not self.info.class_names:
                nc = self._classes_from_shape(self.info.layout, list(out.shape)) or 0
                self.info.class_names = (list(MD_CATEGORIES.values()) if nc == 3
                                         else [f"class_{i}" for i in range(nc)])
        return out

    def postprocess(self, output: np.ndarray, box: Letterbox) -> list[Detection]:
        """Decode one image's raw output into detections on the original image, best first."""
        boxes, scores, classes = _boxes.DECODERS[self.info.layout](output, self.conf_threshold)
        if self.info.layout == _boxes.E2E:
            keep = np.argsort(-scores, kind="stable")[:self.max_detections]
        else:
            keep = _boxes.nms(boxes, scores, classes, iou_threshold=self.iou_threshold,
                              max_detections=self.max_detections)
        if not len(keep):
            return []
        xyxy = box.to_original(boxes[keep])
        w, h = box.orig_width, box.orig_height
        dets = []
        for (x1, y1, x2, y2), conf, cls in zip(xyxy.tolist(), scores[keep].tolist(), classes[keep].tolist()):
            if x2 <= x1 or y2 <= y1:
                continue  # entirely in the padding: nothing of it is in the image
            dets.append(Detection(str(int(cls) + 1), float(conf),
                                  (x1 / w, y1 / h, (x2 - x1) / w, (y2 - y1) / h)))
        return dets

    def run_prepared(self, items: Sequence[PreparedImage]) -> list[ImageResult]:
        """Infer and postprocess prepared images (`infer_prepared` then `finish`)."""
        return [self.finish(item, raw) for item, raw in zip(items, self.infer_prepared(items))]

    def infer_prepared(self, items: Sequence[PreparedImage]) -> list[np.ndarray | ImageResult]:
        """Raw model output for each prepared image, batching images of equal input shape.

        An inference error fails only the images it concerns (a failing batch is
        retried image by image): their entry is a failed `ImageResult`.  Hand
        each entry to `finish`, possibly in another thread, so postprocessing
        overlaps the next inference.
        """
        raws: list = [None] * len(items)
        static_batch = self.info.input_shape[0]
        groups: dict[tuple, list[int]] = {}
        for i, item in enumerate(items):
            groups.setdefault(item.tensor.shape, []).append(i)
        for idx in groups.values():
            step = static_batch or len(idx)
            for start in range(0, len(idx), step):
                self._infer_chunk(items, idx[start:start + step], raws)
        return raws

    def _infer_chunk(self, items, chunk, raws) -> None:
        batch = np.stack([items[i].tensor for i in chunk])
        fixed = self.info.input_shape[0]
        if fixed and len(chunk) < fixed:
            # A fixed batch axis (models exported with batch 4, 8...): pad the last,
            # short batch with blank images and drop their outputs.
            batch = np.concatenate([batch, np.zeros((fixed - len(chunk), *batch.shape[1:]), batch.dtype)])
        try:
            out = self.infer(batch)
        except (InputShapeError, ModelError, InferenceError, ValueError) as exc:
            if len(chunk) > 1:
                for i in chunk:
                    self._infer_chunk(items, [i], raws)
                return
            item = items[chunk[0]]
            raws[chunk[0]] = ImageResult(item.file, None, f"{FAILURE_INFERENCE}: {exc}",
                                         item.width, item.height)
            return
        for j, i in enumerate(chunk):
            raws[i] = out[j]

    def finish(self, item: PreparedImage, raw: np.ndarray | ImageResult) -> ImageResult:
        """Postprocess one image's raw output from `infer_prepared` into its `ImageResult`."""
        if isinstance(raw, ImageResult):
            return raw
        try:
            detections = self.postprocess(raw, item.letterbox)
        except ValueError as exc:  # output not decodable in this layout
            return ImageResult(item.file, None, f"{FAILURE_INFERENCE}: {exc}", item.width, item.height)
        return ImageResult(item.file, detections, None, item.width, item.height)

    def detect(self, source: ImageSource, name: str | None = None) -> ImageResult:
        """Detect in one image; a corrupt image gives a result with `failure` set."""
        return self.detect_batch([source], names=[name] if name else None)[0]

    def detect_batch(self, sources: Sequence[ImageSource],
                     names: Sequence[str] | None = None) -> list[ImageResult]:
        """Detect in several images (batched where shapes allow), one result per source, in order."""
        if names is not None and len(names) != len(sources):
            raise ValueError(f"{len(names)} names for {len(sources)} images")
        prepared, results = [], [None] * len(sources)
        for i, src in enumerate(sources):
            name = names[i] if names else None
            try:
                prepared.append((i, self.prepare(src, name)))
            except ValueError as exc:  # ImageDecodeError, or an image with no pixels
                results[i] = failed_result(name or describe_source(src), exc)
        for (i, _), res in zip(prepared, self.run_prepared([p for _, p in prepared])):
            results[i] = res
        return results  # type: ignore[return-value]


def failed_result(name: str, exc: Exception) -> ImageResult:
    """The `ImageResult` for an image that could not be read."""
    return ImageResult(name, None, f"{FAILURE_IMAGE_ACCESS}: {exc}")

