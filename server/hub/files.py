"""Files an area server publishes to the hub: thumbnails, originals and annual reports.

Small files come in bundles, each checked against its SHA-256; large ones in resumable chunks
(the part file's size is the offset; each chunk checked against its own SHA-256 before it is
appended, the whole file against its SHA-256 before it enters the store). Part files live in
``DATA_DIR/hub-incoming/<peer>/`` (not the staging folders that start-up clears), so a transfer
cut off by a restart of the hub resumes where it stopped.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, Optional

from sqlalchemy import update
from sqlmodel import Session, col

from ..errors import Conflict, Forbidden, ValidationError
from ..models import HubPeer, Media
from .protocol import SHA256, VARIANTS
from .receive import owned_media

REPORT_EXTS = ("pdf", "html")


def _check(sha256: Any, variant: Any, ext: Any = None) -> None:
    if not isinstance(sha256, str) or not SHA256.match(sha256):
        raise ValidationError("sha256 must be 64 lower-case hex digits", details={"field": "sha256"})
    if variant not in VARIANTS:
        raise ValidationError(f"variant must be one of {', '.join(VARIANTS)}", details={"field": "variant"})
    if variant == "report" and ext not in REPORT_EXTS:
        raise ValidationError("a report is a pdf or an html file", details={"field": "ext"})


def _target(session: Session, peer: HubPeer, sha256: Any, variant: Any, media_sha256: Any,
            ext: Any, stores) -> tuple[Any, str, Any]:
    """(store, key, media row or None) where a file of ``peer`` goes; 403 for another peer's media."""
    media_store, derivatives = stores
    if variant == "report":
        return media_store, media_store.key_for(sha256, str(ext)), None
    msha = media_sha256 if variant == "thumb" else sha256
    if not isinstance(msha, str) or not SHA256.match(msha):
        raise ValidationError("media_sha256 must name the media the thumbnail belongs to",
                              details={"field": "media_sha256"})
    media = owned_media(session, peer, msha)
    if media is None:
        raise Forbidden(f"no media with SHA-256 {msha} published by this area server", code="not_owner")
    if variant == "thumb":
        from ..ingest.derivatives import thumb_key

        return derivatives, thumb_key(msha), media
    return media_store, media.storage_key, media


def receive_bundle(session: Session, peer: HubPeer, files: Any, stores, data_dir: str) -> list[dict[str, Any]]:
    """Store a bundle of small files; each answered ``stored`` or ``refused`` (bad hash: send it again).

    The files are written, moved into their stores, then flushed to disk with one ``sync`` for the
    whole bundle (a thumbnail each with its own fsync costs ten times more on a busy disk); the
    answer, which the area server records as acknowledged, comes after it.
    """
    from ..ingest.derivatives import thumb_key
    from .protocol import unb64
    from .receive import owned_media_many

    if not isinstance(files, list) or len(files) > 5000:
        raise ValidationError("files must be a list of at most 5000", details={"field": "files"})
    for i, f in enumerate(files):
        if not isinstance(f, dict):
            raise ValidationError(f"files[{i}] must be an object")
        _check(f.get("sha256"), f.get("variant"), f.get("ext"))
        if f.get("variant") == "original":
            raise ValidationError("originals are sent in chunks (POST /hub/files)", details={"field": "variant"})
    media_store, derivatives = stores
    thumbs = [f.get("media_sha256") for f in files if f.get("variant") == "thumb"]
    if any(not isinstance(m, str) or not SHA256.match(m) for m in thumbs):
        raise ValidationError("media_sha256 must name the media each thumbnail belongs to",
                              details={"field": "media_sha256"})
    owned = owned_media_many(session, peer, list(set(thumbs)))
    foreign = [m for m in thumbs if m not in owned]
    if foreign:
        raise Forbidden(f"no media with SHA-256 {foreign[0]} published by this area server", code="not_owner")
    out = []
    with_thumbs: list[str] = []
    folder = Path(data_dir) / "hub-incoming" / peer.id
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix="bundle-") as tmp:
        for n, f in enumerate(files):
            sha, variant = f["sha256"], f["variant"]
            try:
                data = unb64(f.get("data") or "")
            except (ValueError, TypeError):
                out.append({"sha256": sha, "variant": variant, "status": "refused", "reason": "data is not base64"})
                continue
            if hashlib.sha256(data).hexdigest() != sha:
                out.append({"sha256": sha, "variant": variant, "status": "refused",
                            "reason": "SHA-256 of the bytes differs (corrupted on the way): send it again"})
                continue
            if variant == "thumb":
                store, key = derivatives, thumb_key(f["media_sha256"])
                media = owned[f["media_sha256"]]
                if not media.has_derivatives:
                    with_thumbs.append(media.id)
            else:
                store, key = media_store, media_store.key_for(sha, f["ext"])
            if not store.exists(key):
                part = Path(tmp) / str(n)
                part.write_bytes(data)
                store.put_move(part, key)
            out.append({"sha256": sha, "variant": variant, "status": "stored"})
    os.sync()
    if with_thumbs:
        session.execute(update(Media).where(col(Media.id).in_(with_thumbs)).values(has_derivatives=True))
    return out


def _part(data_dir: str, peer: HubPeer, sha256: Any, variant: Any) -> Path:
    folder = Path(data_dir) / "hub-incoming" / peer.id
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{sha256}.{variant}.part"


def start_file(session: Session, peer: HubPeer, body: dict, stores, data_dir: str) -> dict[str, Any]:
    """Start or resume a chunked file: ``{"offset", "complete"}``."""
    sha, variant, size = body.get("sha256"), body.get("variant"), body.get("size")
    _check(sha, variant, body.get("ext"))
    if variant == "thumb":
        raise ValidationError("thumbnails are sent in bundles", details={"field": "variant"})
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ValidationError("size must be the file's size in bytes", details={"field": "size"})
    store, key, _m = _target(session, peer, sha, variant, None, body.get("ext"), stores)
    if store.exists(key):
        return {"offset": size, "complete": True}
    part = _part(data_dir, peer, sha, variant)
    offset = part.stat().st_size if part.exists() else 0
    if offset > size:  # a part from a different claim of this hash: start again
        part.unlink()
        offset = 0
    return {"offset": offset, "complete": False}


def receive_chunk(session: Session, peer: HubPeer, sha256: str, variant: str, offset_header: Optional[str],
                  checksum_header: Optional[str], size_header: Optional[str], ext: Optional[str], chunk: bytes,
                  stores, data_dir: str) -> dict[str, Any]:
    """Append one chunk at ``Upload-Offset`` after checking its SHA-256; the file enters the store once whole
    and verified. 409 with the current offset when the offset is not where the file stands."""
    _check(sha256, variant, ext)
    try:
        offset, size = int(offset_header or ""), int(size_header or "")
    except ValueError:
        raise ValidationError("Upload-Offset and Upload-Length must be whole numbers") from None
    algo, _, digest = (checksum_header or "").partition(" ")
    if algo.lower() != "sha256" or not SHA256.match(digest.strip()):
        raise ValidationError("Upload-Checksum must be 'sha256 <hex digest of the chunk>'", code="checksum_missing")
    store, key, _m = _target(session, peer, sha256, variant, None, ext, stores)
    if store.exists(key):
        return {"offset": size, "complete": True}
    part = _part(data_dir, peer, sha256, variant)
    have = part.stat().st_size if part.exists() else 0
    if offset != have:
        raise Conflict(f"the file stands at offset {have}, not {offset}", code="offset_mismatch",
                       details={"offset": have})
    if hashlib.sha256(chunk).hexdigest() != digest.strip():
        raise ValidationError("the chunk's SHA-256 differs from Upload-Checksum (corrupted on the way): "
                              "nothing was written, send it again", code="checksum_mismatch",
                              details={"offset": have})
    if have + len(chunk) > size:
        raise ValidationError("the chunk runs past Upload-Length", code="too_long")
    with open(part, "ab") as fh:
        fh.write(chunk)
        fh.flush()
        os.fsync(fh.fileno())
    have += len(chunk)
    if have < size:
        return {"offset": have, "complete": False}
    h = hashlib.sha256()
    with open(part, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    if h.hexdigest() != sha256:
        part.unlink()
        raise ValidationError("the whole file's SHA-256 differs from the one announced: the part was dropped, "
                              "send the file again", code="file_hash_mismatch", details={"offset": 0})
    store.put_move(part, key)
    if variant == "original":
        from .peers import original_received

        original_received(session, peer, sha256)
        session.commit()
    return {"offset": have, "complete": True}
