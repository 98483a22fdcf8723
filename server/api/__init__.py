"""REST API under /api/v1: one module per resource, all on one blueprint.

Which resource modules exist is declared in :data:`server.features.FEATURES` (``api``).
"""
from __future__ import annotations

import importlib

from flask import Flask, g, jsonify, request
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from classifiers.safe_image import ImageTooLarge

from .. import features
from ..dberrors import data_error, disk_full_error, integrity_error, is_disk_full
from ..errors import SaolaError
from .core import SPECS, Page, PageQuery, api, endpoint, paginate  # noqa: F401

# Resource modules register their routes on import; sorted, so the registration order (and the
# order of the OpenAPI components) does not depend on the order features are listed in.
for _module in sorted(features.modules("api")):
    importlib.import_module(_module)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def init_app(app: Flask) -> None:
    """Register the API blueprint and JSON error answers."""
    app.register_blueprint(api)

    @app.errorhandler(SaolaError)
    def _answer(err: SaolaError):
        from ..db import get_session

        if "db" in g:
            get_session().rollback()
        if not _wants_json():
            from ..web import error_page

            return (*error_page(err.status, err.message), err.headers)
        return jsonify(err.to_dict()), err.status, err.headers

    @app.errorhandler(ImageTooLarge)
    def _image_too_large(e: ImageTooLarge):
        # A stored or uploaded photo declares more pixels than MAX_IMAGE_MPIXELS: never decoded.
        return _answer(SaolaError(str(e), status=422, code="image_too_large"))

    @app.errorhandler(IntegrityError)
    def _integrity(e: IntegrityError):
        if is_disk_full(e):
            return _answer(disk_full_error())
        return _answer(integrity_error(e))

    @app.errorhandler(DataError)
    def _data(e: DataError):
        if is_disk_full(e):
            return _answer(disk_full_error())
        return _answer(data_error(e))

    @app.errorhandler(DBAPIError)
    def _database(e: DBAPIError):
        if is_disk_full(e):
            return _answer(disk_full_error())
        raise e  # anything else stays a 500 (logged with its traceback)

    @app.errorhandler(OSError)
    def _os_error(e: OSError):
        if is_disk_full(e):
            return _answer(disk_full_error())
        raise e

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(e):
        limit = app.config["MAX_CONTENT_LENGTH"]
        err = SaolaError(f"request body too large (limit {limit // (1024 * 1024)} MiB)", status=413,
                         code="too_large")
        return jsonify(err.to_dict()), 413

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        if not _wants_json():
            return e
        err = SaolaError(e.description or e.name, status=e.code or 500,
                         code=(e.name or "error").lower().replace(" ", "_"))
        return jsonify(err.to_dict()), e.code
