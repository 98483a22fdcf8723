"""The audit log pages: who changed what, when, with filters and keyset pages.

* ``/admin/areas/<id>/audit`` (managers of the area; administrators): the area's entries.
* ``/admin/audit`` (administrators): every entry, filtered by area or installation-wide
  entries (users, models: no area).

Filters: user (username), action, object type, a date range (days in the installation's time
zone); each checked on the server with its message next to the field. Pages are keyset pages
over (time, id), newest first, so a page costs the same at any depth of a long log.
"""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy import and_, or_
from sqlmodel import col, select

from ..auth.permissions import load_area, require_admin
from ..db import get_session
from ..i18n import gettext as _
from ..models import AuditLog, ProtectedArea, User
from ..timeutil import as_utc, zone_or_utc
from . import login_required

bp = Blueprint("admin_audit", __name__)
PAGE = 50
NO_AREA = "-"  # the area filter's value for installation-wide entries


def _day(text: str | None, field: str, errors: dict[str, str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        errors[field] = _("Enter a date as YYYY-MM-DD.")
        return None


def _start_of(day: date) -> datetime:
    """The UTC instant a day starts in the installation's time zone."""
    tz = zone_or_utc(current_app.config.get("DEFAULT_TIMEZONE"))
    return datetime.combine(day, time(0), tzinfo=tz)


def _summary(entry: AuditLog) -> list[str]:
    """A few lines saying what changed: the fields an update changed, the name of what was created or deleted."""
    before = entry.before if isinstance(entry.before, dict) else {}
    after = entry.after if isinstance(entry.after, dict) else {}

    def short(v: Any) -> str:
        text = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
        return text if len(text) <= 60 else text[:57] + "…"

    if before and after:
        keys = [k for k in after if k not in ("updated_at", "revision") and before.get(k) != after.get(k)]
        return [f"{k}: {short(before.get(k))} → {short(after.get(k))}" for k in keys[:6]] + (
            [_("… and {n} more", n=len(keys) - 6)] if len(keys) > 6 else [])
    row = after or before
    for key in ("name", "code", "username", "scientific_name", "file_name", "model"):
        if isinstance(row.get(key), str):
            return [f"{key}: {short(row[key])}"]
    return []


def _page(area: ProtectedArea | None, nav: str, areas: list[ProtectedArea] | None):
    """The log page; ``area`` fixed (an area's page) or chosen with the ``area`` filter (``areas``)."""
    s = get_session()
    args = request.args
    errors: dict[str, str] = {}
    values = {k: (args.get(k) or "").strip() for k in ("area", "user", "action", "entity", "from", "to")}
    scope: list[Any] = []  # the part of the log the page covers
    if area is not None:
        scope.append(AuditLog.area_id == area.id)
    elif values["area"] == NO_AREA:
        scope.append(col(AuditLog.area_id).is_(None))
    elif values["area"]:
        if not any(a.id == values["area"] for a in areas or []):
            errors["area"] = _("Choose one of the listed values.")
        scope.append(AuditLog.area_id == values["area"])
    stmt = select(AuditLog).where(*scope)
    if values["user"]:
        user = s.exec(select(User).where(User.username == values["user"])).first()
        if user is None:
            errors["user"] = _("No account is called {name}.", name=values["user"][:100])
        else:
            stmt = stmt.where(AuditLog.user_id == user.id)
    # The choices of action and object type: those in the part of the log the page covers.
    actions = sorted(a for a in s.exec(select(AuditLog.action).where(*scope).distinct()) if a)
    entities = sorted(e for e in s.exec(select(AuditLog.entity).where(*scope).distinct()) if e)
    if values["action"]:
        if len(values["action"]) > 16:
            errors["action"] = _("Choose one of the listed values.")
        stmt = stmt.where(AuditLog.action == values["action"])
    if values["entity"]:
        if len(values["entity"]) > 64:
            errors["entity"] = _("Choose one of the listed values.")
        stmt = stmt.where(AuditLog.entity == values["entity"])
    start, end = _day(values["from"], "from", errors), _day(values["to"], "to", errors)
    if start and end and end < start:
        errors["to"] = _("The end date is before the start date.")
    if start:
        stmt = stmt.where(col(AuditLog.at) >= _start_of(start))
    if end:
        stmt = stmt.where(col(AuditLog.at) < _start_of(end + timedelta(days=1)))
    after = args.get("after") or ""
    if after:
        try:
            at_text, id_text = after.split("|", 1)
            at, last_id = datetime.fromisoformat(at_text), int(id_text)
        except ValueError:
            abort(400)
        stmt = stmt.where(or_(col(AuditLog.at) < at, and_(col(AuditLog.at) == at, col(AuditLog.id) < last_id)))
    rows: list[AuditLog] = []
    more = False
    if not errors:
        rows = list(s.exec(stmt.order_by(col(AuditLog.at).desc(), col(AuditLog.id).desc()).limit(PAGE + 1)))
        more = len(rows) > PAGE
        rows = rows[:PAGE]
    codes = {a.id: a.code for a in s.exec(select(ProtectedArea).where(
        col(ProtectedArea.id).in_({r.area_id for r in rows} - {None})))} if rows else {}
    next_after = f"{as_utc(rows[-1].at).isoformat()}|{rows[-1].id}" if more else None
    details = {r.id: json.dumps({"before": r.before, "after": r.after}, ensure_ascii=False, indent=1, default=str)
               for r in rows}
    return render_template("admin_audit.html", area=area, nav=nav, rows=rows, values=values, errors=errors,
                           action_choices=[(a, _(a)) for a in actions], entity_choices=[(e, e) for e in entities],
                           areas=areas, area_choices=[(a.id, a.code) for a in areas or []], codes=codes, next_after=next_after,
                           summaries={r.id: _summary(r) for r in rows}, details=details,
                           no_area=NO_AREA), (422 if errors else 200)


@bp.route("/admin/audit")
@login_required
def audit():
    """Every entry of the installation (administrators)."""
    require_admin()
    areas = list(get_session().exec(select(ProtectedArea).order_by(ProtectedArea.code)))
    return _page(None, "audit", areas)


@bp.route("/admin/areas/<area_id>/audit")
@login_required
def area_audit(area_id: str):
    """The entries of one protected area (its managers; administrators)."""
    area, _role = load_area(get_session(), area_id, "manager")
    return _page(area, "area_audit", None)
