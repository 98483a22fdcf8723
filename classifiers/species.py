"""Species classification of detection crops, and a SpeciesNet-style ensemble.

`SpeciesClassifier` runs an ONNX image classifier over the boxes a detector
found (input size, NCHW/NHWC, mean/std and the label file are configurable).
`ensemble` combines detector and classifier the way SpeciesNet does:

* thresholds decide blank / human / vehicle / animal from the detector;
* a species is only claimed when the classifier is confident enough; otherwise
  scores are summed up the taxonomy (genus, family, order...) and the most
  specific taxon whose summed score passes the threshold is reported;
* a geofence restricts predictions to the protected area's species list:
  a species not on the list hands its score to its nearest ancestor that is
  on the list (or has listed descendants), or to "animal".

Everything is a pure function of arrays and dicts: no database.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
from PIL import Image

from classifiers.megadetector import (MD_CATEGORIES, Detection, ModelError, resolve_providers)
from classifiers.modelfiles import verify_sha256

ANIMAL, BLANK, HUMAN, VEHICLE = "animal", "blank", "human", "vehicle"
#: Labels with a meaning outside the taxonomy (a classifier may predict them too).
SPECIAL_LABELS = frozenset({BLANK, HUMAN, VEHICLE, ANIMAL})
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def load_labels(source: str | os.PathLike | Sequence[str]) -> list[str]:
    """Labels from a list, a JSON list file, or a text file with one label per line."""
    if not isinstance(source, (str, os.PathLike)):
        labels = [str(x) for x in source]
    else:
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise FileNotFoundError(f"label file not found: {path}") from None
        if path.suffix.lower() == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: malformed JSON label list: {exc.msg}") from exc
            if not isinstance(data, list):
                raise ValueError(f"{path}: JSON label file must hold a list of labels")
            labels = [str(x) for x in data]
        else:
            labels = [line.strip() for line in text.splitlines() if line.strip()]
    if not labels:
        raise ValueError("label list is empty")
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise ValueError(f"duplicate labels: {', '.join(dupes)}")
    return labels


def crop_box(image: Image.Image, bbox: Sequence[float], *, margin: float = 0.05,
             square: bool = False) -> Image.Image:
    """Crop a normalised ``[x, y, w, h]`` box, widened by `margin` of its size on each side.

    With `square` the crop is widened to a square around the box centre (as
    MegaClassifier-style crops are), clipped to the image.
    """
    W, H = image.size
    x, y, w, h = (float(v) for v in bbox)
    x1, y1, x2, y2 = x * W, y * H, (x + w) * W, (y + h) * H
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    x1, y1, x2, y2 = x1 - mx, y1 - my, x2 + mx, y2 + my
    if square:
        side = max(x2 - x1, y2 - y1)
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        x1, x2, y1, y2 = cx - side / 2, cx + side / 2, cy - side / 2, cy + side / 2
    box = (max(0, int(np.floor(x1))), max(0, int(np.floor(y1))),
           min(W, int(np.ceil(x2))), min(H, int(np.ceil(y2))))
    if box[2] <= box[0] or box[3] <= box[1]:
        raise ValueError(f"box {list(bbox)} has no pixels in a {W}x{H} image")
    return image.crop(box)


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class SpeciesClassifier:
    """An ONNX classifier over detection crops.

    `labels`: list, JSON list file or text file (one per line), in the model's
    output order.  `input_size` and `layout` ('NCHW'/'NHWC') are read from the
    model when static; pass them for dynamic models.  Pixels are scaled to
    [0, 1] then normalised with `mean`/`std` (ImageNet's by default; pass
    ``mean=(0, 0, 0), std=(1, 1, 1)`` for models that expect plain [0, 1]).
    `outputs` is 'auto' (softmax unless rows already are probabilities),
    'logits' or 'probabilities'.
    """

    def __init__(self, model_path: str | os.PathLike, labels, *, input_size: int | tuple[int, int] | None = None,
                 layout: str | None = None, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD, margin: float = 0.05, square: bool = False,
                 outputs: str = "auto", sha256: str | None = None, providers=None):
        import onnxruntime as ort

        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise ModelError(f"classifier model file not found: {self.model_path}")
        if sha256 is not None:
            verify_sha256(self.model_path, sha256)
        if outputs not in ("auto", "logits", "probabilities"):
            raise ValueError(f"outputs must be 'auto', 'logits' or 'probabilities', got {outputs!r}")
        self.labels = load_labels(labels)
        self.margin, self.square, self.outputs = margin, square, outputs
        self.mean = np.asarray(mean, np.float32).reshape(3)
        self.std = np.asarray(std, np.float32).reshape(3)
        if (self.std <= 0).any():
            raise ValueError(f"std must be positive, got {list(std)}")
        try:
            self.session = ort.InferenceSession(str(self.model_path), providers=resolve_providers(providers))
        except Exception as exc:
            raise ModelError(f"cannot load ONNX classifier {self.model_path}: {exc}") from exc
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        shape = [d if isinstance(d, int) else None for d in inp.shape]
        if len(shape) != 4:
            raise ModelError(f"{self.model_path.name}: input {inp.name!r} must be an image batch "
                             f"(rank 4), model declares {inp.shape}")
        if layout is None:
            layout = "NCHW" if shape[1] == 3 else "NHWC" if shape[3] == 3 else None
            if layout is None:
                raise ModelError(f"{self.model_path.name}: cannot tell NCHW from NHWC in {inp.shape}; "
                                 "pass layout='NCHW' or 'NHWC'")
        if layout not in ("NCHW", "NHWC"):
            raise ValueError(f"layout must be 'NCHW' or 'NHWC', got {layout!r}")
        self.layout = layout
        hw = shape[2:4] if layout == "NCHW" else shape[1:3]
        if input_size is None:
            if None in hw:
                raise ModelError(f"{self.model_path.name}: input size is dynamic; pass input_size")
            input_size = (hw[0], hw[1])
        self.input_size = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
        n_out = self.session.get_outputs()[0].shape[-1]
        if isinstance(n_out, int) and n_out != len(self.labels):
            raise ModelError(f"{self.model_path.name} outputs {n_out} scores but {len(self.labels)} "
                             "labels were given")

    @property
    def classification_categories(self) -> dict[str, str]:
        """Category id -> label, for MegaDetector JSON."""
        return {str(i): label for i, label in enumerate(self.labels)}

    def preprocess(self, crops: Sequence[Image.Image]) -> np.ndarray:
        """Resize crops to the input size and normalise into one batch array."""
        h, w = self.input_size
        batch = np.stack([np.asarray(c.convert("RGB").resize((w, h), Image.BILINEAR), np.float32)
                          for c in crops])
        batch = (batch / 255.0 - self.mean) / self.std
        if self.layout == "NCHW":
            batch = batch.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(batch, dtype=np.float32)

    def classify_crops(self, crops: Sequence[Image.Image]) -> np.ndarray:
        """Probabilities ``[n_crops, n_labels]``."""
        if not crops:
            return np.zeros((0, len(self.labels)), np.float32)
        out = np.asarray(self.session.run(None, {self.input_name: self.preprocess(crops)})[0], np.float32)
        if out.ndim != 2 or out.shape[1] != len(self.labels):
            raise ModelError(f"{self.model_path.name}: output shape {list(out.shape)} does not match "
                             f"{len(self.labels)} labels")
        if self.outputs == "logits" or (self.outputs == "auto" and not _are_probabilities(out)):
            out = softmax(out)
        return out

    def classify_detections(self, image: Image.Image, detections: Sequence[Detection], *,
                            categories: Iterable[str] = ("1",), min_conf: float = 0.0
                            ) -> list[dict[str, float] | None]:
        """Label -> probability for each detection whose category is in `categories`
        (MegaDetector's '1' animal by default) and conf >= `min_conf`; None for the others."""
        wanted = set(categories)
        picked = [i for i, d in enumerate(detections) if d.category in wanted and d.conf >= min_conf]
        probs = self.classify_crops([crop_box(image, detections[i].bbox, margin=self.margin,
                                              square=self.square) for i in picked])
        out: list[dict[str, float] | None] = [None] * len(detections)
        for row, i in zip(probs, picked):
            out[i] = dict(zip(self.labels, row.tolist()))
        return out

    def top_classifications(self, scores: Mapping[str, float], k: int = 5) -> tuple[tuple[str, float], ...]:
        """Best `k` as MegaDetector ``classifications`` pairs (category id, conf), descending."""
        index = {label: str(i) for i, label in enumerate(self.labels)}
        best = sorted(scores.items(), key=lambda kv: -kv[1])[:k]
        return tuple((index[label], float(p)) for label, p in best)


def _are_probabilities(out: np.ndarray) -> bool:
    return bool((out >= 0).all() and (out <= 1).all() and np.allclose(out.sum(1), 1, atol=1e-3))


# ------------------------------------------------------------------------------------
# Taxonomy, roll-up and geofence
# ------------------------------------------------------------------------------------

class Taxonomy:
    """Parent links between taxa, from ``label -> ancestors (nearest first)``.

    Every lineage ends at "animal", added when a chain does not end there.
    Example: ``{"Muntiacus vuquangensis": ["Muntiacus", "Cervidae", "Artiodactyla", "Mammalia"]}``.
    """

    def __init__(self, chains: Mapping[str, Sequence[str]]):
        self.parent: dict[str, str] = {}
        for label, ancestors in chains.items():
            lineage = [label, *ancestors]
            if lineage[-1] != ANIMAL:
                lineage.append(ANIMAL)
            for child, parent in zip(lineage, lineage[1:]):
                if child == parent:
                    raise ValueError(f"taxonomy: {child!r} is its own parent")
                known = self.parent.setdefault(child, parent)
                if known != parent:
                    raise ValueError(f"taxonomy: {child!r} has two parents, {known!r} and {parent!r}")

    @classmethod
    def from_descriptions(cls, descriptions: Mapping[str, str]) -> "Taxonomy":
        """From SpeciesNet/MegaDetector ``"class;order;family;genus;species"`` strings,
        keyed by label (blank ranks are skipped)."""
        chains = {}
        for label, text in descriptions.items():
            ranks = [r.strip() for r in text.split(";") if r.strip()]
            ancestors = [r for r in reversed(ranks) if r != label]
            chains[label] = ancestors
        return cls(chains)

    def __contains__(self, taxon: str) -> bool:
        return taxon in self.parent or taxon == ANIMAL

    def lineage(self, taxon: str) -> list[str]:
        """`taxon` and its ancestors up to "animal"; unknown taxa sit directly under "animal"."""
        # Every chain ends at "animal" and parents are unique, so this terminates.
        out = [taxon]
        while out[-1] != ANIMAL:
            out.append(self.parent.get(out[-1], ANIMAL))
        return out

    def depth(self, taxon: str) -> int:
        """Number of ancestors (0 for "animal"): larger is more specific."""
        return len(self.lineage(taxon)) - 1


def geofence(scores: Mapping[str, float], taxonomy: Taxonomy, allowed: Iterable[str]) -> dict[str, float]:
    """Move the score of each taxon not allowed in the area to its nearest allowed ancestor.

    A taxon is allowed if it is listed or is an ancestor of a listed taxon (a
    genus with a listed species occurs there).  With no allowed ancestor the
    score goes to "animal".  Special labels (blank, human, vehicle) pass through.
    """
    allowed_taxa = {ANIMAL}
    for taxon in allowed:
        allowed_taxa.update(taxonomy.lineage(taxon))
    out: dict[str, float] = defaultdict(float)
    for label, p in scores.items():
        if label in SPECIAL_LABELS or label in allowed_taxa:
            out[label] += p
        else:
            out[next(t for t in taxonomy.lineage(label) if t in allowed_taxa)] += p
    return dict(out)


@dataclass(frozen=True)
class Prediction:
    """A label with its score and where it came from.

    `source`: 'detector' (blank/human/vehicle/animal from boxes alone),
    'classifier' (a label the classifier itself predicted), 'rollup' (a
    higher taxon reached by summing scores) or 'geofence' (moved up because the
    species is not on the area's list).
    """

    label: str
    score: float
    source: str


def rollup(scores: Mapping[str, float], taxonomy: Taxonomy, threshold: float,
           allowed: Iterable[str] | None = None) -> Prediction:
    """The most specific taxon whose summed score reaches `threshold` (see module docstring).

    Only taxonomic labels take part; "animal" is the answer of last resort.
    """
    original = {k: v for k, v in scores.items() if k not in SPECIAL_LABELS or k == ANIMAL}
    fenced = geofence(original, taxonomy, allowed) if allowed is not None else original
    total: dict[str, float] = defaultdict(float)
    for label, p in fenced.items():
        for taxon in taxonomy.lineage(label):
            total[taxon] += p
    passing = [t for t, p in total.items() if p >= threshold] or [ANIMAL]
    best = max(passing, key=lambda t: (taxonomy.depth(t), total.get(t, 0.0)))
    top = max(original, key=original.get) if original else ANIMAL
    if best in fenced and original.get(best, 0.0) >= threshold:
        source = "classifier"
    elif allowed is not None and top not in fenced and best in taxonomy.lineage(top):
        source = "geofence"  # the classifier's favourite is not on the area's list
    else:
        source = "rollup"
    return Prediction(best, float(total.get(best, 0.0)), source)


@dataclass(frozen=True)
class EnsemblePolicy:
    """Thresholds of the ensemble.  Detector thresholds are MegaDetector confidences;
    `classification_threshold` applies to (summed) classifier scores."""

    animal_threshold: float = 0.2
    human_threshold: float = 0.2
    vehicle_threshold: float = 0.2
    classification_threshold: float = 0.65


@dataclass(frozen=True)
class EnsembleResult:
    """Image-level prediction plus one per detection (None below the detector thresholds)."""

    image: Prediction
    detections: list[Prediction | None] = field(default_factory=list)


def ensemble(detections: Sequence[Detection], crop_scores: Sequence[Mapping[str, float] | None] | None,
             taxonomy: Taxonomy, *, policy: EnsemblePolicy = EnsemblePolicy(),
             allowed: Iterable[str] | None = None,
             detection_categories: Mapping[str, str] = MD_CATEGORIES) -> EnsembleResult:
    """Combine detector boxes and classifier scores into predictions.

    Image priority: human, then animal, then vehicle, then blank, so that an
    image with a person is always treated as one (privacy).  For an animal box
    the classifier's special labels win if confident (e.g. it says "human"),
    otherwise the scores are rolled up (with the geofence if `allowed`).
    """
    allowed = list(allowed) if allowed is not None else None
    crop_scores = list(crop_scores) if crop_scores is not None else [None] * len(detections)
    if len(crop_scores) != len(detections):
        raise ValueError(f"{len(crop_scores)} classifier results for {len(detections)} detections")
    thresholds = {ANIMAL: policy.animal_threshold, "person": policy.human_threshold,
                  VEHICLE: policy.vehicle_threshold}
    per_box: list[Prediction | None] = []
    for det, scores in zip(detections, crop_scores):
        kind = detection_categories.get(det.category, "")
        if kind not in thresholds or det.conf < thresholds[kind]:
            per_box.append(None)
        elif kind == "person":
            per_box.append(Prediction(HUMAN, det.conf, "detector"))
        elif kind == VEHICLE:
            per_box.append(Prediction(VEHICLE, det.conf, "detector"))
        elif not scores:
            per_box.append(Prediction(ANIMAL, det.conf, "detector"))
        else:
            special = [(k, v) for k, v in scores.items() if k in (HUMAN, VEHICLE) and
                       v >= policy.classification_threshold]
            if special:
                label, p = max(special, key=lambda kv: kv[1])
                per_box.append(Prediction(label, p, "classifier"))
            else:
                per_box.append(rollup(scores, taxonomy, policy.classification_threshold, allowed))

    def best_of(label_filter):
        found = [(d.conf, p) for d, p in zip(detections, per_box) if p is not None and label_filter(p.label)]
        return max(found, key=lambda cp: cp[0])[1] if found else None

    image = (best_of(lambda lab: lab == HUMAN)
             or best_of(lambda lab: lab not in (HUMAN, VEHICLE))
             or best_of(lambda lab: lab == VEHICLE))
    if image is None:
        top = max((d.conf for d in detections), default=0.0)
        image = Prediction(BLANK, 1.0 - top, "detector")
    return EnsembleResult(image, per_box)
