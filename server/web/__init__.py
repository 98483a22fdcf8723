"""Server-rendered web UI: sign-in, language, and one blueprint per page group.

The page groups are declared in :data:`server.features.FEATURES` (``pages``):

- review_pages: the camera-trap review queue and repeated false positives (biologists)
- sound_pages: sound review and alerts
- conflict_pages: sync conflicts (biologists)
- manager_pages: protected-area overview, map and deployment calendar (managers)
- field_pages: synced field records (walks, observations, threats)
- admin_pages, admin_people, admin_models, admin_audit: administration (areas, programs, people,
  device tokens, models, the audit log) for managers and administrators, laid out by
  ``admin_base.html`` with the side menu of :mod:`server.web.admin_nav`

Every page checks the user's role in the protected area it shows
(server/auth/permissions.py); a user with no role there gets 404, so other
areas' ids do not leak. State-changing requests carry the CSRF token (forms:
``csrf_token`` field; JavaScript: ``X-CSRF-Token`` from the csrf-token meta tag).
"""
from __future__ import annotations

import functools

from flask import Blueprint, Flask, g, jsonify, redirect, render_template, request, session, url_for
from sqlmodel import select

from ..auth import login_csrf_ok, login_user, logout_user
from ..auth.throttle import authenticate, wait_message
from ..db import get_session
from ..errors import RetryLater, Unauthorized
from ..i18n import LANGUAGES, gettext as _
from ..models import User

web = Blueprint("web", __name__)


def error_page(status: int, message: str):
    return render_template("error.html", status=status, message=message), status


def login_required(view):
    """Send visitors who are not signed in to the sign-in page (then back)."""

    @functools.wraps(view)
    def wrapped(**kw):
        if g.get("user") is None:
            return redirect(url_for("web.login", next=request.full_path))
        return view(**kw)

    return wrapped


def areas_with_role(minimum: str = "viewer"):
    """The (area, role) pairs of the signed-in user with at least ``minimum``, by code."""
    from ..auth.permissions import RANK
    from ..models import Membership, ProtectedArea

    s = get_session()
    user = g.user
    if user.is_admin:
        return [(a, "admin") for a in s.exec(select(ProtectedArea).order_by(ProtectedArea.code))]
    rows = s.exec(select(ProtectedArea, Membership.role).join(Membership, Membership.area_id == ProtectedArea.id)
                  .where(Membership.user_id == user.id).order_by(ProtectedArea.code))
    return [(a, r) for a, r in rows if RANK[r] >= RANK[minimum]]


def safe_next(nxt: str | None, default: str = "/") -> str:
    """Only local paths: no open redirect."""
    nxt = nxt or ""
    return nxt if nxt.startswith("/") and not nxt.startswith("//") else default


@web.route("/")
@login_required
def index():
    return render_template("index.html", areas=areas_with_role("viewer"))


@web.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST" and not login_csrf_ok():
        return login_csrf_refused()
    if request.method == "POST":
        try:
            user = authenticate(request.form.get("username", ""), request.form.get("password", ""))
        except RetryLater as e:
            return render_template("login.html", error=wait_message(e)), e.status, e.headers
        except Unauthorized:
            error = _("Wrong username or password")
        else:
            login_user(user)
            return redirect(safe_next(request.args.get("next"), url_for("web.index")))
    return render_template("login.html", error=error), (401 if error else 200)


def login_csrf_refused():
    """403 for a sign-in post without this browser's form token (another site, or an old form):
    the form again with a fresh token (pages), or a JSON error."""
    message = _("The sign-in form expired or came from another site; please sign in again.")
    if request.accept_mimetypes.best == "application/json":
        return jsonify({"error": {"code": "csrf", "message": message}}), 403
    return render_template("login.html", error=message), 403


@web.route("/logout", methods=["POST"])
def logout():
    logout_user()
    return redirect(url_for("web.login"))


@web.route("/lang/<lang>", methods=["POST"])
def set_language(lang: str):
    if lang in LANGUAGES:
        session["lang"] = lang
        user = g.get("user")
        if user is not None:
            s = get_session()
            u = s.get(User, user.id)
            u.language = lang
            s.commit()
    return redirect(safe_next(request.form.get("next", "/")))


def local_text(value, tz: str | None = None, style: str = "datetime") -> str:
    """A stored (UTC) time as local time with its zone, ``2026-03-01 20:43:09 +07`` (the template
    filter ``localtime``). ``tz``: the deployment's zone; None is the installation's DEFAULT_TIMEZONE
    (field records, sync conflicts: no deployment)."""
    from flask import current_app

    from ..timeutil import format_local

    return format_local(value, tz or current_app.config.get("DEFAULT_TIMEZONE"), style)


def time_tag(value, tz: str | None = None, style: str = "datetime", raw=None):
    """``<time>`` of a stored time shown as :func:`local_text`, its UTC instant in ``datetime`` and
    the device's own clock reading (``raw``, e.g. Media.captured_at_raw) on hover."""
    from markupsafe import Markup

    from ..timeutil import as_utc, format_raw

    if value is None:
        return ""
    title = Markup(' title="{}"').format(_("Camera clock") + ": " + format_raw(raw)) if raw else ""
    return Markup('<time datetime="{}"{}>{}</time>').format(as_utc(value).isoformat(), title,
                                                            local_text(value, tz, style))


def query_suffix() -> str:
    """``?`` and this request's query string (empty without one): the review views link to each other
    with the same filters. Jinja escapes it in the attribute; it is never a whole URL."""
    qs = request.query_string.decode("utf-8", "replace")
    return "?" + qs if qs else ""


def init_app(app: Flask) -> None:
    """Register the sign-in blueprint and every feature's page blueprint."""
    from .. import features

    app.register_blueprint(web)
    for mod in features.load("pages"):
        app.register_blueprint(mod.bp)
    from . import admin_nav
    from .manager_pages import leaflet_installed

    admin_nav.init_app(app)
    app.jinja_env.globals["leaflet_installed"] = leaflet_installed
    app.jinja_env.globals["areas_with_role"] = areas_with_role
    app.jinja_env.globals["time_tag"] = time_tag
    app.jinja_env.globals["query_suffix"] = query_suffix
    app.jinja_env.filters["localtime"] = local_text
    from ..i18n import format_number

    app.jinja_env.filters["num"] = format_number  # numbers as the page's language writes them
