"""The national dashboard's figures: per area and year, from the annual report's own gathering.

Each (area, year) is the annual report's :func:`server.reports.data.build_report`
without its estimates, so the dashboard, the national synthesis report and each
area's annual report count effort, species (the taxonomy rule of
server/analytics/taxonomy.py) and camera health the same way. Naive occupancy is
:func:`server.analytics.camtrap.naive_occupancy` over the year's camera
operation matrix.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Optional

from sqlmodel import Session, select

from ..analytics import camtrap
from ..models import ProtectedArea, Taxon
from ..reports.submissions import AreaReportStatus, reporting_status

#: Priority species of the national monitoring plan: Decree 84/2021 groups IB and IIB, IUCN Red List
#: threatened categories, Vietnam Red Data Book threatened categories.
PRIORITY_DECREE84 = ("IB", "IIB")
PRIORITY_IUCN = ("CR", "EN", "VU")
PRIORITY_VN_RED = ("EW", "CR", "EN", "VU")
TREND_YEARS = 5  # years shown in the trends, ending with the year asked


def is_priority(taxon: Optional[Taxon]) -> bool:
    """Whether ``taxon`` is a priority species (Decree 84 IB/IIB, IUCN CR/EN/VU or VN Red Data Book)."""
    return taxon is not None and (taxon.decree84_group in PRIORITY_DECREE84 or taxon.iucn_category in PRIORITY_IUCN
                                  or taxon.vn_redlist_category in PRIORITY_VN_RED)


@dataclass
class PriorityFigure:
    """One priority species in one area and year."""

    detections: int = 0  # independent camera records + transect records + sound detections
    stations_detected: int = 0
    stations_surveyed: int = 0

    @property
    def naive_occupancy(self) -> Optional[float]:
        return self.stations_detected / self.stations_surveyed if self.stations_surveyed else None


@dataclass
class AreaYear:
    """One area's figures for one year."""

    year: int
    trap_nights: float = 0.0
    recorder_days: float = 0.0
    camera_stations: int = 0
    walks: int = 0
    km: float = 0.0
    n_species: int = 0
    species: set[str] = field(default_factory=set)  # scientific names that count as species
    priority: dict[str, PriorityFigure] = field(default_factory=dict)  # scientific name ->
    health_findings: int = 0
    health_open: int = 0  # not yet recorded as malfunctions
    health_lost_days: float = 0.0
    health_by_category: dict[str, int] = field(default_factory=dict)


@dataclass
class AreaSummary:
    area: ProtectedArea
    years: dict[int, AreaYear]
    report: AreaReportStatus


@dataclass
class NationalSummary:
    year: int
    years: list[int]
    areas: list[AreaSummary]
    taxa: dict[str, Taxon]  # scientific name -> Taxon of every priority species recorded
    today: date

    def total(self, attr: str, year: Optional[int] = None) -> float:
        """The network's sum of an :class:`AreaYear` number for ``year`` (default: the year asked)."""
        y = self.year if year is None else year
        return round(sum(getattr(a.years[y], attr) for a in self.areas), 2)

    def n_species(self, year: Optional[int] = None) -> int:
        """Species of the whole network in the year (the union of the areas' counted species)."""
        y = self.year if year is None else year
        return len(set().union(*[a.years[y].species for a in self.areas])) if self.areas else 0

    def priority_names(self) -> list[str]:
        """Priority species recorded in any area and year shown, most detections first."""
        det: dict[str, int] = {}
        for a in self.areas:
            for ay in a.years.values():
                for name, f in ay.priority.items():
                    det[name] = det.get(name, 0) + f.detections
        return sorted(det, key=lambda n: (-det[n], n))

    def network_priority(self, name: str, year: int) -> PriorityFigure:
        """A priority species over the whole network in ``year``: detections and stations summed."""
        out = PriorityFigure()
        for a in self.areas:
            f = a.years[year].priority.get(name)
            surveyed = a.years[year].camera_stations
            out.stations_surveyed += f.stations_surveyed if f else surveyed
            if f:
                out.detections += f.detections
                out.stations_detected += f.stations_detected
        return out

    def report_counts(self) -> dict[str, int]:
        """How many units are on time, late, missing, not yet due for the year's report."""
        out = {"on_time": 0, "late": 0, "missing": 0, "not_yet_due": 0}
        for a in self.areas:
            out[a.report.status] += 1
        return out


def area_year(session: Session, area: ProtectedArea, year: int) -> AreaYear:
    """The figures of ``area`` in ``year`` (the annual report's data, no estimates)."""
    from ..analytics.health import CATEGORIES
    from ..reports.data import build_report

    out = AreaYear(year)
    data = build_report(session, year, area_id=area.id, estimates=False)
    e = data.effort
    out.trap_nights, out.camera_stations, out.walks, out.km = e.trap_nights, e.camera_stations, e.walks, e.km
    out.recorder_days = data.recorder_days
    out.species = data.counted()
    out.n_species = len(out.species)
    op = data.operation
    for row in data.species:
        if not row.methods or not is_priority(row.taxon):
            continue
        name = row.taxon.scientific_name
        f = PriorityFigure(detections=row.camera_events + row.transect_records + row.sound_detections)
        if op is not None and op.stations:
            occ = camtrap.naive_occupancy(camtrap.detection_history(data.records, op, name))
            f.stations_detected, f.stations_surveyed = occ["stations_detected"], occ["stations_surveyed"]
        out.priority[name] = f
    if op is not None and op.stations:
        # stations with effort in the year: what a species not detected anywhere was surveyed at
        out.camera_stations = sum(1 for row in op.values if any(v for v in row if v))
    out.health_by_category = {c: 0 for c in CATEGORIES}
    for h in data.health:
        out.health_findings += 1
        out.health_open += 0 if h["recorded"] else 1
        out.health_lost_days += h["lost_days"]
        out.health_by_category[h["category"]] += 1
    out.health_lost_days = round(out.health_lost_days, 1)
    return out


def national_summary(session: Session, year: int, today: Optional[date | datetime] = None,
                     areas: Optional[list[ProtectedArea]] = None, trend_years: int = TREND_YEARS) -> NationalSummary:
    """Every area's figures for ``year`` and the ``trend_years`` - 1 years before, with the reporting
    status of ``year``'s report on ``today`` (default: now, Vietnam's calendar)."""
    today = today or datetime.now(timezone.utc)
    area_list = areas if areas is not None else list(session.exec(select(ProtectedArea).order_by(ProtectedArea.code)))
    years = list(range(year - trend_years + 1, year + 1))
    status = {r.area.id: r for r in reporting_status(session, year, today, area_list)}
    out = []
    names: set[str] = set()
    for a in sorted(area_list, key=lambda a: a.code):
        ys = {y: area_year(session, a, y) for y in years}
        for ay in ys.values():
            names |= set(ay.priority)
        out.append(AreaSummary(a, ys, status[a.id]))
    taxa = {t.scientific_name: t for t in session.exec(select(Taxon).where(
        Taxon.scientific_name.in_(sorted(names))))} if names else {}  # type: ignore[attr-defined]
    from ..reports.submissions import local_day

    return NationalSummary(year, years, out, taxa, local_day(today))


def summary_json(s: NationalSummary) -> dict[str, Any]:
    """The summary as JSON for the API and scripts (numbers unformatted)."""
    def occ(f: PriorityFigure) -> Optional[float]:
        v = f.naive_occupancy
        return round(v, 4) if v is not None else None

    return {
        "year": s.year, "years": s.years, "today": s.today.isoformat(), "report_counts": s.report_counts(),
        "totals": {"trap_nights": s.total("trap_nights"), "recorder_days": s.total("recorder_days"),
                   "species": s.n_species()},
        "areas": [{
            "id": a.area.id, "code": a.area.code, "name": a.area.name,
            "report": {"status": a.report.status, "due": a.report.due.isoformat(),
                       "received_at": a.report.first_received_at.isoformat() if a.report.first_received_at else None},
            "years": {str(y): {"trap_nights": ay.trap_nights, "recorder_days": ay.recorder_days,
                               "species": ay.n_species, "health_findings": ay.health_findings,
                               "health_open": ay.health_open, "health_lost_days": ay.health_lost_days,
                               "priority": {n: {"detections": f.detections, "naive_occupancy": occ(f),
                                                "stations_detected": f.stations_detected,
                                                "stations_surveyed": f.stations_surveyed}
                                            for n, f in sorted(ay.priority.items())}}
                      for y, ay in a.years.items()}} for a in s.areas],
        "priority_trends": {n: {str(y): {"detections": s.network_priority(n, y).detections,
                                         "naive_occupancy": occ(s.network_priority(n, y))} for y in s.years}
                            for n in s.priority_names()},
    }
