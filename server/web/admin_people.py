"""Administration pages about people: the members of an area and their roles, accounts
(create, invite, reset the password, deactivate), device tokens, and the one-time link page
where an invited person chooses their password.

Rules (server/services/users.py): administrators manage everything; a manager manages
the roles below manager in their areas and the accounts that hold only such roles there.
Areas load through server/auth/permissions.py (404 for non-members, 403 below manager).
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, session as cookie, url_for
from sqlmodel import col, or_, select

from protocols.text import fold

from ..api.schemas import UserIn, UserPatch
from ..auth import login_csrf_ok
from ..auth.permissions import load_area, require_admin, visible_area_ids
from ..db import get_session
from ..errors import Forbidden, NotFound, SaolaError
from ..i18n import gettext as _
from ..models import DeviceToken, Membership, ProtectedArea, User, utcnow
from ..services import users as user_service
from . import login_required
from .forms import service_errors, text, validate

bp = Blueprint("admin_people", __name__)
PAGE = 100
LANGUAGE_CHOICES = [("vi", "Tiếng Việt"), ("en", "English")]


def _shown_link() -> dict[str, str] | None:
    """A link made by the last action, shown once on the next page."""
    return cookie.pop("shown_link", None)


def _show_link(user: User, purpose: str) -> None:
    token = user_service.link_token(get_session(), user, purpose)
    cookie["shown_link"] = {"user_id": user.id, "purpose": purpose,
                            "url": url_for(".welcome", token=token, _external=True)}


def _account_form() -> dict[str, Any]:
    f = request.form
    return {"username": text(f, "username"), "full_name": text(f, "full_name"), "email": text(f, "email"),
            "language": f.get("language") or "vi"}


def _create_account(values: dict[str, Any], errors: dict[str, str]) -> User | None:
    """An account from the form: with the typed temporary password, or invited (a link)."""
    mode = request.form.get("password_mode") or "invite"
    password = request.form.get("password") or ""
    body, more = validate(UserIn, {**values, "password": password or "-"})
    errors.update(more)
    if mode == "password" and not password:
        errors["password"] = _("This field is required.")
    if body is None or errors:
        return None
    data = body.model_dump(exclude={"password"})
    try:
        user = user_service.create_user(get_session(), data, password if mode == "password" else None)
    except SaolaError as e:
        get_session().rollback()
        errors.update(service_errors(e, "username"))
        return None
    if mode != "password":
        _show_link(user, "invite")
    return user


# ---- members of an area -------------------------------------------------------------------------------
def _members_page(area: ProtectedArea, my_role: str, errors: dict[str, str] | None = None,
                  values: dict[str, Any] | None = None, status: int = 200):
    s = get_session()
    rows = list(s.exec(select(Membership, User).join(User, col(User.id) == Membership.user_id)
                       .where(Membership.area_id == area.id).order_by(col(User.username))))
    me = g.user
    manageable = {u.id for _m, u in rows if user_service.manages_account(s, me, u)}
    return render_template("admin_members.html", area=area, nav="members", rows=rows, my_role=my_role,
                           roles=user_service.managed_roles(my_role), manageable=manageable,
                           role_choices=[(r, _(r)) for r in user_service.managed_roles(my_role)],
                           errors=errors or {}, values=values or {"language": "vi", "role": "ranger"},
                           languages=LANGUAGE_CHOICES, link=_shown_link(), invited=user_service.invited), status


@bp.route("/admin/areas/<area_id>/members")
@login_required
def members(area_id: str):
    area, my_role = load_area(get_session(), area_id, "manager")
    return _members_page(area, my_role)


@bp.route("/admin/areas/<area_id>/members", methods=["POST"])
@login_required
def add_member(area_id: str):
    """Give an existing account (by its exact username) a role in the area."""
    s = get_session()
    area, my_role = load_area(s, area_id, "manager")
    username = (request.form.get("add_username") or "").strip()
    role = request.form.get("role") or ""
    user = s.exec(select(User).where(User.username == username)).first() if username else None
    if user is None:
        msg = _("This field is required.") if not username else _("No account is called {name}.", name=username)
        return _members_page(area, my_role, {"add_username": msg}, {"add_username": username}, 422)
    try:
        user_service.grant(s, area, my_role, user, role)
    except SaolaError as e:
        s.rollback()
        return _members_page(area, my_role, {"add_role": e.message}, {"add_username": username}, e.status)
    flash(_("{name} is now {role} in {area}.", name=user.username, role=_(role), area=area.code), "ok")
    return redirect(url_for(".members", area_id=area.id))


@bp.route("/admin/areas/<area_id>/members/new", methods=["POST"])
@login_required
def new_member(area_id: str):
    """Create an account with a role in this area (password typed, or an invitation link)."""
    s = get_session()
    area, my_role = load_area(s, area_id, "manager")
    role = request.form.get("role") or ""
    values = {**_account_form(), "role": role, "password_mode": request.form.get("password_mode") or "invite"}
    errors: dict[str, str] = {}
    if role not in user_service.managed_roles(my_role):
        errors["role"] = _("Choose one of the listed values.")
    user = None if errors else _create_account(_account_form(), errors)
    if user is None:
        return _members_page(area, my_role, errors, values, 422)
    user_service.grant(s, area, my_role, user, role)
    flash(_("Account {name} created: {role} in {area}.", name=user.username, role=_(role), area=area.code), "ok")
    return redirect(url_for(".members", area_id=area.id))


@bp.route("/admin/areas/<area_id>/members/<user_id>", methods=["POST"])
@login_required
def change_role(area_id: str, user_id: str):
    s = get_session()
    area, my_role = load_area(s, area_id, "manager")
    user = s.get(User, user_id)
    if user is None or user_service.member(s, area.id, user_id) is None:
        raise NotFound(_("That person is not a member of this protected area."))
    role = request.form.get("role") or ""
    user_service.grant(s, area, my_role, user, role)
    flash(_("{name} is now {role} in {area}.", name=user.username, role=_(role), area=area.code), "ok")
    return redirect(url_for(".members", area_id=area.id))


@bp.route("/admin/areas/<area_id>/members/<user_id>/remove", methods=["POST"])
@login_required
def remove_member(area_id: str, user_id: str):
    s = get_session()
    area, my_role = load_area(s, area_id, "manager")
    user = s.get(User, user_id)
    user_service.remove(s, area, my_role, user_id)
    flash(_("{name} no longer has a role in {area}.", name=user.username if user else user_id, area=area.code), "ok")
    return redirect(url_for(".members", area_id=area.id))


# ---- accounts ---------------------------------------------------------------------------------------------
@bp.route("/admin/users")
@login_required
def users():
    """Every account (administrators): search by username or name, roles per area."""
    require_admin()
    s = get_session()
    q = (request.args.get("q") or "").strip()
    after = request.args.get("after") or ""
    stmt = select(User).order_by(col(User.username))
    if q:
        like = f"%{fold(q)}%"
        stmt = stmt.where(or_(col(User.username).ilike(like), col(User.full_name).ilike(like),
                              col(User.username).ilike(f"%{q}%"), col(User.full_name).ilike(f"%{q}%")))
    if after:
        stmt = stmt.where(col(User.username) > after)
    rows = list(s.exec(stmt.limit(PAGE + 1)))
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    roles: dict[str, list[tuple[str, str]]] = {u.id: [] for u in rows}
    if rows:
        for m, code in s.exec(select(Membership, ProtectedArea.code).join(
                ProtectedArea, col(ProtectedArea.id) == Membership.area_id).where(
                col(Membership.user_id).in_(list(roles))).order_by(col(ProtectedArea.code))):
            roles[m.user_id].append((code, m.role))
    return render_template("admin_users.html", area=None, nav="users", rows=rows, roles=roles, q=q,
                           next_after=rows[-1].username if more else None, invited=user_service.invited)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@login_required
def user_new():
    require_admin()
    s = get_session()
    areas = list(s.exec(select(ProtectedArea).order_by(ProtectedArea.code)))
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"language": "vi", "password_mode": "invite", "role": "ranger"}
    if request.method == "POST":
        values = {**_account_form(), "is_admin": bool(request.form.get("is_admin")),
                  "is_national": bool(request.form.get("is_national")),
                  "area_id": request.form.get("area_id") or "", "role": request.form.get("role") or "",
                  "password_mode": request.form.get("password_mode") or "invite"}
        area = s.get(ProtectedArea, values["area_id"]) if values["area_id"] else None
        if values["area_id"] and (area is None or values["role"] not in user_service.managed_roles("admin")):
            errors["role"] = _("Choose one of the listed values.")
        user = None if errors else _create_account({k: values[k] for k in ("username", "full_name", "email",
                                                                             "language", "is_admin",
                                                                             "is_national")}, errors)
        if user is not None:
            if area is not None:
                user_service.grant(s, area, "admin", user, values["role"])
            flash(_("Account {name} created.", name=user.username), "ok")
            return redirect(url_for(".user_page", user_id=user.id))
    return render_template("admin_user_new.html", area=None, nav="users", values=values, errors=errors,
                           area_choices=[(a.id, f"{a.code} · {a.name}") for a in areas], languages=LANGUAGE_CHOICES,
                           role_choices=[(r, _(r)) for r in user_service.managed_roles("admin")]), \
        (422 if errors else 200)


def _account(user_id: str) -> User:
    """An account the signed-in user manages (administrators: any; managers: see manages_account), else 403."""
    s = get_session()
    user = s.get(User, user_id) if user_id else None
    if user is None:
        if g.user.is_admin:
            raise NotFound(_("No such account."))
        raise Forbidden(_("You may not manage this account: it has roles outside the areas you manage."))
    user_service.require_manages(s, g.user, user)
    return user


def _user_page(user: User, errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
               status: int = 200):
    s = get_session()
    memberships = list(s.exec(select(Membership, ProtectedArea).join(
        ProtectedArea, col(ProtectedArea.id) == Membership.area_id).where(Membership.user_id == user.id)
        .order_by(col(ProtectedArea.code))))
    tokens = list(s.exec(select(DeviceToken).where(DeviceToken.user_id == user.id)
                         .order_by(col(DeviceToken.created_at).desc()).limit(50)))
    values = values or {"full_name": user.full_name, "email": user.email, "language": user.language}
    return render_template("admin_user.html", area=None, nav="users" if g.user.is_admin else "members", user=user,
                           memberships=memberships, token_pairs=[(t, user) for t in tokens], errors=errors or {},
                           values=values,
                           languages=LANGUAGE_CHOICES, link=_shown_link(), invited=user_service.invited(user),
                           now=utcnow(), token_state=token_state), status


@bp.route("/admin/users/<user_id>", methods=["GET", "POST"])
@login_required
def user_page(user_id: str):
    user = _account(user_id)
    if request.method == "GET":
        return _user_page(user)
    values = _account_form()
    values.pop("username")
    body, errors = validate(UserPatch, values)
    if body is None:
        return _user_page(user, errors, values, 422)
    changes = body.model_dump(include={"full_name", "email", "language"})
    if g.user.is_admin and user.id != g.user.id:
        changes["is_admin"] = bool(request.form.get("is_admin"))
    if g.user.is_admin:
        changes["is_national"] = bool(request.form.get("is_national"))
    user_service.update_user(get_session(), user, changes)
    flash(_("Changes saved."), "ok")
    return redirect(url_for(".user_page", user_id=user.id))


@bp.route("/admin/users/<user_id>/password", methods=["POST"])
@login_required
def user_password(user_id: str):
    """Set a temporary password (policy checked); every sign-in of the account ends."""
    user = _account(user_id)
    password = request.form.get("password") or ""
    if not password:
        return _user_page(user, {"password": _("This field is required.")}, status=422)
    try:
        user_service.set_password(get_session(), user, password)
    except SaolaError as e:
        get_session().rollback()
        return _user_page(user, service_errors(e, "password"), status=e.status)
    flash(_("New password set for {name}; their other sign-ins and device tokens were ended.", name=user.username),
          "ok")
    return redirect(url_for(".user_page", user_id=user.id))


@bp.route("/admin/users/<user_id>/link", methods=["POST"])
@login_required
def user_link(user_id: str):
    """A one-time link for the person to choose their password (copied and handed over)."""
    user = _account(user_id)
    _show_link(user, "invite" if user_service.invited(user) else "reset")
    return redirect(url_for(".user_page", user_id=user.id))


@bp.route("/admin/users/<user_id>/active", methods=["POST"])
@login_required
def user_active(user_id: str):
    """Deactivate (every sign-in and token ends) or reactivate an account."""
    user = _account(user_id)
    if user.id == g.user.id:
        raise Forbidden(_("You cannot deactivate your own account."))
    active = request.form.get("active") == "1"
    user_service.update_user(get_session(), user, {"active": active})
    flash(_("{name} can sign in again.", name=user.username) if active else
          _("{name} is deactivated: their sessions and device tokens were ended.", name=user.username), "ok")
    return redirect(url_for(".user_page", user_id=user.id))


# ---- device tokens ----------------------------------------------------------------------------------------
def token_state(t: DeviceToken, now) -> str:
    """live, expired or revoked."""
    from ..timeutil import as_utc

    if t.revoked_at is not None:
        return "revoked"
    if t.expires_at is not None and as_utc(t.expires_at) <= now:
        return "expired"
    return "live"


@bp.route("/admin/tokens")
@login_required
def tokens():
    """Device and API tokens: every one (administrators), or those of the accounts a manager manages."""
    s = get_session()
    me = g.user
    ids = visible_area_ids(s, me, "manager")
    if ids is not None and not ids:
        raise Forbidden(_("Administration is for managers of a protected area and administrators."))
    show = request.args.get("show") or "live"
    stmt = select(DeviceToken, User).join(User, col(User.id) == DeviceToken.user_id)
    if ids is not None:  # managers: members below manager of their areas (checked per account below)
        members_ = select(Membership.user_id).where(col(Membership.area_id).in_(ids),
                                                    col(Membership.role).in_(["viewer", "ranger", "biologist"]))
        stmt = stmt.where(col(DeviceToken.user_id).in_(members_))
    if show == "live":
        stmt = stmt.where(col(DeviceToken.revoked_at).is_(None))
    rows = [(t, u) for t, u in s.exec(stmt.order_by(col(DeviceToken.created_at).desc()).limit(500))
            if me.is_admin or user_service.manages_account(s, me, u)]
    return render_template("admin_tokens.html", area=None, nav="tokens", rows=rows, show=show, now=utcnow(),
                           token_state=token_state)


@bp.route("/admin/tokens/<token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: str):
    s = get_session()
    if not visible_area_ids(s, g.user, "manager") and not g.user.is_admin:
        raise Forbidden(_("Administration is for managers of a protected area and administrators."))
    row = s.get(DeviceToken, token_id) if token_id else None
    owner = s.get(User, row.user_id) if row is not None else None
    if row is None or owner is None or not user_service.manages_account(s, g.user, owner):
        raise NotFound(_("No such token."))
    from ..services.tokens import revoke

    revoke(s, row)
    flash(_("Token {prefix}… of {name} revoked: that device must sign in again.", prefix=row.prefix,
            name=owner.username), "ok")
    return redirect(request.form.get("next") if (request.form.get("next") or "").startswith("/admin/")
                    else url_for(".tokens"))


# ---- the one-time link ----------------------------------------------------------------------------------------
@bp.route("/welcome/<token>", methods=["GET", "POST"])
def welcome(token: str):
    """Choose a password through an invitation or reset link (no sign-in needed)."""
    s = get_session()
    try:
        user, purpose = user_service.user_of_link(s, token)
    except NotFound as e:
        return render_template("error.html", status=404, message=e.message), 404
    errors: dict[str, str] = {}
    if request.method == "POST":
        if g.get("user") is None and not login_csrf_ok():
            errors["password"] = _("The form expired; please try again.")
        else:
            password = request.form.get("password") or ""
            if password != (request.form.get("password2") or ""):
                errors["password2"] = _("The two passwords differ.")
            else:
                try:
                    user_service.set_password(s, user, password, action="password_set")
                except SaolaError as e:
                    s.rollback()
                    errors = service_errors(e, "password")
                else:
                    flash(_("Your password is set. Sign in with it."), "ok")
                    return redirect(url_for("web.login"))
    return render_template("welcome.html", user=user, purpose=purpose, errors=errors), (422 if errors else 200)

