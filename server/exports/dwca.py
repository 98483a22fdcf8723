"""Darwin Core Archive of sampling events (GBIF "sampling-event" dataset).

Event core (``event.txt``) with an Occurrence extension (``occurrence.txt``)
and an extended MeasurementOrFact extension (``measurementorfact.txt``) for
the distances and bearings of line-transect sightings; ``meta.xml`` describes
the files and ``eml.xml`` the dataset. It covers:

* camera traps: one parent event per deployment (effort in trap-nights) and one
  child event per camera event (sequence), with its occurrences (species,
  largest count seen);
* line transects: one parent event per transect, one child event per walk
  (effort in km), occurrences from field observations (signs noted in
  ``occurrenceRemarks``) with distance, bearing and perpendicular distance as
  measurements;
* acoustic recorders: one parent event per deployment, one child event per
  recording, occurrences from verified observations and from machine
  detections with a taxon (``MachineObservation``).

Public archives generalise (or withhold) the coordinates of sensitive taxa
and of the events that recorded them, filling ``dataGeneralizations``,
``informationWithheld`` and ``coordinateUncertaintyInMeters``.
"""
from __future__ import annotations

import os
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy import select
from sqlmodel import Session

from ..models import (Deployment, Detection, FieldObservation, Location, Media, Observation, SurveyWalk, Taxon,
                      Transect, utcnow)
from ..timeutil import as_utc
from .common import fmt_num, fmt_time, resolve_scope, spreadsheet_safe, zone_offset_min
from ..auth.policy import sensitive_location_ids
from .sensitive import (GENERALISE, WITHHELD_NOTE, SensitivePolicy, generalisation_note, generalise, is_sensitive,
                        person_media_clause)

DWC = "http://rs.tdwg.org/dwc/terms/"
DC = "http://purl.org/dc/terms/"
EVENT_FIELDS = ["eventID", "parentEventID", "eventType", "samplingProtocol", "sampleSizeValue", "sampleSizeUnit",
                "samplingEffort", "eventDate", "eventRemarks", "locationID", "locality", "decimalLatitude",
                "decimalLongitude", "geodeticDatum", "coordinateUncertaintyInMeters", "countryCode",
                "dataGeneralizations", "informationWithheld"]
OCCURRENCE_FIELDS = ["eventID", "occurrenceID", "basisOfRecord", "scientificName", "taxonRank", "vernacularName",
                     "kingdom", "individualCount", "occurrenceStatus", "eventDate", "recordedBy", "identifiedBy",
                     "identificationRemarks", "occurrenceRemarks", "decimalLatitude", "decimalLongitude",
                     "coordinateUncertaintyInMeters", "dataGeneralizations", "informationWithheld"]
MOF_FIELDS = ["eventID", "occurrenceID", "measurementID", "measurementType", "measurementValue",
              "measurementUnit", "measurementMethod"]
EMOF_ROWTYPE = "http://rs.iobis.org/obis/terms/ExtendedMeasurementOrFact"


@dataclass
class DwcaReport:
    out_path: str
    events: int = 0
    occurrences: int = 0
    measurements: int = 0
    generalised: int = 0
    withheld: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class _Writer:
    """A tab-separated DwC text file (tabs and line breaks inside values become spaces)."""

    def __init__(self, path: Path, fields: list[str]):
        self.fh = open(path, "w", encoding="utf-8", newline="")
        self.fields = fields
        self.rows = 0
        self.fh.write("\t".join(fields) + "\n")

    def write(self, row: dict[str, Any]) -> None:
        cells = []
        for f in self.fields:
            v = row.get(f)
            v = "" if v is None else (fmt_num(v) if isinstance(v, (int, float)) else str(v))
            cells.append(spreadsheet_safe(v.replace("\t", " ").replace("\r", " ").replace("\n", " ")))
        self.fh.write("\t".join(cells) + "\n")
        self.rows += 1

    def close(self) -> None:
        self.fh.close()


def _place(lat, lon, unc, sensitive: bool, public: bool, policy: SensitivePolicy) -> dict[str, Any]:
    """Coordinate terms of a record, generalised or withheld when it must be protected."""
    if lat is None or lon is None:
        return {}
    if public and sensitive:
        if policy.mode == GENERALISE:
            glat, glon, gunc = generalise(lat, lon, policy.grid_deg)
            return {"decimalLatitude": glat, "decimalLongitude": glon, "geodeticDatum": "EPSG:4326",
                    "coordinateUncertaintyInMeters": max(gunc, unc or 0),
                    "dataGeneralizations": generalisation_note(policy.grid_deg)}
        return {"informationWithheld": WITHHELD_NOTE}
    return {"decimalLatitude": round(lat, 6), "decimalLongitude": round(lon, 6), "geodeticDatum": "EPSG:4326",
            "coordinateUncertaintyInMeters": unc}


def export_dwca(session: Session, out: str | os.PathLike, *, program_id: str | None = None,
                area_id: str | None = None, public: bool = False, policy: SensitivePolicy | None = None,
                country_code: str = "VN", min_machine_confidence: float = 0.0, network: bool = False) -> DwcaReport:
    """Write a Darwin Core Archive (a .zip, or a folder when ``out`` has no .zip suffix) of a program, a
    protected area or (``network``, a hub) every area."""
    policy = policy or SensitivePolicy()
    scope = resolve_scope(session, program_id, area_id, network=network)
    out = Path(out)
    folder = out.with_suffix("") if out.suffix == ".zip" else out
    folder.mkdir(parents=True, exist_ok=True)
    rep = DwcaReport(str(out))
    taxa = {t.id: t for t in session.execute(select(Taxon)).scalars()}
    ev = _Writer(folder / "event.txt", EVENT_FIELDS)
    oc = _Writer(folder / "occurrence.txt", OCCURRENCE_FIELDS)
    mf = _Writer(folder / "measurementorfact.txt", MOF_FIELDS)
    try:
        _devices(session, scope, taxa, ev, oc, public, policy, country_code, min_machine_confidence, rep)
        _transects(session, scope, taxa, ev, oc, mf, public, policy, country_code, rep)
    finally:
        ev.close(), oc.close(), mf.close()
    rep.events, rep.occurrences, rep.measurements = ev.rows, oc.rows, mf.rows
    (folder / "meta.xml").write_text(_meta_xml(), encoding="utf-8")
    (folder / "eml.xml").write_text(_eml_xml(scope, public), encoding="utf-8")
    if out.suffix == ".zip":
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for name in ("meta.xml", "eml.xml", "event.txt", "occurrence.txt", "measurementorfact.txt"):
                z.write(folder / name, name)
    return rep


def _taxon_terms(t: Taxon | None) -> dict[str, Any]:
    if t is None:
        return {}
    return {"scientificName": t.scientific_name, "taxonRank": t.rank, "vernacularName": t.english_name,
            "kingdom": "Animalia"}


def _devices(session, scope, taxa, ev, oc, public, policy, cc, min_conf, rep) -> None:
    """Camera-trap and acoustic deployments: parent events, child events, occurrences."""
    rows = session.execute(select(Deployment, Location).join(Location, Location.id == Deployment.location_id)
                           .where(Deployment.program_id.in_(scope.program_ids))
                           .order_by(Deployment.deployment_start, Deployment.id)).all()
    person = person_media_clause()
    # A station where a sensitive taxon was ever recorded is generalised in every event of a public
    # archive: an exact muntjac record at the saola's station would give the station away.
    sensitive_stations = sensitive_location_ids(session, sorted({loc.id for _, loc in rows})) if public else set()
    for dep, loc in rows:
        obs = list(session.execute(
            select(Observation).where(Observation.deployment_id == dep.id, Observation.taxon_id.is_not(None),
                                      Observation.observation_type == "animal")
            .order_by(Observation.event_start, Observation.id)).scalars())
        dets = []
        if dep.kind == "acoustic":
            dets = list(session.execute(
                select(Detection, Media).join(Media, Media.id == Detection.media_id)
                .where(Media.deployment_id == dep.id, Detection.taxon_id.is_not(None),
                       Detection.dismissed.is_(False), Detection.review_status != "rejected",
                       Detection.confidence >= min_conf,
                       ~Detection.id.in_(select(Observation.detection_id).where(
                           Observation.detection_id.is_not(None))))
                .order_by(Media.captured_at, Detection.id)).all())
        sens = any(is_sensitive(taxa[o.taxon_id]) for o in obs if o.taxon_id in taxa) or any(
            is_sensitive(taxa[d.taxon_id]) for d, _ in dets if d.taxon_id in taxa) or loc.id in sensitive_stations
        place = _place(loc.latitude, loc.longitude, loc.coordinate_uncertainty, sens, public, policy)
        rep.generalised += bool(public and sens and policy.mode == GENERALISE)
        rep.withheld += bool(public and sens and policy.mode != GENERALISE)
        start, end = as_utc(dep.deployment_start), as_utc(dep.deployment_end)
        off = zone_offset_min(dep.timezone, start)
        protocol = "camera trap" if dep.kind == "camera" else "passive acoustic monitoring"
        days = (end - start).total_seconds() / 86400 if end else None
        ev.write({"eventID": dep.id, "eventType": "Survey", "samplingProtocol": protocol,
                  "sampleSizeValue": round(days, 3) if days else None,
                  "sampleSizeUnit": "trap-nights" if dep.kind == "camera" and days else (
                      "days" if days else None),
                  "samplingEffort": f"1 {'camera' if dep.kind == 'camera' else 'recorder'} x "
                                    f"{round(days, 2) if days else '?'} days",
                  "eventDate": f"{fmt_time(start, off)}/{fmt_time(end, zone_offset_min(dep.timezone, end))}"
                  if end else fmt_time(start, off),
                  "locationID": loc.id, "locality": loc.name, "countryCode": cc, **place})
        # Child events: camera events (sequences) or recordings; one occurrence per taxon, largest count.
        groups: dict[str, dict] = {}
        for o in obs:
            key = o.sequence_id or o.media_id or o.id
            g = groups.setdefault(key, {"start": as_utc(o.event_start), "end": as_utc(o.event_end), "taxa": {}})
            g["start"], g["end"] = min(g["start"], as_utc(o.event_start)), max(g["end"], as_utc(o.event_end))
            cur = g["taxa"].get(o.taxon_id)
            if cur is None or (o.count or 1) > (cur.count or 1) or (o.observation_level == "event" and
                                                                    cur.observation_level != "event"):
                g["taxa"][o.taxon_id] = o
        if public and obs:
            hidden = set(session.execute(select(Media.id).where(
                Media.id.in_([o.media_id for o in obs if o.media_id]), person)).scalars())
        else:
            hidden = set()
        for key, g in groups.items():
            child = f"{dep.id}:{key}"
            ev.write({"eventID": child, "parentEventID": dep.id, "eventType": "Event", "samplingProtocol": protocol,
                      "eventDate": f"{fmt_time(g['start'], off)}/{fmt_time(g['end'], off)}", "locationID": loc.id,
                      "locality": loc.name, "countryCode": cc, **place})
            for tid, o in g["taxa"].items():
                t = taxa.get(tid)
                oc.write({"eventID": child, "occurrenceID": o.id,
                          "basisOfRecord": "MachineObservation" if o.classification_method == "machine"
                          else "HumanObservation", **_taxon_terms(t), "individualCount": o.count,
                          "occurrenceStatus": "present", "eventDate": fmt_time(o.event_start, off),
                          "identifiedBy": o.classified_by,
                          "identificationRemarks": f"{o.classification_method} classification"
                          + (f", probability {o.classification_probability:g}"
                             if o.classification_probability is not None else ""),
                          "occurrenceRemarks": "media withheld (people in view)" if o.media_id in hidden else None,
                          **_place(loc.latitude, loc.longitude, loc.coordinate_uncertainty,
                                   is_sensitive(t) or sens, public, policy)})
        seen_media: set[str] = set()
        for d, m in dets:
            child = f"{dep.id}:{m.id}"
            at = as_utc(m.captured_at)
            if m.id not in seen_media:
                seen_media.add(m.id)
                ev.write({"eventID": child, "parentEventID": dep.id, "eventType": "Event",
                          "samplingProtocol": protocol, "eventDate": fmt_time(at, off) if at else None,
                          "eventRemarks": f"recording {m.file_name}", "locationID": loc.id, "locality": loc.name,
                          "countryCode": cc, **place})
            t = taxa.get(d.taxon_id)
            oc.write({"eventID": child, "occurrenceID": d.id, "basisOfRecord": "MachineObservation",
                      **_taxon_terms(t), "occurrenceStatus": "present",
                      "eventDate": fmt_time(at, off) if at else None, "identifiedBy": d.model,
                      "identificationRemarks": f"machine detection, confidence {d.label_confidence or d.confidence:g}"
                      + (f", {d.start_s:g}-{d.end_s:g} s" if d.start_s is not None and d.end_s is not None else ""),
                      **_place(loc.latitude, loc.longitude, loc.coordinate_uncertainty, True if sens else False,
                               public, policy)})


def _transects(session, scope, taxa, ev, oc, mf, public, policy, cc, rep) -> None:
    """Line transects: transect events, walk events (effort km), sightings and their distances."""
    walks = session.execute(select(SurveyWalk).where(SurveyWalk.program_id.in_(scope.program_ids),
                                                     SurveyWalk.deleted.is_(False))
                            .order_by(SurveyWalk.started_at, SurveyWalk.id)).scalars().all()
    transects = {t.id: t for t in session.execute(select(Transect).where(
        Transect.id.in_({w.transect_id for w in walks if w.transect_id}))).scalars()}
    for tr in transects.values():
        ev.write({"eventID": tr.id, "eventType": "Survey", "samplingProtocol": "line transect",
                  "sampleSizeValue": round(tr.length_m / 1000, 3) if tr.length_m else None,
                  "sampleSizeUnit": "km" if tr.length_m else None, "locality": tr.name, "countryCode": cc})
    walk_ids = [w.id for w in walks]
    obs_by_walk: dict[str, list[FieldObservation]] = defaultdict(list)
    if walk_ids:
        for fo in session.execute(select(FieldObservation).where(
                FieldObservation.walk_id.in_(walk_ids), FieldObservation.deleted.is_(False),
                FieldObservation.record_type == "observation", FieldObservation.taxon_id.is_not(None))
                .order_by(FieldObservation.observed_at, FieldObservation.id)).scalars():
            obs_by_walk[fo.walk_id].append(fo)
    for w in walks:
        km = (w.distance_m or (transects[w.transect_id].length_m if w.transect_id in transects else None) or 0) / 1000
        start, end = as_utc(w.started_at), as_utc(w.ended_at)
        tz_off = 0  # walks have no time zone of their own: UTC
        ev.write({"eventID": w.id, "parentEventID": w.transect_id, "eventType": "Event",
                  "samplingProtocol": "line transect", "sampleSizeValue": round(km, 3) if km else None,
                  "sampleSizeUnit": "km" if km else None,
                  "samplingEffort": f"{len(w.observers) or 1} observer(s) x {round(km, 3)} km",
                  "eventDate": f"{fmt_time(start, tz_off)}/{fmt_time(end, tz_off)}" if end else fmt_time(start, tz_off),
                  "eventRemarks": f"weather: {w.weather}" if w.weather else None,
                  "locality": transects[w.transect_id].name if w.transect_id in transects else None,
                  "countryCode": cc})
        for fo in obs_by_walk.get(w.id, []):
            t = taxa.get(fo.taxon_id)
            sens = is_sensitive(t)
            rep.generalised += bool(public and sens and policy.mode == GENERALISE and fo.latitude is not None)
            rep.withheld += bool(public and sens and policy.mode != GENERALISE and fo.latitude is not None)
            oc.write({"eventID": w.id, "occurrenceID": fo.id, "basisOfRecord": "HumanObservation", **_taxon_terms(t),
                      "individualCount": fo.count, "occurrenceStatus": "present",
                      "eventDate": fmt_time(fo.observed_at, tz_off), "recordedBy": " | ".join(map(str, w.observers)),
                      "occurrenceRemarks": "; ".join(x for x in (f"sign: {fo.sign_type}" if fo.sign_type else "",
                                                                  fo.note or "") if x) or None,
                      **_place(fo.latitude, fo.longitude, None, sens, public, policy)})
            for n, (kind, value, unit) in enumerate((
                    ("distance from observer", fo.distance_m, "m"), ("bearing", fo.bearing_deg, "degrees"),
                    ("perpendicular distance", fo.perpendicular_distance_m, "m"))):
                if value is None:
                    continue
                mf.write({"eventID": w.id, "occurrenceID": fo.id, "measurementID": f"{fo.id}:{n}",
                          "measurementType": kind, "measurementValue": value, "measurementUnit": unit,
                          "measurementMethod": "line-transect distance sampling"})


def _field_xml(index: int, name: str, ns: str = DWC) -> str:
    return f'    <field index="{index}" term="{ns}{name}"/>'


def _file_xml(tag: str, row_type: str, location: str, fields: list[str], id_tag: str) -> str:
    lines = [f'  <{tag} encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" fieldsEnclosedBy="" '
             f'ignoreHeaderLines="1" rowType="{row_type}">', f"    <files><location>{location}</location></files>",
             f'    <{id_tag} index="0"/>']
    for i, f in enumerate(fields):
        lines.append(_field_xml(i, f))
    lines.append(f"  </{tag}>")
    return "\n".join(lines)


def _meta_xml() -> str:
    return "\n".join([
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<archive xmlns="http://rs.tdwg.org/dwc/text/" metadata="eml.xml">',
        _file_xml("core", DWC + "Event", "event.txt", EVENT_FIELDS, "id"),
        _file_xml("extension", DWC + "Occurrence", "occurrence.txt", OCCURRENCE_FIELDS, "coreid"),
        _file_xml("extension", EMOF_ROWTYPE, "measurementorfact.txt", MOF_FIELDS, "coreid"),
        "</archive>", ""])


def _eml_xml(scope, public: bool) -> str:
    title = escape(f"{scope.title}: biodiversity monitoring (camera traps, transects, acoustic)")
    today = utcnow().date().isoformat()
    note = (" Coordinates of sensitive species are generalised or withheld; media showing people are left out."
            if public else "")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<eml:eml xmlns:eml="eml://ecoinformatics.org/eml-2.1.1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  packageId="saola-{escape(scope.area.code)}-{today}" system="saola" xml:lang="en">
  <dataset>
    <title>{title}</title>
    <creator><organizationName>{escape(scope.area.name)}</organizationName></creator>
    <pubDate>{today}</pubDate>
    <language>en</language>
    <abstract><para>Sampling events and occurrences recorded with Saola in {escape(scope.area.name)}.{note}</para></abstract>
    <contact><organizationName>{escape(scope.area.name)}</organizationName></contact>
  </dataset>
</eml:eml>
"""
