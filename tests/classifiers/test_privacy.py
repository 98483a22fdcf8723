"""Privacy blur of people and vehicles in derivatives; originals untouched."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from classifiers.megadetector import Detection
from classifiers.privacy import blur_detections


def _checkerboard(w=200, h=100, cell=4) -> Image.Image:
    yy, xx = np.mgrid[0:h, 0:w]
    board = (((xx // cell) + (yy // cell)) % 2 * 255).astype(np.uint8)
    return Image.fromarray(np.stack([board] * 3, -1))


def _detail(arr: np.ndarray) -> float:
    """Mean absolute difference between neighbouring pixels: high for sharp texture."""
    a = arr.astype(np.float64)
    return float(np.abs(np.diff(a, axis=1)).mean())


@pytest.mark.parametrize("method", ["gaussian", "pixelate"])
def test_people_and_vehicles_are_blurred_animals_are_not(method):
    original = _checkerboard()
    before = np.asarray(original).copy()
    dets = [Detection("2", 0.9, (0.05, 0.1, 0.2, 0.6)),   # person, x 10-50
            Detection("3", 0.5, (0.4, 0.1, 0.2, 0.6)),    # vehicle, x 80-120
            Detection("1", 0.99, (0.75, 0.1, 0.2, 0.6))]  # animal, x 150-190
    out = np.asarray(blur_detections(original, dets, method=method))
    assert np.array_equal(np.asarray(original), before)  # original untouched
    sharp = _detail(before[10:70, 10:50])
    assert _detail(out[10:70, 12:48]) < 0.2 * sharp
    assert _detail(out[10:70, 82:118]) < 0.2 * sharp
    assert np.array_equal(out[10:70, 150:190], before[10:70, 150:190])


def test_threshold_categories_and_margin():
    img = _checkerboard()
    weak = Detection("2", 0.05, (0.05, 0.1, 0.2, 0.6))
    assert np.array_equal(np.asarray(blur_detections(img, [weak])), np.asarray(img))
    assert not np.array_equal(np.asarray(blur_detections(img, [weak], min_conf=0.01)), np.asarray(img))
    animal_only = blur_detections(img, [Detection("1", 0.9, (0.1, 0.1, 0.2, 0.2))], categories=("1",))
    assert not np.array_equal(np.asarray(animal_only), np.asarray(img))
    # The margin widens the box: pixels just outside the detection are blurred too.
    person = Detection("2", 0.9, (0.25, 0.25, 0.5, 0.5))  # x 50-150, y 25-75
    out = np.asarray(blur_detections(img, [person], margin=0.1))
    assert _detail(out[30:70, 42:50]) < _detail(np.asarray(img)[30:70, 42:50])
    assert np.array_equal(out[:, :35], np.asarray(img)[:, :35])


def test_box_at_the_image_edge_and_bad_method():
    img = Image.new("L", (64, 48), 128)  # non-RGB input is converted
    out = blur_detections(img, [Detection("2", 0.9, (0.9, 0.9, 0.1, 0.1))])
    assert out.mode == "RGB" and out.size == (64, 48)
    with pytest.raises(ValueError, match="blur method must be one of"):
        blur_detections(img, [], method="swirl")
