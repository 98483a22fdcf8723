"""JPEG draft decoding for the detector: reduced decodes give the model the same geometry as
full decodes, boxes map back to the original within a pixel, pixel limits still hold; and
batches for models with a fixed batch axis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from classifiers import safe_image
from classifiers.image import decode_for_model
from classifiers.megadetector import FAILURE_IMAGE_ACCESS, Detector
from classifiers.pipeline import detect_paths
from tests.classifiers.onnx_graphs import brightness_detector

# 1081 x 809 for a 128 px model: libjpeg decodes at 1/8, to ceil(1081/8) = 136 x 102
# pixels, whose last column and row reach 7 pixels past the photo's edge (1088 x 816):
# the case where mapping by the decoded size alone goes wrong by up to 7 pixels.
FULL_W, FULL_H, MODEL = 1081, 809, 128
BG, FG = 60, 230
# Displayed -> stored pixels for each EXIF orientation (the inverse of what
# exif_transpose applies), so the photo shows the same scene whatever the tag.
TO_STORED = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
             4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
             6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    path = brightness_detector(tmp_path_factory.mktemp("m") / "b.onnx", stride=8)
    return {draft: Detector(path, image_size=MODEL, conf_threshold=0.5, draft_decode=draft)
            for draft in (True, False)}


def _cell_edges(det: Detector) -> tuple[list[float], list[float]]:
    """Original-pixel x and y of the model's 8-pixel cell boundaries (full-size letterbox)."""
    box = det.letterbox_for(FULL_W, FULL_H)
    xs = [(8 * k - box.pad_left) / box.scale_x for k in range(box.input_width // 8 + 1)]
    ys = [(8 * k - box.pad_top) / box.scale_y for k in range(box.input_height // 8 + 1)]
    return xs, ys


def _photo(tmp_path, orientation: int, rect: tuple[int, int, int, int]) -> str:
    """A JPEG showing (after its EXIF orientation) a bright rectangle on grey, FULL_W x FULL_H."""
    shown = Image.new("RGB", (FULL_W, FULL_H), (BG, BG, BG))
    shown.paste((FG, FG, FG), rect)
    stored = shown if TO_STORED[orientation] is None else shown.transpose(TO_STORED[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.jpg"
    stored.save(path, quality=95, exif=exif.tobytes())
    return str(path)


def _extent(tensor: np.ndarray, axis: int, box, rect) -> tuple[float, float]:
    """Sub-pixel (start, end) of the bright rectangle along `axis` (1: x, 0: y) of a CHW
    tensor, in input pixels, from the mass of its brightness profile across the middle of
    the rectangle (area-normalised resampling keeps that mass where it was)."""
    plane = tensor[0] * 255.0
    if axis == 1:  # rows through the middle half of the rectangle
        lo, hi = (rect[1] + (rect[3] - rect[1]) / 4) * box.scale_y, (rect[3] - (rect[3] - rect[1]) / 4) * box.scale_y
        profile = plane[int(lo) + box.pad_top:int(hi) + box.pad_top, :].mean(axis=0)
    else:
        lo, hi = (rect[0] + (rect[2] - rect[0]) / 4) * box.scale_x, (rect[2] - (rect[2] - rect[0]) / 4) * box.scale_x
        profile = plane[:, int(lo) + box.pad_left:int(hi) + box.pad_left].mean(axis=1)
    weight = np.clip((profile - BG) / (FG - BG), 0, 1)
    pos = np.arange(len(profile)) + 0.5
    width = weight.sum()
    centre = (weight * pos).sum() / width
    return centre - width / 2, centre + width / 2


@pytest.mark.parametrize("orientation", range(1, 9))
def test_reduced_decode_gives_the_full_decode_geometry(detector, tmp_path, orientation):
    rect = (301, 203, 777, 611)  # odd places: not on any 8-pixel block
    path = _photo(tmp_path, orientation, rect)
    full = detector[False].prepare(path)
    draft = detector[True].prepare(path)
    assert (draft.width, draft.height) == (full.width, full.height) == (FULL_W, FULL_H)
    assert draft.decode_scale == 8 and full.decode_scale == 1
    assert draft.letterbox == full.letterbox  # same transform back to the original
    assert draft.tensor.shape == full.tensor.shape
    box = full.letterbox
    for axis, scale in ((1, box.scale_x), (0, box.scale_y)):
        a, b = _extent(full.tensor, axis, box, rect), _extent(draft.tensor, axis, box, rect)
        # within one original pixel at both edges of the rectangle
        assert abs(a[0] - b[0]) / scale < 1.0 and abs(a[1] - b[1]) / scale < 1.0, (axis, a, b)
    # and the rectangle is where it was drawn (the letterbox maps input pixels back exactly)
    x0, x1 = _extent(draft.tensor, 1, box, rect)
    y0, y1 = _extent(draft.tensor, 0, box, rect)
    mapped = box.to_original(np.array([[x0, y0, x1, y1]]))[0]
    np.testing.assert_allclose(mapped, rect, atol=1.5)


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_boxes_from_a_reduced_decode_match_the_full_decode(detector, tmp_path, orientation):
    xs, ys = _cell_edges(detector[False])
    # a rectangle on cell boundaries, so every cell is clearly in or out
    rect = tuple(int(round(v)) for v in (xs[3], ys[2], xs[11], ys[9]))
    path = _photo(tmp_path, orientation, rect)
    full, draft = detector[False].detect(path), detector[True].detect(path)
    assert full.ok and draft.ok and len(full.detections) == 8 * 7
    a = np.array(sorted(d.bbox for d in full.detections)) * [FULL_W, FULL_H, FULL_W, FULL_H]
    b = np.array(sorted(d.bbox for d in draft.detections)) * [FULL_W, FULL_H, FULL_W, FULL_H]
    np.testing.assert_allclose(b, a, atol=1.0)  # original pixels
    union = [a[:, 0].min(), a[:, 1].min(), (a[:, 0] + a[:, 2]).max(), (a[:, 1] + a[:, 3]).max()]
    np.testing.assert_allclose(union, rect, atol=1.0)


def test_draft_decoding_is_the_default_and_only_for_jpeg(detector, tmp_path):
    path = brightness_detector(tmp_path / "b.onnx")
    assert Detector(path, image_size=MODEL).draft_decode
    png = tmp_path / "photo.png"
    Image.new("RGB", (FULL_W, FULL_H), (BG, BG, BG)).save(png)
    prepared = detector[True].prepare(str(png))
    assert prepared.decode_scale == 1 and (prepared.width, prepared.height) == (FULL_W, FULL_H)
    small = tmp_path / "small.jpg"
    Image.new("RGB", (100, 75), (BG, BG, BG)).save(small)  # already below the model size
    d = decode_for_model(str(small), draft_for=(MODEL, MODEL))
    assert d.scale == 1 and d.image.size == (100, 75) and d.region == (0, 0, 100, 75)


def test_pixel_limit_still_refuses_before_a_reduced_decode(detector, tmp_path):
    path = _photo(tmp_path, 1, (10, 10, 20, 20))
    before = safe_image.max_pixels()
    safe_image.set_max_pixels(FULL_W * FULL_H - 1)
    try:
        res = detector[True].detect(path)
    finally:
        safe_image.set_max_pixels(before)
    assert not res.ok and res.failure.startswith(FAILURE_IMAGE_ACCESS) and "image too large" in res.failure


def test_truncated_jpeg_fails_in_a_reduced_decode_too(detector, tmp_path):
    path = _photo(tmp_path, 1, (10, 10, 20, 20))
    data = Path(path).read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    res = detector[True].detect(str(cut))
    assert not res.ok and res.failure.startswith(FAILURE_IMAGE_ACCESS)


def test_fixed_batch_axis_gets_full_batches_and_a_padded_last_one(tmp_path):
    one = Detector(brightness_detector(tmp_path / "b1.onnx", dynamic=False, size=64, batch=1),
                   conf_threshold=0.5)
    four = Detector(brightness_detector(tmp_path / "b4.onnx", dynamic=False, size=64, batch=4),
                    conf_threshold=0.5)
    assert four.batch_size == 4 and one.batch_size == 1
    seen = []
    run = four.session.run
    four.session.run = lambda out, feed: seen.append(next(iter(feed.values())).shape[0]) or run(out, feed)
    paths = []
    for i in range(5):  # 5 images: one batch of 4 and one of 1 padded to 4
        img = Image.new("RGB", (96, 64), (BG, BG, BG))
        img.paste((FG, FG, FG), (8 * i, 0, 8 * i + 40, 32))
        paths.append(tmp_path / f"{i}.jpg")
        img.save(paths[-1], quality=95)
    got = list(detect_paths(four, paths))
    want = list(detect_paths(one, paths))
    assert seen == [4, 4]
    assert all(r.ok for r in got) and [r.file for r in got] == [str(p) for p in paths]
    for g, w in zip(got, want):
        assert [d.to_dict() for d in g.detections] == [d.to_dict() for d in w.detections]
        assert g.detections  # the bright patch was found in every image, the padded one too
