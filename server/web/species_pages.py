"""The species reference in the browser (issue 13, item 7): every taxon Saola knows, as `saola init`
loads it from protocols/species/vn_reference.csv and `saola taxa import` updates it.

``/species`` (any signed-in user: the reference is the installation's, not an area's) lists the
taxa with their rank, Vietnamese, English and alternative names, group, IUCN category, Vietnam
Red Data Book 2007 category, Decree 84/2021 group, CITES appendix and source. Filters: a name in
any language (diacritics ignored, the API's search), rank, group and "protected or threatened
only"; each filter value is checked against the choices the page offers.
"""
from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import func, or_
from sqlmodel import select

from ..db import get_session
from ..i18n import gettext as _
from ..models import Taxon
from ..models.taxon import RANKS
from ..services.taxa import search_clause
from . import login_required

bp = Blueprint("species_pages", __name__)
THREATENED_IUCN = ("CR", "EN", "VU")
MAX_QUERY = 100


def _filters(groups: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The filters asked for and a message per refused one (shown next to its field)."""
    values = {k: (request.args.get(k) or "").strip() for k in ("q", "rank", "group", "status")}
    errors: dict[str, str] = {}
    if len(values["q"]) > MAX_QUERY:
        errors["q"] = _("At most {n} characters.", n=MAX_QUERY)
    if values["rank"] and values["rank"] not in RANKS:
        errors["rank"] = _("Choose a rank from the list.")
    if values["group"] and values["group"] not in groups:
        errors["group"] = _("Choose a group from the list.")
    if values["status"] not in ("", "listed"):
        errors["status"] = _("Choose a status from the list.")
    return values, errors


@bp.route("/species")
@login_required
def species():
    """The species reference table, filtered."""
    s = get_session()
    groups = sorted(g for g in s.exec(select(Taxon.taxon_group).distinct()) if g)
    values, errors = _filters(groups)
    stmt = select(Taxon)
    if not errors:
        if values["q"]:
            stmt = search_clause(stmt, values["q"])
        if values["rank"]:
            stmt = stmt.where(Taxon.rank == values["rank"])
        if values["group"]:
            stmt = stmt.where(Taxon.taxon_group == values["group"])
        if values["status"] == "listed":  # threatened (IUCN, Red Data Book) or protected (Decree 84, CITES)
            stmt = stmt.where(or_(Taxon.iucn_category.in_(THREATENED_IUCN), Taxon.vn_redlist_category.is_not(None),
                                  Taxon.decree84_group.is_not(None), Taxon.cites_appendix.is_not(None)))
    # Lineage order: each higher taxon just above its members (Muntiacus, then M. vuquangensis).
    rows = [] if errors else list(s.exec(stmt.order_by(Taxon.taxon_group, Taxon.lineage, Taxon.scientific_name)))
    total = s.exec(select(func.count()).select_from(Taxon)).one()
    return render_template("species.html", rows=rows, total=total, values=values, errors=errors,
                           ranks=[(r, _(r)) for r in RANKS], group_choices=[(g, _(g)) for g in groups], area=None,
                           nav="species"), 400 if errors else 200
