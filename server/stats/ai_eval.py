"""How good are the machine labels? Evaluation against human review, per sequence.

Each reviewed sequence gives one :class:`Item`: the machine's label (its most confident
prediction: a species from the classifier, else the detector's category, else "blank" when
the detector found nothing), that label's confidence, the highest detector confidence of
any box (for blank triage), and the set of labels the reviewer gave (a sequence may hold two
species; "blank" when the reviewer said so).

* :func:`confusion` - the confusion matrix (rows: human label, columns: machine label);
* :func:`per_label` - precision, recall and F1 per label with Wilson intervals: a machine
  label is right when the reviewer gave that label to the sequence;
* :func:`precision_thresholds` - per machine label, the lowest confidence from which its
  precision stays at or above a target (every threshold above it too), with the share of that
  label's true sequences kept there (recall) - what a biologist reads before accepting
  machine labels above a confidence;
* :func:`triage_cost` - for blank triage at each threshold: sequences it would hide (no box
  at or above the threshold), how many of them the reviewers found an animal (or a person)
  in, by species, and how many true blanks it would remove.

Small samples are reported, never hidden: a label with fewer than ``MIN_ITEMS`` machine
predictions gets no threshold and says why.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

BLANK = "blank"
PERSON = "person"
MIN_ITEMS = 10
NON_ANIMAL = {BLANK, PERSON, "vehicle"}


@dataclass
class Item:
    """One reviewed sequence."""

    sequence_id: str
    machine: str  # label of the machine's most confident prediction; "blank" when nothing was found
    confidence: float | None  # of that label (None for "blank")
    max_box: float  # highest detector confidence of any live box in the sequence (0 when none)
    human: frozenset[str] = field(default_factory=frozenset)

    @property
    def correct(self) -> bool:
        return self.machine in self.human


class EvaluationError(ValueError):
    """Nothing to evaluate, or bad parameters."""


def wilson(k: int, n: int, level: float = 0.95) -> tuple[float | None, float | None]:
    """Wilson score interval for k successes in n trials."""
    from scipy.stats import norm

    if n == 0:
        return None, None
    z = float(norm.ppf(1 - (1 - level) / 2))
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def _check(items: list[Item]) -> None:
    if not items:
        raise EvaluationError("no reviewed sequence with a machine result: review some sequences first")
    for it in items:
        if not it.human:
            raise EvaluationError(f"sequence {it.sequence_id} has no human label")


def confusion(items: list[Item]) -> dict:
    """{"labels": [...], "matrix": [[count]]}: rows human labels, columns machine labels; a sequence
    with two human labels counts once in each row (the machine gave one label)."""
    _check(items)
    counts: Counter = Counter()
    for it in items:
        for h in it.human:
            counts[(h, it.machine)] += 1
    labels = sorted({h for h, _ in counts} | {m for _, m in counts}, key=lambda s: (s in NON_ANIMAL, s))
    return {"labels": labels, "matrix": [[counts.get((h, m), 0) for m in labels] for h in labels]}


def per_label(items: list[Item], level: float = 0.95) -> list[dict]:
    """Precision (of the machine's label), recall (of the reviewers' label), F1, with Wilson intervals."""
    _check(items)
    predicted: Counter = Counter(it.machine for it in items)
    tp: Counter = Counter(it.machine for it in items if it.correct)
    truth: Counter = Counter(h for it in items for h in it.human)
    found: Counter = Counter(h for it in items for h in it.human if it.machine == h)
    rows = []
    for label in sorted(set(predicted) | set(truth), key=lambda s: (s in NON_ANIMAL, s)):
        n_pred, n_true = predicted[label], truth[label]
        prec = tp[label] / n_pred if n_pred else None
        rec = found[label] / n_true if n_true else None
        f1 = 2 * prec * rec / (prec + rec) if prec and rec else (0.0 if prec is not None and rec is not None else None)
        plo, phi = wilson(tp[label], n_pred, level)
        rlo, rhi = wilson(found[label], n_true, level)
        rows.append({"label": label, "machine_predictions": n_pred, "human_labels": n_true,
                     "true_positives": tp[label], "precision": prec, "precision_lower": plo, "precision_upper": phi,
                     "recall": rec, "recall_lower": rlo, "recall_upper": rhi, "f1": f1,
                     "small_sample": n_pred < MIN_ITEMS or n_true < MIN_ITEMS})
    return rows


def precision_thresholds(items: list[Item], target: float = 0.95, min_items: int = MIN_ITEMS) -> list[dict]:
    """Per machine label: the lowest confidence t such that, for every threshold >= t, the
    predictions at or above it are right at least ``target`` of the time (and there are at
    least ``min_items`` of them at t). ``threshold`` None with a ``reason`` when no t exists."""
    if not 0 < target <= 1:
        raise EvaluationError(f"target precision must be above 0 and at most 1, got {target}")
    _check(items)
    by_label: dict[str, list[Item]] = defaultdict(list)
    truth: Counter = Counter(h for it in items for h in it.human)
    for it in items:
        if it.machine != BLANK and it.confidence is not None:
            by_label[it.machine].append(it)
    rows = []
    for label in sorted(by_label):
        preds = sorted(by_label[label], key=lambda i: -(i.confidence or 0.0))
        n = len(preds)
        overall = sum(i.correct for i in preds) / n
        row = {"label": label, "predictions": n, "precision_all": overall, "target": target, "threshold": None,
               "precision_at": None, "kept": None, "recall_at": None, "reason": None}
        if n < min_items:
            row["reason"] = f"only {n} machine prediction(s) reviewed (need {min_items})"
            rows.append(row)
            continue
        # Walk from the most confident down; a threshold is valid when the precision at it and
        # at every higher one reaches the target (ties of confidence enter together).
        best = None
        correct = 0
        ok_so_far = True
        i = 0
        while i < n:
            conf = preds[i].confidence
            while i < n and preds[i].confidence == conf:
                correct += preds[i].correct
                i += 1
            prec = correct / i
            ok_so_far = ok_so_far and (prec >= target or i < min_items)
            if not ok_so_far:
                break
            if i >= min_items and prec >= target:
                best = (conf, prec, i, correct)
        if best is None:
            row["reason"] = (f"precision never reaches {target:g} with at least {min_items} predictions "
                             f"(overall {overall:.2f})")
        else:
            conf, prec, kept, correct = best
            row.update(threshold=conf, precision_at=prec, kept=kept,
                       recall_at=correct / truth[label] if truth[label] else None)
        rows.append(row)
    return rows


DEFAULT_THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def triage_cost(items: list[Item], thresholds=DEFAULT_THRESHOLDS) -> list[dict]:
    """For each threshold: what blank triage (no box at or above it) would have done to the reviewed sequences."""
    _check(items)
    animal_total = sum(1 for it in items if it.human - NON_ANIMAL)
    person_total = sum(1 for it in items if PERSON in it.human)
    blank_total = sum(1 for it in items if it.human == frozenset({BLANK}))
    rows = []
    for t in thresholds:
        if not 0 < t <= 1:
            raise EvaluationError(f"thresholds must be above 0 and at most 1, got {t}")
        hidden = [it for it in items if it.max_box < t]
        animals = [it for it in hidden if it.human - NON_ANIMAL]
        species = Counter(s for it in animals for s in it.human - NON_ANIMAL)
        rows.append({"threshold": t, "hidden": len(hidden),
                     "blanks_removed": sum(1 for it in hidden if it.human == frozenset({BLANK})),
                     "blank_total": blank_total,
                     "animal_sequences_hidden": len(animals), "animal_total": animal_total,
                     "animal_share_hidden": len(animals) / animal_total if animal_total else None,
                     "person_sequences_hidden": sum(1 for it in hidden if PERSON in it.human),
                     "person_total": person_total,
                     "species_hidden": [{"species": s, "sequences": n} for s, n in species.most_common(10)]})
    return rows


def evaluate(items: list[Item], target: float = 0.95, thresholds=DEFAULT_THRESHOLDS, level: float = 0.95) -> dict:
    """Everything above in one JSON-ready dict, with the number of sequences and notes."""
    _check(items)
    notes = []
    if len(items) < 50:
        notes.append(f"only {len(items)} reviewed sequences: the figures are rough")
    return {"sequences": len(items), "accuracy": sum(it.correct for it in items) / len(items),
            "per_label": per_label(items, level), "confusion": confusion(items),
            "thresholds": precision_thresholds(items, target), "triage": triage_cost(items, thresholds),
            "target_precision": target, "level": level, "notes": notes}


__all__ = ["BLANK", "EvaluationError", "Item", "confusion", "evaluate", "per_label", "precision_thresholds",
           "triage_cost", "wilson"]
