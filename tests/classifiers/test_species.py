"""Species classifier over crops, taxonomy roll-up, geofence and the detector+classifier ensemble."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from classifiers.megadetector import Detection, ModelError
from classifiers.species import (ANIMAL, BLANK, HUMAN, VEHICLE, EnsemblePolicy, SpeciesClassifier,
                                 Taxonomy, crop_box, ensemble, geofence, load_labels, rollup)
from tests.classifiers.onnx_graphs import tiny_classifier

COLOURS = ["red thing", "green thing", "blue thing"]

CHAINS = {
    "Muntiacus vuquangensis": ["Muntiacus", "Cervidae", "Artiodactyla", "Mammalia"],
    "Muntiacus muntjak": ["Muntiacus", "Cervidae", "Artiodactyla", "Mammalia"],
    "Rusa unicolor": ["Rusa", "Cervidae", "Artiodactyla", "Mammalia"],
    "Pseudoryx nghetinhensis": ["Pseudoryx", "Bovidae", "Artiodactyla", "Mammalia"],
    "Panthera pardus": ["Panthera", "Felidae", "Carnivora", "Mammalia"],
    "Lophura edwardsi": ["Lophura", "Phasianidae", "Galliformes", "Aves"],
}
TAXONOMY = Taxonomy(CHAINS)


# -- labels and crops -------------------------------------------------------------

def test_load_labels_from_list_text_and_json(tmp_path):
    assert load_labels(COLOURS) == COLOURS
    txt = tmp_path / "labels.txt"
    txt.write_text("red thing\n\ngreen thing\nblue thing\n")
    assert load_labels(txt) == COLOURS
    js = tmp_path / "labels.json"
    js.write_text(json.dumps(COLOURS))
    assert load_labels(js) == COLOURS
    (tmp_path / "bad.json").write_text('{"a": 1}')
    with pytest.raises(ValueError, match="must hold a list"):
        load_labels(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="duplicate labels: a"):
        load_labels(["a", "b", "a"])
    with pytest.raises(ValueError, match="empty"):
        load_labels([])
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        load_labels(tmp_path / "nope.txt")


def test_crop_box_margin_square_and_clipping():
    img = Image.new("RGB", (200, 100))
    assert crop_box(img, (0.25, 0.2, 0.5, 0.6), margin=0).size == (100, 60)
    assert crop_box(img, (0.25, 0.2, 0.5, 0.6), margin=0.1).size == (120, 72)
    assert crop_box(img, (0.4, 0.4, 0.1, 0.2), margin=0, square=True).size == (20, 20)
    assert crop_box(img, (0.9, 0.5, 0.1, 0.5), margin=0.5).size == (30, 75)  # clipped at the edges
    with pytest.raises(ValueError, match="no pixels"):
        crop_box(img, (1.0, 0.5, 0.0, 0.1), margin=0)


# -- the classifier ---------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("softmax_in_graph", [False, True])
def test_classifier_layouts_and_outputs(tmp_path, layout, softmax_in_graph):
    path = tiny_classifier(tmp_path / "c.onnx", np.eye(3) * 4, layout=layout, softmax=softmax_in_graph)
    clf = SpeciesClassifier(path, COLOURS)
    assert clf.layout == layout and clf.input_size == (32, 32)
    crops = [Image.new("RGB", (50, 40), c) for c in [(250, 10, 10), (10, 250, 10), (10, 10, 250)]]
    probs = clf.classify_crops(crops)
    assert probs.shape == (3, 3)
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
    assert list(probs.argmax(1)) == [0, 1, 2]
    # Exact value: ImageNet-normalised mean colour times 4, then softmax.
    rgb = (np.array([250, 10, 10]) / 255 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    expect = np.exp(4 * rgb) / np.exp(4 * rgb).sum()
    np.testing.assert_allclose(probs[0], expect, rtol=1e-4)


def test_plain_unit_range_normalisation(tmp_path):
    clf = SpeciesClassifier(tiny_classifier(tmp_path / "c.onnx", np.eye(3)), COLOURS,
                            mean=(0, 0, 0), std=(1, 1, 1), outputs="logits")
    batch = clf.preprocess([Image.new("RGB", (8, 8), (255, 0, 51))])
    assert batch.shape == (1, 3, 32, 32) and batch.dtype == np.float32
    np.testing.assert_allclose(batch[0, :, 0, 0], [1.0, 0.0, 0.2], atol=1e-6)


def test_dynamic_input_size_must_be_given(tmp_path):
    path = tiny_classifier(tmp_path / "c.onnx", np.eye(3), size="side")
    with pytest.raises(ModelError, match="dynamic; pass input_size"):
        SpeciesClassifier(path, COLOURS)
    clf = SpeciesClassifier(path, COLOURS, input_size=(24, 40), layout="NCHW")
    assert clf.preprocess([Image.new("RGB", (10, 10))]).shape == (1, 3, 24, 40)
    assert clf.classify_crops([Image.new("RGB", (10, 10), (0, 0, 255))]).argmax() == 2


def test_classifier_errors(tmp_path):
    path = tiny_classifier(tmp_path / "c.onnx", np.eye(3))
    with pytest.raises(ModelError, match="outputs 3 scores but 2 labels"):
        SpeciesClassifier(path, ["a", "b"])
    with pytest.raises(ValueError, match="outputs must be"):
        SpeciesClassifier(path, COLOURS, outputs="raw")
    with pytest.raises(ModelError, match="not found"):
        SpeciesClassifier(tmp_path / "missing.onnx", COLOURS)


def test_classify_detections_crops_only_animals(tmp_path):
    clf = SpeciesClassifier(tiny_classifier(tmp_path / "c.onnx", np.eye(3) * 4), COLOURS)
    img = Image.new("RGB", (200, 100), (128, 128, 128))
    img.paste((240, 20, 20), (0, 0, 100, 100))
    img.paste((20, 20, 240), (100, 0, 200, 100))
    dets = [Detection("1", 0.9, (0.05, 0.1, 0.4, 0.8)), Detection("2", 0.9, (0.1, 0.1, 0.3, 0.3)),
            Detection("1", 0.8, (0.55, 0.1, 0.4, 0.8)), Detection("1", 0.01, (0.55, 0.1, 0.4, 0.8))]
    out = clf.classify_detections(img, dets, min_conf=0.1)
    assert out[1] is None and out[3] is None
    assert max(out[0], key=out[0].get) == "red thing"
    assert max(out[2], key=out[2].get) == "blue thing"
    pairs = clf.top_classifications(out[2], k=2)
    assert pairs[0][0] == "2" and len(pairs) == 2 and pairs[0][1] >= pairs[1][1]
    assert clf.classification_categories == {"0": "red thing", "1": "green thing", "2": "blue thing"}


# -- taxonomy, roll-up, geofence -----------------------------------------------------------

def test_taxonomy_lineage_and_errors():
    assert TAXONOMY.lineage("Muntiacus muntjak") == [
        "Muntiacus muntjak", "Muntiacus", "Cervidae", "Artiodactyla", "Mammalia", ANIMAL]
    assert TAXONOMY.depth("Cervidae") == 3 and TAXONOMY.depth(ANIMAL) == 0
    assert TAXONOMY.lineage("Unlisted species") == ["Unlisted species", ANIMAL]
    with pytest.raises(ValueError, match="two parents"):
        Taxonomy({"A a": ["A", "F1"], "A b": ["A", "F2"]})
    with pytest.raises(ValueError, match="two parents"):  # a cycle always shows up as this
        Taxonomy({"x": ["y"], "y": ["x"]})
    from_desc = Taxonomy.from_descriptions(
        {"Muntiacus muntjak": "mammalia;artiodactyla;cervidae;muntiacus;Muntiacus muntjak"})
    assert from_desc.lineage("Muntiacus muntjak")[1:] == ["muntiacus", "cervidae", "artiodactyla", "mammalia", ANIMAL]


def test_confident_species_is_kept():
    p = rollup({"Muntiacus vuquangensis": 0.8, "Muntiacus muntjak": 0.1, "Panthera pardus": 0.1},
               TAXONOMY, 0.65)
    assert (p.label, p.source) == ("Muntiacus vuquangensis", "classifier")
    assert p.score == pytest.approx(0.8)


def test_rollup_to_genus_family_order_and_animal():
    genus = rollup({"Muntiacus vuquangensis": 0.4, "Muntiacus muntjak": 0.35, "Rusa unicolor": 0.25}, TAXONOMY, 0.65)
    assert (genus.label, genus.source) == ("Muntiacus", "rollup") and genus.score == pytest.approx(0.75)
    family = rollup({"Muntiacus vuquangensis": 0.4, "Rusa unicolor": 0.3, "Panthera pardus": 0.3}, TAXONOMY, 0.65)
    assert family.label == "Cervidae" and family.score == pytest.approx(0.7)
    order = rollup({"Rusa unicolor": 0.4, "Pseudoryx nghetinhensis": 0.3, "Panthera pardus": 0.3}, TAXONOMY, 0.65)
    assert order.label == "Artiodactyla"
    animal = rollup({"Panthera pardus": 0.5, "Lophura edwardsi": 0.5}, TAXONOMY, 0.65)
    assert animal.label == ANIMAL and animal.score == pytest.approx(1.0)
    # Special labels take no part in the roll-up.
    assert rollup({BLANK: 0.9, "Panthera pardus": 0.1}, TAXONOMY, 0.65).label == ANIMAL


def test_geofence_moves_scores_to_nearest_allowed_ancestor():
    allowed = ["Muntiacus vuquangensis", "Pseudoryx nghetinhensis", "Panthera"]
    moved = geofence({"Muntiacus muntjak": 0.7, "Muntiacus vuquangensis": 0.1, "Rusa unicolor": 0.1,
                      "Lophura edwardsi": 0.05, "Panthera pardus": 0.05, BLANK: 0.0}, TAXONOMY, allowed)
    assert moved == pytest.approx({"Muntiacus": 0.7, "Muntiacus vuquangensis": 0.1, "Cervidae": 0.1,
                                   ANIMAL: 0.05, "Panthera": 0.05, BLANK: 0.0})


def test_rollup_with_geofence():
    allowed = ["Muntiacus vuquangensis", "Pseudoryx nghetinhensis"]
    p = rollup({"Muntiacus muntjak": 0.9, "Rusa unicolor": 0.1}, TAXONOMY, 0.65, allowed)
    assert (p.label, p.source) == ("Muntiacus", "geofence") and p.score == pytest.approx(0.9)
    p = rollup({"Lophura edwardsi": 0.95, "Rusa unicolor": 0.05}, TAXONOMY, 0.65, allowed)
    assert (p.label, p.source) == (ANIMAL, "geofence")
    p = rollup({"Muntiacus vuquangensis": 0.9, "Rusa unicolor": 0.1}, TAXONOMY, 0.65, allowed)
    assert (p.label, p.source) == ("Muntiacus vuquangensis", "classifier")


# -- ensemble ----------------------------------------------------------------------------------

ANIMAL_BOX = Detection("1", 0.9, (0.1, 0.1, 0.2, 0.2))


def test_ensemble_blank_human_vehicle_and_animal():
    weak = Detection("1", 0.1, (0.1, 0.1, 0.1, 0.1))
    blank = ensemble([weak], None, TAXONOMY)
    assert blank.image.label == BLANK and blank.image.score == pytest.approx(0.9)
    assert blank.detections == [None]
    assert ensemble([], None, TAXONOMY).image.label == BLANK

    person = Detection("2", 0.5, (0.5, 0.5, 0.2, 0.4))
    car = Detection("3", 0.95, (0.0, 0.5, 0.3, 0.3))
    res = ensemble([ANIMAL_BOX, person, car], [{"Panthera pardus": 0.99}, None, None], TAXONOMY)
    assert res.image.label == HUMAN  # people first, whatever else is there
    assert [p.label for p in res.detections] == ["Panthera pardus", HUMAN, VEHICLE]
    assert ensemble([car], None, TAXONOMY).image.label == VEHICLE
    assert ensemble([ANIMAL_BOX, car], None, TAXONOMY).image == ensemble([ANIMAL_BOX], None, TAXONOMY).image
    assert ensemble([ANIMAL_BOX], None, TAXONOMY).image.label == ANIMAL


def test_ensemble_uses_classifier_thresholds_and_geofence():
    second = Detection("1", 0.6, (0.5, 0.5, 0.2, 0.2))
    scores = [{"Muntiacus muntjak": 0.5, "Muntiacus vuquangensis": 0.4, "Rusa unicolor": 0.1},
              {"Panthera pardus": 0.9, "Rusa unicolor": 0.1}]
    res = ensemble([ANIMAL_BOX, second], scores, TAXONOMY)
    assert [p.label for p in res.detections] == ["Muntiacus", "Panthera pardus"]
    assert res.image.label == "Muntiacus"  # the most confident box decides the image
    strict = ensemble([ANIMAL_BOX], scores[:1], TAXONOMY, policy=EnsemblePolicy(classification_threshold=0.95))
    assert strict.image.label == "Cervidae"  # Muntiacus 0.9 < 0.95 <= Cervidae 1.0
    fenced = ensemble([second], scores[1:], TAXONOMY, allowed=["Rusa unicolor"])
    # No cat on the list, but a mammal is: the leopard score goes to Mammalia.
    assert (fenced.image.label, fenced.image.source) == ("Mammalia", "geofence")
    says_human = ensemble([ANIMAL_BOX], [{HUMAN: 0.8, "Rusa unicolor": 0.2}], TAXONOMY)
    assert (says_human.image.label, says_human.image.source) == (HUMAN, "classifier")
    with pytest.raises(ValueError, match="2 classifier results for 1 detections"):
        ensemble([ANIMAL_BOX], scores, TAXONOMY)
