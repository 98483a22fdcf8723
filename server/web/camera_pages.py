"""The administration page of an area's cellular cameras: their FTP logins (create, switch off
or on, new password) and the files they sent lately, with what became of each.

Managers of the area (server/auth/permissions.py: 404 for non-members, 403 below manager). A
password is shown once, in the answer to the request that made it, never stored or flashed.
"""
from __future__ import annotations

from typing import Any, Optional

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlmodel import col, select

from ..auth.permissions import load_area, load_in_area
from ..cellular import logins
from ..db import get_session
from ..i18n import gettext as _
from ..models import CameraLogin, CameraUpload, ProtectedArea
from . import login_required
from .forms import text

bp = Blueprint("camera_pages", __name__)
RECENT = 50


def _page(area: ProtectedArea, errors: Optional[dict[str, str]] = None, values: Optional[dict[str, Any]] = None,
          shown: Optional[tuple[str, str]] = None, status: int = 200):
    s = get_session()
    cams = list(s.exec(select(CameraLogin).where(CameraLogin.area_id == area.id).order_by(col(CameraLogin.username))))
    names = {c.id: c.username for c in cams}
    uploads = list(s.exec(select(CameraUpload).where(col(CameraUpload.login_id).in_(list(names)))
                          .order_by(col(CameraUpload.received_at).desc()).limit(RECENT))) if names else []
    return render_template("admin_cameras.html", area=area, nav="cameras", cameras=cams, uploads=uploads,
                           names=names, errors=errors or {}, values=values or {}, shown=shown), status


@bp.route("/admin/areas/<area_id>/cameras")
@login_required
def cameras(area_id: str):
    area, _role = load_area(get_session(), area_id, "manager")
    return _page(area)


@bp.route("/admin/areas/<area_id>/cameras", methods=["POST"])
@login_required
def camera_new(area_id: str):
    """Create a camera's login; the answer shows its password once."""
    from flask import g

    s = get_session()
    area, _role = load_area(s, area_id, "manager")
    values = {k: (request.form.get(k) or "").strip() for k in ("username", "camera_serial", "label", "mail_from")}
    errors: dict[str, str] = {}
    if not values["username"]:
        errors["username"] = _("This field is required.")
    else:
        why = logins.check_username(s, values["username"])
        if why:
            errors["username"] = _(why)
    for name, most in (("camera_serial", 100), ("label", 200)):
        if len(values[name]) > most:
            errors[name] = _("Enter at most {n} characters.", n=most)
    why = logins.check_mail_from(s, values["mail_from"])
    if why:
        errors["mail_from"] = _(why)
    if errors:
        return _page(area, errors, values, status=422)
    login, password = logins.create_login(s, area.id, values["username"], camera_serial=text(values, "camera_serial"),
                                          label=text(values, "label"), by=g.user.username,
                                          mail_from=text(values, "mail_from"))
    s.commit()
    return _page(area, shown=(login.username, password), status=201)


def _login(area_id: str, login_id: str) -> tuple[ProtectedArea, CameraLogin]:
    s = get_session()
    area, _role = load_area(s, area_id, "manager")
    login = load_in_area(s, CameraLogin, login_id, "manager", what="camera login").row
    if login.area_id != area.id:
        from ..errors import NotFound

        raise NotFound(f"no camera login with id {login_id!r}")
    return area, login


@bp.route("/admin/areas/<area_id>/cameras/<login_id>/active", methods=["POST"])
@login_required
def camera_active(area_id: str, login_id: str):
    """Switch a login off (a stolen or retired camera) or on again."""
    area, login = _login(area_id, login_id)
    on = request.form.get("active") == "1"
    logins.set_active(get_session(), login, on)
    get_session().commit()
    flash(_("Camera {name} can upload again.", name=login.username) if on
          else _("Camera {name} can no longer sign in.", name=login.username), "ok")
    return redirect(url_for(".cameras", area_id=area.id))


@bp.route("/admin/areas/<area_id>/cameras/<login_id>/password", methods=["POST"])
@login_required
def camera_password(area_id: str, login_id: str):
    """A new password for the camera (the old one stops working at once)."""
    area, login = _login(area_id, login_id)
    password = logins.reset_password(get_session(), login)
    get_session().commit()
    return _page(area, shown=(login.username, password))
