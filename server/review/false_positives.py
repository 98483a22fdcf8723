"""Repeated false positives: the same box in the same place across many images.

A branch or a rock that the detector takes for an animal yields nearly the
same box on every trigger of a camera. Boxes of one deployment are grouped
greedily: a box joins a group when its IoU with the group's first box exceeds
the threshold (boxes are bucketed by centre on a grid so each box is compared
with nearby groups only). Groups that appear on at least ``min_images``
distinct images are offered for bulk dismissal.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from sqlmodel import Session, select

from ..models import Detection, Media
from .queue import HUMAN_MODEL

GRID = 10  # centre buckets per axis; a box is compared with groups in the 3x3 neighbourhood


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union of two (x, y, width, height) boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


@dataclass
class RepeatedBox:
    """A group of near-identical boxes of one deployment."""

    anchor: tuple[float, float, float, float]
    category: str
    detection_ids: list[str] = field(default_factory=list)
    media_ids: set[str] = field(default_factory=set)
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)

    def as_dict(self, samples: int = 6) -> dict:
        med = [statistics.median(b[i] for b in self.boxes) for i in range(4)]
        return {"bbox": [round(v, 4) for v in med], "category": self.category,
                "images": len(self.media_ids), "detections": len(self.detection_ids),
                "mean_confidence": round(statistics.fmean(self.confidences), 3),
                "detection_ids": self.detection_ids, "sample_media_ids": sorted(self.media_ids)[:samples]}


def _bucket(box) -> tuple[int, int]:
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    return min(GRID - 1, int(cx * GRID)), min(GRID - 1, int(cy * GRID))


def group_boxes(rows, iou_threshold: float = 0.8) -> list[RepeatedBox]:
    """Group (id, media_id, category, confidence, x, y, w, h) rows into repeated boxes."""
    grid: dict[tuple[int, int], list[RepeatedBox]] = {}
    groups: list[RepeatedBox] = []
    for det_id, media_id, category, conf, x, y, w, h in rows:
        box = (x, y, w, h)
        bx, by = _bucket(box)
        best, best_iou = None, iou_threshold
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for g in grid.get((bx + dx, by + dy), ()):
                    if g.category != category:
                        continue
                    v = iou(g.anchor, box)
                    if v > best_iou:
                        best, best_iou = g, v
        if best is None:
            best = RepeatedBox(anchor=box, category=category)
            groups.append(best)
            grid.setdefault((bx, by), []).append(best)
        best.detection_ids.append(det_id)
        best.media_ids.add(media_id)
        best.boxes.append(box)
        best.confidences.append(conf)
    return groups


def find_repeated(session: Session, deployment_id: str, *, min_images: int = 5,
                  iou_threshold: float = 0.8) -> list[dict]:
    """Repeated boxes of a deployment's live machine detections, biggest first."""
    if not 0 < iou_threshold < 1:
        from ..errors import ValidationError

        raise ValidationError(f"iou must be between 0 and 1, got {iou_threshold}",
                              details=[{"field": "iou", "message": "out of range"}])
    rows = session.exec(
        select(Detection.id, Detection.media_id, Detection.category, Detection.confidence, Detection.bbox_x,
               Detection.bbox_y, Detection.bbox_width, Detection.bbox_height)
        .join(Media, Media.id == Detection.media_id)
        .where(Media.deployment_id == deployment_id, Detection.dismissed.is_(False),
               Detection.model != HUMAN_MODEL, Detection.bbox_x.is_not(None))
        .order_by(Media.captured_at, Detection.id)).all()
    groups = [g for g in group_boxes(rows, iou_threshold) if len(g.media_ids) >= min_images]
    groups.sort(key=lambda g: -len(g.media_ids))
    return [g.as_dict() for g in groups]
