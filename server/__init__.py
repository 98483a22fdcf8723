"""Saola server: Flask application factory.

``create_app(config=None)`` builds the app from the settings registry
(``SAOLA_*`` environment variables) overridden by ``config``; each subsystem
attaches itself with its own ``init_app(app)``.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from . import settings as _settings

if TYPE_CHECKING:  # pragma: no cover
    from flask import Flask

__version__ = "0.1.0"


def create_app(config: dict[str, Any] | None = None, *, web: bool = True) -> Flask:
    """Create and configure the Saola Flask application.

    ``web=False``: no API, pages, sign-in or security headers, for commands that only work on the
    database and stores (``saola ingest``: its start-up is part of what a card costs).
    """
    # Flask is imported here, not at the top: every ``saola`` command imports this package, and
    # ``saola --help`` or ``saola config`` need no web framework.
    from flask import Flask

    cfg = _settings.resolve_paths(_settings.load(config))
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    from .staging import SpoolingRequest

    app.request_class = SpoolingRequest  # uploads spool on the data disk (server/staging.py)
    app.config.update(cfg)
    app.config["SECRET_KEY"] = cfg["SECRET_KEY"]
    app.config["MAX_CONTENT_LENGTH"] = cfg["MAX_REQUEST_MB"] * 1024 * 1024
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    from datetime import timedelta

    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=cfg["SESSION_HOURS"])
    # Keys that are not settings (e.g. TESTING) pass straight through.
    for k, v in (config or {}).items():
        if k.removeprefix("SAOLA_") not in _settings.REGISTRY:
            app.config[k] = v
    if cfg["TRUSTED_PROXIES"] > 0:  # believe X-Forwarded-For/-Proto from that many proxies, no more
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = cfg["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    logging.basicConfig(level=getattr(logging, str(cfg["LOG_LEVEL"]).upper(), logging.INFO))
    from classifiers.safe_image import set_max_pixels

    set_max_pixels(int(cfg["MAX_IMAGE_MPIXELS"]) * 1_000_000)  # every decode path, and Pillow's own check

    from . import db, storage

    db.init_app(app)
    storage.init_app(app)
    from .staging import clean_stale

    clean_stale(cfg["DATA_DIR"])  # uploads staged by a process that was killed

    from . import i18n, jobs

    if web:
        from . import api, auth, security
        from . import web as pages

        security.init_app(app)
    i18n.init_app(app)
    if web:
        auth.init_app(app)
        api.init_app(app)
        pages.init_app(app)
    jobs.init_app(app)
    return app
