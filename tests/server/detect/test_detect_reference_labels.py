"""A classifier's label that the species reference knows under another name (an old scientific name,
a roll-up word) is linked to the reference's taxon (both databases)."""
from __future__ import annotations

import pytest
from sqlmodel import select

from detect_helpers import (ANIMAL_AND_PERSON, add_media, constant_detector, jpeg_bytes, mean_colour_classifier,
                            register_model, run_jobs)

# The test images are green: the first label wins (green channel -> label 0). "Muntiacus muntjak" is the old name of Vietnam's red
# muntjac, an alternative name of Muntiacus vaginalis in the reference.
LABELS = ["Muntiacus muntjak", "Sus scrofa", "bird"]
WEIGHTS = [[0, 0, 0], [10, 0, 0], [0, 0, 0]]
CONFIG = {"mean": [0, 0, 0], "std": [1, 1, 1], "outputs": "logits",
          "taxonomy": {"Sus scrofa": ["Sus"], "Muntiacus muntjak": ["Muntiacus"], "bird": []}}


@pytest.mark.parametrize("species_list", [None, ["Muntiacus vaginalis", "Sus scrofa"], ["Muntiacus muntjak"]])
def test_labels_resolve_through_alternative_names(app, world, tmp_path, species_list):
    from server.db import session_scope
    from server.jobs import enqueue
    from server.models import Detection, Taxon
    from server.services.taxa import load_reference

    with session_scope(app.config["DATABASE_URL"]) as s:
        assert load_reference(s)[1] == []
        vaginalis = s.exec(select(Taxon).where(Taxon.scientific_name == "Muntiacus vaginalis")).one().id
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(LABELS) + "\n")
    register_model(app, constant_detector(tmp_path / "md.onnx", ANIMAL_AND_PERSON), "md_test", "1.0")
    register_model(app, mean_colour_classifier(tmp_path / "sp.onnx", WEIGHTS, size=32), "species", "0.1",
                   kind="classifier", labels_file=labels, config=dict(CONFIG))
    app.config["CLASSIFIER_MODEL"] = "species"
    area = world.area()
    program = world.program(area.id, settings={"species_list": species_list} if species_list else {})
    dep = world.deployment(program).id
    mid = add_media(app, dep, "A.JPG", jpeg_bytes(seed=1))
    with session_scope(app.config["DATABASE_URL"]) as s:
        enqueue(s, "detect", {"media_ids": [mid], "model": "md_test"})
    run_jobs(app)
    with session_scope(app.config["DATABASE_URL"]) as s:
        animal = s.exec(select(Detection).where(Detection.category == "animal")).one()
        assert (animal.label, animal.taxon_id) == ("Muntiacus muntjak", vaginalis), (animal.label, animal.extra)
