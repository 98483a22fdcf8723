"""Figures for managers: effort (trap-nights), species detected, the map and the calendar."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from ..analytics import taxonomy
from ..models import (Alert, Deployment, FieldObservation, Location, Media, Observation, OperatingInterval, Program,
                      SurveyWalk, Taxon, Transect, utcnow)
from ..timeutil import as_utc


def merge_intervals(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Union of possibly overlapping (start, end) spans, sorted."""
    out: list[tuple[datetime, datetime]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def trap_nights(dep: Deployment, intervals: list[OperatingInterval], now: datetime | None = None) -> float:
    """Camera-days of a deployment: its window (open ones end now) minus malfunction intervals."""
    now = now or utcnow()
    start = as_utc(dep.deployment_start)
    end = min(as_utc(dep.deployment_end) or now, now)
    if end <= start:
        return 0.0
    down = merge_intervals([(max(as_utc(i.start), start), min(as_utc(i.end), end)) for i in intervals
                            if i.status == "malfunction" and as_utc(i.end) > start and as_utc(i.start) < end])
    lost = sum(((e - s) for s, e in down), timedelta())
    return round(((end - start) - lost).total_seconds() / 86400, 2)


def states(dep: Deployment, intervals: list[OperatingInterval], now: datetime | None = None
           ) -> list[tuple[datetime, datetime, str, str]]:
    """The deployment's window cut into (start, end, "operating" | "malfunction", reason), in order:
    the same rule as :func:`trap_nights` (the window, open ones until now, is operating except where
    a malfunction interval says otherwise), so the calendar draws what the effort counts."""
    now = now or utcnow()
    start = as_utc(dep.deployment_start)
    end = min(as_utc(dep.deployment_end) or now, now)
    if end <= start:
        return []
    bad = [(max(as_utc(i.start), start), min(as_utc(i.end), end), i.reason or "") for i in intervals
           if i.status == "malfunction" and as_utc(i.end) > start and as_utc(i.start) < end]
    down = merge_intervals([(a, b) for a, b, _r in bad])
    out: list[tuple[datetime, datetime, str, str]] = []
    t = start
    for a, b in down:
        if a > t:
            out.append((t, a, "operating", ""))
        reason = "; ".join(sorted({r for x, y, r in bad if r and x < b and y > a}))
        out.append((a, b, "malfunction", reason))
        t = b
    if t < end:
        out.append((t, end, "operating", ""))
    return out


def deployments_of(session: Session, area_id: str) -> list[tuple[Deployment, Program, Location]]:
    return list(session.exec(select(Deployment, Program, Location)
                             .join(Program, Program.id == Deployment.program_id)
                             .join(Location, Location.id == Deployment.location_id)
                             .where(Program.area_id == area_id).order_by(Location.name, Deployment.deployment_start)))


def intervals_by_deployment(session: Session, dep_ids: list[str]) -> dict[str, list[OperatingInterval]]:
    out: dict[str, list[OperatingInterval]] = defaultdict(list)
    if dep_ids:
        for i in session.exec(select(OperatingInterval).where(OperatingInterval.deployment_id.in_(dep_ids))
                              .order_by(OperatingInterval.start)):
            out[i.deployment_id].append(i)
    return out


def area_overview(session: Session, area_id: str, now: datetime | None = None) -> dict[str, Any]:
    """Deployments with effort, species detected with conservation status, recent alerts."""
    deps = deployments_of(session, area_id)
    ivs = intervals_by_deployment(session, [d.id for d, _, _ in deps])
    rows = []
    for d, p, loc in deps:
        rows.append({"deployment": d, "program": p, "location": loc, "trap_nights": trap_nights(d, ivs[d.id], now),
                     "malfunctions": sum(1 for i in ivs[d.id] if i.status == "malfunction")})
    effort = defaultdict(float)
    for r in rows:
        effort[r["deployment"].kind] += r["trap_nights"]
    cam = dict(session.exec(
        select(Observation.taxon_id, func.count()).join(Deployment, Deployment.id == Observation.deployment_id)
        .join(Program, Program.id == Deployment.program_id)
        .where(Program.area_id == area_id, Observation.taxon_id.is_not(None))
        .group_by(Observation.taxon_id)).all())
    field = dict(session.exec(
        select(FieldObservation.taxon_id, func.count()).join(Program, Program.id == FieldObservation.program_id)
        .where(Program.area_id == area_id, FieldObservation.taxon_id.is_not(None),
               FieldObservation.deleted.is_(False))
        .group_by(FieldObservation.taxon_id)).all())
    ids = set(cam) | set(field)
    taxa = list(session.exec(select(Taxon).where(Taxon.id.in_(ids)).order_by(Taxon.scientific_name))) if ids else []
    # A higher taxon ("Muntiacus") is one more species only when none of its species was recorded.
    counted = taxonomy.counted([t.scientific_name for t in taxa],
                               {t.scientific_name: tuple(p for p in t.lineage.split("|") if p) for t in taxa})
    species = [{"taxon": t, "records": cam.get(t.id, 0), "field_records": field.get(t.id, 0),
                "counted": t.scientific_name in counted} for t in taxa]
    alerts = list(session.exec(select(Alert).where(Alert.area_id == area_id)
                               .order_by(Alert.created_at.desc()).limit(10)))
    return {"deployments": rows, "effort": dict(effort), "species": species, "alerts": alerts,
            "n_species": len(counted),
            "threatened": sum(1 for s in species if s["taxon"].iucn_category in ("CR", "EN", "VU")
                              or s["taxon"].decree84_group)}


def map_features(session: Session, area_id: str, area_boundary: Any = None) -> dict[str, Any]:
    """GeoJSON of the area: boundary, locations (points), transects and recent walk tracks (lines)."""
    feats: list[dict] = []
    if area_boundary:
        feats.append({"type": "Feature", "geometry": area_boundary, "properties": {"kind": "boundary"}})
    counts = dict(session.exec(select(Deployment.location_id, func.count())
                               .join(Program, Program.id == Deployment.program_id)
                               .where(Program.area_id == area_id).group_by(Deployment.location_id)).all())
    # Effort per station (camera trap-nights and recorder-days, malfunctions taken out) and the species
    # people recorded there, for the markers' colours and popups.
    deps = deployments_of(session, area_id)
    ivs = intervals_by_deployment(session, [d.id for d, _, _ in deps])
    effort: dict[str, float] = defaultdict(float)
    camera_nights: dict[str, float] = defaultdict(float)
    for d, _p, loc in deps:
        nights = trap_nights(d, ivs[d.id])
        effort[loc.id] += nights
        if d.kind == "camera":
            camera_nights[loc.id] += nights
    rai = station_rai(session, area_id, camera_nights)
    seen: dict[str, set[str]] = defaultdict(set)
    for loc_id, name in session.exec(
            select(Deployment.location_id, Taxon.scientific_name).join(Observation, Observation.deployment_id == Deployment.id)
            .join(Taxon, Taxon.id == Observation.taxon_id).join(Program, Program.id == Deployment.program_id)
            .where(Program.area_id == area_id).distinct()):
        seen[loc_id].add(name)
    for loc in session.exec(select(Location).where(Location.area_id == area_id).order_by(Location.name)):
        if loc.latitude is None or loc.longitude is None:
            continue
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [loc.longitude, loc.latitude]},
                      "properties": {"kind": "location", "id": loc.id, "name": loc.name,
                                     "deployments": counts.get(loc.id, 0), "effort": round(effort.get(loc.id, 0.0), 1),
                                     "species": sorted(seen.get(loc.id, ())), "rai": rai.get(loc.id, {}),
                                     "camera_nights": round(camera_nights.get(loc.id, 0.0), 1)}})
    for t in session.exec(select(Transect).where(Transect.area_id == area_id).order_by(Transect.name)):
        if t.geometry:
            feats.append({"type": "Feature", "geometry": t.geometry,
                          "properties": {"kind": "transect", "name": t.name, "length_m": t.length_m}})
    walks = session.exec(select(SurveyWalk).join(Program, Program.id == SurveyWalk.program_id)
                         .where(Program.area_id == area_id, SurveyWalk.deleted.is_(False))
                         .order_by(SurveyWalk.started_at.desc()).limit(50))
    for w in walks:
        coords = [[p[0], p[1]] for p in (w.track or []) if isinstance(p, (list, tuple)) and len(p) >= 2]
        if len(coords) >= 2:
            feats.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": coords},
                          "properties": {"kind": "track", "name": as_utc(w.started_at).date().isoformat()}})
    return {"type": "FeatureCollection", "features": feats}


def station_rai(session: Session, area_id: str, camera_nights: dict[str, float],
                min_delta_min: float = 60.0) -> dict[str, dict[str, float]]:
    """RAI of each species at each camera station of the area: independent events (camtrapR's record
    table, ``min_delta_min`` apart, the report's default) per 100 camera trap-nights (malfunctions
    taken out), by location id. Stations without camera effort have none."""
    from ..analytics import camtrap
    from ..analytics.loaders import load_records

    pids = list(session.exec(select(Program.id).where(Program.area_id == area_id)))
    if not pids:
        return {}
    by_name = {name: loc_id for loc_id, name in session.exec(select(Location.id, Location.name)
                                                             .where(Location.area_id == area_id))}
    events: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in camtrap.record_table(load_records(session, pids), min_delta_min):
        loc_id = by_name.get(r.station)
        if loc_id is not None:
            events[loc_id][r.species] += 1
    return {loc_id: {sp: round(n / camera_nights[loc_id] * 100, 2) for sp, n in sorted(counts.items())}
            for loc_id, counts in events.items() if camera_nights.get(loc_id, 0) > 0}


def station_photos(session: Session, location_id: str, limit: int = 6) -> list[Media]:
    """The station's last ``limit`` photos (and videos), newest first, across its deployments."""
    return list(session.exec(select(Media).join(Deployment, Deployment.id == Media.deployment_id)
                             .where(Deployment.location_id == location_id, Media.kind.in_(("image", "video")))
                             .order_by(Media.captured_at.is_(None), Media.captured_at.desc(), Media.id)
                             .limit(limit)))


def calendar(session: Session, area_id: str, now: datetime | None = None, width: int = 900) -> dict[str, Any]:
    """Deployment rows for an SVG timeline: window bar, operating and malfunction spans in pixels."""
    now = now or utcnow()
    deps = deployments_of(session, area_id)
    ivs = intervals_by_deployment(session, [d.id for d, _, _ in deps])
    if not deps:
        return {"rows": [], "ticks": [], "width": width}
    t0 = min(as_utc(d.deployment_start) for d, _, _ in deps)
    t1 = max((as_utc(d.deployment_end) or now) for d, _, _ in deps)
    if t1 - t0 < timedelta(days=1):  # compared, not added: t0 may be the last day datetime can hold
        t1 = t0 + timedelta(days=1) if t0 < datetime.max.replace(tzinfo=t0.tzinfo) - timedelta(days=1) else t1
    span = max((t1 - t0).total_seconds(), 86400.0)

    def px(t: datetime) -> float:
        return round((as_utc(t) - t0).total_seconds() / span * width, 1)

    rows = []
    for d, p, loc in deps:
        end = as_utc(d.deployment_end) or now
        spans = [{"x": px(a), "w": max(1.0, px(b) - px(a)), "status": status, "reason": reason,
                  "start": a, "end": b} for a, b, status, reason in states(d, ivs[d.id], now)]
        rows.append({"deployment": d, "location": loc, "program": p, "x": px(d.deployment_start),
                     "w": max(1.0, px(end) - px(d.deployment_start)), "open": d.deployment_end is None,
                     "spans": spans, "trap_nights": trap_nights(d, ivs[d.id], now)})
    return {"rows": rows, "ticks": month_ticks(t0, t1, px), "width": width, "start": t0, "end": t1}


def month_ticks(t0: datetime, t1: datetime, px, most: int = 12) -> list[dict[str, Any]]:
    """About ``most`` month-start ticks between t0 and t1 (every ``step``-th month start).

    Computed from month numbers, not by walking month after month: a deployment dated
    years 1 to 9999 walked 120,000 months and then overflowed datetime (year 10000).
    """
    first = t0.year * 12 + t0.month - 1  # months since year 0
    if datetime(t0.year, t0.month, 1, tzinfo=t0.tzinfo) < t0:
        first += 1
    last = min(t1.year * 12 + t1.month - 1, 9999 * 12 + 11)
    count = last - first + 1
    if count <= 0:
        return []
    step = max(1, count // most)
    ticks = []
    for n in range(first, last + 1, step):
        m = datetime(n // 12, n % 12 + 1, 1, tzinfo=t0.tzinfo)
        ticks.append({"x": px(m), "label": f"{m.year:04d}-{m.month:02d}"})  # strftime drops zeros of year 1
    return ticks
