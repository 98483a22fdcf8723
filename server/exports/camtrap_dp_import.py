"""Camtrap DP import: a package's deployments, media and observations into one new program.

Local media files (relative ``filePath``) are hashed and copied into the media
store; remote media (``https://...``) stay links: their Media row has no bytes
(``flags=['remote']``, ``storage_key=''``) and a SHA-256 of the URL stands in
for the content hash. Every row keeps the package's identifiers and the values
Saola has no column for in a provenance dict (``camtrap_dp``) so that
exporting the program again reproduces the package. Importing the same package
(same ``id``/``name``) into the same area again changes nothing.

Files are hashed and stored before the single database transaction starts, so
no write transaction is held during file I/O.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

from sqlmodel import Session, select

from .. import audit
from ..errors import Conflict, NotFound, ValidationError
from ..models import (Deployment, Location, Media, Observation, Program, ProtectedArea, Sequence, Taxon)
from ..services.taxa import refresh_search_text
from ..storage import sha256_file
from .common import parse_time

PROV = "camtrap_dp"
_TABLES = ("deployments", "media", "observations")
_MEDIA_KINDS = {"image": "image", "video": "video", "audio": "audio"}


@dataclass
class ImportReport:
    """What an import created."""

    program_id: str
    already_imported: bool = False
    deployments: int = 0
    media: int = 0
    media_stored: int = 0
    media_linked: int = 0
    observations: int = 0
    taxa_created: int = 0
    locations_created: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class PackageError(ValidationError):
    """The package is not a readable Camtrap DP package (the message names the file and field)."""


# ---- reading ------------------------------------------------------------------------------
def read_descriptor(pkg_dir: Path) -> dict:
    """The package's datapackage.json, checked for the three Camtrap DP tables."""
    path = pkg_dir / "datapackage.json"
    if not path.is_file():
        raise PackageError(f"{pkg_dir}: no datapackage.json (is this a Camtrap DP package folder?)")
    try:
        desc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PackageError(f"{path}: not valid UTF-8 JSON ({e})") from None
    if not isinstance(desc, dict) or not isinstance(desc.get("resources"), list):
        raise PackageError(f"{path}: 'resources' must be a list")
    names = {r.get("name"): r for r in desc["resources"] if isinstance(r, dict)}
    for t in _TABLES:
        r = names.get(t)
        if r is None or not isinstance(r.get("path"), str):
            raise PackageError(f"{path}: resource {t!r} with a 'path' is missing")
        if not (pkg_dir / r["path"]).is_file():
            raise PackageError(f"{path}: resource {t!r} points to {r['path']!r}, which does not exist")
    return desc


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        for n, row in enumerate(csv.DictReader(fh), start=2):
            yield n, {k: (v or "").strip() for k, v in row.items() if k}


class _Cells:
    """Typed access to one CSV row, with errors naming file, line and field."""

    MISSING = ("", "NA", "NaN", "nan")

    def __init__(self, file: str, line: int, row: dict[str, str]):
        self.file, self.line, self.row = file, line, row

    def where(self, name: str) -> str:
        return f"{self.file} line {self.line}, field {name}"

    def str(self, name: str, required: bool = False) -> str | None:
        v = self.row.get(name, "")
        if v in self.MISSING:
            if required:
                raise PackageError(f"{self.where(name)}: a value is required")
            return None
        return v

    def num(self, name: str, cast=float) -> Any:
        v = self.str(name)
        if v is None:
            return None
        try:
            return cast(float(v)) if cast is int else cast(v)
        except ValueError:
            raise PackageError(f"{self.where(name)}: {v!r} is not a number") from None

    def bool(self, name: str) -> bool | None:
        v = self.str(name)
        if v is None:
            return None
        if v.lower() in ("true", "1"):
            return True
        if v.lower() in ("false", "0"):
            return False
        raise PackageError(f"{self.where(name)}: {v!r} is not true/false")

    def time(self, name: str, required: bool = True) -> tuple[datetime, int] | tuple[None, None]:
        v = self.str(name, required)
        if v is None:
            return None, None
        return parse_time(v, self.where(name))


# ---- importing -----------------------------------------------------------------------------
def import_camtrap_dp(session: Session, pkg_dir: str | os.PathLike, *, area_id: str, store: Any,
                      program_name: str | None = None) -> ImportReport:
    """Import the Camtrap DP package in ``pkg_dir`` as a new program of ``area_id`` (id or code).

    Commits nothing itself: the caller's session scope commits (all or nothing).
    """
    pkg = Path(pkg_dir)
    desc = read_descriptor(pkg)
    key = str(desc.get("id") or desc.get("name") or pkg.resolve())
    res = {r["name"]: r for r in desc["resources"] if isinstance(r, dict) and "name" in r}
    deployments = _read_deployments(pkg / res["deployments"]["path"])
    media = _read_media(pkg, res["media"]["path"], deployments)
    observations = _read_observations(pkg / res["observations"]["path"], deployments, media)

    # Files first, before the first query opens a (SQLite: write) transaction: hash and store the local ones.
    # Storing is content-addressed, so doing it again for a package imported before is harmless.
    for m in media.values():
        if m["local"] is not None:
            m["sha256"] = sha256_file(m["local"])
            m["size"] = m["local"].stat().st_size
            ext = Path(m["fileName"] or m["local"].name).suffix
            m["storage_key"] = store.key_for(m["sha256"], ext)
            store.put_file(m["local"], m["storage_key"])
        else:
            m["sha256"] = hashlib.sha256(f"camtrap-dp-link:{m['filePath']}".encode()).hexdigest()
            m["size"], m["storage_key"] = 0, ""

    area = session.get(ProtectedArea, area_id) or session.exec(
        select(ProtectedArea).where(ProtectedArea.code == area_id)).first()
    if area is None:
        raise NotFound(f"no protected area {area_id!r}")
    for p in session.exec(select(Program).where(Program.area_id == area.id)):
        if (p.settings or {}).get(PROV, {}).get("key") == key:
            return ImportReport(p.id, already_imported=True)
    clash = session.exec(select(Media.sha256, Media.file_name).where(
        Media.sha256.in_([m["sha256"] for m in media.values()])).limit(1)).first()
    if clash is not None:
        raise Conflict(f"media file {clash[1]!r} of this package is already stored in Saola "
                       "(same content or link); it cannot belong to two deployments")

    name = (program_name or desc.get("title") or desc.get("name") or pkg.name)[:200]
    if session.exec(select(Program).where(Program.area_id == area.id, Program.name == name)).first():
        raise Conflict(f"program {name!r} already exists in {area.code}: choose another program name")
    project = desc.get("project") or {}
    captures = project.get("captureMethod") or []
    # Every property of datapackage.json is kept (bibliographicCitation, homepage, keywords, image,
    # relatedIdentifiers, references, the taxonomic block with taxonID and vernacular names in every
    # language...): an export of this program writes back what it does not compute again. Only the
    # resources and the generated profile/created stamps are left, as the export rewrites them.
    package_meta = {k: v for k, v in desc.items() if k not in ("resources", "profile", "created")}
    program = Program(area_id=area.id, name=name, protocol="camera-trap",
                      capture_method=captures[0] if len(captures) == 1 else "activityDetection",
                      settings={PROV: {"key": key, "package": package_meta, "source": str(pkg.resolve())},
                                "sampling_design": project.get("samplingDesign")})
    session.add(program)
    session.flush()
    audit.record(session, "create", "program", program.id, area_id=area.id, after=audit.snapshot(program))
    rep = ImportReport(program.id)

    # Taxa: reuse by scientific name, create the missing ones from the package's taxonomic block.
    taxonomic = {t.get("scientificName"): t for t in desc.get("taxonomic") or [] if isinstance(t, dict)}
    taxon_ids: dict[str, str] = {}
    for sci in sorted({o["scientificName"] for o in observations if o["scientificName"]}):
        t = session.exec(select(Taxon).where(Taxon.scientific_name == sci)).first()
        if t is None:
            info = taxonomic.get(sci, {})
            names = info.get("vernacularNames") or {}
            rank = info.get("taxonRank") or ("species" if len(sci.split()) == 2 else "genus")
            t = Taxon(scientific_name=sci, rank=rank, english_name=names.get("eng"),
                      vietnamese_name=names.get("vie"), notes=f"from Camtrap DP package {key}")
            refresh_search_text(t)
            session.add(t)
            session.flush()
            audit.record(session, "create", "taxon", t.id, area_id=None, after=audit.snapshot(t))
            rep.taxa_created += 1
        taxon_ids[sci] = t.id

    # Locations and deployments.
    dep_ids: dict[str, str] = {}
    for d in deployments.values():
        loc_name = d["locationName"] or d["locationID"] or d["deploymentID"]
        loc = session.exec(select(Location).where(Location.area_id == area.id, Location.name == loc_name)).first()
        if loc is None:
            loc = Location(area_id=area.id, name=loc_name[:200], latitude=d["latitude"], longitude=d["longitude"],
                           coordinate_uncertainty=d["coordinateUncertainty"], habitat=None)
            session.add(loc)
            session.flush()
            rep.locations_created += 1
        dep = Deployment(program_id=program.id, location_id=loc.id, kind="camera",
                         timezone=_fixed_zone(d["prov"]["startOffset"]),
                         **d["fields"], settings={PROV: d["prov"]})
        session.add(dep)
        session.flush()
        dep_ids[d["deploymentID"]] = dep.id
    rep.deployments = len(dep_ids)

    # Sequences (Camtrap DP events), spanning their observations and media.
    spans: dict[tuple[str, str], list] = {}
    for o in observations:
        if o["eventID"]:
            k = (o["deploymentID"], o["eventID"])
            s = spans.setdefault(k, [o["start"], o["end"], set()])
            s[0], s[1] = min(s[0], o["start"]), max(s[1], o["end"])
            if o["mediaID"]:
                s[2].add(o["mediaID"])
    seq_ids: dict[tuple[str, str], str] = {}
    media_event: dict[str, str] = {}
    for (dep_key, event_id), (start, end, mids) in spans.items():
        seq = Sequence(deployment_id=dep_ids[dep_key], event_start=start, event_end=end, media_count=len(mids),
                       review_status="reviewed")
        session.add(seq)
        seq_ids[(dep_key, event_id)] = seq.id
        for mid in mids:
            media_event[mid] = event_id
    session.flush()

    # Media.
    media_ids: dict[str, str] = {}
    for m in media.values():
        event = media_event.get(m["mediaID"])
        prov = dict(m["prov"])
        if event:
            prov["eventID"] = event
        kind = _MEDIA_KINDS.get(m["fileMediatype"].split("/", 1)[0], "image")
        row = Media(sha256=m["sha256"], kind=kind, deployment_id=dep_ids[m["deploymentID"]],
                    sequence_id=seq_ids.get((m["deploymentID"], event)) if event else None,
                    file_name=(m["fileName"] or Path(m["filePath"]).name)[:255], file_path=m["filePath"],
                    media_type=m["fileMediatype"], size_bytes=m["size"], storage_key=m["storage_key"],
                    captured_at_raw=m["raw"], captured_at=m["timestamp"], utc_offset_min=m["offset"],
                    timestamp_source="camtrap-dp", capture_method=m["captureMethod"],
                    flags=[] if m["local"] is not None else ["remote"], meta={PROV: prov},
                    favorite=bool(m["favorite"]), media_comments=m["mediaComments"])
        session.add(row)
        media_ids[m["mediaID"]] = row.id
        if m["local"] is not None:
            rep.media_stored += 1
        else:
            rep.media_linked += 1
    session.flush()
    rep.media = len(media_ids)

    # Observations.
    for o in observations:
        row = Observation(deployment_id=dep_ids[o["deploymentID"]],
                          media_id=media_ids.get(o["mediaID"]) if o["mediaID"] else None,
                          sequence_id=seq_ids.get((o["deploymentID"], o["eventID"])) if o["eventID"] else None,
                          taxon_id=taxon_ids.get(o["scientificName"]) if o["scientificName"] else None,
                          extra={PROV: o["prov"]}, **o["fields"])
        session.add(row)
        rep.observations += 1
        if rep.observations % 5000 == 0:
            session.flush()
    session.flush()
    audit.record(session, "create", "camtrap_dp_import", program.id, area_id=area.id,
                 after={"package": key, **rep.as_dict()})
    return rep


def _fixed_zone(offset_min: int) -> str:
    """An IANA fixed-offset zone for a whole-hour offset (Etc/GMT signs are inverted), else UTC."""
    if offset_min == 0 or offset_min % 60 or abs(offset_min) > 12 * 60:
        return "UTC"
    return f"Etc/GMT{-offset_min // 60:+d}"


def _read_deployments(path: Path) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for n, row in _rows(path):
        c = _Cells(path.name, n, row)
        did = c.str("deploymentID", True)
        if did in out:
            raise PackageError(f"{c.where('deploymentID')}: {did!r} appears twice")
        lat, lon = c.num("latitude"), c.num("longitude")
        if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise PackageError(f"{c.where('latitude')}: latitude/longitude missing or out of range")
        start, s_off = c.time("deploymentStart")
        end, e_off = c.time("deploymentEnd")
        if end < start:
            raise PackageError(f"{c.where('deploymentEnd')}: before deploymentStart")
        nulls = [f for f in ("timestampIssues", "baitUse") if c.bool(f) is None]
        fields = {
            "deployment_start": start, "deployment_end": end, "setup_by": c.str("setupBy"),
            "camera_id": c.str("cameraID"), "camera_model": c.str("cameraModel"),
            "camera_delay": c.num("cameraDelay", int), "camera_height": c.num("cameraHeight"),
            "camera_depth": c.num("cameraDepth"), "camera_tilt": c.num("cameraTilt", int),
            "camera_heading": c.num("cameraHeading", int), "detection_distance": c.num("detectionDistance"),
            "timestamp_issues": bool(c.bool("timestampIssues")), "bait_use": bool(c.bool("baitUse")),
            "feature_type": c.str("featureType"), "habitat": c.str("habitat"),
            "deployment_groups": c.str("deploymentGroups"), "deployment_tags": c.str("deploymentTags"),
            "deployment_comments": c.str("deploymentComments"),
        }
        out[did] = {"deploymentID": did, "locationID": c.str("locationID"), "locationName": c.str("locationName"),
                    "latitude": lat, "longitude": lon, "coordinateUncertainty": c.num("coordinateUncertainty", int),
                    "fields": fields,
                    "prov": {"deploymentID": did, "locationID": c.str("locationID"), "startOffset": s_off,
                             "endOffset": e_off, "nulls": nulls}}
    return out


def _read_media(pkg: Path, rel: str, deployments: dict) -> dict[str, dict]:
    path = pkg / rel
    out: dict[str, dict] = {}
    root = pkg.resolve()
    for n, row in _rows(path):
        c = _Cells(path.name, n, row)
        mid = c.str("mediaID", True)
        if mid in out:
            raise PackageError(f"{c.where('mediaID')}: {mid!r} appears twice")
        dep = c.str("deploymentID", True)
        if dep not in deployments:
            raise PackageError(f"{c.where('deploymentID')}: unknown deployment {dep!r}")
        ts, off = c.time("timestamp")
        fpath = c.str("filePath", True)
        local = None
        if "://" not in fpath:
            local = (pkg / fpath).resolve()
            if root not in local.parents or not local.is_file():
                raise PackageError(f"{c.where('filePath')}: local file {fpath!r} is missing from the package")
        mtype = c.str("fileMediatype", True)
        if "/" not in mtype:
            raise PackageError(f"{c.where('fileMediatype')}: {mtype!r} is not a media type like image/jpeg")
        exif_raw = c.str("exifData")
        exif = None
        if exif_raw is not None:
            try:
                exif = json.loads(exif_raw)
            except json.JSONDecodeError:
                exif = exif_raw
        public = c.bool("filePublic")
        cap = c.str("captureMethod")
        out[mid] = {
            "mediaID": mid, "deploymentID": dep, "timestamp": ts, "offset": off,
            "raw": (ts + timedelta(minutes=off)).replace(tzinfo=None), "filePath": fpath, "local": local,
            "fileName": c.str("fileName"), "fileMediatype": mtype, "captureMethod": cap,
            "favorite": c.bool("favorite"), "mediaComments": c.str("mediaComments"),
            "prov": {"mediaID": mid, "filePath": fpath, "filePublic": True if public is None else public,
                     "exifData": exif, "nulls": ["favorite"] if c.bool("favorite") is None else []},
        }
    return out


def _read_observations(path: Path, deployments: dict, media: dict) -> list[dict]:
    out: list[dict] = []
    seen: set[str] = set()
    for n, row in _rows(path):
        c = _Cells(path.name, n, row)
        oid = c.str("observationID", True)
        if oid in seen:
            raise PackageError(f"{c.where('observationID')}: {oid!r} appears twice")
        seen.add(oid)
        dep = c.str("deploymentID", True)
        if dep not in deployments:
            raise PackageError(f"{c.where('deploymentID')}: unknown deployment {dep!r}")
        mid = c.str("mediaID")
        if mid is not None and mid not in media:
            raise PackageError(f"{c.where('mediaID')}: unknown media {mid!r}")
        start, _ = c.time("eventStart")
        end, _ = c.time("eventEnd")
        level = c.str("observationLevel", True)
        if level not in ("media", "event"):
            raise PackageError(f"{c.where('observationLevel')}: {level!r} is not media or event")
        otype = c.str("observationType", True)
        method = c.str("classificationMethod")
        ts, _ = c.time("classificationTimestamp", required=False)
        event = c.str("eventID")
        prov = {"observationID": oid, "eventID": event, "cameraSetupType": c.str("cameraSetupType") or "",
                "individualPositionRadius": c.num("individualPositionRadius"),
                "individualPositionAngle": c.num("individualPositionAngle"),
                "individualSpeed": c.num("individualSpeed"),
                "nulls": ["classificationMethod"] if method is None else []}
        out.append({
            "deploymentID": dep, "mediaID": mid, "eventID": event, "start": start, "end": end,
            "scientificName": c.str("scientificName"), "prov": {k: v for k, v in prov.items() if v is not None},
            "fields": {
                "event_start": start, "event_end": end, "observation_level": level, "observation_type": otype,
                "count": c.num("count", int), "life_stage": c.str("lifeStage"), "sex": c.str("sex"),
                "behavior": c.str("behavior"), "individual_id": c.str("individualID"),
                "bbox_x": c.num("bboxX"), "bbox_y": c.num("bboxY"), "bbox_width": c.num("bboxWidth"),
                "bbox_height": c.num("bboxHeight"), "classification_method": method or "human",
                "classified_by": c.str("classifiedBy"), "classification_timestamp": ts,
                "classification_probability": c.num("classificationProbability"),
                "observation_tags": c.str("observationTags"), "observation_comments": c.str("observationComments"),
            },
        })
    return out
