"""Camera cards uploaded from the browser: one resumable stream, ingested while it arrives.

The page sends the card's *manifest* first (each file's path, size and modification time;
the files it could not read, with the browser's reason). :func:`create_card` sorts it,
skips what ``saola ingest`` would skip, with the same reasons (system files, non-media,
unsafe paths, empty or oversized files, media of the wrong kind for the deployment), and
lays the accepted files end to end: the card's bytes are one resumable
:class:`~server.models.Upload` (the sync protocol: ``PATCH /api/v1/uploads/<id>`` at
``Upload-Offset``), so a 5,000-photo card is a few hundred requests, not 10,000.

Each chunk carries its SHA-256 (``Upload-Checksum: sha256 <base64>``, the tus checksum
extension): the browser hashes a chunk with ``crypto.subtle`` (native speed, no streaming
digest needed) and :func:`append_chunk` writes it into the files' staging copies, refusing
the chunk (and truncating what it wrote) when the hash differs; what came before stays.
Each file's own SHA-256 is computed by ingest, as for any card.

The same manifest dropped again after an interruption (a reload, a lost connection) finds
its card, and the upload's offset tells the page where to go on. Files whose last byte has
arrived are ingested by the ``card_ingest`` job (:mod:`server.ingest.card_job`) while the
rest is still coming; a zip is ingested once complete (scanned first: zip bombs and unsafe
member paths refused as by the CLI).
"""
from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import json
import shutil
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Optional

from sqlalchemy import func, insert, update
from sqlmodel import Session, select

from .. import audit
from ..errors import Conflict, SaolaError, ValidationError
from ..models import CardFile, CardUpload, Deployment, Job, Program, Upload, User, utcnow
from .pipeline import misfit_reason
from .sources import ZIP_MAX_MEMBER_BYTES, ZIP_MAX_MEMBERS, ZIP_MAX_TOTAL_BYTES, classify, safe_member_name, too_big

#: The most entries a card manifest may list (as for a zip).
MAX_FILES = ZIP_MAX_MEMBERS
#: The largest single file (a zip of a whole card) and the largest card.
MAX_FILE_BYTES = ZIP_MAX_TOTAL_BYTES
MAX_CARD_BYTES = ZIP_MAX_TOTAL_BYTES
MAX_PATH = 1000
BLOCK = 1024 * 1024
ACTIVE_JOB = ("queued", "running")
UNSAFE = "unsafe file name (escapes the upload folder): refused"


def card_dir(data_dir: str | Path, card_id: str) -> Path:
    """Where a card's files are staged until they are ingested."""
    return Path(data_dir) / "cards" / card_id


def staged_path(data_dir: str | Path, card_id: str, idx: int, path: str) -> Path:
    """The staging copy of manifest entry ``idx``: a folder per entry (never the user's path,
    which may not be trusted as a path here) holding the file under its own name, which
    readers use (recorders date files by name)."""
    return card_dir(data_dir, card_id) / f"{idx:06d}" / PurePosixPath(path).name


def manifest_digest(entries: list[dict[str, Any]]) -> str:
    """SHA-256 of the sorted manifest: the same card dropped again gives the same digest."""
    canon = [[e["path"], e["size"], e.get("modified_ms"), e.get("error")] for e in entries]
    return hashlib.sha256(json.dumps(canon, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def _skip_reason(path: str, size: int, error: Optional[str], dep: Deployment) -> tuple[Optional[str], Optional[str]]:
    """(kind, None) for an entry sent in the stream, (None, reason) for one skipped, as ``saola ingest`` says it."""
    if safe_member_name(path) is None:
        return None, UNSAFE
    if error:
        return None, f"cannot read: {error}"
    top_zip = "/" not in path and path.lower().endswith(".zip")
    if top_zip:
        kind: Optional[str] = "zip"
    else:
        kind, reason, _ext = classify(path)
        reason = reason or too_big(kind, size)
        if reason:
            return None, reason
    if size == 0:
        return None, "empty file (0 bytes)"
    if top_zip:
        return ("zip", None) if size <= MAX_FILE_BYTES else (None, f"zip of {size} bytes exceeds the limit "
                                                                  f"({MAX_FILE_BYTES}): refused")
    if size > ZIP_MAX_MEMBER_BYTES:
        return None, f"file of {size} bytes exceeds the limit ({ZIP_MAX_MEMBER_BYTES}): refused"
    misfit = misfit_reason(kind, dep.kind, dep.id)
    return (None, misfit) if misfit else (kind, None)


def _check_manifest(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not entries:
        raise ValidationError("the card lists no files", details=[{"field": "files", "message": "empty"}])
    if len(entries) > MAX_FILES:
        raise ValidationError(f"the card lists {len(entries)} files (limit {MAX_FILES})",
                              details=[{"field": "files", "message": "too many"}])
    seen: set[str] = set()
    for i, e in enumerate(entries):
        p = e["path"]
        if not p or len(p) > MAX_PATH or "\x00" in p:
            raise ValidationError(f"files[{i}].path must be 1 to {MAX_PATH} characters",
                                  details=[{"field": f"files.{i}.path", "message": "bad path"}])
        # As the card will be read: forward slashes, no empty or "." parts (unsafe ones stay as sent).
        p = e["path"] = safe_member_name(p) or p
        if p in seen:
            raise ValidationError(f"the card lists {p!r} twice", details=[{"field": f"files.{i}.path",
                                                                           "message": "repeated"}])
        seen.add(p)
    total = sum(e["size"] for e in entries if not e.get("error"))
    if total > MAX_CARD_BYTES:
        raise ValidationError(f"the card holds {total} bytes (limit {MAX_CARD_BYTES})",
                              details=[{"field": "files", "message": "too large"}])
    return sorted(entries, key=lambda e: e["path"])


def create_card(s: Session, user: User, dep: Deployment, entries: list[dict[str, Any]], label: str,
                area_id: str) -> tuple[CardUpload, Upload, bool]:
    """A new card upload for ``dep`` from ``entries`` ({path, size, modified_ms, error}), or the
    unfinished one of the same user, deployment and manifest (resume); (card, upload, resumed)."""
    entries = _check_manifest(entries)
    digest = manifest_digest(entries)
    old = s.exec(select(CardUpload).where(CardUpload.deployment_id == dep.id, CardUpload.user_id == user.id,
                                          CardUpload.manifest_sha256 == digest,
                                          CardUpload.status.in_(("receiving", "ingesting", "failed")))
                 .order_by(CardUpload.created_at.desc())).first()
    if old is not None:
        return old, stream_of(s, old.id), True
    card = CardUpload(deployment_id=dep.id, user_id=user.id, manifest_sha256=digest, label=label[:255],
                      files_total=len(entries))
    s.add(card)
    s.flush()
    rows, pos, accepted = [], 0, 0
    for i, e in enumerate(entries):
        kind, reason = _skip_reason(e["path"], e["size"], e.get("error"), dep)
        row = {"card_id": card.id, "idx": i, "path": e["path"], "size": e["size"],
               "modified_ms": e.get("modified_ms"), "kind": kind, "start": -1, "end": -1, "skip_reason": reason}
        if reason is None:
            row["start"], row["end"] = pos, pos + e["size"]
            pos += e["size"]
            accepted += 1
        rows.append(row)
    for i in range(0, len(rows), 2000):
        s.connection().execute(insert(CardFile.__table__), rows[i:i + 2000])
    card.files_accepted, card.bytes_total = accepted, pos
    up = Upload(sha256="", size_bytes=pos, user_id=user.id, card_id=card.id, file_name=card.label or None)
    if pos == 0:
        up.completed_at = utcnow()
        card.status = "ingesting"
    s.add(up)
    s.add(card)
    s.flush()
    audit.record(s, "create", "card_upload", card.id, area_id=area_id,
                 after={"deployment_id": dep.id, "label": card.label, "files": len(entries), "accepted": accepted,
                        "bytes": pos})
    return card, up, False


def stream_of(s: Session, card_id: str) -> Upload:
    """The resumable upload carrying a card's bytes."""
    up = s.exec(select(Upload).where(Upload.card_id == card_id)).first()
    if up is None:  # created together with the card: only a broken database lacks it
        raise SaolaError(f"card {card_id} has no upload", status=500, code="card_without_upload")
    return up


def parse_checksum(header: Optional[str]) -> bytes:
    """The SHA-256 digest of an ``Upload-Checksum: sha256 <base64>`` header (tus checksum extension)."""
    if not header:
        raise SaolaError("Upload-Checksum header required for card uploads: 'sha256 <base64 digest of this chunk>'",
                         status=400, code="checksum_required")
    algo, _, value = header.strip().partition(" ")
    if algo.lower() != "sha256":
        raise SaolaError(f"Upload-Checksum algorithm {algo!r} is not supported (sha256)", status=400,
                         code="checksum_algorithm")
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 32:
        raise SaolaError("Upload-Checksum value must be the base64 of a 32-byte SHA-256 digest", status=400,
                         code="checksum_malformed")
    return digest


def _files_from(s: Session, card_id: str, offset: int) -> list[CardFile]:
    return list(s.exec(select(CardFile).where(CardFile.card_id == card_id, CardFile.end > offset,
                                              CardFile.start >= 0).order_by(CardFile.start)))


def append_chunk(s: Session, data_dir: str, up: Upload, offset: int, stream, checksum: Optional[str]) -> list[str]:
    """Write one chunk of a card's stream at ``offset`` into its files' staging copies.

    409 (with the server's offset) when ``offset`` is not where the stream stands; 422 when
    the chunk's SHA-256 differs from ``checksum`` or it runs past the card's end (what the
    chunk wrote is truncated: the offset does not move). Returns the ids of ingest jobs
    queued because files became complete (dispatch them once committed).
    """
    if up.completed_at is not None:
        return []
    if offset != up.offset:
        raise Conflict(f"upload is at offset {up.offset}, not {offset}", details={"offset": up.offset})
    want = parse_checksum(checksum)
    files = _files_from(s, up.card_id, offset)
    card_id = up.card_id
    h = hashlib.sha256()
    written = 0
    touched: list[tuple[Path, int]] = []  # (file, its length before this chunk)
    handle = None
    fi, pos = 0, offset

    def close() -> None:
        nonlocal handle
        if handle is not None:
            handle.close()
            handle = None

    def rollback() -> None:
        close()
        for path, length in touched:
            try:
                with open(path, "r+b") as f:
                    f.truncate(length)
            except FileNotFoundError:
                pass

    try:
        for block in iter(lambda: stream.read(BLOCK), b""):
            h.update(block)
            view = memoryview(block)
            while view:
                while fi < len(files) and files[fi].end <= pos:
                    fi += 1
                    close()
                if fi >= len(files):
                    raise ValidationError(f"chunk runs past the end of the card ({up.size_bytes} bytes)")
                cf = files[fi]
                if handle is None:
                    path = staged_path(data_dir, card_id, cf.idx, cf.path)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    handle = open(path, "ab")
                    # Bytes past the recorded offset (a chunk cut off before the offset moved) go.
                    handle.truncate(pos - cf.start)
                    handle.seek(pos - cf.start)
                    touched.append((path, pos - cf.start))
                n = min(len(view), cf.end - pos)
                handle.write(view[:n])
                view = view[n:]
                pos += n
                written += n
        close()
    except OSError as e:
        rollback()
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise SaolaError("disk full while receiving the card; what arrived before this chunk is kept",
                             status=507, code="disk_full") from None
        raise
    except BaseException:
        rollback()
        raise
    if written and h.digest() != want:
        rollback()
        raise SaolaError(f"this chunk hashes to sha256 {base64.b64encode(h.digest()).decode()}, not the "
                         f"Upload-Checksum {base64.b64encode(want).decode()}; send it again from offset {offset}",
                         status=422, code="checksum_mismatch", details={"offset": offset})
    old = up.offset
    up.offset += written
    card = s.get(CardUpload, card_id)
    if up.offset >= up.size_bytes:
        up.completed_at = utcnow()
        if card.status == "receiving":
            card.status = "ingesting"
    card.updated_at = utcnow()
    s.add(up)
    s.add(card)
    completed = any(old < f.end <= up.offset for f in files)
    return ensure_ingest_job(s, card) if completed or up.completed_at is not None else []


def ensure_ingest_job(s: Session, card: CardUpload) -> list[str]:
    """Queue the card's ingest job unless one is queued or running (in this transaction; the
    caller dispatches the returned job ids after committing)."""
    from ..jobs import enqueue

    # Lock the card's row: the job clears card.job_id under the same lock when it stops waiting.
    s.exec(select(CardUpload.id).where(CardUpload.id == card.id).with_for_update()).first()
    s.refresh(card)
    if card.job_id is not None:
        job = s.get(Job, card.job_id)
        if job is not None and job.status in ACTIVE_JOB:
            return []
    dep = s.get(Deployment, card.deployment_id)
    area_id = s.get(Program, dep.program_id).area_id if dep is not None else None
    job = enqueue(s, "card_ingest", {"card_id": card.id, "deployment_id": card.deployment_id}, area_id=area_id,
                  created_by=card.user_id, commit=False)
    s.flush()
    card.job_id = job.id
    s.add(card)
    return [job.id]


def drop_file(s: Session, data_dir: str, card: CardUpload, idx: int, reason: str) -> CardFile:
    """Take an accepted file the browser could not read out of the stream (skipped "cannot read"):
    the files after it move up, and a partly received copy is dropped. Files already complete stay."""
    cf = s.get(CardFile, (card.id, idx))
    if cf is None:
        raise ValidationError(f"the card has no file number {idx}", details=[{"field": "idx", "message": "unknown"}])
    if cf.start < 0:
        return cf  # skipped already
    up = stream_of(s, card.id)
    if cf.end <= up.offset:
        raise Conflict(f"{cf.path} has been received whole; it cannot be dropped", details={"offset": up.offset})
    size = cf.size
    staged_path(data_dir, card.id, idx, cf.path).unlink(missing_ok=True)
    if up.offset > cf.start:
        up.offset = cf.start
    start = cf.start
    cf.start, cf.end, cf.kind = -1, -1, None
    cf.skip_reason = f"cannot read: {reason}"[:1000]
    s.add(cf)
    s.flush()
    tbl = CardFile.__table__
    s.connection().execute(update(tbl).where(tbl.c.card_id == card.id, tbl.c.start > start)
                           .values(start=tbl.c.start - size, end=tbl.c.end - size))
    up.size_bytes -= size
    card.files_accepted -= 1
    card.bytes_total -= size
    card.updated_at = utcnow()
    if up.offset >= up.size_bytes and up.completed_at is None:
        up.completed_at = utcnow()
        if card.status == "receiving":
            card.status = "ingesting"
    s.add(up)
    s.add(card)
    s.flush()
    return cf


def manifest_skips(s: Session, card_id: str) -> list[tuple[str, str]]:
    """(path, reason) of the manifest entries not sent, in manifest order."""
    return [(p, r) for p, r in s.exec(select(CardFile.path, CardFile.skip_reason)
                                      .where(CardFile.card_id == card_id, CardFile.start < 0)
                                      .order_by(CardFile.idx))]


def files_received(s: Session, card_id: str, offset: int) -> int:
    """How many accepted files of the card have arrived whole."""
    return s.exec(select(func.count()).select_from(CardFile).where(
        CardFile.card_id == card_id, CardFile.start >= 0, CardFile.end <= offset)).one()


def composed_report(s: Session, card: CardUpload) -> dict[str, Any]:
    """The card's ingest report as far as it goes: what ingest did, and the entries not sent."""
    from .report import IngestReport

    if card.status == "done" and card.report:
        return card.report  # complete: the skips are in it
    rep = IngestReport.from_dict(card.report) if card.report else IngestReport(source=card.label)
    rep.source = card.label
    skips = manifest_skips(s, card.id)
    rep.skipped = skips + rep.skipped
    rep.total = max(rep.total, 0) + len(skips)
    return rep.to_dict()


def remove_staging(data_dir: str, card_id: str, idxs: Optional[Iterable[int]] = None) -> None:
    """Remove the staging copies of entries ``idxs``, or the whole card's."""
    if idxs is None:
        shutil.rmtree(card_dir(data_dir, card_id), ignore_errors=True)
        return
    for i in idxs:
        folder = card_dir(data_dir, card_id) / f"{i:06d}"
        shutil.rmtree(folder, ignore_errors=True)
