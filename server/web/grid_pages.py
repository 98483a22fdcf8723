"""The thumbnail grid (beside the sequence view) and the gallery: one page, two sets of defaults.

The page is a shell; its script (static/grid.js) reads pages of tiles from
GET /api/v1/review/grid (keyset paging), selects with mouse and keyboard and
sends bulk actions to POST /api/v1/review/bulk, undone with /review/undo
(server/api/grid.py). Thumbnails pass the image policy for the user's role.
"""
from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlmodel import select

from protocols.i18n import N_

from ..auth.permissions import RANK
from ..db import get_session
from ..i18n import gettext as _
from ..models import Deployment, Location, Program, Taxon
from . import areas_with_role, login_required

bp = Blueprint("grid_pages", __name__)

# Text the grid's script shows, translated when the page is rendered.
JS_TEXT = (
    N_("Loading…"), N_("Error"), N_("No photos match this filter."), N_("{n} selected"),
    N_("{n} on other pages"), N_("{from}–{to} of {total}"), N_("{from}–{to} of more than {total}"),
    N_("photos"), N_("sequences"), N_("reviewed"), N_("blank"), N_("unreviewed"), N_("favourite"),
    N_("Choose a species first"), N_("Select some tiles first"), N_("Read only: you cannot change labels here"),
    N_("Labelled {n} as {what}."), N_("Marked {n} blank."), N_("Marked {n} as human."), N_("Marked {n} as vehicle."),
    N_("Marked {n} unidentifiable."), N_("Deleted the boxes of {n}."), N_("Added {n} to the favourites."),
    N_("Removed {n} from the favourites."),
    N_("{n} changed since the page was loaded and were left as they are."),
    N_("Undone: {n} restored."), N_("{n} were changed since and keep that change."), N_("Nothing to undo"),
    N_("Undone"), N_("video"), N_("no poster frame"), N_("Camera clock"), N_("outside window"), N_("clock reset"),
    N_("corrupt"), N_("no timestamp"), N_("future time"), N_("images"), N_("machine"), N_("remove this filter"),
    N_("Working…"), N_("animal"), N_("human"), N_("vehicle"), N_("unknown"), N_("person"),
)


def js_text() -> dict[str, str]:
    return {t: _(t) for t in JS_TEXT}


def _page(kind: str):
    s = get_session()
    areas = areas_with_role("viewer")
    area_ids = [a.id for a, _r in areas]
    programs = list(s.exec(select(Program).where(Program.area_id.in_(area_ids)).order_by(Program.name))) \
        if area_ids else []
    deployments = list(s.exec(select(Deployment, Location).join(Location, Location.id == Deployment.location_id)
                              .where(Deployment.program_id.in_([p.id for p in programs]), Deployment.kind == "camera")
                              .order_by(Location.name, Deployment.deployment_start))) if programs else []
    stations = list(s.exec(select(Location).where(Location.area_id.in_(area_ids)).order_by(Location.name))) \
        if area_ids else []
    taxon = s.get(Taxon, request.args["taxon_id"]) if request.args.get("taxon_id") else None
    defaults = {"review_status": "unreviewed" if kind == "grid" else "any", "mode": "media"}
    return render_template("grid.html", kind=kind, areas=areas, programs=programs, deployments=deployments,
                           stations=stations, taxon=taxon, args=request.args, defaults=defaults, js_text=js_text(),
                           can_edit=any(RANK[r] >= RANK["biologist"] for _a, r in areas))


@bp.route("/review/grid")
@login_required
def review_grid():
    """The review grid: a page of thumbnails, multi-select, bulk labels (viewers see it read-only)."""
    return _page("grid")


@bp.route("/gallery")
@login_required
def gallery():
    """Browse every photo of an area or program by species, station, dates, time of day, favourites."""
    return _page("gallery")
