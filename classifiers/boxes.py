"""Decoding of YOLO-family detector outputs and non-maximum suppression, in numpy.

Three output layouts are in use among camera-trap detectors:

* ``yolov5``: ``[B, N, 5 + nc]`` rows of centre-x, centre-y, width, height (input
  pixels), objectness, per-class scores (MDv5a/b, MDv1000-redwood/spruce);
* ``yolov8``: ``[B, 4 + nc, N]`` columns of centre-x, centre-y, width, height,
  per-class scores, no objectness (Ultralytics YOLOv8/9/11 exports);
* ``e2e``: ``[B, K, 6]`` rows of x1, y1, x2, y2, score, class, NMS already done
  inside the graph (end-to-end exports).

Every decoder returns ``(boxes_xyxy [M,4], scores [M], classes [M])`` for one
image, already filtered by the confidence threshold.
"""

from __future__ import annotations

import numpy as np

YOLOV5, YOLOV8, E2E = "yolov5", "yolov8", "e2e"
LAYOUTS = (YOLOV5, YOLOV8, E2E)

#: Class offset for batched per-class NMS; larger than any input side.
_MAX_WH = 7680.0
#: Like the reference, only the best this-many candidates enter NMS.
MAX_NMS_CANDIDATES = 30000
#: Up to this many candidates, one IoU matrix beats shrinking the candidate list per kept box.
_MATRIX_NMS_MAX = 2048


def xywh_to_xyxy(xywh: np.ndarray) -> np.ndarray:
    """Centre/size boxes to corner boxes."""
    out = np.empty_like(xywh)
    half_w, half_h = xywh[:, 2] / 2, xywh[:, 3] / 2
    out[:, 0] = xywh[:, 0] - half_w
    out[:, 1] = xywh[:, 1] - half_h
    out[:, 2] = xywh[:, 0] + half_w
    out[:, 3] = xywh[:, 1] + half_h
    return out


def _empty():
    return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)


def decode_yolov5(pred: np.ndarray, conf_threshold: float):
    """Decode one image's ``[N, 5+nc]`` YOLOv5 rows; confidence = objectness x class score."""
    if pred.ndim != 2 or pred.shape[1] < 6:
        raise ValueError(f"YOLOv5 output must be [N, 5+nc] per image, got {list(pred.shape)}")
    pred = pred[pred[:, 4] > conf_threshold]  # cheap objectness pre-filter, as the reference
    if not len(pred):
        return _empty()
    cls_conf = pred[:, 5:] * pred[:, 4:5]
    classes = cls_conf.argmax(1)
    scores = cls_conf[np.arange(len(classes)), classes]
    keep = scores > conf_threshold
    return xywh_to_xyxy(pred[keep, :4]), scores[keep], classes[keep]


def decode_yolov8(pred: np.ndarray, conf_threshold: float):
    """Decode one image's ``[4+nc, N]`` Ultralytics columns; confidence = best class score."""
    if pred.ndim != 2 or pred.shape[0] < 5:
        raise ValueError(f"YOLOv8 output must be [4+nc, N] per image, got {list(pred.shape)}")
    cls = pred[4:]
    classes = cls.argmax(0)
    scores = cls[classes, np.arange(cls.shape[1])]
    keep = scores > conf_threshold
    return xywh_to_xyxy(pred[:4, keep].T), scores[keep], classes[keep]


def decode_e2e(pred: np.ndarray, conf_threshold: float):
    """Decode one image's ``[K, 6]`` end-to-end rows (x1, y1, x2, y2, score, class)."""
    if pred.ndim != 2 or pred.shape[1] != 6:
        raise ValueError(f"end-to-end output must be [K, 6] per image, got {list(pred.shape)}")
    keep = pred[:, 4] > conf_threshold
    pred = pred[keep]
    return pred[:, :4].copy(), pred[:, 4].copy(), pred[:, 5].astype(np.int64)


DECODERS = {YOLOV5: decode_yolov5, YOLOV8: decode_yolov8, E2E: decode_e2e}


def box_iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one x1,y1,x2,y2 box against ``[M, 4]`` boxes."""
    ix1 = np.maximum(box[0], boxes[:, 0])
    iy1 = np.maximum(box[1], boxes[:, 1])
    ix2 = np.minimum(box[2], boxes[:, 2])
    iy2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, *,
        iou_threshold: float = 0.45, max_detections: int = 300) -> np.ndarray:
    """Greedy per-class NMS; returns indices of kept boxes, best score first.

    A box is suppressed when its IoU with a better box of the same class is
    greater than `iou_threshold` (as torchvision.ops.nms).  Classes are kept
    apart by shifting each class's boxes far away, so one pass handles all.
    Kept boxes come out in score order, so the pass stops at `max_detections`.
    """
    if len(scores) == 0:
        return np.zeros(0, np.int64)
    order = np.argsort(-scores, kind="stable")[:MAX_NMS_CANDIDATES]
    shifted = boxes[order].astype(np.float64) + (classes[order].astype(np.float64) * _MAX_WH)[:, None]
    if len(order) <= _MATRIX_NMS_MAX:
        return _nms_matrix(shifted, order, iou_threshold, max_detections)
    remaining = np.arange(len(order))
    keep: list[int] = []
    while remaining.size and len(keep) < max_detections:
        best, rest = remaining[0], remaining[1:]
        keep.append(order[best])
        remaining = rest[box_iou_one_to_many(shifted[best], shifted[rest]) <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def _nms_matrix(shifted: np.ndarray, order: np.ndarray, iou_threshold: float,
                max_detections: int) -> np.ndarray:
    """Same greedy result as the loop in `nms`, from one pairwise IoU matrix (few candidates)."""
    x1, y1, x2, y2 = (shifted[:, i] for i in range(4))
    area = (x2 - x1) * (y2 - y1)
    iw = np.clip(np.minimum(x2[:, None], x2) - np.maximum(x1[:, None], x1), 0, None)
    ih = np.clip(np.minimum(y2[:, None], y2) - np.maximum(y1[:, None], y1), 0, None)
    inter = iw * ih
    union = area[:, None] + area - inter
    over = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0) > iou_threshold
    suppressed = np.zeros(len(order), bool)
    keep: list[int] = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(i)
        if len(keep) >= max_detections:
            break
        suppressed |= over[i]
    return order[np.asarray(keep, dtype=np.int64)]
