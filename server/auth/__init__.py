"""Authentication (browser sessions with CSRF, bearer tokens) and authorisation.

Every request resolves its user once, here: a bearer token in the
Authorization header, else the signed session cookie. Cookie-authenticated
requests that change state must carry the session's CSRF token (header
``X-CSRF-Token`` or form field ``csrf_token``); token-authenticated requests
carry no cookies and need none.

A session is valid only while its user's ``session_version`` (stamped into the
cookie at sign-in) is unchanged: sign-out, a password change and deactivation
bump it, so a copied cookie stops working at once (server/auth/revocation.py).
The sign-in form itself carries a CSRF token of the pre-session cookie, so
another site cannot sign a browser in to an account of its choosing.
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
    session["sv"] = user.session_version
    session["csrf"] = secrets.token_urlsafe(32)
    session.permanent = True


def login_csrf_ok() -> bool:
    """True when a sign-in form post carries the CSRF token of this browser's pre-session."""
    sent = request.form.get("csrf_token", "")
    expected = session.get("csrf", "")
    return bool(sent and expected) and hmac.compare_digest(sent, expected)


def logout_user() -> None:
    """End the browser session, and every other session of its user (the version is bumped)."""
    from .revocation import end_sessions

    user = g.get("user")
    if user is not None and g.get("auth_method") == "session":
        end_sessions(user)
        get_session().commit()
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
        if user is not None and user.active and session.get("sv") == user.session_version:
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
