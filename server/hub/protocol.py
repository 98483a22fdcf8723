"""The publishing protocol shared by an area server and its hub.

An area server sends **batches** of records (``POST /api/v1/hub/batches``), each record as
``{"kind", "id", "hash", "data", "taxa"}`` or a tombstone ``{"kind", "id", "deleted": true}``,
parents before children (:data:`server.hub.kinds.KINDS` order), deletions children first.

- **Content hashes** (:func:`content_hash`): SHA-256 of the record's canonical JSON. The area
  keeps the hash its hub acknowledged for each record (``publish_state``) and sends only records
  whose hash changed, and a tombstone for each one that is gone: every write path (ingest, review,
  the API, tablet sync, commands) is covered, because the area compares what it *has* with what it
  *sent*, not a log of writes.
- **Revisions**: each batch carries ``rev``, a logical clock of the area server (a counter in
  ``server_state``, raised above the hub's last seen value at the start of every run). The hub
  writes a record only when the batch's ``rev`` is above the record's stored one: a replayed or
  delayed old batch writes nothing. Neither side's wall clock orders anything; the hub stamps
  ``received_at`` with its own.
- **Files** (thumbnails, originals, reports) are content-addressed: small ones in bundles
  (``POST /api/v1/hub/files/bundle``, each checked against its SHA-256), large ones in resumable
  chunks (``POST /api/v1/hub/files`` then ``PATCH`` at ``Upload-Offset`` with
  ``Upload-Checksum: sha256 <hex>`` per chunk; a corrupted chunk is refused and sent again).
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import date, datetime
from typing import Any

#: The header an area server's token travels in (not ``Authorization``: that names a user).
TOKEN_HEADER = "X-Saola-Hub-Token"
TOKEN_PREFIX = "saola-hub-"
#: Records per batch and bytes per bundle / chunk the publisher sends.
BATCH_RECORDS = 500
MAX_BATCH_RECORDS = 2000
BUNDLE_BYTES = 1 << 20
CHUNK_BYTES = 1 << 20
#: File variants a hub accepts.
VARIANTS = ("thumb", "original", "report")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def jsonable(value: Any) -> Any:
    """``value`` as JSON can carry it (times and dates as ISO 8601)."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def canonical(payload: Any) -> bytes:
    """The canonical JSON bytes of ``payload`` (sorted keys, no spaces), which the hash is taken of."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def content_hash(payload: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``payload``."""
    return hashlib.sha256(canonical(payload)).hexdigest()


def token_hash(token: str) -> str:
    """What the hub stores of a peer token."""
    return hashlib.sha256(token.encode()).hexdigest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def hub_key(url: str) -> str:
    """The key of a hub in an area server's ``publish_state`` (a prefix of its URL's SHA-256)."""
    return hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:32]
