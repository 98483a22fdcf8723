"""Camtrap DP 1.0.2 export (TDWG Camera Trap Data Package).

The tables follow Saola's models, which already use Camtrap DP's field
meanings, so the export is a projection: deployments.csv from Deployment +
Location, media.csv from Media, observations.csv from Observation rows
(human or accepted machine classifications, media- or event-level) plus one
media-level observation per kept Detection (bounding box) that no
Observation has taken over: as the review of its sequence leaves it
(server/review/state.py), a box people verified is a ``human`` classification
(classifiedBy the reviewer, their species and time, no probability), one they
rejected is left out, and an unreviewed one stays a ``machine`` classification
(classificationProbability, classifiedBy ``model@version``). Rows are streamed from the database to the CSV
files, so memory stays flat however many observations a program has.

Imported packages keep their identifiers and values in provenance fields
(``Deployment.settings['camtrap_dp']``, ``Media.meta['camtrap_dp']``,
``Observation.extra['camtrap_dp']``); the export prefers them, so a package
imported and exported again has the same ids and values.

Import lives in :mod:`server.exports.camtrap_dp_import` and is re-exported here.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import and_, exists, func, literal, or_, select
from sqlmodel import Session

from ..analytics.taxonomy import classification
from ..auth.policy import sensitive_location_ids
from ..errors import ValidationError
from ..models import Deployment, Detection, Location, Media, Observation, Taxon, utcnow
from ..models.detection import OBSERVATION_TYPES
from ..models.taxon import RANKS as TAXON_RANKS
from ..review.state import human_labels, labels_for, review_of
from ..timeutil import as_utc
from . import metadata
from .common import CsvTable, complete_folder, fmt_bool, fmt_num, fmt_time, resolve_scope, zone_offset_min
from .sensitive import generalise, person_media_clause, sensitive_taxon_ids

VERSION = "1.0.2"
PROFILE_URL = f"https://raw.githubusercontent.com/tdwg/camtrap-dp/{VERSION}/camtrap-dp-profile.json"
SCHEMA_URL = "https://raw.githubusercontent.com/tdwg/camtrap-dp/" + VERSION + "/{}-table-schema.json"
PROV = "camtrap_dp"  # key of the provenance dict in settings/meta/extra JSON columns

DEPLOYMENT_COLUMNS = [
    "deploymentID", "locationID", "locationName", "latitude", "longitude", "coordinateUncertainty",
    "deploymentStart", "deploymentEnd", "setupBy", "cameraID", "cameraModel", "cameraDelay", "cameraHeight",
    "cameraDepth", "cameraTilt", "cameraHeading", "detectionDistance", "timestampIssues", "baitUse",
    "featureType", "habitat", "deploymentGroups", "deploymentTags", "deploymentComments"]
MEDIA_COLUMNS = [
    "mediaID", "deploymentID", "captureMethod", "timestamp", "filePath", "filePublic", "fileName",
    "fileMediatype", "exifData", "favorite", "mediaComments"]
OBSERVATION_COLUMNS = [
    "observationID", "deploymentID", "mediaID", "eventID", "eventStart", "eventEnd", "observationLevel",
    "observationType", "cameraSetupType", "scientificName", "count", "lifeStage", "sex", "behavior",
    "individualID", "individualPositionRadius", "individualPositionAngle", "individualSpeed", "bboxX", "bboxY",
    "bboxWidth", "bboxHeight", "classificationMethod", "classifiedBy", "classificationTimestamp",
    "classificationProbability", "observationTags", "observationComments"]
FEATURE_TYPES = {"roadPaved", "roadDirt", "trailHiking", "trailGame", "roadUnderpass", "roadOverpass",
                 "roadBridge", "culvert", "burrow", "nestSite", "carcass", "waterSource", "fruitingTree"}
CAPTURE_METHODS = ("activityDetection", "timeLapse")
LIFE_STAGES = {"adult", "subadult", "juvenile"}  # other values (e.g. "unknown") are left empty
SEXES = {"female", "male"}
DETECTION_TYPES = {"animal": "animal", "person": "human", "human": "human", "vehicle": "vehicle"}
SAMPLING_DESIGNS = {"simpleRandom", "systematicRandom", "clusteredRandom", "experimental", "targeted",
                    "opportunistic"}
BATCH = 5000  # rows fetched per round trip when streaming
TICK = 10000  # rows between progress reports
MEDIA_MODES = ("copy", "link")
_SAFE_PATH = re.compile(r"^(?=[^./~])(?!.*\.\.)[^\\:]*$")


@dataclass
class ExportReport:
    """What an export wrote (counts) and what it left out, and why."""

    out_dir: str
    deployments: int = 0
    media: int = 0
    observations: int = 0
    machine_observations: int = 0
    media_without_time: int = 0
    person_media_excluded: int = 0
    generalised_deployments: int = 0
    files_copied: int = 0
    missing_files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["missing_files"] = self.missing_files[:20]
        return d


class ExportError(ValidationError):
    """The data cannot be exported as a valid package (the message says what to fix)."""


def _prov(row_json: Any) -> dict:
    if isinstance(row_json, dict):
        return row_json.get(PROV) or {}
    return {}


def _clip01(v: float | None) -> float | None:
    return None if v is None else min(1.0, max(0.0, float(v)))


def _bbox(x, y, w, h) -> tuple:
    """A normalised top-left box clipped into the image (Camtrap DP wants 0..1 and width/height > 0)."""
    if None in (x, y, w, h):
        return (None, None, None, None)
    x, y = _clip01(x), _clip01(y)
    w = min(float(w), 1.0 - x) if x < 1 else 0.0
    h = min(float(h), 1.0 - y) if y < 1 else 0.0
    if w <= 0 or h <= 0:
        return (None, None, None, None)
    return (x, y, w, h)


def _slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-")
    return s or "saola-export"


def _safe_relative(path: str | None) -> bool:
    return bool(path) and "://" not in path and bool(_SAFE_PATH.match(path))


def _is_url(path: str | None) -> bool:
    return bool(path) and re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", path) is not None


def sensitive_deployment_ids(session: Session, deployment_ids: list[str]) -> set[str]:
    """Deployments where a sensitive taxon was observed or machine-labelled."""
    if not deployment_ids:
        return set()
    sens = sensitive_taxon_ids()
    out = set(session.execute(select(Observation.deployment_id).where(
        Observation.deployment_id.in_(deployment_ids), Observation.taxon_id.in_(sens)).distinct()).scalars())
    out |= set(session.execute(select(Media.deployment_id).join(Detection, Detection.media_id == Media.id).where(
        Media.deployment_id.in_(deployment_ids), Detection.taxon_id.in_(sens),
        Detection.dismissed.is_(False), Detection.review_status != "rejected").distinct()).scalars())
    return out


def camera_model_name(make: str | None, model: str | None) -> str:
    """Camtrap DP's ``cameraModel``, "Manufacturer-Model" (``Reconyx-HYPERFIRE 2 COVERT``)."""
    make, model = (make or "").strip(), (model or "").strip()
    if make.isupper() and len(make) > 3:
        make = make.title()  # RECONYX -> Reconyx, as Camtrap DP's examples write it
    if make and model.lower().startswith(make.lower()):
        model = model[len(make):].strip(" -")
    return "-".join(p for p in (make, model) if p)


def media_cameras(session: Session, dep_ids: list[str]) -> dict[str, tuple[str, str]]:
    """Per deployment, the (serial, model) its photos name most often: ``cameraID`` and ``cameraModel``
    of deployments whose record has none (the serial often comes from the maker notes)."""
    if not dep_ids:
        return {}
    rows = session.execute(
        select(Media.deployment_id, Media.camera_serial, Media.camera_make, Media.camera_model, func.count())
        .where(Media.deployment_id.in_(dep_ids), Media.kind != "audio")
        .group_by(Media.deployment_id, Media.camera_serial, Media.camera_make, Media.camera_model)).all()
    best: dict[str, tuple[int, str, str]] = {}
    serials: dict[str, dict[str, int]] = {}
    for dep_id, serial, make, model, n in rows:
        name = camera_model_name(make, model)
        if name and n > best.get(dep_id, (0, "", ""))[0]:
            best[dep_id] = (n, name, "")
        if serial:
            counts = serials.setdefault(dep_id, {})
            counts[serial] = counts.get(serial, 0) + n
    out = {}
    for dep_id in set(best) | set(serials):
        counts = serials.get(dep_id, {})
        serial = max(sorted(counts), key=lambda k: counts[k]) if counts else ""
        out[dep_id] = (serial, best.get(dep_id, (0, "", ""))[1])
    return out


def export_camtrap_dp(session: Session, out_dir: str | os.PathLike, *, program_id: str | None = None,
                      area_id: str | None = None, public: bool = False, media_mode: str = "copy",
                      store: Any = None, base_url: str | None = None, grid_deg: float = 0.1,
                      contributors: list[dict] | None = None, data_license: str = "CC-BY-4.0",
                      media_license: str = "CC-BY-NC-4.0",
                      progress: Callable[[str, int], None] | None = None, network: bool = False) -> ExportReport:
    """Write a Camtrap DP package for one program or a whole protected area into ``out_dir``.

    ``public`` generalises the coordinates of deployments that recorded a
    sensitive taxon (to the centre of a ``grid_deg`` cell), copies their images
    without metadata (no EXIF GPS), and leaves out media showing people (and
    their media-level observations). ``media_mode``:
    ``copy`` copies originals from ``store`` to ``media/`` (filePath relative);
    ``link`` writes ``{base_url}/{media id}`` URLs. Imported remote media keep
    their URL in both modes. Raises :class:`ExportError` for data that cannot
    make a valid package (a deployment without coordinates, missing files).
    """
    if media_mode not in MEDIA_MODES:
        raise ExportError(f"media mode must be one of {', '.join(MEDIA_MODES)}, got {media_mode!r}")
    if media_mode == "copy" and store is None:
        raise ExportError("media mode 'copy' needs the media store")
    if media_mode == "link" and not base_url:
        raise ExportError("media mode 'link' needs a base URL for the media files")
    scope = resolve_scope(session, program_id, area_id, network=network)
    design = _sampling_design(scope)
    # Written into a temporary folder beside out_dir, renamed only when complete: a failed export
    # (a station without coordinates, a missing file) leaves no half-written package behind.
    with complete_folder(out_dir) as work:
        rep = _write_package(session, scope, Path(work), design, public=public, media_mode=media_mode,
                             store=store, base_url=base_url, grid_deg=grid_deg, contributors=contributors,
                             data_license=data_license, media_license=media_license, progress=progress)
    rep.out_dir = str(Path(out_dir))
    return rep


def _sampling_design(scope) -> str:
    """The sampling design the programs' managers stated (or their imported package did); refused when
    none was stated or when the programs of an area-wide export differ (a package has one)."""
    designs = {}
    for p in scope.programs:
        design = metadata.sampling_design(p) or (_prov(p.settings).get("package") or {}).get(
            "project", {}).get("samplingDesign")
        if design not in SAMPLING_DESIGNS:
            raise ExportError(f"program {p.name!r} has no sampling design: fill in its Camtrap DP metadata "
                              "(the Exports page of the protected area, or PUT /programs/<id>/camtrap-dp-metadata) "
                              "before exporting", details={"field": "sampling_design", "program_id": p.id})
        designs[p.name] = design
    if len(set(designs.values())) > 1:
        raise ExportError("the programs of this area have different sampling designs ("
                          + ", ".join(f"{k}: {v}" for k, v in sorted(designs.items()))
                          + "): export each program on its own", details={"field": "sampling_design"})
    return next(iter(designs.values()), "opportunistic")


def _write_package(session: Session, scope, out: Path, design: str, *, public: bool, media_mode: str, store: Any,
                   base_url: str | None, grid_deg: float, contributors: list[dict] | None, data_license: str,
                   media_license: str, progress: Callable[[str, int], None] | None) -> ExportReport:
    rep = ExportReport(str(out))
    tick = progress or (lambda _what, _n: None)

    # ---- deployments (few rows: kept in memory) ------------------------------------------
    rows = session.execute(
        select(Deployment, Location).join(Location, Location.id == Deployment.location_id)
        .where(Deployment.program_id.in_(scope.program_ids), Deployment.kind == "camera")
        .order_by(Deployment.deployment_start, Deployment.id)).all()
    dep_ids = [d.id for d, _ in rows]
    dep_export_id: dict[str, str] = {}
    dep_program = {d.id: d.program_id for d, _ in rows}
    dep_tz = {d.id: d.timezone for d, _ in rows}
    sensitive = sensitive_deployment_ids(session, dep_ids) if public else set()
    if public:  # every deployment at a station where a sensitive taxon was recorded (the station is the secret)
        stations = sensitive_location_ids(session, sorted({loc.id for _, loc in rows}))
        sensitive |= {d.id for d, loc in rows if loc.id in stations}
    last_media = dict(session.execute(
        select(Media.deployment_id, func.max(Media.captured_at)).where(Media.deployment_id.in_(dep_ids))
        .group_by(Media.deployment_id)).all()) if dep_ids else {}
    cameras = media_cameras(session, dep_ids)
    points: list[tuple[float, float]] = []
    t_start: list[str] = []
    t_end: list[str] = []
    with CsvTable(out / "deployments.csv", DEPLOYMENT_COLUMNS) as t:
        for d, loc in rows:
            prov = _prov(d.settings)
            if loc.latitude is None or loc.longitude is None:
                raise ExportError(f"deployment {d.id} at location {loc.name!r} has no coordinates: "
                                  "set the location's latitude and longitude before exporting")
            lat, lon, unc = loc.latitude, loc.longitude, loc.coordinate_uncertainty
            if d.id in sensitive:
                lat, lon, unc = generalise(lat, lon, grid_deg)
                rep.generalised_deployments += 1
            points.append((lon, lat))
            start = as_utc(d.deployment_start)
            end = as_utc(d.deployment_end) or as_utc(last_media.get(d.id)) or utcnow()
            s_off = prov.get("startOffset", zone_offset_min(d.timezone, start))
            e_off = prov.get("endOffset", zone_offset_min(d.timezone, end))
            dep_export_id[d.id] = did = prov.get("deploymentID") or d.id
            nulls = set(prov.get("nulls", ()))
            t_start.append(fmt_time(start, s_off)[:10])
            t_end.append(fmt_time(end, e_off)[:10])
            t.write([
                did, prov.get("locationID") or loc.id, loc.name, fmt_num(lat), fmt_num(lon),
                fmt_num(max(1, int(unc))) if unc else "", fmt_time(start, s_off), fmt_time(end, e_off),
                d.setup_by or "", d.camera_id or cameras.get(d.id, ("", ""))[0],
                d.camera_model or cameras.get(d.id, ("", ""))[1], fmt_num(d.camera_delay),
                fmt_num(d.camera_height), fmt_num(d.camera_depth), fmt_num(d.camera_tilt),
                fmt_num(d.camera_heading), fmt_num(d.detection_distance),
                "" if "timestampIssues" in nulls and not d.timestamp_issues else fmt_bool(d.timestamp_issues),
                "" if "baitUse" in nulls and not d.bait_use else fmt_bool(d.bait_use),
                d.feature_type if d.feature_type in FEATURE_TYPES else "", d.habitat or loc.habitat or "",
                d.deployment_groups or "", d.deployment_tags or "", d.deployment_comments or ""])
    rep.deployments = len(rows)
    tick("deployments", rep.deployments)

    # ---- media (streamed) -----------------------------------------------------------------
    program_capture = {p.id: p.capture_method for p in scope.programs}
    is_person = person_media_clause()
    exported_media = and_(Media.deployment_id.in_(dep_ids), Media.captured_at.is_not(None),
                          Media.kind != "audio")
    if public:
        rep.person_media_excluded = session.execute(
            select(func.count()).select_from(Media).where(exported_media, is_person)).scalar_one()
        exported_media = and_(exported_media, ~is_person)
    rep.media_without_time = session.execute(select(func.count()).select_from(Media).where(
        Media.deployment_id.in_(dep_ids), Media.captured_at.is_(None), Media.kind != "audio")).scalar_one()
    # Provenance only exists in imported programs; native ones skip the JSON work per row.
    imported = any(_prov(p.settings) for p in scope.programs)
    media_prov = Media.meta[PROV] if imported else literal(None)
    capture_seen: set[str] = set()
    used_paths: set[str] = set()
    media_dir = out / "media"
    stmt = (select(Media.id, Media.deployment_id, Media.file_name, Media.media_type, Media.sha256,
                   Media.storage_key, Media.captured_at, Media.utc_offset_min, Media.capture_method,
                   Media.favorite, Media.media_comments, is_person.label("person"), media_prov.label("prov"),
                   Media.file_path)
            .where(exported_media).order_by(Media.deployment_id, Media.captured_at, Media.id)
            .execution_options(yield_per=BATCH))
    with CsvTable(out / "media.csv", MEDIA_COLUMNS) as t:
        for (mid, dep_id, name, mtype, sha, key, at, off, cap, fav, comments, person, prov,
             _file_path) in session.connection().execute(stmt):
            prov = prov if isinstance(prov, dict) else {}
            deployment_tz_off = off if off is not None else zone_offset_min(dep_tz[dep_id], at)
            cap = cap or program_capture.get(dep_program[dep_id])
            cap = cap if cap in CAPTURE_METHODS else ""
            if cap:
                capture_seen.add(cap)
            src_path = prov.get("filePath")
            if _is_url(src_path):
                path = src_path
            elif media_mode == "link":
                path = f"{base_url.rstrip('/')}/{mid}"
            else:
                path = _copy_target(prov, dep_export_id[dep_id], sha, name, used_paths)
                if _copy_media(store, key, media_dir.parent / path, strip_metadata=dep_id in sensitive):
                    rep.files_copied += 1
                else:
                    rep.missing_files.append(f"{name} ({key})" + (" (metadata could not be removed)"
                                                                  if dep_id in sensitive else ""))
            file_public = prov.get("filePublic", True) and not person
            nulls = set(prov.get("nulls", ()))
            exif = prov.get("exifData")
            t.write([prov.get("mediaID") or mid, dep_export_id[dep_id], cap, fmt_time(at, deployment_tz_off), path,
                     fmt_bool(bool(file_public)), name, mtype,
                     _exif_text(exif),
                     "" if "favorite" in nulls and not fav else fmt_bool(fav), comments or ""])
            if t.rows % TICK == 0:
                tick("media", t.rows)
    rep.media = t.rows
    tick("media", rep.media)
    if rep.missing_files:
        raise ExportError(f"{len(rep.missing_files)} media file(s) could not be copied from the media store, e.g. "
                          + "; ".join(rep.missing_files[:3]))

    # ---- observations (streamed) ------------------------------------------------------------
    taxa = {tid: (name, rank) for tid, name, rank in
            session.execute(select(Taxon.id, Taxon.scientific_name, Taxon.rank))}
    taxa_seen: set[str] = set()
    levels: set[str] = set()
    individuals = False
    media_ok = or_(Observation.media_id.is_(None), Observation.media_id.in_(select(Media.id).where(exported_media)))
    obs_extra = Observation.extra if imported else literal(None)
    obs_stmt = (select(Observation.id, Observation.deployment_id, Observation.media_id, Observation.sequence_id,
                       Observation.event_start, Observation.event_end, Observation.observation_level,
                       Observation.observation_type, Observation.taxon_id, Observation.count, Observation.life_stage,
                       Observation.sex, Observation.behavior, Observation.individual_id, Observation.bbox_x,
                       Observation.bbox_y, Observation.bbox_width, Observation.bbox_height,
                       Observation.classification_method, Observation.classified_by,
                       Observation.classification_timestamp, Observation.classification_probability,
                       Observation.observation_tags, Observation.observation_comments, obs_extra.label("extra"),
                       media_prov.label("mprov"))
                .outerjoin(Media, Media.id == Observation.media_id)
                .where(Observation.deployment_id.in_(dep_ids), media_ok)
                .order_by(Observation.deployment_id, Observation.event_start, Observation.id)
                .execution_options(yield_per=BATCH))
    with CsvTable(out / "observations.csv", OBSERVATION_COLUMNS) as t:
        for (oid, dep_id, mid, seq_id, ev_start, ev_end, level, otype, taxon_id, count, life_stage, sex, behavior,
             individual, bx, by, bw, bh, method, classified_by, c_time, c_prob, tags, comments, extra,
             mprov) in session.connection().execute(obs_stmt):
            prov = _prov(extra)
            mprov = mprov if isinstance(mprov, dict) else {}
            name = ""
            if taxon_id and taxon_id in taxa:
                taxa_seen.add(taxon_id)
                name = taxa[taxon_id][0]
            levels.add(level)
            individuals = individuals or bool(individual)
            x, y, w, h = _bbox(bx, by, bw, bh)
            nulls = prov.get("nulls", ())
            t.write([
                prov.get("observationID") or oid, dep_export_id[dep_id],
                (mprov.get("mediaID") or mid) if mid else "", prov.get("eventID") or seq_id or "",
                fmt_time(ev_start), fmt_time(ev_end), level, otype, setup if (setup := prov.get("cameraSetupType")) in ("setup", "calibration") else "", name,
                fmt_num(count if count and count > 0 else None), life_stage if life_stage in LIFE_STAGES else "",
                sex if sex in SEXES else "", behavior or "",
                individual or "", fmt_num(prov.get("individualPositionRadius")),
                fmt_num(prov.get("individualPositionAngle")), fmt_num(prov.get("individualSpeed")),
                fmt_num(x), fmt_num(y), fmt_num(w), fmt_num(h),
                "" if "classificationMethod" in nulls else method, classified_by or "", fmt_time(c_time),
                fmt_num(_clip01(c_prob)), tags or "", comments or ""])
            if t.rows % TICK == 0:
                tick("observations", t.rows)
        # Detections nobody has turned into an observation: media-level observations, as reviewed.
        taken = exists().where(Observation.detection_id == Detection.id)
        det_stmt = (select(Detection.id, Detection.model, Detection.category, Detection.confidence,
                           Detection.bbox_x, Detection.bbox_y, Detection.bbox_width, Detection.bbox_height,
                           Detection.taxon_id, Detection.label_confidence, Detection.created_at,
                           Detection.review_status, Detection.extra,
                           Media.id, Media.deployment_id, Media.sequence_id, Media.captured_at,
                           media_prov.label("mprov"))
                    .join(Media, Media.id == Detection.media_id)
                    .where(exported_media, Detection.dismissed.is_(False), Detection.review_status != "rejected",
                           Detection.category.in_(list(DETECTION_TYPES)), ~taken)
                    .order_by(Media.deployment_id, Media.captured_at, Detection.id)
                    .execution_options(yield_per=BATCH))
        people, people_dep = {}, None  # people's labels of the current deployment (rows come by deployment)
        for (did, model, cat, conf, bx, by, bw, bh, taxon_id, label_conf, created, stored, dextra, mid, dep_id,
             seq_id, at, mprov) in session.connection().execute(det_stmt):
            if dep_id != people_dep:
                people, people_dep = human_labels(session, deployment_id=dep_id), dep_id
            rv = review_of({"id": did, "media_id": mid, "model": model, "category": cat, "dismissed": False,
                            "review_status": stored, "taxon_id": taxon_id, "extra": dextra},
                           labels_for(people, seq_id, mid))
            if rv.status == "rejected":
                continue
            mprov = mprov if isinstance(mprov, dict) else {}
            otype, method, by_whom, when = DETECTION_TYPES[cat], "machine", model, created
            name, prob = "", conf
            if rv.status == "verified":
                taxon_id, method, by_whom, when, prob = rv.taxon_id, "human", rv.reviewed_by or "", rv.reviewed_at, None
                otype = rv.observation_type if rv.observation_type in OBSERVATION_TYPES else otype
            if taxon_id and taxon_id in taxa:
                taxa_seen.add(taxon_id)
                name = taxa[taxon_id][0]
                if method == "machine":
                    prob = label_conf if label_conf is not None else conf
            x, y, w, h = _bbox(bx, by, bw, bh)
            levels.add("media")
            stamp = fmt_time(at)
            t.write([did, dep_export_id[dep_id], mprov.get("mediaID") or mid, mprov.get("eventID") or seq_id or "",
                     stamp, stamp, "media", otype, "", name, "", "", "", "", "", "", "", "",
                     fmt_num(x), fmt_num(y), fmt_num(w), fmt_num(h), method, by_whom, fmt_time(when),
                     fmt_num(_clip01(prob)), "", ""])
            rep.machine_observations += 1
            if t.rows % TICK == 0:
                tick("observations", t.rows)
    rep.observations = t.rows
    tick("observations", rep.observations)

    # ---- datapackage.json --------------------------------------------------------------------
    descriptor = _descriptor(session, scope, points, t_start, t_end, [taxa_id for taxa_id in sorted(taxa_seen)],
                             capture_seen, levels, individuals, contributors, data_license, media_license,
                             grid_deg if rep.generalised_deployments else None, public, design)
    (out / "datapackage.json").write_text(json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n",
                                          encoding="utf-8")
    return rep


def _exif_text(exif: Any) -> str:
    """exifData cell: JSON for structured metadata; a string read from a package is written back as it was."""
    if exif is None:
        return ""
    if isinstance(exif, str):
        return exif
    return json.dumps(exif, ensure_ascii=False, separators=(", ", ": "))


def _copy_target(prov: dict, dep_export_id: str, sha: str, name: str, used: set[str]) -> str:
    """Relative path of a copied file: the imported package's own path when safe, else media/<deployment>/..."""
    src = prov.get("filePath")
    if _safe_relative(src) and src not in used:
        used.add(src)
        return src
    clean = re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip(".") or "file"
    # Camera file names repeat (counters restart on a new card), so the hash prefix keeps paths unique.
    return f"media/{_slug(dep_export_id)}/{sha[:12]}-{clean}"


def _copy_media(store: Any, key: str, dest: Path, strip_metadata: bool = False) -> bool:
    """Copy (hard-link when possible) one original into the package; False if the store lacks it.

    ``strip_metadata`` (public exports, stations of sensitive species) writes
    images again without their metadata, so no EXIF GPS position travels with
    them; False when that is impossible (not a readable image).
    """
    if not key:
        return False
    try:
        src = store.path(key)
    except ValueError:
        return False
    if not src.is_file():
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        return True
    if strip_metadata:
        return _write_without_metadata(src, dest)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)
    return True


def _write_without_metadata(src: Path, dest: Path) -> bool:
    from PIL import UnidentifiedImageError

    from classifiers.safe_image import ImageTooLarge, open_image

    try:
        with open_image(src) as img:
            fmt = img.format
            if fmt not in ("JPEG", "PNG", "TIFF", "WEBP"):
                return False
            img.load()
            clean = img.copy()  # pixels only: EXIF, XMP and ICC text are not carried over
        clean.save(dest, format=fmt, **({"quality": 95} if fmt in ("JPEG", "WEBP") else {}))
        return True
    except (UnidentifiedImageError, OSError, ImageTooLarge):
        return False


#: datapackage.json properties every export computes again; any other property of an imported
#: package (bibliographicCitation, homepage, keywords, image, relatedIdentifiers, references...) is
#: written back as it came.
COMPUTED = ("resources", "profile", "name", "id", "created", "title", "contributors", "version", "sources",
            "licenses", "project", "spatial", "temporal", "taxonomic", "description", "coordinatePrecision")


def _metadata_of(scope) -> dict:
    """The Camtrap DP metadata filled in for the export's program (for an area: the one all its programs
    share), or {}."""
    metas = [metadata.stored(p) for p in scope.programs]
    if metas and all(m == metas[0] for m in metas):
        return metas[0]
    return {}


def _descriptor(session: Session, scope, points, t_start, t_end, taxon_ids, capture_seen, levels, individuals,
                contributors, data_license, media_license, precision, public, design) -> dict:
    program = scope.programs[0] if len(scope.programs) == 1 else None
    imported = _prov(program.settings) if program is not None else {}
    pkg = imported.get("package") or {}
    meta = _metadata_of(scope)
    filled = metadata.descriptor_fields(meta)
    resources = [{"name": n, "path": f"{n}.csv", "profile": "tabular-data-resource", "format": "csv",
                  "mediatype": "text/csv", "encoding": "utf-8", "schema": SCHEMA_URL.format(n)}
                 for n in ("deployments", "media", "observations")]
    if not contributors:
        contributors = filled.get("contributors") or pkg.get("contributors") or (
            program.settings.get("contributors") if program else None) or [
            {"title": scope.area.name, "role": "rightsHolder"}, {"title": scope.area.name, "role": "publisher"}]
    project = dict(pkg.get("project") or {})
    project_text = [t for t in (meta.get("description"),
                                f"Bait: {meta['baits']}" if meta.get("baits") else None) if t]
    project.update({
        "id": project.get("id") or (program.id if program else scope.area.id),
        "title": project.get("title") or scope.title,
        "samplingDesign": design,
        "captureMethod": [c for c in CAPTURE_METHODS if c in capture_seen] or project.get("captureMethod")
        or [program.capture_method if program and program.capture_method in CAPTURE_METHODS
            else "activityDetection"],
        "individualAnimals": bool(individuals or project.get("individualAnimals")),
        "observationLevel": [lv for lv in ("media", "event") if lv in levels] or ["event"],
    })
    if project_text:
        project["description"] = "\n\n".join(project_text)
    elif program is not None and program.season and "description" not in project:
        project["description"] = f"Season: {program.season}"
    if points:
        lons, lats = [p[0] for p in points], [p[1] for p in points]
        w, e, s, n = min(lons), max(lons), min(lats), max(lats)
        spatial = ({"type": "Point", "coordinates": [w, s]} if (w, s) == (e, n) else
                   {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]})
    else:
        boundary = scope.area.boundary
        spatial = boundary if isinstance(boundary, dict) and "type" in boundary else {
            "type": "GeometryCollection", "geometries": []}
    today = datetime.now(timezone.utc).date().isoformat()
    taxonomic = []
    used = list(session.execute(select(Taxon).where(Taxon.id.in_(taxon_ids)).order_by(Taxon.scientific_name))
                .scalars()) if taxon_ids else []
    higher = classification(session, used)  # the reference's ancestors: kingdom ... genus
    # An imported package's own entries (taxonID, vernacular names in other languages) are kept.
    pkg_taxa = {t.get("scientificName"): t for t in pkg.get("taxonomic") or [] if isinstance(t, dict)}
    for t in used:
        entry: dict[str, Any] = dict(pkg_taxa.get(t.scientific_name) or {})
        entry["scientificName"] = t.scientific_name
        if t.rank in TAXON_RANKS:
            entry["taxonRank"] = t.rank
        for rank in ("kingdom", "phylum", "class", "order", "family", "genus"):
            if rank in higher[t.id]:
                entry[rank] = higher[t.id][rank]
        names = dict(entry.get("vernacularNames") or {})
        names.update({k: v for k, v in (("vie", t.vietnamese_name), ("eng", t.english_name)) if v})
        if names:
            entry["vernacularNames"] = names
        taxonomic.append(entry)
    name = pkg.get("name") or _slug(f"{scope.area.code}-{program.name if program else 'all-programs'}")
    desc: dict[str, Any] = {
        "resources": resources,
        "profile": PROFILE_URL,
        "name": _slug(name),
        "id": pkg.get("id") or str(uuid.uuid4()),
        "created": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "title": pkg.get("title") or f"{scope.title} — camera traps",
        "contributors": contributors,
        "version": VERSION,
        "sources": [{"title": "Saola", "path": "https://github.com/saola-project/saola", "version": _saola_version()}],
        "licenses": filled.get("licenses") or pkg.get("licenses") or [{"name": data_license, "scope": "data"},
                                                                       {"name": media_license, "scope": "media"}],
        "project": project,
        "spatial": spatial,
        "temporal": {"start": min(t_start) if t_start else today, "end": max(t_end) if t_end else today},
        "taxonomic": taxonomic,
    }
    for key, value in pkg.items():  # what Saola does not map, as the package had it
        if key not in COMPUTED:
            desc[key] = value
    for key in ("bibliographicCitation", "keywords"):  # what the manager filled in wins
        if key in filled:
            desc[key] = filled[key]
    if pkg.get("description"):
        desc["description"] = pkg["description"]
    if precision:
        desc["coordinatePrecision"] = precision
    elif pkg.get("coordinatePrecision"):
        desc["coordinatePrecision"] = pkg["coordinatePrecision"]
    if public:
        desc["description"] = (desc.get("description", "") + "\n\nPublic export: coordinates of deployments that "
                               "recorded sensitive species are generalised; media showing people are left out."
                               ).strip()
    return desc


def _saola_version() -> str:
    try:
        from importlib.metadata import version

        return version("saola")
    except Exception:  # not installed as a distribution (running from a checkout)
        return "dev"


from .camtrap_dp_import import ImportReport, import_camtrap_dp  # noqa: E402,F401  (public API of this module)
