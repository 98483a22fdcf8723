"""AI evaluation against human review (server/stats/ai_eval.py) on hand-counted cases."""
from __future__ import annotations

import pytest

from server.stats import ai_eval as ae


def item(i, machine, conf, human, max_box=None):
    return ae.Item(f"q{i}", machine, conf, conf if max_box is None else max_box, frozenset(human))


def test_confusion_precision_recall_by_hand():
    items = [item(0, "Muntiacus", 0.9, {"Muntiacus"}), item(1, "Muntiacus", 0.8, {"Sus scrofa"}),
             item(2, "Sus scrofa", 0.7, {"Sus scrofa"}), item(3, "blank", None, {"Muntiacus"}, 0.0),
             item(4, "blank", None, {"blank"}, 0.0), item(5, "Muntiacus", 0.6, {"Muntiacus", "Sus scrofa"})]
    cm = ae.confusion(items)
    assert cm["labels"] == ["Muntiacus", "Sus scrofa", "blank"]
    m = {(h, p): cm["matrix"][i][j] for i, h in enumerate(cm["labels"]) for j, p in enumerate(cm["labels"])}
    assert m[("Muntiacus", "Muntiacus")] == 2 and m[("Sus scrofa", "Muntiacus")] == 2
    assert m[("Muntiacus", "blank")] == 1 and m[("blank", "blank")] == 1 and m[("Sus scrofa", "Sus scrofa")] == 1
    rows = {r["label"]: r for r in ae.per_label(items)}
    # Muntiacus: 3 predictions, 2 right -> precision 2/3; reviewers gave it 3 times, machine found 2 -> recall 2/3
    assert rows["Muntiacus"]["precision"] == pytest.approx(2 / 3)
    assert rows["Muntiacus"]["recall"] == pytest.approx(2 / 3)
    assert rows["Sus scrofa"]["precision"] == 1.0 and rows["Sus scrofa"]["recall"] == pytest.approx(1 / 3)
    assert rows["blank"]["precision"] == 0.5 and rows["blank"]["recall"] == 1.0
    lo, hi = rows["Muntiacus"]["precision_lower"], rows["Muntiacus"]["precision_upper"]
    assert 0 < lo < 2 / 3 < hi < 1 and rows["Muntiacus"]["small_sample"]


def test_wilson_interval_known_value():
    # 8 of 10: Wilson 95% interval (0.4902, 0.9433)
    lo, hi = ae.wilson(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)


def test_threshold_for_target_precision():
    # 20 predictions of one label, confidences 0.99 .. 0.80; the 5 lowest are wrong.
    items = [item(i, "Muntiacus", round(0.99 - i * 0.01, 2), {"Muntiacus"} if i < 15 else {"Sus scrofa"})
             for i in range(20)]
    items += [item(100 + i, "blank", None, {"Muntiacus"}, 0.0) for i in range(5)]
    row = ae.precision_thresholds(items, target=0.9)[0]
    # At 0.84 (i = 15): 15 right of 16 = 0.9375; at 0.83: 15/17 = 0.88 < 0.9.
    assert row["threshold"] == pytest.approx(0.84) and row["kept"] == 16
    assert row["precision_at"] == pytest.approx(15 / 16)
    assert row["recall_at"] == pytest.approx(15 / 20)  # reviewers said Muntiacus 20 times
    row = ae.precision_thresholds(items, target=1.0)[0]
    assert row["threshold"] == pytest.approx(0.85) and row["precision_at"] == 1.0
    few = ae.precision_thresholds(items[:5], target=0.9)[0]
    assert few["threshold"] is None and "only 5" in few["reason"]
    bad = [item(i, "Sus scrofa", 0.9 - i * 0.01, {"Muntiacus"}) for i in range(12)]
    assert "never reaches" in ae.precision_thresholds(bad)[0]["reason"]


def test_triage_cost_counts_hidden_animals():
    items = [item(0, "blank", None, {"blank"}, 0.0), item(1, "animal", 0.08, {"blank"}),
             item(2, "animal", 0.12, {"Muntiacus"}), item(3, "animal", 0.5, {"Sus scrofa"}),
             item(4, "person", 0.15, {"person"}), item(5, "blank", None, {"Muntiacus"}, 0.0)]
    rows = {r["threshold"]: r for r in ae.triage_cost(items, (0.1, 0.2))}
    assert rows[0.1]["hidden"] == 3 and rows[0.1]["blanks_removed"] == 2
    assert rows[0.1]["animal_sequences_hidden"] == 1 and rows[0.1]["animal_total"] == 3
    assert rows[0.2]["hidden"] == 5 and rows[0.2]["animal_sequences_hidden"] == 2
    assert rows[0.2]["person_sequences_hidden"] == 1
    assert rows[0.2]["species_hidden"] == [{"species": "Muntiacus", "sequences": 2}]


def test_bad_input():
    with pytest.raises(ae.EvaluationError, match="no reviewed sequence"):
        ae.evaluate([])
    with pytest.raises(ae.EvaluationError, match="target precision"):
        ae.precision_thresholds([item(0, "a", 0.5, {"a"})], target=1.5)
    with pytest.raises(ae.EvaluationError, match="no human label"):
        ae.evaluate([ae.Item("q", "a", 0.5, 0.5, frozenset())])
    out = ae.evaluate([item(0, "a", 0.5, {"a"})])
    assert out["accuracy"] == 1.0 and "rough" in out["notes"][0]
