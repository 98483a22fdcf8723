"""The species step: classify animal boxes after detection, geofenced to the program's species."""
from __future__ import annotations

import pytest
from sqlmodel import select

from detect_helpers import (ANIMAL_AND_PERSON, add_media, constant_detector, jpeg_bytes, mean_colour_classifier,
                            register_model, run_jobs)

LABELS = ["Muntiacus vuquangensis", "Muntiacus muntjak", "Sus scrofa"]
TAXONOMY = {"Muntiacus vuquangensis": ["Muntiacus", "Cervidae"], "Muntiacus muntjak": ["Muntiacus", "Cervidae"],
            "Sus scrofa": ["Sus", "Suidae"]}
# The test images are green: mean RGB about (0.35, 0.55, 0.24); green votes for the large-antlered muntjac.
WEIGHTS = [[0, 0, 0], [10, 0, 0], [0, 0, 0]]
PLAIN = {"mean": [0, 0, 0], "std": [1, 1, 1], "outputs": "logits", "taxonomy": TAXONOMY}


@pytest.fixture
def scene(app, world, tmp_path):
    area = world.area()
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(LABELS) + "\n")
    register_model(app, constant_detector(tmp_path / "md.onnx", ANIMAL_AND_PERSON), "md_test", "1.0")
    register_model(app, mean_colour_classifier(tmp_path / "sp.onnx", WEIGHTS, size=32), "species", "0.1",
                   kind="classifier", labels_file=labels, config=dict(PLAIN))
    app.config["CLASSIFIER_MODEL"] = "species"
    return {"area": area, "world": world, "tmp": tmp_path, "labels": labels}


def _deployment(scene, name, species_list=None):
    world = scene["world"]
    program = world.program(scene["area"].id, name=name,
                            settings={"species_list": species_list} if species_list else {})
    return world.deployment(program, location_name=name).id


def _labelled(app):
    from server.db import session_scope
    from server.models import Detection

    with session_scope(app.config["DATABASE_URL"]) as s:
        return [(d.media_id, d.category, d.label, round(d.label_confidence or 0, 3), d.taxon_id,
                 (d.extra or {}).get("classification"))
                for d in s.exec(select(Detection).order_by(Detection.media_id, Detection.category))]


def _jobs(app):
    from server.db import session_scope
    from server.models import Job

    with session_scope(app.config["DATABASE_URL"]) as s:
        return {j.kind: j for j in s.exec(select(Job))}


def _detect(app, media_ids):
    from server.db import session_scope
    from server.jobs import enqueue

    with session_scope(app.config["DATABASE_URL"]) as s:
        enqueue(s, "detect", {"media_ids": media_ids, "model": "md_test"})
    run_jobs(app)


def test_species_labels_follow_detection(app, scene):
    from server.db import session_scope
    from server.models import Taxon

    with session_scope(app.config["DATABASE_URL"]) as s:
        t = Taxon(scientific_name="Muntiacus vuquangensis", english_name="Large-antlered muntjac")
        s.add(t)
        taxon_id = t.id
    dep = _deployment(scene, "open")
    mid = add_media(app, dep, "A.JPG", jpeg_bytes(seed=1))
    _detect(app, [mid])
    jobs = _jobs(app)
    assert jobs["detect"].result["classify_job"] == jobs["classify"].id
    assert jobs["classify"].status == "done", jobs["classify"].error
    rows = _labelled(app)
    animal = [r for r in rows if r[1] == "animal"][0]
    assert animal[2] == "Muntiacus vuquangensis" and animal[3] > 0.9 and animal[4] == taxon_id
    assert animal[5] == {"model": "species@0.1", "source": "classifier"}
    person = [r for r in rows if r[1] == "person"][0]
    assert person[2] is None  # only animal boxes get species


def test_geofence_rolls_up_to_an_allowed_ancestor(app, scene):
    dep = _deployment(scene, "fenced", species_list=["Muntiacus muntjak", "Sus scrofa"])
    mid = add_media(app, dep, "B.JPG", jpeg_bytes(seed=2))
    _detect(app, [mid])
    animal = [r for r in _labelled(app) if r[1] == "animal"][0]
    # The large-antlered muntjac is not on this program's list: its score goes to the genus.
    assert animal[2] == "Muntiacus" and animal[5]["source"] == "geofence" and animal[4] is None


def test_classifier_with_wrong_input_shape_fails_per_image_and_the_job_goes_on(app, scene):
    register_model(app, mean_colour_classifier(scene["tmp"] / "bad.onnx", WEIGHTS, size=32), "species", "0.2",
                   kind="classifier", labels_file=scene["labels"], config={**PLAIN, "input_size": 48}, replace=True)
    dep = _deployment(scene, "broken")
    good = add_media(app, dep, "C.JPG", jpeg_bytes(seed=3))
    _detect(app, [good])
    job = _jobs(app)["classify"]
    assert job.status == "done"
    assert len(job.failures) == 1 and job.failures[0]["item"] == good
    assert "C.JPG: species classifier failed" in job.failures[0]["error"]
    assert all(r[2] is None for r in _labelled(app))


def test_classifier_registration_checks_labels_against_outputs(app, scene, runner):
    bad = scene["tmp"] / "two.txt"
    bad.write_text("a\nb\n")
    res = runner.invoke(["models", "add", str(scene["tmp"] / "sp.onnx"), "--name", "sp2", "--kind", "classifier",
                         "--labels", str(bad)])
    assert res.exit_code != 0 and "outputs 3 classes but 2 labels" in res.output
