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


@endpoint("/health", summary="Liveness and database check", tags=["meta"], auth=False, raw=True)
def health():
    get_session().exec(text("SELECT 1"))
    return jsonify({"status": "ok"})
