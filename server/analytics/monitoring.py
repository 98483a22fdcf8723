"""Monitoring statistics on a program's own data: occupancy (single-season and across years),
activity overlap, richness and the AI's accuracy against human review.

Each function builds the inputs of a :mod:`server.stats` model from the database (through the
loaders and the camtrapR-equivalent record table, camera operation and detection histories of
:mod:`server.analytics.camtrap`) and returns a registry :class:`~server.analytics.registry.Table`
whose rows are the estimates and whose ``notes`` carry the full fit (coefficients, SEs,
warnings). Model problems the statistics raise become ValidationError (a 400, a CLI error);
problems that leave numbers (boundary estimates, sites removed...) are in each row's
``warnings`` - never silent.

Station covariates a formula may use (single-season and multi-season occupancy):
``elevation``, ``latitude``, ``longitude``, ``habitat`` (the station's, else its deployment's),
``camera_height``, ``bait`` (0/1), ``feature_type``, ``trap_nights``; the detection formula may
also use ``effort`` (active days in the occasion, from the camera operation matrix); across
years, ``year`` (1, 2, ...) and ``year_trap_nights`` are yearly covariates.
"""
from __future__ import annotations

import math
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ValidationError
from . import camtrap

if TYPE_CHECKING:  # pragma: no cover
    from sqlmodel import Session

    from .registry import Options, Table

STATION_COVARIATES = ("elevation", "latitude", "longitude", "habitat", "camera_height", "bait", "feature_type",
                      "trap_nights")
MIN_OVERLAP = 10  # records per species below which the report leaves an overlap out


def _table(*args, **kw) -> Table:
    from .registry import Table

    return Table(*args, **kw)


def station_covariates(session: Session, program_ids: list[str], stations: list[str], nights: dict[str, float]):
    """A pandas table of station covariates, one row per station (in ``stations`` order)."""
    import pandas as pd
    from sqlalchemy import select

    from ..models import Deployment, Location

    rows = session.execute(select(Deployment, Location).join(Location, Location.id == Deployment.location_id)
                           .where(Deployment.program_id.in_(program_ids), Deployment.kind == "camera")
                           .order_by(Deployment.deployment_start)).all()
    latest: dict[str, tuple[Any, Any]] = {}
    for d, loc in rows:
        latest[loc.name] = (d, loc)  # the latest deployment describes the station
    out = []
    for s in stations:
        d, loc = latest.get(s, (None, None))
        out.append({
            "elevation": loc.elevation if loc is not None else None,
            "latitude": loc.latitude if loc is not None else None,
            "longitude": loc.longitude if loc is not None else None,
            "habitat": (loc.habitat or (d.habitat if d is not None else None)) if loc is not None else None,
            "camera_height": d.camera_height if d is not None else None,
            "bait": (1.0 if d.bait_use else 0.0) if d is not None else None,
            "feature_type": d.feature_type if d is not None else None,
            "trap_nights": float(nights.get(s, 0.0)),
        })
    frame = pd.DataFrame(out, columns=list(STATION_COVARIATES))
    for c in ("elevation", "latitude", "longitude", "camera_height", "bait", "trap_nights"):
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(float)
    for c in ("habitat", "feature_type"):
        frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    return frame


def _history_arrays(dh: camtrap.DetectionHistory) -> tuple[np.ndarray, np.ndarray]:
    y = np.array([[np.nan if v is None else float(v) for v in row] for row in dh.history], dtype=float)
    eff = np.array([[np.nan if v is None else float(v) for v in row] for row in dh.effort], dtype=float)
    return y.reshape(len(dh.stations), dh.occasions), eff.reshape(len(dh.stations), dh.occasions)


def _species(records, o) -> list[str]:
    if o.species:
        if not any(r.species == o.species for r in records):
            raise ValidationError(f"no independent record of {o.species!r} in these programs and dates")
        return [o.species]
    return sorted({r.species for r in records})


def _fail(e: Exception) -> ValidationError:
    return ValidationError(str(e))


def _mean_detection(fit, level: float) -> dict:
    """Mean predicted detection probability over the surveyed occasions with a delta-method interval."""
    from ..stats.occupancy import _logit_interval, plogis

    prep = fit.prep
    used = np.isfinite(prep.y.reshape(-1))
    sl = fit._slice("p")
    V = prep.V[used]
    eta = V @ fit.estimates[sl] + prep.V_offset[used]
    p = plogis(eta)
    mean = float(p.mean())
    grad = ((p * (1 - p))[:, None] * V).mean(axis=0)
    cov = fit.vcov[sl, sl]
    se = float(math.sqrt(max(grad @ cov @ grad, 0.0))) if np.isfinite(cov).all() else math.nan
    return {"estimate": mean, "se": se if math.isfinite(se) else None, **_logit_interval(mean, se, level)}


def occupancy(session: Session, program_ids: list[str], o: Options) -> Table:
    """Occupancy with detection probability by maximum likelihood (unmarked occu; across years: colext)."""
    if o.model == "dynamic":
        return dynamic_occupancy(session, program_ids, o)
    if o.model != "single":
        raise ValidationError(f"option model must be 'single' or 'dynamic', got {o.model!r}")
    from ..stats import occupancy as occ
    from ..stats.design import FormulaError
    from .registry import _camop, _records

    records = _records(session, program_ids, o)
    op = _camop(session, program_ids, o)
    if not op.days:
        raise ValidationError("no camera was operating in these programs and dates: no occupancy to estimate")
    nights = camtrap.trap_nights(op)
    covs = station_covariates(session, program_ids, list(op.stations), nights)
    rows: list[dict[str, Any]] = []
    fits: dict[str, Any] = {}
    for sp in _species(records, o):
        try:
            dh = camtrap.detection_history(records, op, sp, o.occasion_length, o.day1, o.include_effort, "binary")
        except ValueError as e:
            raise _fail(e) from None
        y, eff = _history_arrays(dh)
        data = occ.OccuData(y, list(dh.stations), covs, {"effort": eff})
        try:
            fit = occ.fit(data, o.psi, o.p)
        except (occ.OccupancyError, FormulaError) as e:
            if o.species:
                raise _fail(e) from None
            rows.append({"species": sp, "error": str(e)})
            continue
        mo = fit.mean_occupancy(o.level)
        md = _mean_detection(fit, o.level)
        detected = int(np.nansum(np.nanmax(np.where(np.isfinite(fit.prep.y), fit.prep.y, 0), axis=1)))
        rows.append({"species": sp, "stations": fit.n_sites, "stations_detected": detected,
                     "naive_occupancy": round(fit.naive_occupancy(), 4),
                     "psi": mo["estimate"], "psi_lower": mo["lower"], "psi_upper": mo["upper"],
                     "p": md["estimate"], "p_lower": md["lower"], "p_upper": md["upper"],
                     "aic": fit.aic, "converged": fit.converged,
                     "warnings": "; ".join(w.message for w in fit.warnings) or None})
        fits[sp] = fit.to_json(o.level)
    cols = ["species", "stations", "stations_detected", "naive_occupancy", "psi", "psi_lower", "psi_upper", "p",
            "p_lower", "p_upper", "aic", "converged", "warnings", "error"]
    return _table("occupancy", cols, rows, {"model": "single-season (MacKenzie et al. 2002; unmarked occu)",
                                            "psi_formula": o.psi, "p_formula": o.p, "level": o.level,
                                            "occasion_length": o.occasion_length, "fits": fits,
                                            "covariates": list(STATION_COVARIATES) + ["effort"]})


def _years(session: Session, program_ids: list[str], o: Options) -> list[int]:
    from .loaders import Window, load_periods

    if o.year:
        raise ValidationError("occupancy across years needs several years: give start and end (or neither), not year")
    periods = load_periods(session, program_ids, Window(o.start, o.end))
    years = sorted({y for p in periods for y in range(p.start.year, p.end.year + 1)})
    if o.start:
        years = [y for y in years if y >= o.start.year]
    if o.end:
        years = [y for y in years if y <= o.end.year]
    if len(years) < 2:
        raise ValidationError(f"cameras operated in {len(years)} year(s) ({', '.join(map(str, years)) or 'none'}): "
                              "occupancy across years needs at least two")
    return years


def dynamic_inputs(session: Session, program_ids: list[str], o: Options, species: list[str] | None = None):
    """(stations, years, {species: ColextData}) for the years the program's cameras operated."""
    from dataclasses import replace

    from ..stats import colext as cx
    from .loaders import station_names
    from .registry import _camop, _records

    years = _years(session, program_ids, o)
    stations = station_names(session, program_ids)
    per_year = []
    all_species: set[str] = set()
    for yr in years:
        oy = replace(o, year=yr, start=None, end=None)
        recs = _records(session, program_ids, oy)
        op = _camop(session, program_ids, oy)
        all_species |= {r.species for r in recs}
        per_year.append((recs, op))
    wanted = species if species is not None else ([o.species] if o.species else sorted(all_species))
    if o.species and o.species not in all_species:
        raise ValidationError(f"no independent record of {o.species!r} in these programs and years")
    nights_y = np.array([[camtrap.trap_nights(op).get(s, 0.0) if op.days else 0.0 for op in [p[1] for p in per_year]]
                         for s in stations], dtype=float)
    covs = station_covariates(session, program_ids, stations, dict(zip(stations, nights_y.sum(axis=1))))
    out = {}
    for sp in wanted:
        ys, effs = [], []
        for recs, op in per_year:
            if not op.days:
                ys.append(np.full((len(stations), 1), np.nan))
                effs.append(np.full((len(stations), 1), np.nan))
                continue
            try:
                dh = camtrap.detection_history(recs, op, sp, o.occasion_length, o.day1, o.include_effort, "binary")
            except ValueError as e:
                raise _fail(e) from None
            y, eff = _history_arrays(dh)
            index = {s: i for i, s in enumerate(dh.stations)}
            where = [index.get(s) for s in stations]
            ys.append(np.array([y[i] if i is not None else np.full(dh.occasions, np.nan) for i in where]))
            effs.append(np.array([eff[i] if i is not None else np.full(dh.occasions, np.nan) for i in where]))
        J = max(a.shape[1] for a in ys)
        pad = [np.pad(a, ((0, 0), (0, J - a.shape[1])), constant_values=np.nan) for a in ys]
        padE = [np.pad(a, ((0, 0), (0, J - a.shape[1])), constant_values=np.nan) for a in effs]
        yearly = {"year": np.tile(np.arange(1, len(years) + 1, dtype=float), (len(stations), 1)),
                  "year_trap_nights": nights_y}
        try:
            out[sp] = cx.ColextData(np.hstack(pad), list(stations), len(years), covs, yearly,
                                    {"effort": np.hstack(padE)}, [str(y) for y in years])
        except Exception as e:  # OccupancyError: a message for people
            raise _fail(e) from None
    return stations, years, out


def fit_dynamic(data, o: Options):
    """The colext fit of one species' data with the options' formulas; ValidationError when it cannot be fitted."""
    from ..stats import colext as cx
    from ..stats.design import FormulaError
    from ..stats.occupancy import OccupancyError

    try:
        return cx.fit(data, o.psi, o.gamma, o.epsilon, o.p)
    except (OccupancyError, FormulaError) as e:
        raise _fail(e) from None


def dynamic_occupancy(session: Session, program_ids: list[str], o: Options) -> Table:
    """Occupancy per year from colonisation and extinction (MacKenzie et al. 2003; unmarked colext)."""
    _, years, inputs = dynamic_inputs(session, program_ids, o)
    rows: list[dict[str, Any]] = []
    fits: dict[str, Any] = {}
    for sp, data in inputs.items():
        try:
            fit = fit_dynamic(data, o)
        except ValidationError as e:
            if o.species:
                raise
            rows.append({"species": sp, "error": e.message})
            continue
        js = fit.to_json(o.level)
        warn = "; ".join(w["message"] for w in js["warnings"]) or None
        for pr, sm, nv in zip(js["projected"], js["smoothed"], js["naive_occupancy"]):
            rows.append({"species": sp, "season": pr["season"], "stations_surveyed": nv["surveyed_sites"],
                         "naive_occupancy": nv["naive"],
                         "projected": pr["estimate"], "projected_lower": pr["lower"], "projected_upper": pr["upper"],
                         "smoothed": sm["estimate"], "smoothed_lower": sm["lower"], "smoothed_upper": sm["upper"],
                         "converged": fit.converged, "warnings": warn})
        fits[sp] = js
    cols = ["species", "season", "stations_surveyed", "naive_occupancy", "projected", "projected_lower",
            "projected_upper", "smoothed", "smoothed_lower", "smoothed_upper", "converged", "warnings", "error"]
    return _table("occupancy", cols, rows, {"model": "multi-season (MacKenzie et al. 2003; unmarked colext)",
                                            "formulas": {"psi": o.psi, "col": o.gamma, "ext": o.epsilon, "p": o.p},
                                            "years": years, "level": o.level, "fits": fits})


def activity_radians(rows: list[camtrap.RecordRow], species: str) -> np.ndarray:
    """Local clock times of a species' independent records as radians (0..2 pi), as overlap takes them."""
    t = [r.time for r in rows if r.species == species]
    return np.array([2 * math.pi * (x.hour * 3600 + x.minute * 60 + x.second) / 86400 for x in t], dtype=float)


def overlap_of(rows: list[camtrap.RecordRow], a: str, b: str, bootstrap: int, seed: int | None, level: float) -> dict:
    """Dhat1/4/5 of two species' activity (R package overlap) with bootstrap intervals; ValidationError when
    a sample is too small."""
    from ..stats import overlap as ov

    xa, xb = activity_radians(rows, a), activity_radians(rows, b)
    for n, sp in ((xa.size, a), (xb.size, b)):
        if n < 2:
            raise ValidationError(f"{sp}: {n} independent record(s); activity overlap needs at least 2 per species "
                                  f"(and 20 or more for a trustworthy estimate)")
    try:
        res = ov.analyse(xa, xb, bootstrap=bootstrap, seed=seed, conf=level)
    except ov.OverlapInputError as e:
        raise _fail(e) from None
    return res.to_json()


def overlap(session: Session, program_ids: list[str], o: Options) -> Table:
    """Activity overlap of two species (Dhat1, Dhat4, Dhat5 as the R package overlap) with bootstrap intervals."""
    from .registry import _records

    if not o.species or not o.species_b:
        raise ValidationError("activity overlap needs two species: species and species_b (scientific names)")
    rows = _records(session, program_ids, o)
    js = overlap_of(rows, o.species, o.species_b, o.bootstrap, o.seed, o.level)
    out = []
    for est in ("dhat1", "dhat4", "dhat5"):
        ci = (js.get("ci") or {}).get(est) or {}
        basic0 = ci.get("basic0")
        out.append({"estimator": est, "estimate": js[est], "lower": basic0[0] if basic0 else None,
                    "upper": basic0[1] if basic0 else None, "recommended": est == js["recommended"]})
    notes = {k: v for k, v in js.items() if k not in ("dhat1", "dhat4", "dhat5")}
    notes.update(species_a=o.species, species_b=o.species_b, time="local clock time of independent records")
    return _table("overlap", ["estimator", "estimate", "lower", "upper", "recommended"], out, notes)


def incidence(session: Session, program_ids: list[str], o: Options) -> tuple[list[str], list[str], np.ndarray]:
    """(stations, species, stations x species 0/1): stations that operated, species counted by the taxonomy rule."""
    from . import taxonomy
    from .registry import _nights, _records

    rows = _records(session, program_ids, o)
    rows = taxonomy.keep_counted(rows, lambda r: r.species,
                                 taxonomy.load_lineages(session, {r.species for r in rows}))
    nights = _nights(session, program_ids, o)
    stations = sorted(s for s, n in nights.items() if n > 0)
    species = sorted({r.species for r in rows})
    index_s = {s: i for i, s in enumerate(stations)}
    index_p = {s: j for j, s in enumerate(species)}
    x = np.zeros((len(stations), len(species)))
    for r in rows:
        if r.station in index_s:
            x[index_s[r.station], index_p[r.species]] = 1
    return stations, species, x


def richness(session: Session, program_ids: list[str], o: Options) -> Table:
    """Estimated species richness: Chao2, jackknife 1 and 2, bootstrap (vegan specpool), with intervals."""
    from ..stats import richness as rc

    stations, species, x = incidence(session, program_ids, o)
    if not stations:
        raise ValidationError("no camera station operated in these programs and dates: no richness to estimate")
    try:
        pool = rc.specpool(x, level=o.level, seed=o.seed)
        acc = rc.specaccum(x, o.method, permutations=o.permutations, seed=o.seed, level=o.level)
    except rc.RichnessError as e:
        raise _fail(e) from None
    iv = pool.intervals
    rows = [{"estimator": "observed", "estimate": pool.species, "se": None, "lower": None, "upper": None},
            {"estimator": "chao2", "estimate": pool.chao, "se": pool.chao_se, "lower": iv["chao"][0],
             "upper": iv["chao"][1]},
            {"estimator": "jack1", "estimate": pool.jack1, "se": pool.jack1_se, "lower": iv["jack1"][0],
             "upper": iv["jack1"][1]},
            {"estimator": "jack2", "estimate": pool.jack2, "se": pool.jack2_se,
             "lower": iv.get("jack2", (None, None))[0], "upper": iv.get("jack2", (None, None))[1]},
            {"estimator": "bootstrap", "estimate": pool.boot, "se": pool.boot_se, "lower": iv["boot"][0],
             "upper": iv["boot"][1]}]
    return _table("richness", ["estimator", "estimate", "se", "lower", "upper"], rows,
                  {"unit": "camera station", "stations": len(stations), "species": species,
                   "uniques": pool.a1, "duplicates": pool.a2, "level": o.level, "notes": pool.notes,
                   "accumulation": acc.as_dict()})


# ---- AI evaluation -------------------------------------------------------------------------------------
def load_ai_items(session: Session, program_ids: list[str], start: date | None = None, end: date | None = None,
                  detector_level: bool = False, deployment_id: str | None = None):
    """One :class:`server.stats.ai_eval.Item` per reviewed camera sequence that a detector processed
    (of one deployment when ``deployment_id`` is given)."""
    from sqlalchemy import select

    from ..models import Deployment, Detection, Media, Observation, Sequence, Taxon
    from ..review.queue import BLANK_CATEGORY, HUMAN_MODEL
    from ..stats.ai_eval import BLANK, NON_ANIMAL, Item
    seqs = {sid: t for sid, t in session.execute(
        select(Sequence.id, Sequence.event_start).join(Deployment, Deployment.id == Sequence.deployment_id)
        .where(Deployment.program_id.in_(program_ids), Deployment.kind == "camera",
               Sequence.review_status != "unreviewed",
               *([Deployment.id == deployment_id] if deployment_id else []))).all()}
    if start or end:  # by the sequence's UTC date: a day's shift at the edges is immaterial here
        seqs = {k: t for k, t in seqs.items() if t is not None and (start is None or t.date() >= start)
                and (end is None or t.date() <= end)}
    if not seqs:
        return []
    human: dict[str, set[str]] = {}
    ids = list(seqs)
    for part in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        for sid, otype, name in session.execute(
                select(Observation.sequence_id, Observation.observation_type, Taxon.scientific_name)
                .outerjoin(Taxon, Taxon.id == Observation.taxon_id)
                .where(Observation.sequence_id.in_(part), Observation.classification_method == "human")).all():
            label = {"blank": BLANK, "human": "person", "vehicle": "vehicle"}.get(otype) or (
                name if otype == "animal" and name else "animal" if otype == "animal" else otype)
            human.setdefault(sid, set()).add(label)
    ran: set[str] = set()
    best: dict[str, tuple[float, str]] = {}
    max_box: dict[str, float] = {}
    for part in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        for sid, cat, conf, label, lconf, dismissed, name in session.execute(
                select(Media.sequence_id, Detection.category, Detection.confidence, Detection.label,
                       Detection.label_confidence, Detection.dismissed, Taxon.scientific_name)
                .join(Media, Media.id == Detection.media_id).outerjoin(Taxon, Taxon.id == Detection.taxon_id)
                .where(Media.sequence_id.in_(part), Media.kind != "audio", Detection.model != HUMAN_MODEL)).all():
            ran.add(sid)
            if dismissed or cat == BLANK_CATEGORY:
                continue
            max_box[sid] = max(max_box.get(sid, 0.0), float(conf))
            if detector_level:
                lab, c = cat, float(conf)
            else:
                lab = name or label or cat
                c = float(lconf if lconf is not None and (name or label) else conf)
            if c > best.get(sid, (-1.0, ""))[0]:
                best[sid] = (c, lab)
    items = []
    for sid in ids:
        if sid not in ran or sid not in human:
            continue
        h = set(human[sid])
        if detector_level:
            h = {lab if lab in NON_ANIMAL else "animal" for lab in h}
        c, lab = best.get(sid, (None, BLANK))  # type: ignore[assignment]
        items.append(Item(sid, lab, c if lab != BLANK else None, max_box.get(sid, 0.0), frozenset(h)))
    return items


def ai_evaluation(session: Session, program_ids: list[str], o: Options) -> Table:
    """Machine labels against human review: precision, recall, confusion, thresholds, blank-triage cost."""
    from ..stats import ai_eval as ae

    items = load_ai_items(session, program_ids, o.start if not o.year else date(o.year, 1, 1),
                          o.end if not o.year else date(o.year, 12, 31))
    if not items:
        raise ValidationError("no reviewed sequence that a detector processed in these programs and dates: "
                              "nothing to evaluate the AI against")
    try:
        res = ae.evaluate(items, o.target_precision, level=o.level)
        det = ae.per_label(load_ai_items(session, program_ids, o.start, o.end, detector_level=True) or items,
                           o.level)
    except ae.EvaluationError as e:
        raise _fail(e) from None
    thr = {r["label"]: r for r in res["thresholds"]}
    rows = []
    for r in res["per_label"]:
        t = thr.get(r["label"], {})
        rows.append({**{k: r[k] for k in ("label", "machine_predictions", "human_labels", "true_positives",
                                          "precision", "precision_lower", "precision_upper", "recall",
                                          "recall_lower", "recall_upper", "f1", "small_sample")},
                     "threshold_for_target": t.get("threshold"), "precision_at_threshold": t.get("precision_at"),
                     "recall_at_threshold": t.get("recall_at"), "threshold_note": t.get("reason")})
    cols = ["label", "machine_predictions", "human_labels", "true_positives", "precision", "precision_lower",
            "precision_upper", "recall", "recall_lower", "recall_upper", "f1", "small_sample",
            "threshold_for_target", "precision_at_threshold", "recall_at_threshold", "threshold_note"]
    return _table("ai-evaluation", cols, rows,
                  {"sequences": res["sequences"], "accuracy": res["accuracy"], "target_precision": o.target_precision,
                   "confusion": res["confusion"], "triage": res["triage"], "detector": det, "notes": res["notes"]})
