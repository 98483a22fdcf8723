"""Sync conflicts for biologists: both versions side by side, then resolve."""
from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, url_for
from sqlmodel import select

from ..auth.permissions import load_in_area
from ..db import get_session
from ..models import ProtectedArea, SyncConflict
from ..sync import merge
from . import areas_with_role, login_required

bp = Blueprint("conflict_pages", __name__)


@bp.route("/conflicts")
@login_required
def conflicts():
    """Open conflicts of the areas where the user is a biologist or more."""
    s = get_session()
    area_ids = [a.id for a, _r in areas_with_role("biologist")]
    show = request.args.get("status", "open")
    stmt = (select(SyncConflict, ProtectedArea).join(ProtectedArea, ProtectedArea.id == SyncConflict.area_id)
            .where(SyncConflict.area_id.in_(area_ids)))
    if show != "all":
        stmt = stmt.where(SyncConflict.status == "open")
    rows = list(s.exec(stmt.order_by(SyncConflict.created_at.desc()).limit(500))) if area_ids else []
    return render_template("conflicts.html", rows=rows, show=show)


def _conflict(conflict_id: str) -> SyncConflict:
    return load_in_area(get_session(), SyncConflict, conflict_id, "biologist").row


@bp.route("/conflicts/<conflict_id>")
@login_required
def conflict(conflict_id: str):
    c = _conflict(conflict_id)
    return render_template("conflict.html", c=c, fields=merge.differing_fields(c), flatten=merge.flatten, error=None)


@bp.route("/conflicts/<conflict_id>/resolve", methods=["POST"])
@login_required
def resolve_conflict(conflict_id: str):
    """Apply keep mine / keep theirs / merge (merge: one server|client choice per overlapping field)."""
    from ..errors import ValidationError

    c = _conflict(conflict_id)
    resolution = request.form.get("resolution", "")
    # The form sends a choice per overlapping field; only a merge uses them.
    choices = ({f: request.form["choice-" + f] for f in c.fields if request.form.get("choice-" + f)}
               if resolution == "merge" else None)
    try:
        merge.resolve(get_session(), g.user, c, resolution, choices)
        get_session().commit()
    except ValidationError as e:
        get_session().rollback()
        return render_template("conflict.html", c=c, fields=merge.differing_fields(c), flatten=merge.flatten,
                               error=e.message), 422
    return redirect(url_for("conflict_pages.conflicts"))
