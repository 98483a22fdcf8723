"""Named analyses over a program (or a protected area): one table each, for the CLI, the API and reports."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field, fields
from datetime import date
from typing import TYPE_CHECKING, Any, Callable

from ..errors import ValidationError
from . import acoustic, camtrap, transect

if TYPE_CHECKING:  # pragma: no cover
    from sqlmodel import Session

    from .loaders import Window


def _loaders():
    """The database loaders (SQLAlchemy, the models): imported when an analysis runs, so that
    listing the analyses (``saola --help``, the CLI's subcommands) stays light."""
    from . import loaders

    return loaders


@dataclass
class Options:
    """Options of the analyses (each analysis reads the ones it needs)."""

    min_delta: float = 60.0  # minutes between independent records (camtrapR minDeltaTime)
    compared_to: str = camtrap.LAST_RECORD  # camtrapR deltaTimeComparedTo
    occasion_length: int = 1  # days
    day1: str = "station"
    include_effort: bool = True
    output: str = "binary"
    species: str | None = None
    fractional: bool = True  # False: the whole-days convention (kept for old callers; see ``convention``)
    convention: str | None = None  # camera operation: camtrap.CONVENTIONS (exact, noon, whole-days)
    remove_duplicates: bool = True  # camtrapR removeDuplicateRecords
    video: bool = False  # videos are records (camtrapR's video argument)
    include_machine: bool = False
    min_confidence: float = 0.0
    by_station: bool = False
    unit: str = "station"
    bin_m: float = 10.0
    truncation_m: float | None = None
    signs: bool = True
    period: str = "day"
    bins: int = 24
    year: int | None = None
    start: date | None = None
    end: date | None = None
    # monitoring statistics (server/analytics/monitoring.py)
    model: str = "single"  # occupancy: single-season, or dynamic across years
    psi: str = "~ 1"
    p: str = "~ 1"
    gamma: str = "~ 1"
    epsilon: str = "~ 1"
    species_b: str | None = None
    bootstrap: int = 1000
    seed: int | None = 1
    level: float = 0.95
    method: str = "exact"
    permutations: int = 100
    target_precision: float = 0.95

    def window(self) -> Window:
        if self.year and (self.start or self.end):
            raise ValidationError("give either year or start/end dates, not both")
        window = _loaders().Window
        return window.year(self.year) if self.year else window(self.start, self.end)

    def effort_convention(self) -> str:
        """The camera operation convention these options ask for."""
        return self.convention or (camtrap.EXACT if self.fractional else camtrap.WHOLE_DAYS)

    def effort_notes(self) -> dict:
        conv = self.effort_convention()
        return {"convention": conv, "convention_means": camtrap.CONVENTIONS[conv]}

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


@dataclass
class Table:
    """The result of an analysis: column names and rows (dicts)."""

    name: str
    columns: list[str]
    rows: list[dict]
    notes: dict = field(default_factory=dict)

    def to_csv(self) -> str:
        # Imported here: `saola --help` loads this module and must not load the database layer.
        from ..exports.common import spreadsheet_safe

        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=self.columns, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in self.rows:
            w.writerow({k: ("NA" if r.get(k) is None else spreadsheet_safe(r.get(k))) for k in self.columns})
        return buf.getvalue()

    def to_json(self) -> dict:
        return {"analysis": self.name, "columns": self.columns, "rows": self.rows, "notes": self.notes}


def _records(session, pids, o: Options, left_out: dict | None = None) -> list[camtrap.RecordRow]:
    recs = _loaders().load_records(session, pids, o.window(), o.include_machine, o.min_confidence, o.video,
                                   left_out)
    try:
        return camtrap.record_table(recs, o.min_delta, o.compared_to, o.remove_duplicates)
    except ValueError as e:
        raise ValidationError(str(e)) from None


def _camop(session, pids, o: Options) -> camtrap.CameraOperation:
    loaders = _loaders()
    periods = loaders.load_periods(session, pids, o.window())
    try:
        return camtrap.camera_operation(periods, loaders.station_names(session, pids),
                                        convention=o.effort_convention())
    except ValueError as e:
        raise ValidationError(str(e)) from None


def _nights(session, pids, o: Options) -> dict[str, float]:
    """Trap-nights per station without the day-by-day matrix (any span of dates)."""
    loaders = _loaders()
    periods = loaders.load_periods(session, pids, o.window())
    try:
        return camtrap.station_nights(periods, loaders.station_names(session, pids), convention=o.effort_convention())
    except ValueError as e:
        raise ValidationError(str(e)) from None


def _record_notes(o: Options, left_out: dict) -> dict:
    return {"min_delta_min": o.min_delta, "compared_to": o.compared_to, "remove_duplicates": o.remove_duplicates,
            "video": o.video, "left_out": dict(sorted(left_out.items()))}


def record_table(session, pids, o):
    """Independent records (camtrapR recordTable)."""
    left_out: dict = {}
    rows = [r.as_dict() for r in _records(session, pids, o, left_out)]
    return Table("record-table", camtrap.RECORD_TABLE_COLUMNS, rows, _record_notes(o, left_out))


def camera_operation(session, pids, o):
    """Daily camera operation matrix per station (camtrapR cameraOperation)."""
    op = _camop(session, pids, o)
    return Table("camera-operation", ["station"] + [d.isoformat() for d in op.days], op.as_rows(),
                 o.effort_notes())


def trap_nights(session, pids, o):
    """Trap-nights per station."""
    nights = camtrap.trap_nights(_nights(session, pids, o))
    return Table("trap-nights", ["station", "trap_nights"], [{"station": s, "trap_nights": v} for s, v in nights.items()],
                 o.effort_notes())


def rai(session, pids, o):
    """Relative abundance index: independent events per 100 trap-nights."""
    left_out: dict = {}
    rows = camtrap.relative_abundance(_records(session, pids, o, left_out), _nights(session, pids, o), o.by_station)
    cols = ["species", "station", "events", "trap_nights", "rai"] if o.by_station else [
        "species", "events", "trap_nights", "rai"]
    return Table("rai", cols, rows, {**_record_notes(o, left_out), **o.effort_notes()})


def _species_list(rows, o) -> list[str]:
    return [o.species] if o.species else sorted({r.species for r in rows})


def _history(rows, op, sp, o):
    try:
        return camtrap.detection_history(rows, op, sp, o.occasion_length, o.day1, o.include_effort, o.output)
    except ValueError as e:
        raise ValidationError(str(e)) from None


def detection_history(session, pids, o):
    """Detection history and effort for occupancy (one species)."""
    if not o.species:
        raise ValidationError("detection-history needs a species (scientific name)")
    rows = _records(session, pids, o)
    dh = _history(rows, _camop(session, pids, o), o.species, o)
    cols = ["station"] + [f"o{k + 1}" for k in range(dh.occasions)] + [f"effort_o{k + 1}" for k in range(dh.occasions)]
    return Table("detection-history", cols, dh.as_rows(),
                 {"species": o.species, "occasion_length": o.occasion_length, "day1": o.day1,
                  "records_outside_effort": dh.records_outside_effort, **o.effort_notes()})


def naive_occupancy(session, pids, o):
    """Share of surveyed stations where each species was detected."""
    rows = _records(session, pids, o)
    op = _camop(session, pids, o)
    out = [camtrap.naive_occupancy(_history(rows, op, sp, o)) for sp in _species_list(rows, o)]
    return Table("naive-occupancy", ["species", "stations_surveyed", "stations_detected", "naive_occupancy"], out,
                 o.effort_notes())


def species_accumulation(session, pids, o):
    """Expected species richness by stations or days surveyed.

    A record of a higher taxon ("Muntiacus") counts only when no species below it was recorded.
    """
    from . import taxonomy

    rows = _records(session, pids, o)
    rows = taxonomy.keep_counted(rows, lambda r: r.species,
                                 taxonomy.load_lineages(session, {r.species for r in rows}))
    if o.unit == "station":
        units = _loaders().station_names(session, pids)
    else:
        op = _camop(session, pids, o)
        units = [d.isoformat() for j, d in enumerate(op.days) if any(v[j] for v in op.values)]
    try:
        curve = camtrap.species_accumulation(rows, units, o.unit)
    except ValueError as e:
        raise ValidationError(str(e)) from None
    return Table("species-accumulation", ["units", "richness"], curve, {"unit": o.unit})


def diel_activity(session, pids, o):
    """Independent records by hour of the day."""
    rows = camtrap.diel_activity(_records(session, pids, o), o.species, o.bins)
    return Table("diel-activity", ["hour_from", "hour_to", "records"], rows, {"species": o.species})


def transect_effort(session, pids, o):
    """Walks and km walked per transect."""
    walks, _ = _loaders().load_walks(session, pids, o.window())
    return Table("transect-effort", ["transect", "walks", "km"], transect.effort(walks))


def encounter_rates(session, pids, o):
    """Encounters and individuals per km walked, per species."""
    walks, sightings = _loaders().load_walks(session, pids, o.window())
    return Table("encounter-rates", ["species", "encounters", "individuals", "km", "encounters_per_km",
                                     "individuals_per_km"], transect.encounter_rates(walks, sightings, o.signs))


def distance_histogram(session, pids, o):
    """Perpendicular distances of transect sightings."""
    _, sightings = _loaders().load_walks(session, pids, o.window())
    try:
        rows = transect.distance_histogram(sightings, o.bin_m, o.truncation_m, o.species)
    except ValueError as e:
        raise ValidationError(str(e)) from None
    return Table("distance-histogram", ["from_m", "to_m", "count"], rows, {"species": o.species})


def acoustic_indices(session, pids, o):
    """Acoustic indices per station and day (or hour)."""
    try:
        rows = acoustic.index_trends(_loaders().load_acoustic_indices(session, pids, o.window()), o.period)
    except ValueError as e:
        raise ValidationError(str(e)) from None
    return Table("acoustic-indices", ["station", o.period, "minutes", *acoustic.INDICES], rows)


def detections_per_hour(session, pids, o):
    """Sound detections per label and hour of the day."""
    sounds = _loaders().load_sound_detections(session, pids, o.window(), o.min_confidence)
    rows = acoustic.detections_per_hour(sounds, o.species)
    return Table("detections-per-hour", ["label", "hour", "detections"], rows)


def _monitoring(name: str):
    """A monitoring statistic of server/analytics/monitoring.py (imported when it runs)."""

    def run_it(session, pids, o):
        from . import monitoring

        return getattr(monitoring, name)(session, pids, o)

    run_it.__doc__ = {
        "occupancy": "Occupancy with detection probability, single-season or across years (unmarked occu/colext)",
        "overlap": "Activity overlap of two species with bootstrap intervals (R package overlap)",
        "richness": "Estimated species richness with intervals: Chao2, jackknife, bootstrap (vegan specpool)",
        "ai_evaluation": "Machine labels against human review: precision, recall, thresholds, blank-triage cost",
    }[name]
    return run_it


def camera_health(session, pids, o):
    """Camera health findings per deployment (clock, battery or card, knocked over, false triggers, flash, setup)."""
    from ..services import health as health_service
    from .health import summary

    found = health_service.findings(session, pids)
    rows = [{**f.as_dict(), "intervals": "; ".join(f"{i['start']} – {i['end']}" for i in f.as_dict()["intervals"])}
            for f in found]
    return Table("camera-health", ["station", "deployment_id", "category", "check", "message", "count", "intervals",
                                   "recorded", "key"], rows, {"summary": summary(found)})


def _described(*analyses: tuple[str, Callable[[Session, list[str], Options], Table]]):
    """name -> (function, description): the description is the first line of the docstring."""
    return {name: (fn, fn.__doc__.strip().splitlines()[0].rstrip(".")) for name, fn in analyses}


ANALYSES: dict[str, tuple[Callable[[Session, list[str], Options], Table], str]] = _described(
    ("record-table", record_table),
    ("camera-operation", camera_operation),
    ("trap-nights", trap_nights),
    ("rai", rai),
    ("detection-history", detection_history),
    ("naive-occupancy", naive_occupancy),
    ("species-accumulation", species_accumulation),
    ("diel-activity", diel_activity),
    ("transect-effort", transect_effort),
    ("encounter-rates", encounter_rates),
    ("distance-histogram", distance_histogram),
    ("acoustic-indices", acoustic_indices),
    ("detections-per-hour", detections_per_hour),
    ("occupancy", _monitoring("occupancy")),
    ("overlap", _monitoring("overlap")),
    ("richness", _monitoring("richness")),
    ("ai-evaluation", _monitoring("ai_evaluation")),
    ("camera-health", camera_health),
)


#: Analyses whose ``species`` option names a taxon of the species reference.
TAXON_SPECIES = ("detection-history", "naive-occupancy", "diel-activity", "distance-histogram")


def resolve_species(session: Session, name: str) -> str:
    """The scientific name ``name`` stands for: a scientific name, or any name or code of the
    species reference (Vietnamese, English, alternative names such as "PBE").

    ValidationError naming the closest names (difflib) when nothing matches: an unknown name
    would otherwise give a table of zeros that reads like an absence.
    """
    import difflib

    from sqlalchemy import select

    from ..models import Taxon
    from ..services.taxa import find_taxon

    wanted = " ".join(name.split())
    hit = session.execute(select(Taxon.scientific_name).where(Taxon.scientific_name == wanted)).first()
    if hit is not None:
        return hit[0]
    taxon = find_taxon(session, wanted)
    if taxon is not None:
        return taxon.scientific_name
    names: dict[str, str] = {}  # lower-cased candidate -> scientific name to suggest
    for sci, vi, en, others in session.execute(select(Taxon.scientific_name, Taxon.vietnamese_name,
                                                      Taxon.english_name, Taxon.other_names)):
        for n in (sci, vi, en, *(others or [])):
            if n:
                names.setdefault(n.lower(), sci)
    close = difflib.get_close_matches(wanted.lower(), list(names), n=5, cutoff=0.6)
    suggestions = list(dict.fromkeys(names[c] for c in close))
    hint = f"; did you mean {', '.join(repr(x) for x in suggestions)}?" if suggestions else \
        " (no close match; see `saola taxa search`)"
    raise ValidationError(f"unknown species {name!r}: not in the species reference{hint}",
                          details=[{"field": "species", "message": "unknown species"}])


def run(session: Session, name: str, program_ids: list[str], options: Options | None = None) -> Table:
    """Run analysis ``name`` over the programs; ValidationError for an unknown name or bad options,
    or a species the reference does not know."""
    if name not in ANALYSES:
        raise ValidationError(f"unknown analysis {name!r}; choose one of {', '.join(ANALYSES)}")
    o = options or Options()
    if o.species and name in TAXON_SPECIES:
        from dataclasses import replace

        o = replace(o, species=resolve_species(session, o.species))
    return ANALYSES[name][0](session, program_ids, o)


def options_from(data: dict[str, Any]) -> Options:
    """Options from strings (query parameters, CLI), with errors naming the option."""
    o = Options()
    types = {f.name: f.type for f in fields(Options)}
    for key, raw in data.items():
        if raw is None or raw == "":
            continue
        name = key.replace("-", "_")
        if name not in types:
            raise ValidationError(f"unknown option {key!r}")
        t = str(types[name])
        try:
            if isinstance(raw, (bool, int, float, date)) and not isinstance(raw, str):
                value = raw
            elif "bool" in t:
                if str(raw).lower() not in ("1", "0", "true", "false", "yes", "no"):
                    raise ValueError("expected true or false")
                value = str(raw).lower() in ("1", "true", "yes")
            elif "int" in t:
                value = int(raw)
            elif "float" in t:
                value = float(raw)
            elif "date" in t:
                value = date.fromisoformat(str(raw))
            else:
                value = str(raw)
        except ValueError as e:
            raise ValidationError(f"option {key}: {raw!r} is not valid ({e})") from None
        setattr(o, name, value)
    if o.compared_to not in camtrap.COMPARED_TO:
        raise ValidationError(f"option compared_to must be one of {', '.join(camtrap.COMPARED_TO)}")
    if o.min_delta < 0:
        raise ValidationError("option min_delta must be >= 0 minutes")
    if o.convention is not None and o.convention not in camtrap.CONVENTIONS:
        raise ValidationError(f"option convention must be one of {', '.join(camtrap.CONVENTIONS)}")
    checks = [(o.model in ("single", "dynamic"), "option model must be 'single' or 'dynamic'"),
              (0 < o.level < 1, "option level must be between 0 and 1"),
              (0 <= o.bootstrap <= 100_000, "option bootstrap must be 0 to 100000 resamples"),
              (o.method in ("exact", "random"), "option method must be 'exact' or 'random'"),
              (2 <= o.permutations <= 10_000, "option permutations must be 2 to 10000"),
              (0 < o.target_precision <= 1, "option target_precision must be above 0 and at most 1")]
    for ok, message in checks:
        if not ok:
            raise ValidationError(message)
    return o


def to_json_text(table: Table) -> str:
    """The table as indented JSON text (CLI output)."""
    return json.dumps(table.to_json(), ensure_ascii=False, indent=1, default=str)
