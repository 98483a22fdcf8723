"""The OpenAPI document and a health check."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Literal, Optional

from flask import current_app, jsonify
from pydantic import BaseModel, Field
from sqlalchemy import text

from ..db import get_session
from .core import endpoint
from .schemas import In


@endpoint("/openapi.json", summary="This API's OpenAPI 3.1 document", tags=["meta"], auth=False, raw=True)
def openapi():
    from .. import __version__
    from .openapi import build_document

    return jsonify(build_document(__version__))


#: The most the upload sink reads: the largest field photo an upload may carry.
SINK_MAX_BYTES = 200 * 1024 * 1024


class SinkQuery(In):
    store: Literal["0", "1"] = Field(default="0", description="1: write the body to disk and fsync it, then delete "
                                                              "it (administrators only)")


class SinkOut(BaseModel):
    bytes: int = Field(description="bytes received")


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    disk: dict[str, int] = Field(description="free MiB of DATA_DIR and MEDIA_DIR, and the minimum")
    problems: Optional[list[str]] = Field(default=None, description="why degraded")


@endpoint("/diagnostics/upload-sink", ["PUT"], summary="Measure the uplink: receive a body as one plain PUT, at most "
          "200 MiB (?store=1, administrators only: write it to disk and fsync it like a stored file, then delete it)",
          tags=["meta"], content_type="application/octet-stream", raw=True, query=SinkQuery, response=SinkOut,
          responses={403: "store=1 by a non-administrator", 413: "body over 200 MiB"})
def upload_sink(query: SinkQuery):
    """Signed-in users may measure their uplink; making the server write to its disk is an
    administrator's diagnostic (anyone else could fill the disk with it)."""
    import os
    import tempfile

    from flask import current_app, request

    from ..auth.permissions import require_admin
    from ..errors import SaolaError

    store = query.store == "1"
    if store:
        require_admin()
    if request.content_length is not None and request.content_length > SINK_MAX_BYTES:
        raise SaolaError(f"body too large: {request.content_length} bytes (limit {SINK_MAX_BYTES})", status=413,
                         code="too_large")
    n = 0
    stream = request.stream
    fd, name = tempfile.mkstemp(dir=current_app.config["DATA_DIR"], prefix=".sink-") if store else (None, None)
    try:
        with (os.fdopen(fd, "wb") if store else open(os.devnull, "wb")) as f:
            for block in iter(lambda: stream.read(1024 * 1024), b""):
                n += len(block)
                if n > SINK_MAX_BYTES:  # a chunked body has no length to check first
                    raise SaolaError(f"body too large (limit {SINK_MAX_BYTES} bytes)", status=413, code="too_large")
                if store:
                    f.write(block)
            if store:
                f.flush()
                os.fsync(f.fileno())
    finally:
        if name:
            os.unlink(name)
    return jsonify({"bytes": n})


def free_bytes(path: str) -> int:
    """Free space of the file system holding ``path`` (its nearest existing folder)."""
    p = Path(path).resolve()
    while not p.exists() and p != p.parent:
        p = p.parent
    return shutil.disk_usage(p).free


@endpoint("/health", summary="Liveness, database and free disk space", tags=["meta"], auth=False, raw=True,
          response=HealthOut, responses={503: ("degraded: DATA_DIR or MEDIA_DIR has less free space than "
                                               "SAOLA_MIN_FREE_MB", HealthOut)})
def health():
    """``ok`` (200) or ``degraded`` (503, with the problems) so monitoring sees a filling disk before
    uploads, sync and sign-in start answering 507."""
    get_session().exec(text("SELECT 1"))
    cfg = current_app.config
    minimum = int(cfg["MIN_FREE_MB"])
    disk: dict[str, int] = {}
    problems: list[str] = []
    for name in ("DATA_DIR", "MEDIA_DIR"):
        try:
            free = free_bytes(cfg[name]) // (1024 * 1024)
        except OSError as e:
            problems.append(f"{name}: free space unknown ({e.strerror or e})")
            continue
        disk[f"{name.lower()}_free_mb"] = free
        if free < minimum:
            problems.append(f"{name} has {free} MiB free, less than SAOLA_MIN_FREE_MB ({minimum} MiB)")
    body: dict = {"status": "degraded" if problems else "ok", "disk": {**disk, "min_free_mb": minimum}}
    if problems:
        body["problems"] = problems
    return jsonify(body), 503 if problems else 200
