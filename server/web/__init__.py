"""Server-rendered web UI: sign-in and the pages of each feature (blueprints)."""
from __future__ import annotations

from flask import Blueprint, Flask, g, redirect, render_template, request, session, url_for
from sqlmodel import select

from ..auth import login_user, logout_user
from ..auth.passwords import verify_password
from ..db import get_session
from ..i18n import LANGUAGES, gettext as _
from ..models import User

web = Blueprint("web", __name__)


def error_page(status: int, message: str):
    return render_template("error.html", status=status, message=message), status


def login_required(view):
    import functools

    @functools.wraps(view)
    def wrapped(**kw):
        if g.get("user") is None:
            return redirect(url_for("web.login", next=request.full_path))
        return view(**kw)

    return wrapped


@web.route("/")
@login_required
def index():
    from ..auth.permissions import visible_area_ids
    from ..models import ProtectedArea

    s = get_session()
    visible = visible_area_ids(s, g.user)
    stmt = select(ProtectedArea).order_by(ProtectedArea.code)
    if visible is not None:
        stmt = stmt.where(ProtectedArea.id.in_(visible))
    return render_template("index.html", areas=list(s.exec(stmt)))


@web.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        user = get_session().exec(select(User).where(User.username == request.form.get("username", ""))).first()
        if user and user.active and verify_password(user.password_hash, request.form.get("password", "")):
            login_user(user)
            nxt = request.args.get("next", "")
            # Only local paths: no open redirect.
            return redirect(nxt if nxt.startswith("/") and not nxt.startswith("//") else url_for("web.index"))
        error = _("Wrong username or password")
    return render_template("login.html", error=error), (401 if error else 200)


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
    nxt = request.form.get("next", "/")
    return redirect(nxt if nxt.startswith("/") and not nxt.startswith("//") else "/")


def init_app(app: Flask) -> None:
    app.register_blueprint(web)
