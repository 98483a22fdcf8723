"""Authentication (browser sessions with CSRF, bearer tokens) and authorisation.

Every request resolves its user once, here: a bearer token in the
Authorization header, else the signed session cookie. Cookie-authenticated
requests that change state must carry the session's CSRF token (header
``X-CSRF-Token`` or form field ``csrf_token``); token-authenticated requests
carry no cookies and need none.
"""
from __future__ import annotations

import hmac
import secrets

from flask import Flask, g, request, session

from ..db import get_session
from ..errors import Forbidden, Unauthorized
from ..models import User
from .tokens import TokenProblem, resolve_token

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def csrf_token() -> str:
    """The CSRF token of the browser session (created on first use)."""
    tok = session.get("csrf")
    if not tok:
        tok = session["csrf"] = secrets.token_urlsafe(32)
    return tok


def login_user(user: User) -> None:
    """Start a browser session for ``user`` (new CSRF token, no session fixation)."""
    session.clear()
    session["uid"] = user.id
    session["csrf"] = secrets.token_urlsafe(32)
    session.permanent = True


def logout_user() -> None:
    session.clear()


def _load_user() -> None:
    try:
        _resolve_user()
    finally:
        # End the lookup's transaction at once: on SQLite a write request's
        # transaction holds the write lock, which views that open their own
        # short sessions (sync, jobs) would otherwise wait for.
        if "db" in g:
            g.db.commit()


def _resolve_user() -> None:
    g.user = None
    g.auth_method = None
    g.token = None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise Unauthorized("Authorization header must be 'Bearer <token>'")
        try:
            user, token = resolve_token(get_session(), raw.strip())
        except TokenProblem as e:
            raise Unauthorized(str(e), code="invalid_token") from None
        g.user, g.auth_method, g.token = user, "token", token
        return
    uid = session.get("uid")
    if uid:
        user = get_session().get(User, uid)
        if user is not None and user.active:
            g.user, g.auth_method = user, "session"
            if request.method not in SAFE_METHODS:
                sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token", "")
                if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
                    raise Forbidden("missing or wrong CSRF token", code="csrf")
        else:
            session.clear()


def init_app(app: Flask) -> None:
    from . import throttle

    throttle.init_app(app)
    app.before_request(_load_user)
    app.jinja_env.globals["csrf_token"] = csrf_token
