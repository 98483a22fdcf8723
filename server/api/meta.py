"""The OpenAPI document and a health check."""
from __future__ import annotations

from flask import jsonify
from sqlalchemy import text

from ..db import get_session
from .core import endpoint


@endpoint("/openapi.json", summary="This API's OpenAPI 3.1 document", tags=["meta"], auth=False, raw=True)
def openapi():
    from .. import __version__
    from .openapi import build_document

    return jsonify(build_document(__version__))


@endpoint("/diagnostics/upload-sink", ["PUT"], summary="Measure the uplink: receive a body as one plain PUT "
          "(?store=1 writes it to disk and fsyncs it like a stored file, then deletes it)", tags=["meta"],
          content_type="application/octet-stream", raw=True)
def upload_sink():
    import os
    import tempfile

    from flask import current_app, request

    n = 0
    stream = request.stream
    if request.args.get("store") == "1":
        fd, name = tempfile.mkstemp(dir=current_app.config["DATA_DIR"], prefix=".sink-")
        try:
            with os.fdopen(fd, "wb") as f:
                for block in iter(lambda: stream.read(1024 * 1024), b""):
                    n += len(block)
                    f.write(block)
                f.flush()
                os.fsync(f.fileno())
        finally:
            os.unlink(name)
    else:
        for block in iter(lambda: stream.read(1024 * 1024), b""):
            n += len(block)
    return jsonify({"bytes": n})


@endpoint("/health", summary="Liveness and database check", tags=["meta"], auth=False, raw=True)
def health():
    get_session().exec(text("SELECT 1"))
    return jsonify({"status": "ok"})
