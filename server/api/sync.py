"""Offline sync for field tablets: push, pull, resumable uploads, reference data, conflicts."""
from __future__ import annotations

from typing import Any, Literal, Optional

from flask import current_app, g, jsonify, make_response, request
from pydantic import BaseModel, Field
from sqlmodel import select

import protocols

from ..auth import policy
from ..auth.permissions import current_user, load_area, load_in_area, require_area, visible_area_ids
from ..db import get_session, session_scope
from ..errors import Forbidden, SaolaError, ValidationError
from ..models import Deployment, Location, Program, SyncConflict, Taxon, Transect, Upload
from ..storage import get_store
from ..sync import merge, service, uploads
from .areas import locations_as_seen
from .core import endpoint
from .schemas import In, Out

MAX_MUTATIONS = 500


class PushIn(In):
    protocol_version: str = service.PROTOCOL_VERSION
    device_id: Optional[str] = Field(default=None, max_length=64)
    mutations: list[Any] = Field(description="mutation_id, entity, record_id, op, base_revision, data, "
                                             "device_time, gps_time")


class MutationResult(BaseModel):
    mutation_id: str
    status: Literal["applied", "duplicate", "conflict", "rejected"]
    revision: Optional[int] = None
    seq: Optional[int] = None
    record_id: Optional[str] = None
    entity: Optional[str] = None
    errors: Optional[list[dict]] = None
    conflict_id: Optional[str] = None
    merged_fields: Optional[list[str]] = None
    message: Optional[str] = None
    original_status: Optional[str] = None
    server_data: Optional[dict] = Field(default=None, description="the server's version after a merge or conflict")
    server_deleted: Optional[bool] = None


class PushOut(BaseModel):
    protocol_version: str
    results: list[MutationResult]


class PullQuery(In):
    since: int = Field(default=0, ge=0)
    limit: int = Field(default=500, ge=1, le=2000)
    area_id: Optional[str] = None


class Change(BaseModel):
    seq: int
    entity: str
    record_id: str
    revision: int
    op: Literal["upsert", "delete"]
    data: Optional[dict] = None
    at: str
    device_id: Optional[str] = Field(default=None, description="the device that made the record (tablets keep "
                                     "other devices' records read-only)")
    owner: Optional[str] = Field(default=None, description="user name of the record's maker")


class PullOut(BaseModel):
    protocol_version: str
    changes: list[Change]
    next_since: int
    has_more: bool


def _check_version(v: str) -> None:
    if str(v).split(".")[0] != service.PROTOCOL_VERSION.split(".")[0]:
        raise SaolaError(f"sync protocol {v} is not supported by this server ({service.PROTOCOL_VERSION}); "
                         "update the app", status=400, code="protocol_version")


@endpoint("/sync/push", ["POST"], summary="Push a batch of offline mutations; each is answered on its own",
          tags=["sync"], body=PushIn, response=PushOut)
def push(body: PushIn):
    _check_version(body.protocol_version)
    if len(body.mutations) > MAX_MUTATIONS:
        raise SaolaError(f"at most {MAX_MUTATIONS} mutations per push, got {len(body.mutations)}", status=413,
                         code="too_large")
    tok = g.get("token")
    device_id = tok.device_id if tok is not None and tok.device_id else body.device_id
    url = current_app.config["DATABASE_URL"]
    results = service.push(lambda: session_scope(url), current_user(), device_id, body.mutations)
    results = policy.redact_push_answers(get_session(), current_user(), results)
    return {"protocol_version": service.PROTOCOL_VERSION, "results": results}


@endpoint("/sync/pull", summary="Changes after a sequence number (never a timestamp), with tombstones, paged",
          tags=["sync"], query=PullQuery, response=PullOut, responses={410: "Cursor older than the tombstone horizon"})
def pull(query: PullQuery):
    s = get_session()
    if query.area_id:
        require_area(s, query.area_id)
        areas = [query.area_id]
    else:
        areas = visible_area_ids(s, current_user())
    user = current_user()
    try:
        return service.pull(s, areas, query.since, query.limit,
                            redact=lambda rows: policy.redact_changes(s, user, rows))
    except service.CursorTooOld as e:
        raise SaolaError(str(e), status=410, code="resync_required") from None


# ---- reference data ------------------------------------------------------------------------
@endpoint("/protocols", summary="The active field protocols (definitions with versions)", tags=["sync"], raw=True)
def list_protocols():
    out = [protocols.load(p["name"], p["version"]).to_dict() for p in protocols.list_protocols()]
    return jsonify({"protocol_version": service.PROTOCOL_VERSION, "protocols": out})


def _program_species(s, program: Program) -> list[Taxon]:
    names = (program.settings or {}).get("species_list")
    stmt = select(Taxon).order_by(Taxon.scientific_name)
    if isinstance(names, list) and names:  # checked on input (server/bounds.py); older rows may hold anything
        stmt = stmt.where(Taxon.scientific_name.in_([n for n in names if isinstance(n, str)]))
    return list(s.exec(stmt))


class SpeciesOut(Out):
    id: str
    scientific_name: str
    vietnamese_name: Optional[str]
    english_name: Optional[str]
    taxon_group: Optional[str]
    iucn_category: Optional[str]
    decree84_group: Optional[str]
    sensitive: bool
    other_names: list[str] = Field(default_factory=list, description="alternative names, searched by the app")


@endpoint("/programs/<program_id>/species", summary="The species list of a program (for the field app's picker)",
          tags=["sync"], response=SpeciesOut, many=True)
def program_species(program_id: str):
    s = get_session()
    return _program_species(s, load_in_area(s, Program, program_id).row)


@endpoint("/sync/reference", summary="Reference data for an area: protocols, programs, species, deployments, "
          "transects, with a version", tags=["sync"], raw=True)
def reference():
    import hashlib
    import json

    s = get_session()
    area_id = request.args.get("area_id")
    if not area_id:
        raise ValidationError("area_id is required", details=[{"field": "area_id", "message": "missing"}])
    area, _ = load_area(s, area_id)
    programs = list(s.exec(select(Program).where(Program.area_id == area_id).order_by(Program.name)))
    species: dict[str, Taxon] = {}
    for p in programs:
        for t in _program_species(s, p):
            species[t.id] = t
    deps = list(s.exec(select(Deployment).join(Program, Program.id == Deployment.program_id)
                       .where(Program.area_id == area_id)))
    locs = list(s.exec(select(Location).where(Location.area_id == area_id)))
    transects = list(s.exec(select(Transect).where(Transect.area_id == area_id)))
    body = {
        "protocols": [{"name": p["name"], "version": p["version"]} for p in protocols.list_protocols()],
        "programs": [{"id": p.id, "name": p.name, "protocol": p.protocol, "settings": p.settings} for p in programs],
        "species": [SpeciesOut.model_validate(t, from_attributes=True).model_dump() for t in species.values()],
        "deployments": [{"id": d.id, "program_id": d.program_id, "location_id": d.location_id, "kind": d.kind,
                         "camera_id": d.camera_id, "deployment_start": d.deployment_start.isoformat(),
                         "deployment_end": d.deployment_end.isoformat() if d.deployment_end else None}
                        for d in deps],
        "locations": [{"id": x["id"], "name": x["name"], "latitude": x["latitude"], "longitude": x["longitude"]}
                      for x in (x if isinstance(x, dict) else x.model_dump() for x in locations_as_seen(locs))],
        "transects": [{"id": t.id, "name": t.name, "length_m": t.length_m, "geometry": t.geometry} for t in transects],
        # The field map draws the boundary and offers the offline basemap (server/sync/basemaps.py).
        "area": {"id": area.id, "code": area.code, "name": area.name, "name_vi": area.name_vi,
                 "boundary": area.boundary},
        "basemap": _basemap_ref(area.id),
    }
    version = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return jsonify({"protocol_version": service.PROTOCOL_VERSION, "version": version, **body})


def _basemap_ref(area_id: str) -> dict | None:
    from ..sync import basemaps

    info = basemaps.current(current_app.config["DATA_DIR"], area_id)
    if info is None:
        return None
    base = f"/api/v1/areas/{area_id}/basemap"
    return {**basemaps.public(info), "download_url": f"{base}.mbtiles", "tile_url": base + "/{z}/{x}/{y}"}


# ---- resumable uploads ---------------------------------------------------------------------
class UploadIn(In):
    sha256: str
    size: int
    file_name: Optional[str] = Field(default=None, max_length=255)
    media_type: Optional[str] = None
    area_id: Optional[str] = Field(default=None, description="the protected area whose records will list the "
                                   "photo (you must be a ranger or above there; default: any area where you are)")


class UploadOut(Out):
    id: str
    sha256: str
    size_bytes: int
    offset: int
    media_id: Optional[str]
    completed_at: Optional[Any] = None
    card_id: Optional[str] = Field(default=None, description="the browser card upload this stream carries")


def _upload(upload_id: str) -> Upload:
    """An upload of the current user (uploads belong to whoever started them)."""
    return load_in_area(get_session(), Upload, upload_id).row


@endpoint("/uploads", ["POST"], summary="Start (or resume) a resumable upload of a field photo", tags=["sync"],
          body=UploadIn, response=UploadOut, status=201)
def create_upload(body: UploadIn):
    """Needs the ranger role (or above) in ``area_id``, or in some area: uploads are attachments of field
    records, which rangers write. Bytes the server already holds complete the upload at once only when
    you may see that media; otherwise send them like any new bytes."""
    s = get_session()
    user = current_user()
    if body.area_id is not None:
        require_area(s, body.area_id, "ranger")
    elif visible_area_ids(s, user, "ranger") == []:
        raise Forbidden("uploads need the ranger role (or above) in a protected area")
    up = uploads.create(s, current_app.config["DATA_DIR"], user, body.sha256, body.size, body.file_name,
                        body.media_type)
    s.commit()
    return up


@endpoint("/uploads/<upload_id>", summary="An upload's offset (bytes the server holds)", tags=["sync"],
          response=UploadOut)
def get_upload(upload_id: str):
    return _upload(upload_id)


@endpoint("/uploads/<upload_id>", ["PATCH"], summary="Append bytes at Upload-Offset (application/offset+octet-stream)",
          tags=["sync"], content_type="application/offset+octet-stream", raw=True, response=UploadOut,
          headers={"Upload-Offset": {"type": "integer", "minimum": 0,
                                     "description": "where these bytes start (the offset the server holds)"}},
          responses={400: "Upload-Checksum missing (card streams) or malformed",
                     409: "Offset mismatch (the answer carries the server's offset)",
                     422: "Hash mismatch (the whole photo, or this chunk's Upload-Checksum)",
                     507: "Server disk full (what arrived before this chunk is kept)"},
          description="Optional header Upload-Checksum: 'sha256 <base64>' of this chunk (tus checksum extension): "
          "a chunk that differs is refused and nothing of it kept. Card streams (browser card uploads, "
          "POST /deployments/<id>/cards) require it.")
def patch_upload(upload_id: str):
    s = get_session()
    up = _upload(upload_id)
    try:
        offset = int(request.headers.get("Upload-Offset", ""))
    except ValueError:
        raise ValidationError("Upload-Offset header (an integer) is required") from None
    up = uploads.append(s, current_app.config["DATA_DIR"], get_store(), up, offset, request.stream,
                        request.headers.get("Upload-Checksum"))
    s.commit()
    resp = make_response(jsonify(UploadOut.model_validate(up, from_attributes=True).model_dump(mode="json")), 200)
    resp.headers["Upload-Offset"] = str(up.offset)
    return resp


# ---- conflicts ---------------------------------------------------------------------------------
class ConflictOut(Out):
    id: str
    area_id: str
    entity: str
    record_id: str
    base_revision: int
    server_revision: int
    server_version: dict
    client_version: dict
    fields: list
    client_user: Optional[str]
    client_device: Optional[str]
    server_user: Optional[str]
    status: str
    resolution: Optional[str]
    resolved_by: Optional[str]


class ConflictQuery(In):
    area_id: str
    status: Literal["open", "resolved"] = "open"


class ResolveIn(In):
    """How to resolve a sync conflict (the one request schema for it)."""

    resolution: Literal["mine", "theirs", "merge"] = Field(
        description="mine: the device's version; theirs: the server's; merge: the three-way merge")
    choices: Optional[dict[str, Literal["server", "client"]]] = Field(
        default=None, description="merge only: server or client for each overlapping field (the conflict's "
                                  "`fields`; envelope keys start with @); other fields merge automatically")
    merged: Optional[dict[str, Any]] = Field(
        default=None, description="merge only, instead of choices: the whole merged document, written by hand")


@endpoint("/sync/conflicts", summary="Sync conflicts of an area (biologists)", tags=["sync"], query=ConflictQuery,
          response=ConflictOut, many=True)
def list_conflicts(query: ConflictQuery):
    s = get_session()
    require_area(s, query.area_id, "biologist")
    return list(s.exec(select(SyncConflict).where(SyncConflict.area_id == query.area_id,
                                                  SyncConflict.status == query.status)
                       .order_by(SyncConflict.created_at)))


@endpoint("/sync/conflicts/<conflict_id>/resolve", ["POST"],
          summary="Resolve a conflict: keep mine (the device's), keep theirs (the server's) or merge", tags=["sync"],
          body=ResolveIn, response=ConflictOut, responses={409: "Already resolved"})
def resolve(conflict_id: str, body: ResolveIn):
    """Biologists of the conflict's area. ``mine`` and ``merge`` store a new revision that devices pull."""
    s = get_session()
    c = load_in_area(s, SyncConflict, conflict_id, "biologist").row
    merge.resolve(s, current_user(), c, body.resolution, body.choices, body.merged)
    s.commit()
    return c
