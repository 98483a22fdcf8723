"""Media: upload to a deployment (files or a zip), list, look at, and fetch the bytes; sequences.

Uploads run the same ingest as ``saola ingest`` (server/ingest/): identity by
SHA-256, duplicates reported, bad files skipped with a reason, times
corrected with the deployment's time zone and clock offset.
"""
from __future__ import annotations

import errno
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Optional

from flask import current_app, request
from pydantic import Field
from sqlalchemy import String, cast
from sqlmodel import select

from ..auth import policy
from ..auth.permissions import current_user, deployment_area, load_in_area, role_in_area, scope_query
from ..bounds import BoundedDatetime
from ..db import get_session
from ..errors import NotFound, SaolaError, ValidationError
from ..models import Deployment, Media, Program, Sequence
from ..staging import clean_stale, staging_dir
from ..storage import deferred, get_store, send_stored
from ..timeutil import to_utc
from .core import Limit, Offset, endpoint, paginate
from .schemas import In, LocalTime, Out

TAGS = ["media"]
FLAGS = Literal["outside_window", "no_deployment", "no_timestamp", "clock_reset", "future_time", "corrupt"]
# Uploads with at least this many files use worker processes; fewer run in the request thread.
POOL_FROM_FILES = 64


class MediaQuery(In):
    """Filters of the media list (all optional; combined with AND)."""

    limit: Limit = 50
    offset: Offset = 0
    area_id: Optional[str] = None
    program_id: Optional[str] = None
    deployment_id: Optional[str] = None
    sequence_id: Optional[str] = None
    kind: Optional[Literal["image", "video", "audio"]] = None
    flag: Optional[FLAGS] = Field(default=None, description="only media with this ingest flag")
    start: Optional[BoundedDatetime] = Field(default=None, description="captured at or after (naive = UTC)")
    end: Optional[BoundedDatetime] = Field(default=None, description="captured at or before (naive = UTC)")


class MediaOut(Out):
    """A stored photo, video or recording, with its corrected capture time and ingest flags."""

    id: str
    sha256: str
    kind: str
    deployment_id: Optional[str]
    sequence_id: Optional[str]
    file_name: str
    file_path: Optional[str]
    media_type: str
    size_bytes: int
    captured_at_raw: Optional[LocalTime] = Field(description="the time as the camera wrote it: its own clock, "
                                                             "no time zone")
    captured_at: Optional[datetime]
    utc_offset_min: Optional[int]
    timestamp_source: str
    width: Optional[int]
    height: Optional[int]
    orientation: Optional[int]
    duration_s: Optional[float]
    camera_make: Optional[str]
    camera_model: Optional[str]
    camera_serial: Optional[str]
    latitude: Optional[float]
    longitude: Optional[float]
    capture_method: Optional[str]
    flags: list[str]
    has_derivatives: bool
    favorite: bool
    created_at: datetime


class MediaDetailOut(MediaOut):
    """One media item with the full metadata read at ingest (EXIF tag set...)."""

    meta: dict[str, Any]


class SequenceQuery(In):
    """Filters of the sequence list."""

    limit: Limit = 50
    offset: Offset = 0
    area_id: Optional[str] = None
    program_id: Optional[str] = None
    deployment_id: Optional[str] = None
    review_status: Optional[Literal["unreviewed", "reviewed", "blank"]] = None


class SequenceOut(Out):
    """A sequence (burst / event): consecutive media of a deployment closer than the program's gap."""

    id: str
    deployment_id: str
    event_start: datetime
    event_end: datetime
    media_count: int
    review_status: str


class IngestOut(Out):
    """The report of an ingest: counts, skipped files with reasons, flags, summary lines."""

    source: str
    total: int
    ingested: int
    duplicates: int
    completed: int
    assigned: int
    skipped: list[dict[str, str]]
    outside_window: int
    flag_counts: dict[str, int]
    flagged: dict[str, list[str]]
    deployments: list[str]
    sequences: int
    by_kind: dict[str, int]
    notes: list[str]
    fatal: Optional[str]
    elapsed_s: float
    summary: list[str]


# ---- access --------------------------------------------------------------------------------
def _media(media_id: str, minimum: str = "viewer") -> tuple[Media, str]:
    """The media row and the caller's role (server/auth/permissions.py: media outside every
    deployment are for administrators)."""
    acc = load_in_area(get_session(), Media, media_id, minimum)
    return acc.row, acc.role


# ---- upload --------------------------------------------------------------------------------
def _stage_uploads(staging: Path) -> tuple[list, list]:
    """Save the request's files under ``staging`` and scan them; (sources, skipped)."""
    import zipfile

    from ..ingest.sources import Skipped, Source, ZipRefused, classify, safe_member_name, scan_zip

    files = [f for key in request.files for f in request.files.getlist(key)]
    if not files:
        raise ValidationError("no files in the upload: send multipart/form-data with one or more 'files' parts",
                              details=[{"field": "files", "message": "missing"}])
    sources, skipped = [], []
    for i, fs in enumerate(files):
        raw_name = fs.filename or f"upload-{i}"
        name = safe_member_name(raw_name)
        if name is None:
            skipped.append(Skipped(raw_name, "unsafe file name (escapes the upload folder): refused"))
            continue
        dest = staging / f"{i:06d}" / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        fs.save(dest)
        size = dest.stat().st_size
        if zipfile.is_zipfile(dest):
            try:
                zs, zk = scan_zip(dest)
            except ZipRefused as e:
                skipped.append(Skipped(name, str(e)))
                continue
            prefix = name + "!"  # members read as zipname!member in reports
            sources += [Source(prefix + s.rel_path, s.kind, s.ext, s.size, zip_path=s.zip_path, member=s.member)
                        for s in zs]
            skipped += [Skipped(prefix + k.rel_path, k.reason) for k in zk]
            continue
        kind, reason, ext = classify(name)
        if reason:
            skipped.append(Skipped(name, reason))
        elif size == 0:
            skipped.append(Skipped(name, "empty file (0 bytes)"))
        else:
            sources.append(Source(name, kind, ext, size, path=str(dest)))
    return sources, skipped


@endpoint("/deployments/<deployment_id>/media", ["POST"],
          summary="Upload photos/videos (camera) or recordings (acoustic), many files or a zip of a card (rangers)",
          tags=TAGS, content_type="multipart/form-data", raw=True, response=IngestOut,
          responses={201: "ingest report (something was ingested)", 507: "disk full (what was stored is kept)"})
def upload_media(deployment_id: str):
    """Multipart parts named ``files`` (any part name works); a zip is opened and checked for unsafe paths
    and zip bombs. Answers the ingest report: ingested, duplicates, skipped with reasons, flags."""
    from ..ingest.pipeline import ingest_sources

    dep = load_in_area(get_session(), Deployment, deployment_id, "ranger").row
    app = current_app._get_current_object()
    clean_stale(app.config["DATA_DIR"])  # folders of uploads whose process was killed
    with staging_dir(app.config["DATA_DIR"]) as staging:
        try:
            sources, skipped = _stage_uploads(staging)
        except OSError as e:
            if e.errno in (errno.ENOSPC, errno.EDQUOT):
                raise SaolaError("disk full while receiving the upload; nothing was stored", status=507,
                                 code="disk_full") from None
            raise
        # End the request's transaction (on SQLite it holds the write lock) without expiring the
        # signed-in user, whom the audit entries name: ingest writes in its own short transactions.
        get_session().commit()
        workers = 0 if len(sources) < POOL_FROM_FILES else min(os.cpu_count() or 1, 4)
        report = ingest_sources(app, sources, skipped, deployment_id=dep.id, workers=workers,
                                source_name="upload")
    data = IngestOut.model_validate(report.to_dict()).model_dump(mode="json")
    if report.fatal:
        err = SaolaError(report.fatal, status=507 if "disk full" in report.fatal else 500,
                         code="disk_full" if "disk full" in report.fatal else "ingest_stopped", details=data)
        return err.to_dict(), err.status
    return data, 201 if report.ingested else 200


# ---- listing -------------------------------------------------------------------------------
@endpoint("/media", summary="List media (filters: area, program, deployment, sequence, kind, flag, time range)",
          tags=TAGS, query=MediaQuery, response=MediaOut)
def list_media(query: MediaQuery):
    s = get_session()
    stmt = (select(Media).join(Deployment, Deployment.id == Media.deployment_id, isouter=True)
            .join(Program, Program.id == Deployment.program_id, isouter=True))
    stmt = scope_query(s, stmt, Program.area_id, query.area_id)
    for col, val in ((Deployment.program_id, query.program_id), (Media.deployment_id, query.deployment_id),
                     (Media.sequence_id, query.sequence_id), (Media.kind, query.kind)):
        if val is not None:
            stmt = stmt.where(col == val)
    if query.flag is not None:
        # Flags are a JSON list; its text form contains the quoted name (same on SQLite and PostgreSQL).
        stmt = stmt.where(cast(Media.flags, String).like(f'%"{query.flag}"%'))
    if query.start is not None:
        stmt = stmt.where(Media.captured_at >= to_utc(query.start))
    if query.end is not None:
        stmt = stmt.where(Media.captured_at <= to_utc(query.end))
    if query.start is not None and query.end is not None and query.end < query.start:
        raise ValidationError("end is before start", details=[{"field": "end", "message": "before start"}])
    page = paginate(s, stmt, query, [Media.captured_at.is_(None), Media.captured_at, Media.file_path, Media.id])
    page.items = _as_seen(page.items)
    return page


@endpoint("/media/<media_id>", summary="One media item with its full metadata (EXIF tags...)", tags=TAGS,
          response=MediaDetailOut)
def get_media(media_id: str):
    return _as_seen([_media(media_id)[0]])[0]


def _as_seen(rows: list[Media]) -> list:
    """Media rows with positions as the caller may see them (server/auth/policy.py)."""
    s, user = get_session(), current_user()

    def role_of(m: Media):
        area_id = deployment_area(s, m.deployment_id)
        return "admin" if user.is_admin else (role_in_area(s, user, area_id) if area_id else None)

    return policy.media_view(s, rows, role_of)


def _send(media: Media, size: str, role: str):
    store = get_store(current_app)
    with deferred(store):  # S3: an unmodified original is streamed or presigned, not copied here first
        return _send_from(store, media, size, role)


def _send_from(store, media: Media, size: str, role: str):
    app = current_app
    derivatives = app.extensions["saola.derivatives"]
    if media.kind == "image":  # who sees what: server/auth/policy.py
        path, mimetype, blurred = policy.image_for(get_session(), media, {"file": "original"}.get(size, size), role,
                                                   store, derivatives, bool(app.config.get("DETECTOR_MODEL")))
        if policy.is_placeholder(path):
            return policy.placeholder_response(path)
        return _file_response(path, mimetype, media, blurred or not policy.sees_clear_images(role))
    if media.kind == "video" and size == "file":  # no frames blurred yet: policy.video_for says who gets what
        path, mimetype, private = policy.video_for(get_session(), media, role, store, derivatives,
                                                   bool(app.config.get("DETECTOR_MODEL")))
        return _file_response(path, mimetype, media, private)
    if size == "file" and media.kind == "audio":  # viewers get a copy without the recorder's metadata
        path, mimetype, cleaned = policy.recording_for(media, role, store, derivatives)
        return _file_response(path, mimetype, media, cleaned)
    if size == "file":
        return _file_response(store.path(media.storage_key), media.media_type, media, False)
    raise NotFound(f"no {size} image for a {media.kind} (media {media.id})")


def _file_response(path: Path, mimetype: str, media: Media, private: bool):
    # Presigned S3 links only for downloads of the unmodified original (send_stored checks `private`).
    download = request.path.endswith("/file")
    resp = send_stored(path, mimetype, etag=f"{media.sha256}-{path.name}", private=private,
                       download_name=_ascii(media.file_name) if download else "", presign=download)
    if resp is None:
        raise NotFound(f"the file of media {media.id} is missing from the media store")
    if resp.status_code != 302:
        resp.headers["Cache-Control"] = "private, no-store" if private else "private, max-age=3600"
    return resp


@endpoint("/media/<media_id>/file", summary="The original file, unmodified", tags=TAGS, raw=True,
          produces=("image/*", "video/*", "audio/*"))
def media_file(media_id: str):
    m, role = _media(media_id)
    resp = _send(m, "file", role)
    resp.headers["Content-Disposition"] = f'attachment; filename="{_ascii(m.file_name)}"'
    return resp


@endpoint("/media/<media_id>/thumbnail", summary="Thumbnail JPEG (about 320 px, upright)", tags=TAGS, raw=True,
          produces=("image/*",))
def media_thumbnail(media_id: str):
    m, role = _media(media_id)
    return _send(m, "thumb", role)


@endpoint("/media/<media_id>/review", summary="Review-size JPEG (about 1600 px, upright)", tags=TAGS, raw=True,
          produces=("image/*",))
def media_review(media_id: str):
    m, role = _media(media_id)
    return _send(m, "review", role)


def _ascii(name: str) -> str:
    return "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)


# ---- sequences ------------------------------------------------------------------------------
@endpoint("/sequences", summary="List sequences (bursts / events) of deployments", tags=TAGS, query=SequenceQuery,
          response=SequenceOut)
def list_sequences(query: SequenceQuery):
    s = get_session()
    stmt = (select(Sequence).join(Deployment, Deployment.id == Sequence.deployment_id)
            .join(Program, Program.id == Deployment.program_id))
    stmt = scope_query(s, stmt, Program.area_id, query.area_id)
    for col, val in ((Deployment.program_id, query.program_id), (Sequence.deployment_id, query.deployment_id),
                     (Sequence.review_status, query.review_status)):
        if val is not None:
            stmt = stmt.where(col == val)
    return paginate(s, stmt, query, [Sequence.event_start, Sequence.id])


@endpoint("/sequences/<sequence_id>", summary="One sequence", tags=TAGS, response=SequenceOut)
def get_sequence(sequence_id: str):
    return load_in_area(get_session(), Sequence, sequence_id).row

