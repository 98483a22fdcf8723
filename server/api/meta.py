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


#: The most the upload sink reads: the largest field photo an upload may carry.
SINK_MAX_BYTES = 200 * 1024 * 1024


@endpoint("/diagnostics/upload-sink", ["PUT"], summary="Measure the uplink: receive a body as one plain PUT, at most "
          "200 MiB (?store=1, administrators only: write it to disk and fsync it like a stored file, then delete it)",
          tags=["meta"], content_type="application/octet-stream", raw=True,
          responses={403: "store=1 by a non-administrator", 413: "body over 200 MiB"})
def upload_sink():
    """Signed-in users may measure their uplink; making the server write to its disk is an
    administrator's diagnostic (anyone else could fill the disk with it)."""
    import os
    import tempfile

    from flask import current_app, request

    from ..auth.permissions import require_admin
    from ..errors import SaolaError

    store = request.args.get("store") == "1"
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


@endpoint("/health", summary="Liveness and database check", tags=["meta"], auth=False, raw=True)
def health():
    get_session().exec(text("SELECT 1"))
    return jsonify({"status": "ok"})
