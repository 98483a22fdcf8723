"""MegaDetector batch-output JSON: round trip and validation errors."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from classifiers.md_json import FORMAT_VERSION, MDJsonError, parse, read_results, write_results
from classifiers.megadetector import Detection, ImageResult

SPECIES = {"0": "Muntiacus vuquangensis", "1": "Pseudoryx nghetinhensis"}


def _results():
    return [
        ImageResult("cam01/IMG_0001.JPG", [
            Detection("1", 0.9263, (0.0, 0.27621, 0.1539, 0.2825),
                      (("1", 0.901), ("0", 0.071))),
            Detection("2", 0.061, (0.0451, 0.1849, 0.3642, 0.4636)),
        ], width=2048, height=1536),
        ImageResult("cam01/IMG_0002.JPG", []),
        ImageResult("cam01/IMG_0003.JPG", None, "Failure image access: truncated"),
    ]


def _write(tmp_path, results=None, **kw):
    return write_results(tmp_path / "md.json", _results() if results is None else results,
                         detector="md_v5a.0.0.onnx",
                         detector_metadata={"image_size": 1280, "typical_detection_threshold": 0.2},
                         completed=datetime(2026, 3, 1, 12, 0, 5, tzinfo=timezone.utc), **kw)


def test_round_trip(tmp_path):
    path = _write(tmp_path, classification_categories=SPECIES, classifier="saola-species.onnx")
    batch = read_results(path)
    assert batch.format_version == FORMAT_VERSION == "1.6"
    assert batch.info["detector"] == "md_v5a.0.0.onnx"
    assert batch.info["detection_completion_time"] == "2026-03-01 12:00:05"
    assert batch.info["detector_metadata"]["image_size"] == 1280
    assert batch.info["classifier"] == "saola-species.onnx"
    assert batch.detection_categories == {"1": "animal", "2": "person", "3": "vehicle"}
    assert batch.classification_categories == SPECIES
    first, empty, failed = batch.images
    assert first.file == "cam01/IMG_0001.JPG"
    # Rounded as MegaDetector rounds: conf 3 decimals, bbox 4.
    assert first.detections[0] == Detection("1", 0.926, (0.0, 0.2762, 0.1539, 0.2825),
                                            (("1", 0.901), ("0", 0.071)))
    assert first.detections[1].classifications == ()
    assert empty.ok and empty.detections == []
    assert not failed.ok and failed.detections is None and failed.failure.startswith("Failure image access")
    # Reading and writing again gives the same file content.
    again = write_results(tmp_path / "again.json", batch.images, detector="md_v5a.0.0.onnx",
                          detector_metadata=batch.info["detector_metadata"],
                          classification_categories=SPECIES, classifier="saola-species.onnx",
                          completed=datetime(2026, 3, 1, 12, 0, 5, tzinfo=timezone.utc))
    assert json.loads(again.read_text()) == json.loads(path.read_text())


def test_written_file_has_the_documented_shape(tmp_path):
    data = json.loads(_write(tmp_path, classification_categories=SPECIES).read_text())
    assert set(data) == {"info", "detection_categories", "classification_categories", "images"}
    assert data["images"][2] == {"file": "cam01/IMG_0003.JPG", "failure": "Failure image access: truncated",
                                 "detections": None}
    assert data["images"][1] == {"file": "cam01/IMG_0002.JPG", "detections": []}
    assert data["images"][0]["detections"][1] == {"category": "2", "conf": 0.061,
                                                  "bbox": [0.0451, 0.1849, 0.3642, 0.4636]}


def test_reads_official_style_file_with_video_and_optional_fields(tmp_path):
    doc = {
        "info": {"format_version": "1.4", "detector": "md_v5a.0.0.pt"},
        "detection_categories": {"1": "animal", "2": "person", "3": "vehicle"},
        "classification_categories": {"0": "fox"},
        "classification_category_descriptions": {"0": "animalia;chordata;mammalia;carnivora;canidae;vulpes vulpes"},
        "images": [
            {"file": "a.jpg", "detections": [], "failure": None},
            {"file": "v.mp4", "frame_rate": 20, "frames_processed": [0, 20],
             "detections": [{"category": "1", "conf": 0.5, "bbox": [0.1, 0.2, 0.3, 0.4],
                             "frame_number": 20, "classifications": [["0", 0.9]]}]},
        ],
    }
    path = tmp_path / "official.json"
    path.write_text(json.dumps(doc))
    batch = read_results(path)
    assert batch.format_version == "1.4"
    assert batch.images[1].detections[0].classifications == (("0", 0.9),)
    assert batch.classification_category_descriptions["0"].endswith("vulpes vulpes")


BASE = {"info": {"format_version": "1.6"}, "detection_categories": {"1": "animal"},
        "images": [{"file": "a.jpg", "detections": [{"category": "1", "conf": 0.5,
                                                     "bbox": [0.1, 0.1, 0.2, 0.2]}]}]}


def _mutate(fn):
    doc = json.loads(json.dumps(BASE))
    fn(doc)
    return json.dumps(doc)


@pytest.mark.parametrize("text,message", [
    ('{"info": ', "malformed JSON at line 1"),
    ("[]", "top level must be an object"),
    (_mutate(lambda d: d.pop("images")), "missing required key 'images'"),
    (_mutate(lambda d: d.pop("detection_categories")), "missing required key 'detection_categories'"),
    (_mutate(lambda d: d["info"].pop("format_version")), "format_version is required"),
    (_mutate(lambda d: d["info"].update(format_version="one")), "format_version must be a number"),
    (_mutate(lambda d: d["detection_categories"].update(animal="1")), "'animal' is not a non-negative integer"),
    (_mutate(lambda d: d["images"][0].pop("file")), r"images\[0\]: 'file' is required"),
    (_mutate(lambda d: d["images"][0].pop("detections")), r"a\.jpg\): 'detections' must be a list"),
    (_mutate(lambda d: d["images"][0]["detections"][0].pop("bbox")), "missing 'bbox'"),
    (_mutate(lambda d: d["images"][0]["detections"][0].update(bbox=[0.1, 0.2, 1.2, 0.1])),
     r"bbox\[2\] = 1.2 is outside"),
    (_mutate(lambda d: d["images"][0]["detections"][0].update(bbox=[0.9, 0.2, 0.5, 0.1])),
     "extends past the image"),
    (_mutate(lambda d: d["images"][0]["detections"][0].update(bbox=[0.1, 0.2])),
     r"bbox must be \[x_min, y_min, width, height\]"),
    (_mutate(lambda d: d["images"][0]["detections"][0].update(conf=1.5)), r"conf = 1.5 is outside"),
    (_mutate(lambda d: d["images"][0]["detections"][0].update(conf="high")), "conf must be a number"),
    (_mutate(lambda d: d["images"][0]["detections"][0].update(category="7")), "'7' is not in detection_categories"),
    (_mutate(lambda d: d["images"][0]["detections"][0].update(classifications=[["0", 0.5]])),
     "no classification_categories"),
    (_mutate(lambda d: (d.update(classification_categories={"0": "a", "1": "b"}),
                        d["images"][0]["detections"][0].update(classifications=[["0", 0.2], ["1", 0.7]]))),
     "descending order"),
    (_mutate(lambda d: d["images"][0].update(failure=3)), "'failure' must be a string"),
])
def test_invalid_files_get_specific_errors(text, message):
    with pytest.raises(MDJsonError, match=message):
        parse(text, source="x.json")


def test_missing_file_and_refusing_to_write_invalid(tmp_path):
    with pytest.raises(MDJsonError, match="file not found"):
        read_results(tmp_path / "nope.json")
    bad = [ImageResult("a.jpg", [Detection("9", 0.5, (0.1, 0.1, 0.1, 0.1))])]
    with pytest.raises(MDJsonError, match="'9' is not in detection_categories"):
        _write(tmp_path, bad)
    assert not (tmp_path / "md.json").exists()
