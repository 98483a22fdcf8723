"""``saola models``, ``saola detect`` and MegaDetector JSON export/import from the command line."""
from __future__ import annotations

import hashlib
import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlmodel import select

from detect_helpers import (ANIMAL_AND_PERSON, NOTHING, add_media, constant_detector, jpeg_bytes,
                            setup_deployment)


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_models_add_list_verify(runner, app, tmp_path):
    from server.db import session_scope
    from server.models import MLModel

    model = constant_detector(tmp_path / "md_v5a.onnx")
    res = runner.invoke(["models", "add", str(model), "--name", "md_v5a"])
    assert res.exit_code == 0, res.output
    model_id = res.output.strip().splitlines()[-1]
    with session_scope(app.config["DATABASE_URL"]) as s:
        row = s.get(MLModel, model_id)
        assert (row.sha256, row.size_bytes, row.version) == (_sha(model), model.stat().st_size, _sha(model)[:12])
        assert row.file_path == str(model.resolve()) and row.config["model_info"]["layout"] == "yolov5"
    again = runner.invoke(["models", "add", str(model), "--name", "md_v5a"])
    assert again.output.strip().splitlines()[-1] == model_id  # same file: no-op
    other = constant_detector(tmp_path / "other.onnx", NOTHING)
    res = runner.invoke(["models", "add", str(other), "--name", "md_v5a"])
    assert res.exit_code != 0 and "already registered" in res.output and "--replace" in res.output
    res = runner.invoke(["models", "add", str(other), "--name", "md_copy", "--version", "5.0", "--copy",
                         "--config", '{"conf_threshold": 0.2}'])
    assert res.exit_code == 0, res.output
    copied = list((tmp_path / "data" / "models").glob("*other.onnx"))
    assert len(copied) == 1 and _sha(copied[0]) == _sha(other)
    listing = runner.invoke(["models", "list"]).output
    assert "md_v5a@" + _sha(model)[:12] in listing and "md_copy@5.0" in listing

    assert "matches" in runner.invoke(["models", "verify", "md_v5a"]).output
    model.write_bytes(model.read_bytes() + b"\0")
    res = runner.invoke(["models", "verify", "md_v5a"])
    assert res.exit_code != 0 and "no longer matches its recorded SHA-256" in res.output


BAD_ADDS = [
    (["missing.onnx", "--name", "x"], "model file not found"),
    (["{model}", "--name", "bad@name"], "without '@'"),
    (["{model}", "--name", "x", "--config", "{nope"], "--config is not valid JSON"),
    (["{model}", "--name", "x", "--config", "[1]"], "must be a JSON object"),
    (["{junk}", "--name", "x"], "cannot load ONNX model"),
    (["{model}", "--name", "x", "--kind", "classifier", "--labels", "missing.txt"], "labels file not found"),
    (["{model}", "--name", "x", "--kind", "classifier"], "needs its class labels: --labels FILE"),
]


def test_models_add_errors(runner, tmp_path):
    model = constant_detector(tmp_path / "m.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    for args, message in BAD_ADDS:
        args = [{"{model}": str(model), "{junk}": str(junk)}.get(a, a) for a in args]
        res = runner.invoke(["models", "add", *args])
        assert res.exit_code != 0 and message in res.output, (args, res.output)
    assert runner.invoke(["models", "list"]).output == ""


@pytest.fixture
def http_dir(tmp_path):
    """A local HTTP server on 127.0.0.1 serving a folder (never the internet)."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_models_fetch_verifies_checksum(runner, app, tmp_path, http_dir):
    root, base = http_dir
    published = constant_detector(root / "md_local.onnx")
    good = _sha(published)
    res = runner.invoke(["models", "fetch", "md_local", "--url", f"{base}/md_local.onnx", "--sha256", "0" * 64])
    assert res.exit_code != 0 and "SHA-256 mismatch" in res.output
    dest = tmp_path / "data" / "models"
    assert not (dest / "md_local.onnx").exists() and not list(dest.glob(".*part"))
    res = runner.invoke(["models", "fetch", "md_local", "--url", f"{base}/md_local.onnx", "--sha256", good,
                         "--version", "1"])
    assert res.exit_code == 0, res.output
    assert "checksum verified" in res.output and _sha(dest / "md_local.onnx") == good
    assert "md_local@1" in runner.invoke(["models", "list"]).output
    res = runner.invoke(["models", "fetch", "md_local", "--url", f"{base}/missing.onnx", "--sha256", good])
    assert res.exit_code != 0 and "404" in res.output
    res = runner.invoke(["models", "fetch", "md_v5a_pt"])  # a known model without a confirmed checksum
    assert res.exit_code != 0 and "no SHA-256 given" in res.output
    res = runner.invoke(["models", "fetch", "nope"])
    assert res.exit_code != 0 and "unknown model 'nope'" in res.output


@pytest.fixture
def processed(app, world, runner, tmp_path):
    area, program, dep = setup_deployment(world)
    runner.invoke(["models", "add", str(constant_detector(tmp_path / "md.onnx", ANIMAL_AND_PERSON)),
                   "--name", "md_test", "--version", "1.0"])
    ids = [add_media(app, dep, f"IMG_000{i}.JPG", jpeg_bytes((120, 90), seed=i),
                     file_path=f"/media/card/DCIM/10{i % 2}RECNX/IMG_000{i}.JPG") for i in range(1, 4)]
    bad = add_media(app, dep, "IMG_0009.JPG", b"not a jpeg", file_path="/media/card/DCIM/100RECNX/IMG_0009.JPG")
    return {"area": area, "program": program, "dep": dep, "ids": ids, "bad": bad}


def test_detect_command_runs_with_progress(runner, processed, tmp_path):
    res = runner.invoke(["detect", "--deployment", processed["dep"], "--model", "md_test"])
    assert res.exit_code == 0, res.output
    assert "processed 3" in res.output and "failed 1" in res.output and "IMG_0009.JPG" in res.output
    again = runner.invoke(["detect", "--deployment", processed["dep"], "--model", "md_test"])
    assert "images 1" in again.output  # only the image that failed is left
    res = runner.invoke(["detect", "--model", "md_test"])
    assert res.exit_code != 0 and "exactly one of" in res.output
    res = runner.invoke(["detect", "--all"])
    assert res.exit_code != 0 and "SAOLA_DETECTOR_MODEL" in res.output
    res = runner.invoke(["detect", "--deployment", "nope", "--model", "md_test"])
    assert res.exit_code != 0 and "no deployment with id 'nope'" in res.output
    model = tmp_path / "md.onnx"
    model.write_bytes(model.read_bytes() + b"\0")  # the registered file changed behind Saola's back
    res = runner.invoke(["detect", "--deployment", processed["dep"], "--model", "md_test", "--force"])
    assert res.exit_code != 0 and "failed: model 'md_test'" in res.output and "no longer matches" in res.output


def _rows(app):
    from server.db import session_scope
    from server.models import Detection

    with session_scope(app.config["DATABASE_URL"]) as s:
        return sorted((d.media_id, d.model, d.category, round(d.confidence, 3), d.label, d.label_confidence,
                       tuple(round(v, 4) if v is not None else None
                             for v in (d.bbox_x, d.bbox_y, d.bbox_width, d.bbox_height)))
                      for d in s.exec(select(Detection)))


def test_megadetector_json_round_trip(runner, app, processed, tmp_path):
    from classifiers.md_json import read_results
    from server.db import session_scope
    from server.models import Detection

    runner.invoke(["detect", "--deployment", processed["dep"], "--model", "md_test"])
    with session_scope(app.config["DATABASE_URL"]) as s:  # a species label travels as a classification
        d = s.exec(select(Detection).where(Detection.media_id == processed["ids"][0],
                                           Detection.category == "animal")).one()
        d.label, d.label_confidence = "Muntiacus vuquangensis", 0.875
        s.add(d)
    before = _rows(app)
    out = tmp_path / "md.json"
    res = runner.invoke(["export", "megadetector", "--deployment", processed["dep"], "--out", str(out)])
    assert res.exit_code == 0, res.output
    batch = read_results(out)  # valid MegaDetector 1.6
    assert batch.info["detector"] == "md_test@1.0"
    # Paths relative to the folder the deployment's images share on the card.
    assert sorted(i.file for i in batch.images) == ["100RECNX/IMG_0002.JPG", "101RECNX/IMG_0001.JPG",
                                                    "101RECNX/IMG_0003.JPG"]
    assert all(len(i.detections) == 2 for i in batch.images)
    assert batch.classification_categories == {"1": "Muntiacus vuquangensis"}
    assert sum(1 for i in batch.images for d in i.detections if d.classifications == (("1", 0.875),)) == 1
    with session_scope(app.config["DATABASE_URL"]) as s:
        for d in s.exec(select(Detection)):
            s.delete(d)
    res = runner.invoke(["import", "megadetector", str(out), "--deployment", processed["dep"]])
    assert res.exit_code == 0, res.output
    assert "3 images, 6 detections recorded as md_test@1.0" in res.output
    assert _rows(app) == before


def test_megadetector_import_matches_paths_from_another_machine(runner, app, processed, tmp_path):
    data = {"info": {"format_version": "1.4", "detector": "md_v5a.0.0.pt"},
            "detection_categories": {"1": "animal", "2": "person", "3": "vehicle"},
            "images": [
                {"file": "D:\\survey\\cam07\\DCIM\\101RECNX\\IMG_0001.JPG",
                 "detections": [{"category": "1", "conf": 0.91, "bbox": [0.1, 0.2, 0.3, 0.4]}]},
                {"file": "cam07/DCIM/100RECNX/IMG_0002.JPG", "detections": []},
                {"file": "cam07/DCIM/IMG_0777.JPG", "detections": []},
                {"file": "cam07/broken.JPG", "failure": "Failure image access", "detections": None},
            ]}
    path = tmp_path / "gpu.json"
    path.write_text(json.dumps(data))
    res = runner.invoke(["import", "megadetector", str(path), "--deployment", processed["dep"]])
    assert res.exit_code == 0, res.output
    assert "2 images, 1 detections recorded as md_v5a.0.0.pt; 1 unmatched, 0 ambiguous, 1 failed" in res.output
    assert "cam07/DCIM/IMG_0777.JPG" in res.output
    rows = [r for r in _rows(app) if r[1] == "md_v5a.0.0.pt"]
    assert {(r[0], r[2]) for r in rows} == {(processed["ids"][0], "animal"), (processed["ids"][1], "blank")}
    res = runner.invoke(["import", "megadetector", str(path)])
    assert res.exit_code != 0 and "give --deployment" in res.output
    path.write_text(json.dumps({**data, "images": [{"file": "x.jpg", "detections": [{"category": "7"}]}]}))
    res = runner.invoke(["import", "megadetector", str(path), "--deployment", processed["dep"]])
    assert res.exit_code != 0 and "images[0] (x.jpg).detections[0]" in res.output
