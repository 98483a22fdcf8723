"""Resumable attachment uploads (tus-style), for photos taken in the field.

1. ``create(sha256, size)``: a new upload, or the one already started for the
   same bytes (resume), or "complete" at once when the server has them *and*
   the user may see that media (server/auth/policy.py ``may_reuse_bytes``);
   anyone else is answered as for unknown bytes, so an upload never tells
   whether a SHA-256 exists in another area.
2. ``offset``: how many bytes the server holds.
3. ``append(offset, chunk)``: only at the current offset (else 409 with the
   real offset), written to a partial file and fsynced before the offset moves.
4. On the last byte the SHA-256 is verified; a mismatch discards the bytes.
   A verified photo enters the media store and becomes a Media row; field
   observations waiting for it stop being "media pending".
"""
from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlmodel import Session, select

from classifiers.safe_image import ImageTooLarge, open_image

from ..errors import Conflict, SaolaError, ValidationError
from ..models import FieldObservation, Media, Upload, User, utcnow
from ..storage import LocalMediaStore, sha256_file

MAX_PHOTO_BYTES = 200 * 1024 * 1024
ALLOWED_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/heic": "heic",
                 "audio/wav": "wav", "audio/x-wav": "wav", "video/mp4": "mp4"}


# Running SHA-256 of uploads this process has seen from byte 0, keyed by (id, offset): the
# common case (chunks arriving at one server) verifies without reading the file again.
# After a restart or on another server the file is re-read instead.
_hashers: dict[str, tuple[int, "hashlib._Hash"]] = {}
_hashers_lock = threading.Lock()
_HASH_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="saola-hash")


def _part(data_dir: str, upload_id: str) -> Path:
    p = Path(data_dir) / "uploads" / f"{upload_id}.part"
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def create(s: Session, data_dir: str, user: User, sha256: str, size: int, file_name: str | None,
           media_type: str | None) -> Upload:
    """Start (or resume) an upload of ``user``'s (see the module docstring)."""
    from ..auth.policy import may_reuse_bytes

    user_id = user.id
    sha256 = (sha256 or "").lower()
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValidationError("sha256 must be 64 hexadecimal characters")
    if not isinstance(size, int) or size <= 0 or size > MAX_PHOTO_BYTES:
        raise ValidationError(f"size must be between 1 and {MAX_PHOTO_BYTES} bytes")
    if media_type and media_type not in ALLOWED_TYPES:
        raise ValidationError(f"media_type {media_type!r} is not accepted ({', '.join(sorted(ALLOWED_TYPES))})")
    existing = s.exec(select(Upload).where(Upload.sha256 == sha256, Upload.user_id == user_id)
                      .order_by(Upload.created_at.desc())).first()
    if existing is not None and existing.size_bytes == size:
        return existing
    media = s.exec(select(Media).where(Media.sha256 == sha256)).first()
    up = Upload(sha256=sha256, size_bytes=size, file_name=file_name, media_type=media_type, user_id=user_id)
    if media is not None and media.size_bytes == size and may_reuse_bytes(s, user, media):
        up.offset, up.completed_at, up.media_id = size, utcnow(), media.id
    s.add(up)
    s.flush()
    return up


def append(s: Session, data_dir: str, store: LocalMediaStore, up: Upload, offset: int, chunk,
           checksum: str | None = None) -> Upload:
    """Write ``chunk`` (bytes, or a file-like stream read to its end) at ``offset``;
    finishes the upload on the last byte.

    ``checksum`` (``Upload-Checksum: sha256 <base64>``, optional for photos, required for
    card streams) is this chunk's SHA-256: a chunk that differs is refused and nothing of it
    kept. A card stream's bytes go to its files (server/ingest/cards.py), not to one photo.
    """
    if up.card_id is not None:
        from ..ingest.cards import append_chunk
        from ..jobs import dispatch

        jobs = append_chunk(s, data_dir, up, offset, chunk, checksum)
        if jobs:
            s.commit()
            for job_id in jobs:
                dispatch(job_id)
        return up
    if up.completed_at is not None:
        return up
    if offset != up.offset:
        raise Conflict(f"upload is at offset {up.offset}, not {offset}", details={"offset": up.offset})
    want = None
    if checksum is not None:
        from ..ingest.cards import parse_checksum

        want = parse_checksum(checksum)
    chunk_hash = hashlib.sha256()
    part = _part(data_dir, up.id)
    room = up.size_bytes - up.offset
    written = 0
    with _hashers_lock:
        cached = _hashers.pop(up.id, None)
    hasher = cached[1] if cached is not None and cached[0] == up.offset else (hashlib.sha256() if up.offset == 0 else None)
    with open(part, "ab") as f:
        # A crash between the write and the offset update leaves extra bytes: trim to the recorded offset.
        f.truncate(up.offset)
        f.seek(up.offset)
        blocks = [chunk] if isinstance(chunk, (bytes, bytearray)) else iter(lambda: chunk.read(1024 * 1024), b"")
        for block in blocks:
            written += len(block)
            if written > room:
                f.truncate(up.offset)
                raise ValidationError(f"chunk runs past the declared size {up.size_bytes}")
            # Hash in another thread while this one writes: both release the GIL, so the
            # check costs almost no extra time on a multi-core server.
            fut = _HASH_POOL.submit(hasher.update, block) if hasher is not None else None
            if want is not None:
                chunk_hash.update(block)
            f.write(block)
            if fut is not None:
                fut.result()
        if want is not None and written and chunk_hash.digest() != want:
            f.truncate(up.offset)
            with _hashers_lock:  # the running hash saw the refused bytes: the file is read again
                _hashers.pop(up.id, None)
            raise SaolaError(f"this chunk does not match its Upload-Checksum; send it again from offset "
                             f"{up.offset}", status=422, code="checksum_mismatch", details={"offset": up.offset})
        # No fsync per chunk: if a crash loses bytes the database counted, the SHA-256 check at the
        # end refuses the file and the upload starts again; the finished file is fsynced (_finish).
        f.flush()
    up.offset += written
    if up.offset == up.size_bytes:
        _finish(s, store, up, part, hasher.hexdigest() if hasher is not None else None)
    elif hasher is not None:
        with _hashers_lock:
            _hashers[up.id] = (up.offset, hasher)
    s.add(up)
    return up


def _image_size(part: Path) -> tuple[int, int] | None:
    """(width, height) of an uploaded photo read from its header; None when it is not a readable image.

    ImageTooLarge (classifiers/safe_image.py) past the pixel limit: such a photo is refused, not stored.
    """
    try:
        with open_image(part) as im:
            return im.size
    except ImageTooLarge:
        raise
    except Exception:  # not decodable: kept as a file, flagged
        return None


def _finish(s: Session, store: LocalMediaStore, up: Upload, part: Path, digest: str | None = None) -> None:
    digest = digest or sha256_file(part)
    if digest != up.sha256:
        part.unlink(missing_ok=True)
        up.offset = 0
        s.add(up)
        s.commit()
        raise SaolaError(f"uploaded bytes hash to {digest}, not the declared {up.sha256}; the upload was reset",
                         status=422, code="hash_mismatch")
    try:
        size = _image_size(part) if (up.media_type or "").startswith("image/") else None
    except ImageTooLarge as e:  # a decompression bomb: refused before anything else reads it
        part.unlink(missing_ok=True)
        up.offset = 0
        s.add(up)
        s.commit()
        raise SaolaError(f"{e}; the photo was not stored", status=422, code="image_too_large") from None
    with open(part, "rb+") as f:
        os.fsync(f.fileno())
    ext = ALLOWED_TYPES.get(up.media_type or "", "") or Path(up.file_name or "").suffix.lstrip(".").lower() or "bin"
    key = store.key_for(up.sha256, ext)
    store.put_move(part, key)
    media = s.exec(select(Media).where(Media.sha256 == up.sha256)).first()
    if media is None:
        width, height = size or (None, None)
        kind = "image"
        if (up.media_type or "").startswith("audio/"):
            kind = "audio"
        elif (up.media_type or "").startswith("video/"):
            kind = "video"
        media = Media(sha256=up.sha256, kind=kind, file_name=up.file_name or f"{up.sha256}.{ext}",
                      file_path=f"field/{up.file_name or ''}", media_type=up.media_type or "application/octet-stream",
                      size_bytes=up.size_bytes, storage_key=key, width=width, height=height,
                      timestamp_source="none", flags=["field_photo"],
                      # Whose bytes these are decides which areas' records may show them (auth/policy.py).
                      meta={"uploaded_by": up.user_id})
        s.add(media)
        s.flush()
    up.media_id = media.id
    up.completed_at = utcnow()
    part.unlink(missing_ok=True)
    _release_pending(s, up.sha256)


def _release_pending(s: Session, sha256: str) -> None:
    from .service import _photos_present

    for obs in s.exec(select(FieldObservation).where(FieldObservation.media_pending.is_(True))):
        if sha256 in (obs.photos or []) and _photos_present(s, obs.photos):
            obs.media_pending = False
            s.add(obs)

