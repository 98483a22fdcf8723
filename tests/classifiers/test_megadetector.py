"""MegaDetector through onnxruntime: decoding of the three layouts, NMS, geometry, errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from classifiers import boxes
from classifiers.image import letterbox_geometry
from classifiers.megadetector import (FAILURE_IMAGE_ACCESS, Detector, InferenceError,
                                      InputShapeError, ModelError, ProviderUnavailable,
                                      available_providers, guess_layout, parse_metadata_names,
                                      resolve_providers)
from classifiers.modelfiles import ChecksumMismatch, sha256_file
from tests.classifiers.onnx_graphs import (brightness_detector, constant_output_model,
                                           fixed_size_inside_model)

MD_NAMES = "{0: 'animal', 1: 'person', 2: 'vehicle'}"


def _yolov5_rows(boxes_xyxy, objectness, class_scores):
    """Build [1, N, 5+nc] rows from corner boxes in model-input pixels."""
    b = np.asarray(boxes_xyxy, np.float64)
    xywh = np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2,
                     b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], 1)
    rows = np.concatenate([xywh, np.asarray(objectness)[:, None], np.asarray(class_scores)], 1)
    return rows[None].astype(np.float32)


def _image(w, h, colour=(0, 0, 0)) -> Image.Image:
    return Image.new("RGB", (w, h), colour)


# -- letterbox -----------------------------------------------------------------

@pytest.mark.parametrize("w,h,dynamic,expect", [
    # (resized w, h, pad left, top, input w, h) as the YOLOv5 reference computes them
    (2048, 1536, True, (1280, 960, 0, 0, 1280, 960)),
    (1920, 1080, True, (1280, 720, 0, 24, 1280, 768)),
    (1920, 1080, False, (1280, 720, 0, 280, 1280, 1280)),
    (1080, 1920, True, (720, 1280, 24, 0, 768, 1280)),
    (300, 200, True, (1280, 853, 0, 21, 1280, 896)),  # small images are scaled up
])
def test_letterbox_geometry_matches_reference(w, h, dynamic, expect):
    box = letterbox_geometry(w, h, 1280, stride=64, pad_to_stride=dynamic)
    assert (box.resized_width, box.resized_height, box.pad_left, box.pad_top,
            box.input_width, box.input_height) == expect


# -- decoding of the three layouts -------------------------------------------------

ORIG_W, ORIG_H = 300, 200
# Boxes on the original image (x1, y1, x2, y2) and their expected normalised form.
ORIG_BOXES = np.array([[30, 40, 150, 120], [200, 10, 290, 190]], np.float64)
EXPECTED_NORM = np.stack([ORIG_BOXES[:, 0] / ORIG_W, ORIG_BOXES[:, 1] / ORIG_H,
                          (ORIG_BOXES[:, 2] - ORIG_BOXES[:, 0]) / ORIG_W,
                          (ORIG_BOXES[:, 3] - ORIG_BOXES[:, 1]) / ORIG_H], 1)


def _to_input(box, boxes_xyxy):
    """Forward letterbox transform (original -> model-input pixels)."""
    out = np.asarray(boxes_xyxy, np.float64).copy()
    out[:, [0, 2]] = out[:, [0, 2]] * box.scale_x + box.pad_left
    out[:, [1, 3]] = out[:, [1, 3]] * box.scale_y + box.pad_top
    return out


@pytest.mark.parametrize("dynamic", [True, False])
@pytest.mark.parametrize("layout", ["yolov5", "yolov8", "e2e"])
def test_layouts_decode_to_the_same_boxes_on_a_non_square_image(tmp_path, layout, dynamic):
    size, stride = 64, 32
    box = letterbox_geometry(ORIG_W, ORIG_H, size, stride=stride, pad_to_stride=dynamic)
    assert box.pad_top > 0 and box.scale_x != box.scale_y  # really exercises both
    inp = _to_input(box, ORIG_BOXES)
    if layout == "yolov5":
        table = _yolov5_rows(inp, [0.9, 0.8], [[0.9, 0.1, 0.0], [0.1, 0.2, 0.7]])
    elif layout == "yolov8":
        table = _yolov5_rows(inp, [1, 1], [[0.81, 0.09, 0.0], [0.08, 0.16, 0.56]])
        table = np.delete(table, 4, axis=2).transpose(0, 2, 1).copy()
    else:
        table = np.zeros((1, 5, 6), np.float32)  # padded with empty rows like real exports
        table[0, :2, :4] = inp
        table[0, :2, 4] = [0.81, 0.56]
        table[0, :2, 5] = [0, 2]
    shape = ("batch", 3, "height", "width") if dynamic else (1, 3, size, size)
    path = constant_output_model(tmp_path / f"{layout}.onnx", table, input_shape=shape,
                                 metadata={"names": MD_NAMES, "stride": str(stride)})
    det = Detector(path, image_size=size if dynamic else None)
    assert det.info.layout == layout
    assert det.info.dynamic is dynamic
    res = det.detect(_image(ORIG_W, ORIG_H), name="cam01/IMG_0001.JPG")
    assert res.ok and res.file == "cam01/IMG_0001.JPG"
    assert (res.width, res.height) == (ORIG_W, ORIG_H)
    assert [d.category for d in res.detections] == ["1", "3"]
    np.testing.assert_allclose([d.conf for d in res.detections], [0.81, 0.56], rtol=1e-6)
    np.testing.assert_allclose([d.bbox for d in res.detections], EXPECTED_NORM, atol=2e-6)


def test_exact_inversion_of_stride_padding_at_megadetector_size(tmp_path):
    """1920x1080 at 1280/stride 64: 24 px of padding on top that must be undone."""
    box = letterbox_geometry(1920, 1080, 1280, stride=64, pad_to_stride=True)
    orig = np.array([[0, 0, 1920, 1080], [960, 540, 1000, 600]], np.float64)
    table = _yolov5_rows(_to_input(box, orig), [0.9, 0.9], [[1, 0, 0], [0, 1, 0]])
    path = constant_output_model(tmp_path / "md.onnx", table, metadata={"stride": "64"})
    det = Detector(path)
    assert det.info.image_size == (1280, 1280)  # MDv5 default for a stride-64 dynamic model
    res = det.detect(_image(1920, 1080))
    np.testing.assert_allclose(res.detections[0].bbox, [0, 0, 1, 1], atol=1e-6)
    np.testing.assert_allclose(res.detections[1].bbox, [0.5, 0.5, 40 / 1920, 60 / 1080], atol=1e-6)
    assert [d.category for d in res.detections] == ["1", "2"]


def test_confidence_is_objectness_times_class_score_and_threshold_applies(tmp_path):
    table = _yolov5_rows([[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]],
                         [0.5, 0.1, 0.9], [[0.5, 0.2, 0.3], [1.0, 0, 0], [0, 0, 0.05]])
    path = constant_output_model(tmp_path / "m.onnx", table, metadata={"names": MD_NAMES})
    det = Detector(path, image_size=64, conf_threshold=0.2)
    confs = [round(d.conf, 6) for d in det.detect(_image(64, 64)).detections]
    assert confs == [0.25]  # 0.1 and 0.045 fall below 0.2
    det.conf_threshold = 0.005
    confs = [round(d.conf, 6) for d in det.detect(_image(64, 64)).detections]
    assert confs == [0.25, 0.1, 0.045]


def test_boxes_entirely_in_the_padding_are_dropped_and_partial_ones_clipped(tmp_path):
    box = letterbox_geometry(64, 32, 64, stride=32, pad_to_stride=False)  # 16 px bars
    assert box.pad_top == 16
    table = _yolov5_rows([[0, 0, 64, 10], [0, 8, 32, 24]], [0.9, 0.8], [[1, 0, 0], [1, 0, 0]])
    path = constant_output_model(tmp_path / "m.onnx", table, input_shape=(1, 3, 64, 64))
    dets = Detector(path, layout="yolov5").detect(_image(64, 32)).detections
    assert len(dets) == 1
    np.testing.assert_allclose(dets[0].bbox, [0, 0, 0.5, 8 / 32], atol=1e-6)


# -- NMS ---------------------------------------------------------------------------

def _reference_nms(b, s, c, iou_thr):
    """Plain greedy NMS, one box at a time, for comparison."""
    order = sorted(range(len(s)), key=lambda i: -s[i])
    keep = []
    for i in order:
        if all(c[i] != c[k] or boxes.box_iou_one_to_many(b[k], b[i:i + 1])[0] <= iou_thr for k in keep):
            keep.append(i)
    return keep


@pytest.mark.parametrize("matrix_max", [0, 10**6], ids=["shrinking-list", "iou-matrix"])
def test_nms_matches_plain_greedy_per_class_nms(monkeypatch, matrix_max):
    monkeypatch.setattr(boxes, "_MATRIX_NMS_MAX", matrix_max)
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 200, (400, 2))
    wh = rng.uniform(5, 60, (400, 2))
    b = np.concatenate([xy, xy + wh], 1)
    s = rng.uniform(0, 1, 400)
    c = rng.integers(0, 3, 400)
    keep = boxes.nms(b, s, c, iou_threshold=0.45, max_detections=1000)
    assert list(keep) == _reference_nms(b, s, c, 0.45)
    assert 10 < len(keep) < 400  # suppression happened, but not of everything


def test_nms_strategies_agree_on_many_candidates(monkeypatch):
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 1000, (2200, 2))
    b = np.concatenate([xy, xy + rng.uniform(5, 80, (2200, 2))], 1)
    s, c = rng.uniform(0, 1, 2200), rng.integers(0, 3, 2200)
    by_default = boxes.nms(b, s, c, max_detections=300)  # > 2048 candidates: shrinking list
    monkeypatch.setattr(boxes, "_MATRIX_NMS_MAX", 10**6)
    assert list(boxes.nms(b, s, c, max_detections=300)) == list(by_default)
    assert len(by_default) == 300


def test_nms_is_per_class_and_stops_at_max_detections():
    b = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [0, 0, 10, 10]], float)
    keep = boxes.nms(b, np.array([0.9, 0.8, 0.7]), np.array([0, 0, 1]), iou_threshold=0.45)
    assert list(keep) == [0, 2]  # same-class overlap suppressed, other class kept
    many = np.array([[i * 20, 0, i * 20 + 10, 10] for i in range(400)], float)
    keep = boxes.nms(many, np.linspace(0.1, 0.9, 400), np.zeros(400, int), max_detections=300)
    assert len(keep) == 300 and keep[0] == 399 and keep[-1] == 100


def test_detector_applies_nms_iou_045_and_300_box_cap(tmp_path):
    # Two boxes with IoU 0.5 (suppressed) and two with IoU 1/3 (kept), then 400 separate boxes.
    pair = [[0, 0, 30, 10], [10, 0, 40, 10]]  # IoU 20/40 = 0.5
    apart = [[0, 20, 20, 30], [10, 20, 30, 30]]  # IoU 10/30
    grid = [[x, y, x + 1, y + 1] for x in range(0, 40, 2) for y in range(34, 74, 2)]
    b = pair + apart + grid
    table = _yolov5_rows(b, [0.9] * len(b), [[1, 0, 0]] * len(b))
    table[0, :4, 4] = [0.99, 0.98, 0.97, 0.96]
    path = constant_output_model(tmp_path / "m.onnx", table, metadata={"names": MD_NAMES})
    dets = Detector(path, image_size=96, layout="yolov5").detect(_image(96, 96)).detections
    assert len(dets) == 300
    np.testing.assert_allclose([d.conf for d in dets[:3]], [0.99, 0.97, 0.96], rtol=1e-6)


# -- model metadata and layout detection -----------------------------------------

def test_metadata_names_formats():
    assert parse_metadata_names(MD_NAMES) == ["animal", "person", "vehicle"]
    assert parse_metadata_names('{"0": "animal", "1": "person"}') == ["animal", "person"]
    assert parse_metadata_names('["a", "b"]') == ["a", "b"]
    with pytest.raises(ModelError, match="names"):
        parse_metadata_names("{0: 'a', 2: 'b'}")
    with pytest.raises(ModelError, match="names"):
        parse_metadata_names("not a dict")


@pytest.mark.parametrize("shape,nc,expect", [
    ([1, 76500, 8], 3, "yolov5"), ([1, 7, 8400], 3, "yolov8"), ([1, 300, 6], 3, "e2e"),
    ([1, 76500, 8], None, "yolov5"), ([1, 84, 8400], None, "yolov8"), ([1, 300, 6], None, "e2e"),
    ([None, None, 8], None, "yolov5"), ([None, 7, None], None, "yolov8"), ([1, 3, 8], None, "yolov5"),
    ([1, 300, 6], 1, "yolov5"),  # one-class YOLOv5 is 5+1 wide: the class count decides
])
def test_guess_layout(shape, nc, expect):
    assert guess_layout(shape, nc) == expect


def test_metadata_gives_class_names_and_categories(tmp_path):
    table = _yolov5_rows([[0, 0, 10, 10]], [0.9], [[0.1, 0.9]])
    path = constant_output_model(tmp_path / "m.onnx", table,
                                 metadata={"names": "{0: 'animal', 1: 'person'}", "stride": "32",
                                           "imgsz": "[320, 320]"})
    det = Detector(path)
    assert det.detection_categories == {"1": "animal", "2": "person"}
    assert det.info.image_size == (320, 320) and det.info.stride == 32
    assert det.detect(_image(320, 320)).detections[0].category == "2"


def test_layout_override_and_invalid_layout(tmp_path):
    table = np.zeros((1, 6, 6), np.float32)
    table[0, 0] = [5, 5, 10, 10, 0.9, 0.9]  # as YOLOv5 with one class: centre 5,5 size 10
    path = constant_output_model(tmp_path / "m.onnx", table)
    assert Detector(path, image_size=64).info.layout == "e2e"
    det = Detector(path, image_size=64, layout="yolov5")
    dets = det.detect(_image(64, 64)).detections
    np.testing.assert_allclose(dets[0].bbox, [0, 0, 10 / 64, 10 / 64], atol=1e-6)
    assert det.detection_categories == {"1": "class_0"}
    with pytest.raises(ValueError, match="layout must be one of"):
        Detector(path, layout="yolov7")


# -- errors --------------------------------------------------------------------------

def test_wrong_checksum_is_refused_before_loading(tmp_path):
    path = constant_output_model(tmp_path / "m.onnx", _yolov5_rows([[0, 0, 1, 1]], [1], [[1, 0, 0]]))
    with pytest.raises(ChecksumMismatch, match="m.onnx"):
        Detector(path, sha256="0" * 64)
    assert Detector(path, sha256=sha256_file(path).upper()).info.layout == "yolov5"


def test_model_with_wrong_input_shape_is_refused(tmp_path):
    path = constant_output_model(tmp_path / "gray.onnx", _yolov5_rows([[0, 0, 1, 1]], [1], [[1, 0, 0]]),
                                 input_shape=(1, 1, 64, 64))
    with pytest.raises(ModelError, match=r"3 channels.*\[1, 1, 64, 64\]"):
        Detector(path)


def test_not_a_model_and_missing_file(tmp_path):
    bad = tmp_path / "x.onnx"
    bad.write_bytes(b"not protobuf")
    with pytest.raises(ModelError, match="x.onnx"):
        Detector(bad)
    with pytest.raises(ModelError, match="not found"):
        Detector(tmp_path / "missing.onnx")


def test_tensor_of_wrong_shape_gets_a_clear_error(tmp_path):
    path = constant_output_model(tmp_path / "m.onnx", _yolov5_rows([[0, 0, 1, 1]], [1], [[1, 0, 0]]),
                                 input_shape=(1, 3, 64, 64))
    det = Detector(path)
    with pytest.raises(InputShapeError, match=r"axis 2 is 32, must be 64"):
        det.infer(np.zeros((1, 3, 32, 64), np.float32))
    with pytest.raises(InputShapeError, match="float32"):
        det.infer(np.zeros((1, 3, 64, 64), np.float64))
    with pytest.raises(InputShapeError, match=r"\[B, 3, H, W\]"):
        det.infer(np.zeros((3, 64, 64), np.float32))


def test_corrupt_image_fails_alone_in_a_batch(tmp_path):
    path = brightness_detector(tmp_path / "b.onnx", metadata={"names": MD_NAMES})
    det = Detector(path, image_size=64)
    good = tmp_path / "good.jpg"
    _image(80, 60, (255, 255, 255)).save(good)
    buf = io.BytesIO()
    _image(80, 60, (255, 255, 255)).save(buf, "JPEG")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(buf.getvalue()[:200])
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"\x00" * 100)
    results = det.detect_batch([good, truncated, garbage, tmp_path / "absent.jpg", good])
    assert [r.ok for r in results] == [True, False, False, False, True]
    for r, name in zip(results[1:4], ["truncated.jpg", "garbage.jpg", "absent.jpg"]):
        assert r.failure.startswith(FAILURE_IMAGE_ACCESS) and name in r.failure
        assert r.detections is None
    assert results[0].detections and results[4].detections == results[0].detections


def test_decompression_bomb_fails_alone(tmp_path, monkeypatch):
    det = Detector(brightness_detector(tmp_path / "b.onnx"), image_size=64)
    path = tmp_path / "huge.png"
    _image(200, 100).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5000)  # 20 000 px is then "2x too many"
    res = det.detect_batch([path, _image(64, 64)])
    assert [r.ok for r in res] == [False, True]
    assert "huge.png" in res[0].failure and "image too large: 20000 pixels" in res[0].failure


def test_inference_failure_is_per_image(tmp_path, monkeypatch):
    path = brightness_detector(tmp_path / "b.onnx")
    det = Detector(path, image_size=64)
    real_infer = det.infer

    def flaky(batch):
        if (batch[:, 0, 0, 0] > 0.9).any():  # the white image breaks the "model"
            raise InferenceError("simulated onnxruntime failure")
        return real_infer(batch)

    monkeypatch.setattr(det, "infer", flaky)
    results = det.detect_batch([_image(64, 64), _image(64, 64, (255, 255, 255)), _image(64, 64)])
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].failure.startswith("Failure inference") and "simulated" in results[1].failure


def test_onnxruntime_error_fails_only_that_image(tmp_path):
    table = _yolov5_rows([[0, 0, 10, 10]], [0.9], [[1, 0, 0]])
    det = Detector(fixed_size_inside_model(tmp_path / "m.onnx", table), image_size=64, stride=32,
                   class_names=["animal", "person", "vehicle"])
    square, wide = _image(100, 100), _image(100, 50)  # letterboxed to 64x64 and 64x32
    results = det.detect_batch([square, wide, square])
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].failure.startswith("Failure inference: m.onnx: inference failed for input [1, 3, 32, 64]")
    assert (results[1].width, results[1].height) == (100, 50)


def test_providers():
    assert resolve_providers("cpu") == ["CPUExecutionProvider"]
    assert resolve_providers(None)[-1] == "CPUExecutionProvider"
    if "CUDAExecutionProvider" in available_providers():
        assert resolve_providers("cuda")[0] == "CUDAExecutionProvider"
    else:
        with pytest.raises(ProviderUnavailable, match="onnxruntime-gpu"):
            resolve_providers("cuda")
    with pytest.raises(ValueError, match="unknown provider"):
        resolve_providers("tpu")


# -- a real convolutional model with dynamic axes ---------------------------------------

def test_real_inference_shapes_with_dynamic_axes(tmp_path):
    path = brightness_detector(tmp_path / "b.onnx", metadata={"names": MD_NAMES})
    det = Detector(path, image_size=64)
    wide, tall = _image(240, 100), _image(90, 200)
    wide.paste((255, 255, 255), (60, 20, 120, 60))
    tall.paste((255, 255, 255), (0, 150, 90, 200))
    prepared = [det.prepare(wide), det.prepare(tall)]
    assert [p.tensor.shape for p in prepared] == [(3, 32, 64), (3, 64, 32)]
    out = det.infer(prepared[0].tensor[None])
    assert out.shape == (1, (32 // 8) * (64 // 8), 8)
    res_wide, res_tall = det.detect_batch([wide, tall])
    # The union of the cell boxes covers the white patch to within one cell (8 input px).
    for res, (x1, y1, x2, y2), (w, h) in [(res_wide, (60, 20, 120, 60), (240, 100)),
                                         (res_tall, (0, 150, 90, 200), (90, 200))]:
        b = np.array([d.bbox for d in res.detections])
        ux1, uy1 = b[:, 0].min() * w, b[:, 1].min() * h
        ux2, uy2 = (b[:, 0] + b[:, 2]).max() * w, (b[:, 1] + b[:, 3]).max() * h
        cell = 8 * max(w, h) / 64
        assert abs(ux1 - x1) <= cell and abs(uy1 - y1) <= cell
        assert abs(ux2 - x2) <= cell and abs(uy2 - y2) <= cell
        assert all(d.category == "1" and d.conf > 0.5 for d in res.detections)


def test_batch_of_equal_shapes_runs_as_one_batch(tmp_path, monkeypatch):
    det = Detector(brightness_detector(tmp_path / "b.onnx"), image_size=64)
    seen = []
    real_infer = det.infer
    monkeypatch.setattr(det, "infer", lambda b: seen.append(b.shape) or real_infer(b))
    det.detect_batch([_image(80, 60), _image(160, 120), _image(60, 80)])
    assert sorted(seen) == [(1, 3, 64, 48), (2, 3, 48, 64)]


def test_exif_orientation_is_applied(tmp_path):
    det = Detector(brightness_detector(tmp_path / "b.onnx"), image_size=64)
    stored = _image(128, 64)
    stored.paste((255, 255, 255), (0, 0, 32, 64))  # white at the left of the stored pixels
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": the left edge becomes the top
    path = tmp_path / "rotated.jpg"
    stored.save(path, exif=exif.tobytes(), quality=95)
    res = det.detect(path)
    assert (res.width, res.height) == (64, 128)
    b = np.array([d.bbox for d in res.detections])
    assert b[:, 1].max() + b[:, 3].max() <= 0.3  # boxes are at the top, not the left
    assert b[:, 0].min() <= 0.05 and (b[:, 0] + b[:, 2]).max() >= 0.95


def test_draft_decode_keeps_full_size_and_geometry(tmp_path):
    det = Detector(brightness_detector(tmp_path / "b.onnx"), image_size=64, draft_decode=True)
    img = _image(1024, 512)
    img.paste((255, 255, 255), (512, 256, 1024, 512))
    path = tmp_path / "big.jpg"
    img.save(path, quality=95)
    prepared = det.prepare(path)
    assert prepared.decode_scale == 8  # the decoder skipped detail (1/8 DCT scaling)
    assert prepared.letterbox.orig_width == 1024  # the letterbox is the full image's
    res = det.detect(path)
    assert (res.width, res.height) == (1024, 512)
    b = np.array([d.bbox for d in res.detections])
    np.testing.assert_allclose([b[:, 0].min(), b[:, 1].min()], [0.5, 0.5], atol=0.01)
