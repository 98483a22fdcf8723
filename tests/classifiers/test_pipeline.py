"""Overlapped loading + inference: order, failures, equivalence with the plain batch API."""

from __future__ import annotations

import os
import threading
import time

import pytest
from PIL import Image

from classifiers.megadetector import Detector
from classifiers.pipeline import detect_paths
from tests.classifiers.onnx_graphs import brightness_detector


@pytest.fixture
def pipeline_detector(tmp_path):
    return Detector(brightness_detector(tmp_path / "b.onnx"), image_size=64)


def _images(folder, n):
    paths = []
    for i in range(n):
        img = Image.new("RGB", (80 + 8 * (i % 3), 60), (0, 0, 0))
        img.paste((255, 255, 255), (8 * (i % 5), 0, 8 * (i % 5) + 24, 24))
        path = folder / f"IMG_{i:04d}.JPG"
        img.save(path, quality=95)
        paths.append(path)
    return paths


@pytest.mark.parametrize("batch_size", [1, 3])
def test_results_in_input_order_and_same_as_batch_api(tmp_path, pipeline_detector, batch_size):
    paths = _images(tmp_path, 11)
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    paths.insert(4, bad)
    expected = pipeline_detector.detect_batch(paths)
    got = list(detect_paths(pipeline_detector, paths, batch_size=batch_size, loader_threads=3))
    assert [r.file for r in got] == [str(p) for p in paths]
    assert [r.ok for r in got] == [p is not bad for p in paths]
    assert "broken.jpg" in got[4].failure
    assert [r.detections for r in got] == [r.detections for r in expected]
    assert all(r.detections for r in got if r.ok)


def test_names_and_empty_input(pipeline_detector, tmp_path):
    paths = _images(tmp_path, 2)
    got = list(detect_paths(pipeline_detector, paths, names=["a/1.jpg", "a/2.jpg"]))
    assert [r.file for r in got] == ["a/1.jpg", "a/2.jpg"]
    assert list(detect_paths(pipeline_detector, [])) == []
    with pytest.raises(ValueError, match="2 names for 1 images"):
        list(detect_paths(pipeline_detector, paths[:1], names=["a", "b"]))


def test_loading_overlaps_inference(tmp_path, pipeline_detector, monkeypatch):
    """While the model runs on one image, later images are being prepared."""
    paths = _images(tmp_path, 6)
    preps, infers = [], []
    real_prepare, real_infer = pipeline_detector.prepare, pipeline_detector.infer

    def prepare(src, name=None):
        start = time.monotonic()
        time.sleep(0.05)
        out = real_prepare(src, name)
        preps.append((start, time.monotonic()))
        return out

    def infer(batch):
        start = time.monotonic()
        time.sleep(0.05)
        out = real_infer(batch)
        infers.append((start, time.monotonic()))
        return out

    monkeypatch.setattr(pipeline_detector, "prepare", prepare)
    monkeypatch.setattr(pipeline_detector, "infer", infer)
    results = list(detect_paths(pipeline_detector, paths, loader_threads=2, prefetch=3))
    assert len(results) == 6 and len(infers) == 6
    overlapping = [p for p in preps if any(p[0] < i_end and i_start < p[1] for i_start, i_end in infers)]
    assert len(overlapping) >= 3  # every image after the first window loads during an inference


def test_closing_early_stops_the_threads(tmp_path, pipeline_detector):
    paths = _images(tmp_path, 20)

    def ours():
        # Only the pipeline's own threads: other long-lived pools of the process (the upload
        # hashing pool, job workers) may exist when other tests ran first in this worker.
        return [t for t in threading.enumerate() if t.name.startswith(("saola-loader", "saola-inference"))]

    gen = detect_paths(pipeline_detector, paths, loader_threads=2)
    first = next(gen)
    assert first.ok and ours()
    gen.close()
    deadline = time.time() + 5
    while ours() and time.time() < deadline:
        time.sleep(0.01)
    assert ours() == []


def test_unexpected_error_reaches_the_caller(tmp_path, pipeline_detector, monkeypatch):
    def explode(items):
        raise MemoryError("simulated")

    monkeypatch.setattr(pipeline_detector, "infer_prepared", explode)
    with pytest.raises(MemoryError, match="simulated"):
        list(detect_paths(pipeline_detector, _images(tmp_path, 2)))


def test_bad_batch_size(pipeline_detector):
    with pytest.raises(ValueError, match="batch_size"):
        list(detect_paths(pipeline_detector, [], batch_size=0))


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="per-thread nice is a Linux feature")
def test_loader_threads_yield_to_inference(tmp_path, pipeline_detector, monkeypatch):
    seen = []
    real_prepare = pipeline_detector.prepare
    base = os.getpriority(os.PRIO_PROCESS, 0)

    def prepare(src, name=None):
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return real_prepare(src, name)

    monkeypatch.setattr(pipeline_detector, "prepare", prepare)
    list(detect_paths(pipeline_detector, _images(tmp_path, 3), loader_nice=5))
    assert seen == [min(19, base + 5)] * 3
    seen.clear()
    list(detect_paths(pipeline_detector, _images(tmp_path, 2), loader_nice=None))
    assert seen == [base] * 2
