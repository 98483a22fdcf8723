"""Read the inputs of the analyses from the database (records, station periods, walks, acoustic rows).

Times are converted to each deployment's local wall-clock time (naive), which
is how camtrapR reads camera times; the station is the location name.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Iterator

from sqlalchemy import String, cast, exists, func, or_, select
from sqlmodel import Session

from ..models import (AcousticIndex, Deployment, Detection, FieldObservation, Location, Media, Observation,
                      OperatingInterval, SurveyWalk, Taxon, Transect)
from ..timeutil import as_utc, zone
from .camtrap import Record, StationPeriod


@lru_cache(maxsize=64)
def _zone(name: str):
    return zone(name)


def local(t: datetime | None, tz: str) -> datetime | None:
    """Aware/UTC-naive database time -> naive local time of zone ``tz``."""
    if t is None:
        return None
    try:
        return as_utc(t).astimezone(_zone(tz)).replace(tzinfo=None)
    except OverflowError:  # a stored time at the very edge of the calendar (year 1 or 9999)
        return datetime.max if t.year > 5000 else datetime.min


@dataclass(frozen=True)
class Window:
    """Optional local-date window [start, end] (inclusive) that analyses are restricted to."""

    start: date | None = None
    end: date | None = None

    def lo(self) -> datetime | None:
        return datetime.combine(self.start, time()) if self.start else None

    def hi(self) -> datetime | None:
        return datetime.combine(self.end + timedelta(days=1), time()) if self.end else None

    def contains(self, t: datetime) -> bool:
        return (self.start is None or t >= self.lo()) and (self.end is None or t < self.hi())

    @classmethod
    def year(cls, year: int | None) -> "Window":
        return cls(date(year, 1, 1), date(year, 12, 31)) if year else cls()


def camera_deployments(session: Session, program_ids: list[str]) -> list[tuple[Deployment, str]]:
    """(deployment, station name) of the camera deployments of the programs."""
    return [(d, name) for d, name in session.execute(
        select(Deployment, Location.name).join(Location, Location.id == Deployment.location_id)
        .where(Deployment.program_id.in_(program_ids), Deployment.kind == "camera")
        .order_by(Location.name, Deployment.deployment_start)).all()]


def _not_records(session: Session, dep_ids: list[str], video: bool) -> tuple[set[str], set[str], dict[str, str]]:
    """(media ids, sequence ids, why) that cannot be records: media flagged outside their
    deployment window, and videos unless ``video``; a sequence only when all its media are such."""
    conds = [cast(Media.flags, String).like('%"outside_window"%')]
    if not video:
        conds.append(Media.kind == "video")
    why: dict[str, str] = {}
    seq_of: dict[str, str | None] = {}
    for i in range(0, len(dep_ids), 500):
        for mid, kind, flags, seq in session.execute(
                select(Media.id, Media.kind, Media.flags, Media.sequence_id)
                .where(Media.deployment_id.in_(dep_ids[i:i + 500]), or_(*conds))):
            if "outside_window" in (flags or []):
                why[mid] = "outside_window"
            elif kind == "video" and not video:
                why[mid] = "video"
            else:
                continue
            seq_of[mid] = seq
    seqs: set[str] = set()
    wanted = sorted({s_ for s_ in seq_of.values() if s_})
    if wanted:
        excluded_per_seq: dict[str, int] = {}
        for s_ in seq_of.values():
            if s_:
                excluded_per_seq[s_] = excluded_per_seq.get(s_, 0) + 1
        for i in range(0, len(wanted), 500):
            for seq, n in session.execute(select(Media.sequence_id, func.count()).where(
                    Media.sequence_id.in_(wanted[i:i + 500])).group_by(Media.sequence_id)):
                if excluded_per_seq.get(seq, 0) >= n:
                    seqs.add(seq)
    return set(why), seqs, why


def load_records(session: Session, program_ids: list[str], window: Window = Window(),
                 include_machine: bool = False, min_confidence: float = 0.0, video: bool = False,
                 left_out: dict[str, int] | None = None) -> Iterator[Record]:
    """Species records at camera stations: observations of animals with a taxon (and, optionally,
    machine detections with a species label that no observation has taken over).

    Media flagged outside their deployment window are not records (a card's stray file dated
    years away is not an event of the survey), and videos are records only with ``video``
    (camtrapR's ``video`` argument, off by default). ``left_out`` counts what was left out, by reason.
    """
    deps = {d.id: (d, station) for d, station in camera_deployments(session, program_ids)}
    if not deps:
        return
    bad_media, bad_seqs, why = _not_records(session, list(deps), video)

    def skip(media_id: str | None, sequence_id: str | None) -> bool:
        reason = why.get(media_id) if media_id else None
        if reason is None and media_id is None and sequence_id in bad_seqs:
            reason = "outside_window_or_video"
        if reason is None:
            return False
        if left_out is not None:
            left_out[reason] = left_out.get(reason, 0) + 1
        return True

    stmt = (select(Observation.id, Observation.deployment_id, Observation.event_start, Observation.count,
                   Taxon.scientific_name, Observation.media_id, Observation.sequence_id)
            .join(Taxon, Taxon.id == Observation.taxon_id)
            .where(Observation.deployment_id.in_(list(deps)), Observation.observation_type == "animal")
            .execution_options(yield_per=10000))
    for oid, dep_id, start, count, name, media_id, seq_id in session.execute(stmt):
        if (media_id in bad_media or (media_id is None and seq_id in bad_seqs)) and skip(media_id, seq_id):
            continue
        d, station = deps[dep_id]
        t = local(start, d.timezone)
        if window.contains(t):
            yield Record(station, name, t, count, dep_id, oid)
    if include_machine:
        taken = exists().where(Observation.detection_id == Detection.id)
        stmt = (select(Detection.id, Media.deployment_id, Media.captured_at, Taxon.scientific_name, Media.id)
                .join(Media, Media.id == Detection.media_id).join(Taxon, Taxon.id == Detection.taxon_id)
                .where(Media.deployment_id.in_(list(deps)), Media.captured_at.is_not(None),
                       Detection.dismissed.is_(False), Detection.review_status != "rejected",
                       func.coalesce(Detection.label_confidence, Detection.confidence) >= min_confidence, ~taken)
                .execution_options(yield_per=10000))
        for did, dep_id, at, name, media_id in session.execute(stmt):
            if media_id in bad_media and skip(media_id, None):
                continue
            d, station = deps[dep_id]
            t = local(at, d.timezone)
            if window.contains(t):
                yield Record(station, name, t, None, dep_id, did)


def load_periods(session: Session, program_ids: list[str], window: Window = Window()) -> list[StationPeriod]:
    """Station operating periods (local times) with their malfunctions, clipped to ``window``.

    A deployment still in the field ends at its last image (no image: no effort yet). When a
    deployment has ``operating`` intervals, only those windows count as working.
    """
    deps = camera_deployments(session, program_ids)
    if not deps:
        return []
    ids = [d.id for d, _ in deps]
    intervals: dict[str, list[OperatingInterval]] = {}
    for iv in session.execute(select(OperatingInterval).where(OperatingInterval.deployment_id.in_(ids))).scalars():
        intervals.setdefault(iv.deployment_id, []).append(iv)
    last = dict(session.execute(select(Media.deployment_id, func.max(Media.captured_at))
                                .where(Media.deployment_id.in_(ids)).group_by(Media.deployment_id)).all())
    out = []
    for d, station in deps:
        start = local(d.deployment_start, d.timezone)
        end = local(d.deployment_end or last.get(d.id) or d.deployment_start, d.timezone)
        lo, hi = window.lo(), window.hi()
        if lo is not None:
            start = max(start, lo)
        if hi is not None:
            end = min(end, hi - timedelta(seconds=1)) if end >= hi else end
        if end <= start:
            continue
        ivs = intervals.get(d.id, [])
        problems = [(local(i.start, d.timezone), local(i.end, d.timezone)) for i in ivs if i.status == "malfunction"]
        operating = [(local(i.start, d.timezone), local(i.end, d.timezone)) for i in ivs if i.status == "operating"]
        out.append(StationPeriod(station, start, end, problems, operating or None))
    return out


def station_names(session: Session, program_ids: list[str]) -> list[str]:
    """Names of every camera station of the programs (rows of the operation matrix), sorted."""
    return sorted({name for _, name in camera_deployments(session, program_ids)})


# ---- line transects ----------------------------------------------------------------------
@dataclass(frozen=True)
class Walk:
    walk_id: str
    transect: str
    started_at: datetime
    km: float


@dataclass(frozen=True)
class Sighting:
    walk_id: str
    species: str
    count: int | None
    perpendicular_m: float | None
    sign_type: str | None


def load_walks(session: Session, program_ids: list[str], window: Window = Window(),
               tz: str = "Asia/Ho_Chi_Minh") -> tuple[list[Walk], list[Sighting]]:
    """Finished or paused walks with their effort (km: GPS distance, else the transect length) and sightings."""
    rows = session.execute(select(SurveyWalk, Transect.name, Transect.length_m)
                           .outerjoin(Transect, Transect.id == SurveyWalk.transect_id)
                           .where(SurveyWalk.program_id.in_(program_ids), SurveyWalk.deleted.is_(False))
                           .order_by(SurveyWalk.started_at)).all()
    walks = []
    for w, tname, length in rows:
        t = local(w.started_at, tz)
        if not window.contains(t):
            continue
        km = (w.distance_m if w.distance_m is not None else (length or 0.0)) / 1000.0
        walks.append(Walk(w.id, tname or "(no transect)", t, km))
    ids = [w.walk_id for w in walks]
    sightings = []
    if ids:
        for wid, name, count, perp, sign in session.execute(
                select(FieldObservation.walk_id, Taxon.scientific_name, FieldObservation.count,
                       FieldObservation.perpendicular_distance_m, FieldObservation.sign_type)
                .join(Taxon, Taxon.id == FieldObservation.taxon_id)
                .where(FieldObservation.walk_id.in_(ids), FieldObservation.deleted.is_(False),
                       FieldObservation.record_type == "observation")):
            sightings.append(Sighting(wid, name, count, perp, sign))
    return walks, sightings


# ---- acoustics -----------------------------------------------------------------------------
def load_acoustic_indices(session: Session, program_ids: list[str], window: Window = Window()):
    """(station, local minute start, {index: value}) for every analysed minute of the programs' recorders."""
    rows = session.execute(
        select(AcousticIndex, Media.captured_at, Deployment.timezone, Location.name)
        .join(Media, Media.id == AcousticIndex.media_id).join(Deployment, Deployment.id == Media.deployment_id)
        .join(Location, Location.id == Deployment.location_id)
        .where(Deployment.program_id.in_(program_ids))).all()
    for ix, captured, tz, station in rows:
        start = ix.start_at or (as_utc(captured) + timedelta(minutes=ix.minute) if captured else None)
        if start is None:
            continue
        t = local(start, tz)
        if window.contains(t):
            yield station, t, {k: getattr(ix, k) for k in ("aci", "adi", "aei", "bi", "ndsi", "h")}


def load_sound_detections(session: Session, program_ids: list[str], window: Window = Window(),
                          min_confidence: float = 0.0):
    """(station, local time, label) of audio detections (taxon name when known, else the class)."""
    rows = session.execute(
        select(Detection.category, Detection.start_s, Detection.confidence, Taxon.scientific_name, Media.captured_at,
               Deployment.timezone, Location.name)
        .join(Media, Media.id == Detection.media_id).join(Deployment, Deployment.id == Media.deployment_id)
        .join(Location, Location.id == Deployment.location_id).outerjoin(Taxon, Taxon.id == Detection.taxon_id)
        .where(Deployment.program_id.in_(program_ids), Media.kind == "audio", Media.captured_at.is_not(None),
               Detection.dismissed.is_(False), Detection.review_status != "rejected",
               Detection.confidence >= min_confidence)).all()
    for cat, start_s, _conf, name, captured, tz, station in rows:
        t = local(as_utc(captured) + timedelta(seconds=start_s or 0), tz)
        if window.contains(t):
            yield station, t, name or cat


# ---- camera health ---------------------------------------------------------------------------
#: A machine box at or above this confidence means the photo is not blank (health checks).
HEALTH_BOX_CONFIDENCE = 0.2


def load_health(session: Session, program_ids: list[str], deployment_ids: list[str] | None = None):
    """(deployment shots, recorded malfunctions) of the camera deployments of the programs (or only
    ``deployment_ids``): the inputs of :func:`server.analytics.health.check_deployment`, in local times.

    A photo is blank when its sequence was reviewed blank or a person labelled it blank, or when a
    detector screened it and found no box at :data:`HEALTH_BOX_CONFIDENCE` or above; it is not blank
    when a person labelled an animal, person or vehicle or a box reaches that confidence; otherwise
    its status is unknown (never screened).
    """
    from datetime import timezone as _tz

    from ..models import Sequence
    from .health import DeploymentShots, Shot

    deps = [(d, st) for d, st in camera_deployments(session, program_ids)
            if deployment_ids is None or d.id in deployment_ids]
    out: list[tuple[DeploymentShots, list[tuple[datetime, datetime]]]] = []
    now_utc = datetime.now(_tz.utc)
    for d, station in deps:
        rows = session.execute(select(Media.id, Media.captured_at, Media.captured_at_raw, Media.file_path,
                                      Media.file_name, Media.flags, Media.kind, Media.sequence_id)
                               .where(Media.deployment_id == d.id, Media.kind != "audio")).all()
        screened: dict[str, float] = {}
        for mid in session.execute(
                select(Detection.media_id).join(Media, Media.id == Detection.media_id)
                .where(Media.deployment_id == d.id, Detection.model != "human").distinct()).scalars():
            screened[mid] = 0.0
        for mid, best in session.execute(
                select(Detection.media_id, func.max(Detection.confidence)).join(Media, Media.id == Detection.media_id)
                .where(Media.deployment_id == d.id, Detection.dismissed.is_(False), Detection.category != "blank")
                .group_by(Detection.media_id)):
            screened[mid] = max(screened.get(mid, 0.0), best or 0.0)
        blank_seqs = set(session.execute(select(Sequence.id).where(Sequence.deployment_id == d.id,
                                                                   Sequence.review_status == "blank")).scalars())
        labelled: dict[str, bool] = {}  # media or sequence id -> blank?
        for mid, sid, otype in session.execute(
                select(Observation.media_id, Observation.sequence_id, Observation.observation_type)
                .where(Observation.deployment_id == d.id, Observation.classification_method == "human")):
            key = mid or sid
            if key:
                labelled[key] = labelled.get(key, True) and otype == "blank"
        shots = []
        for mid, at, raw, path, name, flags, kind, seq in rows:
            blank: bool | None
            if mid in labelled or (seq and seq in labelled):
                blank = labelled.get(mid, labelled.get(seq or "", True))
            elif seq in blank_seqs:
                blank = True
            elif mid in screened:
                blank = screened[mid] < HEALTH_BOX_CONFIDENCE
            else:
                blank = None
            shots.append(Shot(local(at, d.timezone) if at is not None else None, raw, path or name or "",
                              tuple(flags or ()), kind, blank))
        last = max((s for s in shots if s.time is not None), key=lambda s: s.time or datetime.min, default=None)
        if last is not None:  # the battery voltage some cameras write (maker notes), for the message
            meta = session.execute(select(Media.meta).where(Media.deployment_id == d.id, Media.kind != "audio",
                                                            Media.captured_at.is_not(None))
                                   .order_by(Media.captured_at.desc()).limit(1)).first()
            volts = ((meta[0] or {}).get("camera") or {}).get("battery_v") if meta else None
            if isinstance(volts, (int, float)):
                shots = [s if s is not last else Shot(s.time, s.raw, s.order, s.flags, s.kind, s.blank, float(volts))
                         for s in shots]
        malfunctions = [(local(i.start, d.timezone), local(i.end, d.timezone)) for i in session.execute(
            select(OperatingInterval).where(OperatingInterval.deployment_id == d.id,
                                            OperatingInterval.status == "malfunction")).scalars()]
        out.append((DeploymentShots(d.id, station, local(d.deployment_start, d.timezone),
                                    local(d.deployment_end, d.timezone) if d.deployment_end else None, shots,
                                    local(now_utc, d.timezone)), malfunctions))
    return out

