"""The side menu of the administration pages (``admin_base.html``), declared once.

Every page a manager or an administrator works in (area settings, programs,
people, deployments, card uploads, jobs, exports, reports, the map...) extends
``admin_base.html`` and passes ``area`` (the protected area it is about, or
None) and ``nav`` (the :attr:`NavItem.key` of its menu entry). The menu lists
the entries of :data:`NAV` whose endpoint is registered and whose role the
signed-in user holds: entries of the ``area`` group link to the current area's
page (their URL takes ``area_id``), entries of the ``admin`` group to pages of
the whole installation. A page group added later names its endpoint here, or
fills one of the slots already listed (an entry whose endpoint no blueprint
registers is simply not shown).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, g, url_for

from protocols.i18n import N_

from ..auth.permissions import RANK


@dataclass(frozen=True)
class NavItem:
    """One menu entry: ``label`` is English (shown translated), ``minimum`` a role or "admin"."""

    key: str
    label: str
    endpoint: str
    group: str  # "area": takes the current area's id; "admin": the whole installation
    minimum: str = "manager"


NAV: tuple[NavItem, ...] = (
    # This protected area
    NavItem("overview", N_("Overview"), "manager_pages.overview", "area"),
    NavItem("area", N_("Area and boundary"), "admin_pages.area_edit", "area"),
    NavItem("programs", N_("Programs"), "admin_pages.programs", "area"),
    NavItem("members", N_("People and roles"), "admin_people.members", "area"),
    NavItem("deployments", N_("Deployments"), "deploy_pages.deployments", "area"),
    NavItem("devices", N_("Cameras and recorders"), "deploy_pages.devices", "area"),
    NavItem("uploads", N_("Card uploads"), "deploy_pages.uploads", "area"),
    NavItem("cameras", N_("Cellular cameras"), "camera_pages.cameras", "area"),
    NavItem("jobs", N_("Jobs"), "jobs_pages.jobs", "area"),
    NavItem("exports", N_("Exports"), "export_pages.exports", "area"),
    NavItem("reports", N_("Reports"), "export_pages.reports", "area"),
    NavItem("map", N_("Map"), "manager_pages.area_map", "area"),
    NavItem("calendar", N_("Deployment calendar"), "manager_pages.calendar_page", "area"),
    NavItem("area_audit", N_("Audit log"), "admin_audit.area_audit", "area"),
    # The installation
    NavItem("areas", N_("Protected areas"), "admin_pages.home", "admin"),
    NavItem("users", N_("Users"), "admin_people.users", "admin", "admin"),
    NavItem("species", N_("Species reference"), "species_pages.species", "admin"),
    NavItem("tokens", N_("Device tokens"), "admin_people.tokens", "admin"),
    NavItem("models", N_("Models"), "admin_models.models", "admin", "admin"),
    NavItem("audit", N_("Audit log"), "admin_audit.audit", "admin", "admin"),
)

GROUPS = {"area": N_("This protected area"), "admin": N_("Administration")}


def _allowed(item: NavItem, role: str | None) -> bool:
    if g.user.is_admin:
        return True
    if item.minimum == "admin" or role is None:
        return False
    return RANK[role] >= RANK[item.minimum]


def menu(area: Any = None, active: str | None = None) -> list[dict[str, Any]]:
    """The menu for the signed-in user: ``[{"group", "label", "items": [{"key", "label", "url",
    "active"}]}]`` (labels still English; the template translates them)."""
    from ..auth.permissions import role_in_area, visible_area_ids
    from ..db import get_session

    if g.get("user") is None:
        return []
    s = get_session()
    registered = current_app.view_functions
    area_role = role_in_area(s, g.user, area.id) if area is not None else None
    managed = visible_area_ids(s, g.user, "manager")
    top_role = "manager" if managed is None or managed else None
    out = []
    for group, label in GROUPS.items():
        if group == "area" and area is None:
            continue
        items = []
        for item in NAV:
            if item.group != group or item.endpoint not in registered:
                continue
            if not _allowed(item, area_role if group == "area" else top_role):
                continue
            url = url_for(item.endpoint, area_id=area.id) if group == "area" else url_for(item.endpoint)
            items.append({"key": item.key, "label": item.label, "url": url, "active": item.key == active})
        if items:
            out.append({"group": group, "label": label, "items": items})
    return out


def has_page(endpoint: str) -> bool:
    """Whether a page is registered (links to pages of features still to come are left out)."""
    return endpoint in current_app.view_functions


def init_app(app) -> None:
    """Make :func:`menu` and :func:`has_page` available to the templates."""
    app.jinja_env.globals["admin_menu"] = menu
    app.jinja_env.globals["has_page"] = has_page
