"""The numbers of the annual monitoring report, gathered from the database (no rendering here)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, or_, select
from sqlmodel import Session

from ..analytics import camtrap, taxonomy, transect
from ..auth import policy
from ..analytics.loaders import Window, load_periods, load_records, load_walks, station_names
from ..exports.common import Scope, resolve_scope
from ..models import (Alert, Deployment, Detection, FieldObservation, Location, Media, Observation, Program,
                      SurveyWalk, Taxon, Transect)
from ..timeutil import zone
from protocols.i18n import N_

REPORT_TZ = "Asia/Ho_Chi_Minh"  # the national monitoring plan's calendar year


@dataclass
class SpeciesRow:
    taxon: Taxon
    camera_events: int = 0
    rai: float | None = None
    transect_records: int = 0
    sound_detections: int = 0
    previous_camera_events: int = 0
    previous_transect_records: int = 0
    new_for_area: bool = False

    @property
    def methods(self) -> list[str]:
        return [m for m, n in (("camera", self.camera_events), ("transect", self.transect_records),
                               ("acoustic", self.sound_detections)) if n]


@dataclass
class Effort:
    camera_stations: int = 0
    camera_deployments: int = 0
    trap_nights: float = 0.0
    walks: int = 0
    km: float = 0.0
    recorders: int = 0
    recording_hours: float = 0.0


@dataclass
class ReportData:
    scope: Scope
    year: int
    effort: Effort
    previous_effort: Effort
    species: list[SpeciesRow]
    threats: list[dict]
    alerts: list[dict]
    stations: list[dict]  # name, lat, lon, kind, trap_nights
    transects: list[list[tuple[float, float]]]
    threat_points: list[tuple[float, float]]
    boundary: Any
    records: list[camtrap.RecordRow] = field(default_factory=list)
    accumulation: list[dict] = field(default_factory=list)
    # scientific name -> ancestors, for counting a higher-taxon row only when none of its species is there
    lineages: dict[str, tuple[str, ...]] = field(default_factory=dict)
    monitoring: Any = None  # reports/monitoring.py: occupancy, trend, overlap, richness estimates
    health: list[dict] = field(default_factory=list)  # camera health findings of the year's deployments
    # The area's offline basemap (server/sync/basemaps.py description with its path), drawn under the map
    basemap: dict | None = None
    operation: Any = None  # the year's camera operation matrix (camtrap.CameraOperation): naive occupancy
    recorder_days: float = 0.0  # days acoustic recorders were out in the year, malfunctions taken out

    @property
    def health_lost_days(self) -> float:
        """Days of effort the health findings say were lost (recorded as malfunctions or not)."""
        return round(sum(f["lost_days"] for f in self.health), 1)

    @property
    def new_species(self) -> list[SpeciesRow]:
        """Rows new for the protected area that count as species (a new "Aves" beside a new heron is one)."""
        counted = self.counted()
        return [s for s in self.species if s.new_for_area and s.taxon.scientific_name in counted]

    def counted(self, previous: bool = False) -> set[str]:
        """Scientific names that count as species this year (or the year before); see analytics/taxonomy.py."""
        rows = [s for s in self.species if (s.previous_camera_events or s.previous_transect_records
                                            if previous else s.methods)]
        return taxonomy.counted([s.taxon.scientific_name for s in rows], self.lineages)

    @property
    def n_species(self) -> int:
        """Species recorded in the year: Ardea + Ardea cinerea + Aves is one."""
        return len(self.counted())

    @property
    def n_previous_species(self) -> int:
        """Species recorded the year before (same rule)."""
        return len(self.counted(previous=True))


#: The report's names of the camera health checks (server/analytics/health.py; its own wording and catalogue).
HEALTH_TITLES = {
    "clock_before_2010": N_("Clock reset (photos dated before 2010)"),
    "clock_future": N_("Clock in the future"),
    "clock_backwards": N_("Clock running backwards"),
    "stopped_early": N_("Battery dead or card full"),
    "long_gap": N_("Knocked over or covered (long silence)"),
    "blank_run": N_("Knocked over or covered (blank frames)"),
    "false_triggers": N_("False triggers (too many photos a day)"),
    "mostly_blank": N_("False triggers (mostly blank)"),
    "no_night_photos": N_("Infrared flash broken (no night photos)"),
    "late_first_photo": N_("Setup date disagrees with the first photos"),
    "photos_before_setup": N_("Photos before the setup date"),
    "photos_after_retrieval": N_("Photos after the retrieval date"),
}


def _health(session: Session, pids: list[str], year: int) -> list[dict]:
    """Camera health findings of the programs' deployments that ran in ``year`` (server/services/health.py),
    with the days of effort each lost."""
    from ..services.health import findings

    lo, hi = _utc_bounds(year)
    deps = list(session.execute(select(Deployment.id).where(
        Deployment.program_id.in_(pids), Deployment.kind == "camera", Deployment.deployment_start < hi,
        or_(Deployment.deployment_end.is_(None), Deployment.deployment_end >= lo))).scalars())
    if not deps:
        return []
    out = []
    for f in findings(session, pids, deps):
        d = f.as_dict()
        d["title"] = HEALTH_TITLES[f.check]
        d["lost_days"] = round(sum((e - s).total_seconds() for s, e in f.intervals) / 86400, 1)
        out.append(d)
    return out


def _utc_bounds(year: int) -> tuple[datetime, datetime]:
    tz = zone(REPORT_TZ)
    lo = datetime(year, 1, 1, tzinfo=tz).astimezone(timezone.utc)
    hi = datetime(year + 1, 1, 1, tzinfo=tz).astimezone(timezone.utc)
    return lo, hi


def _effort(session: Session, pids: list[str], year: int) -> tuple[Effort, camtrap.CameraOperation, list]:
    w = Window.year(year)
    periods = load_periods(session, pids, w)
    op = camtrap.camera_operation(periods, sorted({p.station for p in periods}))
    walks, sightings = load_walks(session, pids, w)
    lo, hi = _utc_bounds(year)
    rec = session.execute(
        select(func.count(func.distinct(Deployment.id)), func.coalesce(func.sum(Media.duration_s), 0.0))
        .join(Media, Media.deployment_id == Deployment.id)
        .where(Deployment.program_id.in_(pids), Deployment.kind == "acoustic", Media.kind == "audio",
               Media.captured_at >= lo, Media.captured_at < hi)).one()
    eff = Effort(camera_stations=len({p.station for p in periods}), camera_deployments=len(periods),
                 trap_nights=round(sum(camtrap.trap_nights(op).values()), 2), walks=len(walks),
                 km=round(sum(x.km for x in walks), 2), recorders=int(rec[0] or 0),
                 recording_hours=round(float(rec[1] or 0) / 3600, 2))
    return eff, op, sightings


def recorder_days(session: Session, pids: list[str], year: int) -> float:
    """Recorder-days of the programs' acoustic deployments in ``year``: each deployment's window clipped
    to the year, malfunction intervals taken out (the manager overview's rule, server/review/overview.py)."""
    from types import SimpleNamespace

    from ..models import OperatingInterval
    from ..review.overview import trap_nights
    from ..timeutil import as_utc

    lo, hi = _utc_bounds(year)
    deps = list(session.execute(select(Deployment).where(
        Deployment.program_id.in_(pids), Deployment.kind == "acoustic", Deployment.deployment_start < hi,
        or_(Deployment.deployment_end.is_(None), Deployment.deployment_end >= lo))).scalars())
    if not deps:
        return 0.0
    ivs: dict[str, list] = defaultdict(list)
    for iv in session.execute(select(OperatingInterval).where(
            OperatingInterval.deployment_id.in_([d.id for d in deps]))).scalars():
        ivs[iv.deployment_id].append(iv)
    total = 0.0
    for d in deps:
        start, end = max(as_utc(d.deployment_start) or lo, lo), as_utc(d.deployment_end)
        clipped = SimpleNamespace(deployment_start=start, deployment_end=min(end, hi) if end else hi)
        total += trap_nights(clipped, ivs[d.id], now=min(datetime.now(timezone.utc), hi))  # type: ignore[arg-type]
    return round(total, 2)


def _sound_by_taxon(session: Session, pids: list[str], year: int) -> dict[str, int]:
    lo, hi = _utc_bounds(year)
    rows = session.execute(
        select(Detection.taxon_id, func.count()).join(Media, Media.id == Detection.media_id)
        .join(Deployment, Deployment.id == Media.deployment_id)
        .where(Deployment.program_id.in_(pids), Media.kind == "audio", Detection.taxon_id.is_not(None),
               Detection.dismissed.is_(False), Detection.review_status != "rejected",
               Media.captured_at >= lo, Media.captured_at < hi).group_by(Detection.taxon_id)).all()
    return {tid: n for tid, n in rows}


def _seen_before(session: Session, area_id: str, year: int) -> set[str]:
    """Taxa recorded anywhere in the protected area before the report year (any program, any method)."""
    lo, _ = _utc_bounds(year)
    area_programs = select(Program.id).where(Program.area_id == area_id)
    seen = set(session.execute(select(Observation.taxon_id).join(Deployment, Deployment.id == Observation.deployment_id)
                               .where(Deployment.program_id.in_(area_programs), Observation.taxon_id.is_not(None),
                                      Observation.event_start < lo).distinct()).scalars())
    seen |= set(session.execute(select(FieldObservation.taxon_id).where(
        FieldObservation.program_id.in_(area_programs), FieldObservation.taxon_id.is_not(None),
        FieldObservation.deleted.is_(False), FieldObservation.observed_at < lo).distinct()).scalars())
    seen |= set(session.execute(select(Detection.taxon_id).join(Media, Media.id == Detection.media_id)
                                .join(Deployment, Deployment.id == Media.deployment_id)
                                .where(Deployment.program_id.in_(area_programs), Detection.taxon_id.is_not(None),
                                       Detection.review_status == "verified", Media.captured_at < lo)
                                .distinct()).scalars())
    return seen


def build_report(session: Session, year: int, program_id: str | None = None, area_id: str | None = None,
                 min_delta_min: float = 60.0, role: str | None = None, estimates: bool = True,
                 data_dir: str | None = None) -> ReportData:
    """Everything the annual report shows for ``year`` (local calendar year) of a program or an area.

    ``estimates``: also the monitoring estimates (occupancy, trend, overlap, richness; seconds to minutes).
    ``role``: the reader's role in the area; its map then shows positions as
    server/auth/policy.py allows that role (None: exact, for managers' and the CLI's reports).
    ``data_dir``: the installation's DATA_DIR; the area's offline basemap stored there, when it has
    one, is drawn under the report's map.
    """
    scope = resolve_scope(session, program_id, area_id)
    pids = scope.program_ids
    effort, op, sightings = _effort(session, pids, year)
    prev_effort, prev_op, prev_sightings = _effort(session, pids, year - 1)
    records = camtrap.record_table(load_records(session, pids, Window.year(year)), min_delta_min)
    prev_records = camtrap.record_table(load_records(session, pids, Window.year(year - 1)), min_delta_min)
    rai = {r["species"]: r["rai"] for r in camtrap.relative_abundance(records, op)}
    cam = defaultdict(int)
    for r in records:
        cam[r.species] += 1
    prev_cam = defaultdict(int)
    for r in prev_records:
        prev_cam[r.species] += 1
    tr = {r["species"]: r["encounters"] for r in transect.encounter_rates([], sightings)}
    prev_tr = {r["species"]: r["encounters"] for r in transect.encounter_rates([], prev_sightings)}
    sound = _sound_by_taxon(session, pids, year)
    names = set(cam) | set(tr) | set(prev_cam) | set(prev_tr)
    taxa = {t.scientific_name: t for t in session.execute(select(Taxon).where(
        Taxon.scientific_name.in_(names) | Taxon.id.in_(list(sound)))).scalars()}
    by_id = {t.id: t for t in taxa.values()}
    seen = _seen_before(session, scope.area.id, year)
    # A genus or family is not new when one of its species was recorded before ("Muntiacus" after M. vaginalis).
    above_seen = {a for t in (session.execute(select(Taxon.scientific_name, Taxon.lineage)
                                              .where(Taxon.id.in_(list(seen)))).all() if seen else [])
                  for a in taxonomy.ancestors(t[0], {t[0]: tuple((t[1] or "").split("|"))})}
    seen |= {t.id for t in taxa.values() if taxonomy.key(t.scientific_name) in above_seen}
    species: dict[str, SpeciesRow] = {}
    for name, t in taxa.items():
        row = SpeciesRow(t, cam.get(name, 0), rai.get(name), tr.get(name, 0), sound.get(t.id, 0),
                         prev_cam.get(name, 0), prev_tr.get(name, 0))
        if row.methods or row.previous_camera_events or row.previous_transect_records:
            row.new_for_area = bool(row.methods) and t.id not in seen
            species[t.id] = row
    for tid in sound:
        if tid in by_id and tid not in species:
            species[tid] = SpeciesRow(by_id[tid], sound_detections=sound[tid], new_for_area=tid not in seen)
    rows = sorted(species.values(), key=lambda s: (s.taxon.taxon_group or "", s.taxon.scientific_name))

    lo, hi = _utc_bounds(year)
    threats = defaultdict(int)
    threat_points = []
    for fo in session.execute(select(FieldObservation).where(
            FieldObservation.program_id.in_(pids), FieldObservation.record_type == "threat",
            FieldObservation.deleted.is_(False), FieldObservation.observed_at >= lo,
            FieldObservation.observed_at < hi)).scalars():
        kind = (fo.data or {}).get("threat_type") or (fo.data or {}).get("type") or fo.note or "threat"
        threats[str(kind)] += 1
        if fo.latitude is not None and fo.longitude is not None:
            pos = policy.position_for(fo.latitude, fo.longitude, role=role or "admin",
                                      sensitive=policy.is_sensitive(session.get(Taxon, fo.taxon_id))
                                      if fo.taxon_id else False)
            threat_points.append((pos.lon, pos.lat))
    alert_rows = session.execute(select(Alert.kind, func.count(), func.max(Alert.confidence)).where(
        Alert.area_id == scope.area.id, Alert.occurred_at >= lo, Alert.occurred_at < hi)
        .group_by(Alert.kind)).all()
    alerts = [{"kind": k, "count": n, "max_confidence": round(c, 2) if c is not None else None}
              for k, n, c in alert_rows]

    nights = camtrap.trap_nights(op)
    stations = []
    placed = session.execute(select(Deployment, Location).join(Location, Location.id == Deployment.location_id)
                             .where(Deployment.program_id.in_(pids))).all()
    locs = list({loc.id: loc for _d, loc in placed}.values())
    seen_as = {}
    for shown in policy.location_view(session, locs, lambda _loc: role or "admin"):
        seen_as[shown["id"] if isinstance(shown, dict) else shown.id] = (
            (shown["latitude"], shown["longitude"]) if isinstance(shown, dict) else (shown.latitude, shown.longitude))
    for d, loc in placed:
        lat, lon = seen_as[loc.id]
        if lat is None or lon is None:
            continue
        stations.append({"name": loc.name, "lat": lat, "lon": lon, "kind": d.kind,
                         "trap_nights": nights.get(loc.name, 0.0)})
    lines = []
    for t in session.execute(select(Transect).where(Transect.program_id.in_(pids) |
                                                    Transect.id.in_(select(SurveyWalk.transect_id).where(
                                                        SurveyWalk.program_id.in_(pids))))).scalars():
        geom = t.geometry or {}
        if isinstance(geom, dict) and geom.get("type") == "LineString":
            lines.append([(c[0], c[1]) for c in geom.get("coordinates", []) if len(c) >= 2])
    if not lines:
        for w in session.execute(select(SurveyWalk).where(SurveyWalk.program_id.in_(pids),
                                                          SurveyWalk.started_at >= lo,
                                                          SurveyWalk.started_at < hi)).scalars():
            pts = [(p[0], p[1]) for p in (w.track or []) if isinstance(p, (list, tuple)) and len(p) >= 2]
            if len(pts) > 1:
                lines.append(pts)
    lineages = taxonomy.load_lineages(session, [s.taxon.scientific_name for s in rows] + [r.species for r in records])
    try:
        accumulation = camtrap.species_accumulation(taxonomy.keep_counted(records, lambda r: r.species, lineages),
                                                    station_names(session, pids))
    except ValueError:
        accumulation = []
    data = ReportData(scope, year, effort, prev_effort, rows, [{"kind": k, "count": n} for k, n in
                                                              sorted(threats.items())],
                      alerts, stations, lines, threat_points, scope.area.boundary, records, accumulation, lineages)
    data.health = _health(session, pids, year)
    if data_dir:
        from ..sync.basemaps import current

        data.basemap = current(data_dir, scope.area.id)
    data.operation = op
    data.recorder_days = recorder_days(session, pids, year)
    if estimates:
        from .monitoring import build_monitoring

        data.monitoring = build_monitoring(session, pids, year, records, rows, lineages, min_delta_min)
    return data

