"""The annual report's monitoring estimates: occupancy of the priority species with intervals, its
trend over the years, activity overlap of predator-prey pairs and richness with its interval.

Which species: the program's settings name them - ``settings["priority_species"]`` (scientific
names) and ``settings["predator_prey"]`` (pairs ``[predator, prey]``). Without them the report
takes the threatened species (IUCN CR/EN/VU, or a Decree 84 group) detected at two stations or
more, most recorded first, and pairs of cats or dogs (Felidae, Canidae in the lineage) with
deer, pigs and bovids (Cervidae, Suidae, Bovidae, Tragulidae) recorded at least
``MIN_OVERLAP`` times each. Anything that cannot be estimated is listed with its reason,
never left out silently.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session

from ..analytics import camtrap
from ..analytics.monitoring import MIN_OVERLAP, overlap_of
from ..errors import ValidationError

MAX_PRIORITY = 6
MAX_PAIRS = 3
MAX_YEARS = 10
THREATENED = {"CR", "EN", "VU"}
PREDATORS = ("Felidae", "Canidae")
PREY = ("Cervidae", "Suidae", "Bovidae", "Tragulidae")


@dataclass
class Monitoring:
    occupancy: list[dict] = field(default_factory=list)  # species, naive, psi (CI), p (CI), warnings
    trend_years: list[int] = field(default_factory=list)
    trends: list[dict] = field(default_factory=list)  # species, seasons [{season, estimate, lower, upper}], change
    overlaps: list[dict] = field(default_factory=list)
    richness: dict[str, Any] | None = None
    not_estimated: list[dict] = field(default_factory=list)  # what, reason
    chosen_by: str = "settings"


def _settings(session: Session, pids: list[str]) -> dict:
    from ..models import Program

    out: dict[str, list] = {"priority_species": [], "predator_prey": []}
    for pid in pids:
        p = session.get(Program, pid)
        st = (p.settings or {}) if p is not None else {}
        out["priority_species"] += [s for s in st.get("priority_species") or [] if isinstance(s, str)]
        out["predator_prey"] += [list(x) for x in st.get("predator_prey") or []
                                 if isinstance(x, (list, tuple)) and len(x) == 2]
    return out


def _in_lineage(name: str, lineages: dict, groups: tuple[str, ...]) -> bool:
    return any(g in (lineages.get(name) or ()) for g in groups)


def build_monitoring(session: Session, pids: list[str], year: int, records: list[camtrap.RecordRow],
                     species_rows: list, lineages: dict, min_delta_min: float = 60.0,
                     bootstrap: int = 1000, seed: int = 1) -> Monitoring:
    """The estimates of the report year (and the trend up to it); see the module docstring."""
    from ..analytics import monitoring as mon
    from ..analytics.registry import Options

    out = Monitoring()
    settings = _settings(session, pids)
    events: dict[str, int] = {}
    stations: dict[str, set] = {}
    for r in records:
        events[r.species] = events.get(r.species, 0) + 1
        stations.setdefault(r.species, set()).add(r.station)
    priority = list(dict.fromkeys(settings["priority_species"]))
    if not priority:
        out.chosen_by = "threat status"
        threatened = [s.taxon.scientific_name for s in species_rows
                      if (s.taxon.iucn_category in THREATENED or s.taxon.decree84_group)
                      and len(stations.get(s.taxon.scientific_name, ())) >= 2]
        priority = sorted(threatened, key=lambda n: -events.get(n, 0))[:MAX_PRIORITY]
    o = Options(year=year, min_delta=min_delta_min, occasion_length=7)
    for sp in priority:
        if sp not in events:
            out.not_estimated.append({"what": sp, "reason": f"no independent camera record in {year}"})
            continue
        try:
            t = mon.occupancy(session, pids, Options(**{**o.__dict__, "species": sp}))
        except ValidationError as e:
            out.not_estimated.append({"what": sp, "reason": e.message})
            continue
        out.occupancy.extend(t.rows)
    # the trend: multi-season model over the years the cameras worked, up to the report year
    trend_o = Options(**{**o.__dict__, "year": None, "start": date(year - MAX_YEARS + 1, 1, 1),
                         "end": date(year, 12, 31), "model": "dynamic"})
    try:
        _, years, inputs = mon.dynamic_inputs(session, pids, trend_o, [sp for sp in priority if sp in events])
        out.trend_years = years
        for sp, data in inputs.items():
            try:
                fit = mon.fit_dynamic(data, trend_o)
            except ValidationError as e:
                out.not_estimated.append({"what": f"{sp} (trend)", "reason": e.message})
                continue
            js = fit.to_json()
            out.trends.append({"species": sp, "seasons": js["smoothed"], "projected": js["projected"],
                               "change": js["trend"], "warnings": [w["message"] for w in js["warnings"]]})
    except ValidationError as e:
        if priority:
            out.not_estimated.append({"what": "occupancy trend", "reason": e.message})
    pairs = [tuple(p) for p in settings["predator_prey"]]
    if not pairs:
        preds = sorted((n for n in events if _in_lineage(n, lineages, PREDATORS) and events[n] >= MIN_OVERLAP),
                       key=lambda n: -events[n])
        prey = sorted((n for n in events if _in_lineage(n, lineages, PREY) and events[n] >= MIN_OVERLAP),
                      key=lambda n: -events[n])
        pairs = [(a, b) for a in preds for b in prey][:MAX_PAIRS]
    for a, b in pairs:
        n_a, n_b = events.get(a, 0), events.get(b, 0)
        if min(n_a, n_b) < MIN_OVERLAP:
            out.not_estimated.append({"what": f"{a} / {b}", "reason": f"{n_a} and {n_b} independent records; "
                                                                      f"activity overlap needs {MIN_OVERLAP} of each"})
            continue
        try:
            js = overlap_of(records, a, b, bootstrap, seed, 0.95)
        except ValidationError as e:
            out.not_estimated.append({"what": f"{a} / {b}", "reason": e.message})
            continue
        est = js["recommended"]
        ci = ((js.get("ci") or {}).get(est) or {}).get("basic0")
        out.overlaps.append({"predator": a, "prey": b, "n_a": n_a, "n_b": n_b, "estimator": est,
                             "estimate": js[est], "lower": ci[0] if ci else None, "upper": ci[1] if ci else None})
    try:
        t = mon.richness(session, pids, Options(year=year, min_delta=min_delta_min))
        out.richness = {r["estimator"]: r for r in t.rows} | {"_stations": t.notes["stations"]}
    except ValidationError as e:
        out.not_estimated.append({"what": "richness", "reason": e.message})
    return out
