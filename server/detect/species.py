"""The ``classify`` job: species labels for animal boxes, restricted to the area's species.

Params: ``media_ids``, ``detector`` (the model@version whose boxes are
classified) and ``model`` (registered classifier name, default
``SAOLA_CLASSIFIER_MODEL``). For each image the classifier scores its animal
crops and :func:`classifiers.species.ensemble` combines them with the
detector's boxes as SpeciesNet does (thresholds, roll-up up the taxonomy,
geofence). The allowed species are the program's ``settings["species_list"]``
(scientific names) or, without one, every taxon in the species reference.
Each classified box gets ``label``, ``label_confidence``, ``taxon_id`` (when
the label is a known taxon) and ``extra["classification"]`` naming the
classifier and whether the label came from the classifier, a roll-up or the
geofence. Boxes a person reviewed are left alone.

A classifier's config (``saola models add --kind classifier --labels FILE
--config JSON``) may hold ``input_size``, ``layout`` (NCHW/NHWC), ``mean``,
``std``, ``margin``, ``square``, ``outputs``, ``thresholds`` (EnsemblePolicy
fields) and ``taxonomy`` (``{label: [genus, family, order, class]}``); without
a taxonomy the parent links of the species reference are used.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlmodel import Session, select

from classifiers.megadetector import MD_CATEGORIES, Detection as MDDetection

from .. import audit
from ..jobs import JobFailed, handler
from ..models import Deployment, Detection, Job, Media, MLModel, Program, Taxon
from ..services.taxa import find_taxon
from . import service
from .registry import ModelFileError, model_key

_CATEGORY_IDS = {name: cid for cid, name in MD_CATEGORIES.items()}
_CLASSIFIER_OPTIONS = ("input_size", "layout", "mean", "std", "margin", "square", "outputs")
BATCH = 16


def load_classifier(model: MLModel, path: str):
    """A :class:`classifiers.species.SpeciesClassifier` for a registered classifier model."""
    from classifiers.megadetector import ModelError
    from classifiers.species import SpeciesClassifier

    cfg = model.config or {}
    if not cfg.get("labels"):
        raise ModelFileError(f"classifier {model.name!r} has no labels: register it with --labels FILE")
    opts = {k: cfg[k] for k in _CLASSIFIER_OPTIONS if k in cfg}
    if isinstance(opts.get("input_size"), list):
        opts["input_size"] = tuple(opts["input_size"])
    try:
        return SpeciesClassifier(path, cfg["labels"], **opts)
    except (ModelError, ValueError, FileNotFoundError) as e:
        raise ModelFileError(f"classifier {model.name!r}: {e}") from None


def taxonomy_for(session: Session, labels: list[str], config: dict[str, Any]):
    """The taxonomy the roll-up walks: the classifier's own, else the species reference's parents."""
    from classifiers.species import SPECIAL_LABELS, Taxonomy

    if config.get("taxonomy"):
        return Taxonomy(config["taxonomy"])
    chains = {}
    for label in labels:
        if label in SPECIAL_LABELS:
            continue
        t = session.exec(select(Taxon).where(Taxon.scientific_name == label)).first()
        chain, seen = [], set()
        while t is not None and t.parent_id and t.parent_id not in seen:
            seen.add(t.parent_id)
            t = session.get(Taxon, t.parent_id)
            if t is not None:
                chain.append(t.scientific_name)
        chains[label] = chain
    return Taxonomy(chains)


def allowed_species(session: Session, program: Program | None) -> list[str] | None:
    """Names the area's program allows (geofence); None means no restriction.

    The program's species list (else the whole reference), with the alternative names of those
    taxa: a classifier that says "Muntiacus muntjak" (the old name of Vietnam's red muntjac) is
    not rolled up to the genus when the reference knows the species as Muntiacus vaginalis.
    """
    listed = (program.settings or {}).get("species_list") if program is not None else None
    stmt = select(Taxon.scientific_name, Taxon.other_names)
    names: list[str] = []
    if listed:
        if not isinstance(listed, list) or not all(isinstance(x, str) for x in listed):
            raise JobFailed(f"program {program.name!r}: settings.species_list must be a list of scientific names")
        names = list(listed)
        stmt = stmt.where(Taxon.scientific_name.in_(listed))
    for sci, others in session.exec(stmt):
        names += [sci, *(o for o in (others or []) if isinstance(o, str))]
    return list(dict.fromkeys(names)) or None


def _program_of(session: Session, media: Media, cache: dict) -> Program | None:
    if media.deployment_id not in cache:
        dep = session.get(Deployment, media.deployment_id) if media.deployment_id else None
        cache[media.deployment_id] = session.get(Program, dep.program_id) if dep else None
    return cache[media.deployment_id]


@handler("classify")
def classify(ctx) -> dict:
    """Label the animal boxes of ``media_ids`` with species (see module docstring)."""
    from classifiers.image import load_image
    from classifiers.species import EnsemblePolicy, ensemble

    from .jobs import _model, stores
    from .runtime import get_classifier

    params = ctx.params
    row = _model(ctx, params.get("model") or ctx.config.get("CLASSIFIER_MODEL"), "classifier")
    key = model_key(row)
    detector_key = params.get("detector")
    media_ids = params.get("media_ids")
    if not detector_key or not isinstance(media_ids, list):
        raise JobFailed("classify needs media_ids (a list) and detector (the model@version of the boxes)")
    try:
        clf = get_classifier(row)
        policy = EnsemblePolicy(**(row.config.get("thresholds") or {}))
    except ModelFileError as e:
        raise JobFailed(str(e)) from None
    except TypeError as e:
        raise JobFailed(f"classifier {row.name!r}: bad thresholds in its config: {e}") from None
    media_store, _ = stores(ctx.config)
    with ctx.session() as s:
        taxonomy = taxonomy_for(s, clf.labels, row.config)
    fences: dict[str | None, list[str] | None] = {}
    taxa: dict[str, str | None] = {}
    stats = {"model": key, "images": len(media_ids), "classified_boxes": 0, "failed": 0, "labels": {}}
    ctx.progress(0, len(media_ids))
    done = 0

    def load(item):
        mid, path = item
        try:
            return mid, load_image(path), None
        except ValueError as e:  # ImageDecodeError: missing or corrupt file
            return mid, None, str(e)

    with ThreadPoolExecutor(2, thread_name_prefix="saola-classify-loader") as pool:
        for part in service.chunks(media_ids, BATCH):
            with ctx.session() as s:
                programs: dict = {}
                work = []
                for m in s.exec(select(Media).where(Media.id.in_(part))):
                    dets = list(s.exec(select(Detection).where(Detection.media_id == m.id,
                                                              Detection.model == detector_key,
                                                              Detection.bbox_x.is_not(None))
                                       .order_by(Detection.confidence.desc(), Detection.id)))
                    if not any(d.category == "animal" for d in dets):
                        continue
                    program = _program_of(s, m, programs)
                    pid = program.id if program else None
                    if pid not in fences:
                        fences[pid] = allowed_species(s, program)
                    work.append((m.id, m.file_name, media_store.path(m.storage_key), dets, fences[pid]))
            labelled: dict[str, tuple] = {}
            for (mid, img, err), (_, file_name, _path, dets, allowed) in zip(
                    pool.map(load, [(w[0], w[2]) for w in work]), work):
                if img is None:
                    stats["failed"] += 1
                    ctx.fail_item(mid, f"{file_name}: {err}")
                    continue
                boxes = [MDDetection(_CATEGORY_IDS.get(d.category, "0"), d.confidence,
                                     (d.bbox_x, d.bbox_y, d.bbox_width, d.bbox_height)) for d in dets]
                try:
                    scores = clf.classify_detections(img, boxes)
                    result = ensemble(boxes, scores, taxonomy, policy=policy, allowed=allowed)
                except Exception as e:  # wrong input shape, model error: this image fails, the job goes on
                    stats["failed"] += 1
                    ctx.fail_item(mid, f"{file_name}: species classifier failed: {type(e).__name__}: {e}")
                    continue
                labelled[mid] = [(d.id, p) for d, p in zip(dets, result.detections)
                                 if p is not None and d.category == "animal"]
            with ctx.session() as s:
                changed = []
                for pairs in labelled.values():
                    for det_id, pred in pairs:
                        d = s.get(Detection, det_id)
                        if d is None or d.review_status != "unreviewed":
                            continue
                        if pred.label not in taxa:
                            t = s.exec(select(Taxon.id).where(Taxon.scientific_name == pred.label)).first()
                            if t is None:  # another name of the reference: "Muntiacus sp.", "bird" (a roll-up)
                                found = find_taxon(s, pred.label)
                                t = found.id if found else None
                            taxa[pred.label] = t
                        d.label, d.label_confidence, d.taxon_id = pred.label[:200], float(pred.score), taxa[pred.label]
                        d.extra = {**(d.extra or {}), "classification": {"model": key, "source": pred.source}}
                        s.add(d)
                        stats["classified_boxes"] += 1
                        stats["labels"][pred.label] = stats["labels"].get(pred.label, 0) + 1
                        changed.append(det_id)
                if changed:  # one summarising audit entry per batch (bulk machine write)
                    job = s.get(Job, ctx.job_id)
                    audit.record(s, "update", "detection", ctx.job_id, area_id=job.area_id if job else None,
                                 after={"job_id": ctx.job_id, "classifier": key, "detection_ids": changed})
            done += len(part)
            ctx.progress(done, len(media_ids))
    return stats
