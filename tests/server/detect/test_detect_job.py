"""The ``detect`` job: stored detections, idempotency, failures per image, model checks."""
from __future__ import annotations

import pytest
from sqlmodel import select

from detect_helpers import (ANIMAL_AND_PERSON, NOTHING, add_media, constant_detector, jpeg_bytes,
                            register_model, run_jobs, setup_deployment)


def _enqueue(app, params, area_id=None):
    from server.db import session_scope
    from server.jobs import enqueue

    with session_scope(app.config["DATABASE_URL"]) as s:
        return enqueue(s, "detect", params, area_id=area_id).id


def _job(app, job_id):
    from server.db import session_scope
    from server.models import Job

    with session_scope(app.config["DATABASE_URL"]) as s:
        return s.get(Job, job_id)


def _detections(app, media_id=None):
    from server.db import session_scope
    from server.models import Detection

    with session_scope(app.config["DATABASE_URL"]) as s:
        stmt = select(Detection).order_by(Detection.media_id, Detection.category, Detection.confidence)
        if media_id:
            stmt = stmt.where(Detection.media_id == media_id)
        return list(s.exec(stmt))


def _media(app, media_id):
    from server.db import session_scope
    from server.models import Media

    with session_scope(app.config["DATABASE_URL"]) as s:
        return s.get(Media, media_id)


@pytest.fixture
def scene(app, world, tmp_path):
    area, program, dep = setup_deployment(world)
    model = constant_detector(tmp_path / "md.onnx", ANIMAL_AND_PERSON, square_only=True)
    key = register_model(app, model, "md_test", "1.0")
    good = add_media(app, dep, "IMG_0001.JPG", jpeg_bytes((128, 128), seed=1))
    good2 = add_media(app, dep, "IMG_0002.JPG", jpeg_bytes((96, 96), seed=2))
    corrupt = add_media(app, dep, "IMG_0003.JPG", jpeg_bytes(seed=3)[:300])  # truncated file
    wide = add_media(app, dep, "IMG_0004.JPG", jpeg_bytes((160, 120), seed=4))  # 4:3: the model refuses it
    return {"area": area, "dep": dep, "model": model, "key": key, "good": good, "good2": good2,
            "corrupt": corrupt, "wide": wide}


def test_detect_stores_boxes_and_records_failures_per_image(app, scene):
    job_id = _enqueue(app, {"deployment_id": scene["dep"], "model": "md_test"}, scene["area"].id)
    assert run_jobs(app) == 2  # detection, then its privacy job (people were found)
    job = _job(app, job_id)
    assert job.status == "done", job.error
    assert (job.progress_done, job.progress_total) == (4, 4)
    failed = {f["item"]: f["error"] for f in job.failures}
    assert set(failed) == {scene["corrupt"], scene["wide"]}
    assert "IMG_0003.JPG: Failure image access" in failed[scene["corrupt"]]
    assert "IMG_0004.JPG: Failure inference" in failed[scene["wide"]]
    assert job.result["processed"] == 2 and job.result["failed"] == 2 and job.result["people"] == 2

    dets = _detections(app, scene["good"])
    assert [(d.category, d.model) for d in dets] == [("animal", "md_test@1.0"), ("person", "md_test@1.0")]
    animal, person = dets
    assert animal.confidence == pytest.approx(0.81, abs=1e-5)
    # 128x128 image letterboxed to 64x64 (scale 0.5): box 12..28 input px -> 24..56 px -> /128
    assert (animal.bbox_x, animal.bbox_y, animal.bbox_width, animal.bbox_height) == pytest.approx(
        (24 / 128, 24 / 128, 32 / 128, 32 / 128), abs=1e-6)
    assert person.confidence == pytest.approx(0.68, abs=1e-5)
    m = _media(app, scene["good"])
    assert m.contains_person is True and (m.width, m.height) == (128, 128)
    assert _detections(app, scene["corrupt"]) == [] and _media(app, scene["corrupt"]).contains_person is False
    from server.db import session_scope
    from server.models import AuditLog

    with session_scope(app.config["DATABASE_URL"]) as s:
        entries = list(s.exec(select(AuditLog).where(AuditLog.entity == "detection")))
    assert len(entries) == 1 and entries[0].entity_id == job_id and entries[0].area_id == scene["area"].id
    assert sorted(entries[0].after["media_ids"]) == sorted([scene["good"], scene["good2"]])
    assert entries[0].after["detections"] == 4


def test_detect_is_idempotent_per_model_version_and_keeps_reviewed(app, scene):
    from server.db import session_scope
    from server.models import Detection

    _enqueue(app, {"media_ids": [scene["good"], scene["good2"]], "model": "md_test"})
    run_jobs(app)
    first = [(d.media_id, d.category, d.confidence, d.bbox_x) for d in _detections(app)]
    # A biologist verifies good2's detections; then the same model runs again over everything.
    with session_scope(app.config["DATABASE_URL"]) as s:
        for d in s.exec(select(Detection).where(Detection.media_id == scene["good2"])):
            d.review_status = "verified"
            s.add(d)
        verified_ids = {d.id for d in s.exec(select(Detection).where(Detection.media_id == scene["good2"]))}
    job_id = _enqueue(app, {"media_ids": [scene["good"], scene["good2"]], "model": "md_test"})
    run_jobs(app)
    assert _job(app, job_id).status == "done"
    again = [(d.media_id, d.category, d.confidence, d.bbox_x) for d in _detections(app)]
    assert sorted(again) == sorted(first) and len(again) == 4
    assert {d.id for d in _detections(app, scene["good2"])} == verified_ids  # untouched

    # Deployment runs only cover what this model@version has not processed yet...
    job_id = _enqueue(app, {"deployment_id": scene["dep"], "model": "md_test"})
    run_jobs(app)
    assert _job(app, job_id).progress_total == 2  # the corrupt and the wide image
    # ... and a new version of the model is a new set of detections beside the old ones.
    register_model(app, scene["model"], "md_test", "2.0", replace=True)
    _enqueue(app, {"media_ids": [scene["good"]], "model": "md_test"})
    run_jobs(app)
    assert sorted({d.model for d in _detections(app, scene["good"])}) == ["md_test@1.0", "md_test@2.0"]


def test_blank_images_are_marked_processed(app, world, tmp_path):
    _area, _program, dep = setup_deployment(world)
    register_model(app, constant_detector(tmp_path / "blank.onnx", NOTHING), "md_blank", "1")
    mid = add_media(app, dep, "EMPTY.JPG", jpeg_bytes(seed=9))
    _enqueue(app, {"all": True, "model": "md_blank"})
    run_jobs(app)
    dets = _detections(app, mid)
    assert [(d.category, d.bbox_x, d.confidence) for d in dets] == [("blank", None, 0.0)]
    assert dets[0].extra == {"threshold": 0.05}
    job_id = _enqueue(app, {"all": True, "model": "md_blank"})
    run_jobs(app)
    assert _job(app, job_id).progress_total == 0  # nothing left unprocessed


def test_model_file_with_wrong_checksum_fails_the_job_clearly_without_retries(app, scene):
    scene["model"].write_bytes(scene["model"].read_bytes() + b"tampered")
    job_id = _enqueue(app, {"deployment_id": scene["dep"], "model": "md_test"})
    assert run_jobs(app) == 1  # failed once, not requeued
    job = _job(app, job_id)
    assert job.status == "failed" and job.attempts == 1
    assert "md_test" in job.error and "no longer matches its recorded SHA-256" in job.error
    assert _detections(app) == []


def test_model_changed_after_it_was_cached_is_refused(app, scene):
    _enqueue(app, {"media_ids": [scene["good"]], "model": "md_test"})
    run_jobs(app)
    constant_detector(scene["model"], NOTHING)  # same path, other bytes (and mtime)
    job_id = _enqueue(app, {"media_ids": [scene["good"]], "model": "md_test", "force": True})
    run_jobs(app)
    assert "no longer matches" in _job(app, job_id).error


def test_bad_parameters_fail_at_once(app, scene):
    unknown = _enqueue(app, {"deployment_id": scene["dep"], "model": "nope"})
    nothing = _enqueue(app, {"model": "md_test"})
    run_jobs(app)
    assert "no registered model 'nope'" in _job(app, unknown).error
    assert "say which images" in _job(app, nothing).error
    assert _job(app, nothing).attempts == 1


def test_queue_after_ingest(app, scene):
    from server.db import session_scope
    from server.detect import queue_after_ingest

    with session_scope(app.config["DATABASE_URL"]) as s:
        assert queue_after_ingest(s, [scene["good"]], scene["area"].id, {"DETECTOR_MODEL": ""}) is None
        job = queue_after_ingest(s, [scene["good"], scene["good2"]], scene["area"].id,
                                 {"DETECTOR_MODEL": "md_test"})
        job_id = job.id
    assert _job(app, job_id).params == {"media_ids": [scene["good"], scene["good2"]], "model": "md_test"}
    run_jobs(app)
    assert _job(app, job_id).status == "done"
    assert {d.media_id for d in _detections(app)} == {scene["good"], scene["good2"]}


def test_public_derivatives_made_for_images_with_people(app, scene):
    from server.detect.privacy import derivative_key
    from server.detect.service import private_boxes
    from server.db import session_scope

    job_id = _enqueue(app, {"media_ids": [scene["good"], scene["corrupt"]], "model": "md_test"})
    assert run_jobs(app) == 2  # detection, then the privacy job it queued
    privacy = _job(app, _job(app, job_id).result["privacy_job"])
    assert privacy.kind == "privacy" and privacy.status == "done"
    assert privacy.result == {"images": 1, "derivatives": 1}
    with session_scope(app.config["DATABASE_URL"]) as s:
        boxes = private_boxes(s, scene["good"])
    assert len(boxes) == 1
    sha = _media(app, scene["good"]).sha256
    deriv = app.extensions["saola.derivatives"]
    for size in ("thumb", "review"):
        assert deriv.exists(derivative_key(sha, size, boxes))


def test_program_selection_and_model_loaded_once_per_process(app, world, scene, monkeypatch):
    import classifiers.megadetector as md
    from server.detect import runtime

    loads = []

    class Counting(md.Detector):
        def __init__(self, *a, **kw):
            loads.append(a[0])
            super().__init__(*a, **kw)

    monkeypatch.setattr(md, "Detector", Counting)
    runtime.clear()
    program = world.program(scene["area"].id, name="Second program")
    dep2 = world.deployment(program, location_name="S02").id
    other = add_media(app, dep2, "IMG_0100.JPG", jpeg_bytes((64, 64), seed=7))
    first = _enqueue(app, {"program_id": program.id, "model": "md_test"})
    second = _enqueue(app, {"deployment_id": scene["dep"], "model": "md_test"})
    run_jobs(app)
    assert _job(app, first).progress_total == 1 and {d.media_id for d in _detections(app)} >= {other}
    assert _job(app, second).progress_total == 4
    assert len(loads) == 1  # one Detector for both jobs
    runtime.clear()
