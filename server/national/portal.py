"""What the public read-only portal shows: per area its species list and effort, and a map of
where species were recorded.

Positions pass the one policy (server/auth/policy.py) as an anonymous reader sees them: a station
where a sensitive species (Decree 84 IB, IUCN CR/EN, flagged) was ever recorded is moved to the
centre of its 0.1° cell, and stations of one cell that are generalised are merged into one point
so their number does not give them away. The portal serves no photos at all, so no photo of a
person can leave through it.
"""
from __future__ import annotations

import hashlib
import threading
import time
from collections import defaultdict
from typing import Any, Callable, Optional

from sqlmodel import Session, col, select

from ..auth import policy
from ..models import Deployment, Location, Observation, Program, ProtectedArea, Taxon

CACHE_S = 300  # portal figures are the same for every visitor: computed once every 5 minutes
_cache: dict[tuple, tuple[float, Any]] = {}
_lock = threading.Lock()


def cached(key: tuple, make: Callable[[], Any], ttl: float = CACHE_S) -> Any:
    """``make()``'s value, kept ``ttl`` seconds per ``key`` (the key names the database too)."""
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
    value = make()
    with _lock:
        if len(_cache) > 256:
            _cache.clear()
        _cache[key] = (now, value)
    return value


def data_version(session: Session) -> str:
    """A fingerprint of what the national views count (areas, deployments, intervals, observations,
    field records, sound detections, report submissions: their numbers and last changes), part of
    every cache key, so a publish, a correction or a deletion shows at once instead of after the
    cache's lifetime. A few aggregate queries: far cheaper than the figures."""
    from sqlalchemy import func

    from ..models import Detection, FieldObservation, OperatingInterval, ReportSubmission

    parts: list[Any] = sorted(session.exec(select(ProtectedArea.id)))
    for model, stamp in ((Deployment, Deployment.updated_at), (Observation, Observation.updated_at),
                         (FieldObservation, FieldObservation.updated_at), (OperatingInterval, OperatingInterval.created_at),
                         (Detection, Detection.created_at), (ReportSubmission, ReportSubmission.received_at)):
        parts.extend(session.exec(select(func.count(), func.max(stamp)).select_from(model)).one())
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def area_by_code(session: Session, code: str) -> Optional[ProtectedArea]:
    return session.exec(select(ProtectedArea).where(ProtectedArea.code == code)).first()


def station_features(session: Session, area: ProtectedArea) -> dict[str, Any]:
    """GeoJSON of the area's stations with the species recorded there, as the public may see them."""
    locs = list(session.exec(select(Location).where(Location.area_id == area.id, col(Location.latitude).is_not(None),
                                                    col(Location.longitude).is_not(None))))
    species: dict[str, set[str]] = defaultdict(set)
    for loc_id, name in session.exec(
            select(Deployment.location_id, Taxon.scientific_name)
            .join(Observation, col(Observation.deployment_id) == Deployment.id)
            .join(Taxon, col(Taxon.id) == Observation.taxon_id)
            .join(Program, col(Program.id) == Deployment.program_id)
            .where(Program.area_id == area.id, Observation.observation_type == "animal").distinct()):
        species[loc_id].add(name)
    sensitive = policy.sensitive_location_ids(session, [loc.id for loc in locs])
    points: dict[tuple, dict[str, Any]] = {}
    for loc in locs:
        if loc.id not in species:
            continue
        assert loc.latitude is not None and loc.longitude is not None
        pos = policy.position_for(loc.latitude, loc.longitude, sensitive=loc.id in sensitive, role=None)
        key: tuple = (pos.lat, pos.lon) if pos.generalised else (loc.latitude, loc.longitude, loc.id)
        p = points.setdefault(key, {"lat": pos.lat, "lon": pos.lon, "generalised": pos.generalised,
                                    "uncertainty_m": pos.uncertainty_m if pos.generalised else
                                    loc.coordinate_uncertainty, "stations": 0, "species": set()})
        p["stations"] += 1
        p["species"] |= species[loc.id]
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [p["lon"], p["lat"]]},
         "properties": {"generalised": p["generalised"], "uncertainty_m": p["uncertainty_m"],
                        "stations": p["stations"], "species": sorted(p["species"])}}
        for p in points.values()]}
