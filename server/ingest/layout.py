"""Directory-labelled import (``--layout station/species``).

A common way teams keep sorted camera-trap photos::

    PATH/<station>/<species>/.../IMG_0001.JPG
    PATH/<station>/IMG_0002.JPG          (unsorted: no label)

Each station folder becomes a location (created when new) with a deployment of
the program (the newest existing one there, or a new one whose window is set
from the photos' capture times, clear outliers left out and flagged). Each
species folder name is looked up in the species reference (any language, or a
code or alternative name such as camtrapR's ``PBE``/``VTA`` given in the
reference's ``code`` / ``other_names`` column; ``blank``/``empty``,
``human``/``person``, ``vehicle`` and ``unknown`` name those observation types) and becomes a human
observation of each of its photos. Names not in the reference are reported,
and their photos are still stored.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any, Optional

from flask import Flask
from sqlmodel import or_, select

from .. import audit
from ..db import session_scope
from ..errors import NotFound
from ..models import Deployment, Media, Observation, Program, ProtectedArea, utcnow
from ..services.deployments import find_or_create_location
from ..services.taxa import find_taxon
from ..timeutil import as_utc
from .jobs import retime_deployment
from .pipeline import check_health, ingest_sources
from .report import IngestReport
from .timefix import photo_window
from .sources import Skipped, ZipRefused, scan

# Folder names that are observation types, not species.
SPECIAL = {"blank": "blank", "empty": "blank", "nothing": "blank", "no animal": "blank", "none": "blank",
           "human": "human", "humans": "human", "person": "human", "people": "human",
           "vehicle": "vehicle", "vehicles": "vehicle", "unknown": "unknown", "unidentified": "unknown"}
LABEL_SOURCE = "station/species folder"
# A deployment created by this import starts here until its photos set the window
# (so nothing is flagged against a guessed window; a re-run after a crash finishes it).
PROVISIONAL_START = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass
class LayoutResult:
    """What a directory-labelled import did, station by station."""

    stations: dict[str, IngestReport] = field(default_factory=dict)
    created_locations: list[str] = field(default_factory=list)
    created_deployments: list[tuple[str, str]] = field(default_factory=list)  # (station, deployment id)
    observations: int = 0
    observations_existing: int = 0
    unknown_species: Counter = field(default_factory=Counter)
    window_outliers: dict[str, list[str]] = field(default_factory=dict)  # station -> UTC times left out
    unlabelled_no_time: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    fatal: Optional[str] = None

    def _total(self, attr: str) -> int:
        return sum(getattr(r, attr) for r in self.stations.values())

    def summary_lines(self) -> list[str]:
        skipped = self.skipped + [(f"{st}/{p}", r) for st, rep in self.stations.items() for p, r in rep.skipped]
        lines = [f"stations: {len(self.stations)} ({len(self.created_locations)} new location(s), "
                 f"{len(self.created_deployments)} new deployment(s))",
                 f"ingested: {self._total('ingested')}",
                 f"duplicates: {self._total('duplicates')} (already stored, not stored again)",
                 f"skipped: {len(skipped)}",
                 f"outside the deployment window: {sum(r.outside_window for r in self.stations.values())}",
                 f"observations: {self.observations} created from folder names, "
                 f"{self.observations_existing} already there"]
        for st, dep_id in self.created_deployments:
            lines.append(f"  new deployment at {st}: {dep_id}")
        for path, reason in skipped[:50]:
            lines.append(f"  skipped {path}: {reason}")
        for name, n in sorted(self.unknown_species.items()):
            lines.append(f"unknown species folder {name!r}: {n} photo(s) stored without an observation "
                         "(not in the species reference; add it with `saola taxa import` and run again)")
        for st, times in sorted(self.window_outliers.items()):
            lines.append(f"{st}: {len(times)} photo(s) far from the others left out of the new deployment's "
                         f"window and flagged outside it ({times[0]} to {times[-1]} UTC)")
        for path in self.unlabelled_no_time[:20]:
            lines.append(f"no observation for {path}: it has no capture time")
        for st, rep in self.stations.items():
            for flag, n in sorted(rep.flag_counts.items()):
                if flag != "outside_window":
                    lines.append(f"{st}: flagged {flag}: {n} file(s)")
        for st, rep in self.stations.items():
            for f in rep.health:
                lines.append(f"health {st} {f['category']}/{f['check']}: {f['message']}")
        if self.fatal:
            lines.append(f"STOPPED: {self.fatal}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {"stations": {k: v.to_dict() for k, v in self.stations.items()},
                "created_locations": self.created_locations,
                "created_deployments": [{"station": s, "deployment_id": d} for s, d in self.created_deployments],
                "observations": self.observations, "observations_existing": self.observations_existing,
                "unknown_species": dict(self.unknown_species), "window_outliers": self.window_outliers, "skipped": [list(x) for x in self.skipped],
                "fatal": self.fatal, "summary": self.summary_lines()}


def _area_and_program(s, area: str, program: str) -> tuple[ProtectedArea, Program]:
    a = s.exec(select(ProtectedArea).where(or_(ProtectedArea.code == area, ProtectedArea.id == area))).first()
    if a is None:
        raise NotFound(f"no protected area {area!r} (see `saola areas list`)")
    p = s.exec(select(Program).where(Program.area_id == a.id, or_(Program.name == program, Program.id == program))
               ).first()
    if p is None:
        p = Program(area_id=a.id, name=program, protocol="camera-trap")
        s.add(p)
        s.flush()
        audit.record(s, "create", "program", p.id, area_id=a.id, after=audit.snapshot(p))
    return a, p


def _station_deployment(url: str, area_id: str, program_id: str, station: str,
                        result: LayoutResult) -> tuple[str, bool]:
    """(deployment id, window still provisional) of the program at the station, created when none."""
    with session_scope(url) as s:
        loc, new_loc = find_or_create_location(s, area_id, station)
        if new_loc:
            audit.record(s, "create", "location", loc.id, area_id=area_id, after=audit.snapshot(loc))
            result.created_locations.append(station)
        dep = s.exec(select(Deployment).where(Deployment.program_id == program_id, Deployment.location_id == loc.id,
                                              Deployment.kind == "camera")
                     .order_by(Deployment.deployment_start.desc())).first()
        if dep is not None:
            return dep.id, as_utc(dep.deployment_start) == PROVISIONAL_START
        # The window is set from the photos once they are read (see ingest_layout).
        dep = Deployment(program_id=program_id, location_id=loc.id, kind="camera", deployment_start=PROVISIONAL_START,
                         deployment_comments=f"created by a {LABEL_SOURCE} import")
        s.add(dep)
        s.flush()
        audit.record(s, "create", "deployment", dep.id, area_id=area_id, after=audit.snapshot(dep))
        return dep.id, True


def _set_window(url: str, dep_id: str, area_id: str) -> list[datetime]:
    """Set a new deployment's window to span its photos (ignoring reset clocks and clear outliers,
    :func:`photo_window`); the outliers' times are returned (the retime that follows flags them
    ``outside_window``, so they are kept but are not records)."""
    with session_scope(url) as s:
        times = [as_utc(t) for t, flags in s.exec(select(Media.captured_at, Media.flags).where(
            Media.deployment_id == dep_id, Media.captured_at.is_not(None))) if "clock_reset" not in (flags or [])]
        if not times:
            return []
        start, end, outliers = photo_window(times)
        dep = s.get(Deployment, dep_id)
        before = audit.snapshot(dep)
        dep.deployment_start, dep.deployment_end = start, end
        if outliers:
            note = (f"window set from the photos; {len(outliers)} photo(s) far outside it left out and flagged "
                    f"({min(outliers):%Y-%m-%d} to {max(outliers):%Y-%m-%d} UTC)")
            dep.deployment_comments = "; ".join(x for x in (dep.deployment_comments, note) if x)
        dep.updated_at = utcnow()
        s.add(dep)
        s.flush()
        audit.record(s, "update", "deployment", dep.id, area_id=area_id, before=before, after=audit.snapshot(dep))
        return outliers


def _taxon_for(s, name: str, cache: dict) -> tuple[Optional[str], Optional[str]]:
    """(observation type, taxon id) of a folder name; (None, None) when unknown."""
    if name in cache:
        return cache[name]
    key = " ".join(name.replace("_", " ").split()).strip()
    if key.lower() in SPECIAL:
        cache[name] = (SPECIAL[key.lower()], None)
    else:
        t = find_taxon(s, key)
        cache[name] = ("animal", t.id) if t is not None else (None, None)
    return cache[name]


def _observe(url: str, area_id: str, dep_id: str, labelled: dict[str, list[str]], rep: IngestReport,
             result: LayoutResult) -> None:
    """Human observations for labelled photos (skipping those already there)."""
    cache: dict = {}
    with session_scope(url) as s:
        created = []
        for name, paths in sorted(labelled.items()):
            otype, taxon_id = _taxon_for(s, name, cache)
            if otype is None:
                result.unknown_species[name] += len(paths)
                continue
            ids = [rep.media_ids[p] for p in paths if p in rep.media_ids]
            media = {m.id: m for m in s.exec(select(Media).where(Media.id.in_(ids)))} if ids else {}
            have = set(s.exec(select(Observation.media_id).where(
                Observation.media_id.in_(ids), Observation.classification_method == "human",
                Observation.observation_type == otype,
                (Observation.taxon_id == taxon_id) if taxon_id else Observation.taxon_id.is_(None)))) if ids else set()
            for p in paths:
                m = media.get(rep.media_ids.get(p, ""))
                if m is None:
                    continue
                if m.id in have:
                    result.observations_existing += 1
                    continue
                if m.captured_at is None:
                    result.unlabelled_no_time.append(p)
                    continue
                o = Observation(deployment_id=dep_id, media_id=m.id, sequence_id=m.sequence_id,
                                event_start=as_utc(m.captured_at), event_end=as_utc(m.captured_at),
                                observation_level="media", observation_type=otype, taxon_id=taxon_id,
                                classification_method="human", classified_by=f"folder name {name!r}",
                                classification_timestamp=utcnow(), extra={"source": LABEL_SOURCE, "folder": name})
                s.add(o)
                have.add(m.id)
                created.append(o.id)
        if created:
            s.flush()
            # One summarising audit entry per station (bulk import).
            audit.record(s, "create", "observation", dep_id, area_id=area_id,
                         after={"source": LABEL_SOURCE, "count": len(created), "observation_ids": created})
        result.observations += len(created)


def ingest_layout(app: Flask, path: str | Path, area: str, program: str, *, workers: Optional[int] = None,
                  progress=None) -> LayoutResult:
    """Import PATH/<station>/<species>/ photos into the program of the area (see the module docstring)."""
    url = app.config["DATABASE_URL"]
    result = LayoutResult()
    with session_scope(url) as s:
        a, p = _area_and_program(s, area, program)
        area_id, program_id = a.id, p.id
    try:
        sources, skipped = scan(path)
    except ZipRefused as e:
        result.skipped.append((Path(path).name, str(e)))
        return result
    by_station: dict[str, list] = defaultdict(list)
    skipped_by_station: dict[str, list] = defaultdict(list)
    for sk in skipped:
        parts = PurePosixPath(sk.rel_path).parts
        if len(parts) > 1:
            skipped_by_station[parts[0]].append(Skipped("/".join(parts[1:]), sk.reason))
        else:
            result.skipped.append((sk.rel_path, sk.reason))
    for src in sources:
        parts = PurePosixPath(src.rel_path).parts
        if len(parts) < 2:
            result.skipped.append((src.rel_path, "not inside a station folder"))
            continue
        by_station[parts[0]].append(src)
    done_before = 0
    total = len(sources)
    for station in sorted(set(by_station) | set(skipped_by_station)):
        srcs = by_station.get(station, [])
        # Paths inside the station, so reports and labels read station-relative.
        local = [type(s_)(**{**s_.__dict__, "rel_path": "/".join(PurePosixPath(s_.rel_path).parts[1:])})
                 for s_ in srcs]
        dep_id, new = _station_deployment(url, area_id, program_id, station, result)
        if new:
            result.created_deployments.append((station, dep_id))

        def station_progress(done, _total, base=done_before):
            if progress:
                progress(base + done, total)

        rep = ingest_sources(app, local, skipped_by_station.get(station, []), deployment_id=dep_id,
                             workers=workers, progress=station_progress, source_name=f"{path}/{station}",
                             keep_ids=True, resequence_after=False)
        done_before += len(srcs)
        result.stations[station] = rep
        if new:
            outliers = _set_window(url, dep_id, area_id)
            if outliers:
                result.window_outliers[station] = [t.isoformat() for t in sorted(outliers)]
        rep.sequences = retime_deployment(lambda: session_scope(url), dep_id)["sequences"]
        labelled: dict[str, list[str]] = defaultdict(list)
        for s_ in local:
            parts = PurePosixPath(s_.rel_path).parts
            if len(parts) >= 2:
                labelled[parts[0]].append(s_.rel_path)
        _observe(url, area_id, dep_id, labelled, rep, result)
        check_health(url, rep)
        if rep.fatal:
            result.fatal = f"{station}: {rep.fatal}"
            break
    return result
