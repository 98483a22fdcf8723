"""Field records synced from the tablets: transect walks and the observations, threats and
deployment forms recorded under the field protocols, with their photos. Viewers and above
of the area see them; positions and photos as server/auth/policy.py allows (sensitive
species' positions withheld below biologist except a ranger's own records; people blurred)."""
from __future__ import annotations

import io

from flask import Blueprint, abort, current_app, g, render_template, request, send_file
from sqlmodel import select

from ..auth import policy
from ..auth.permissions import load_area
from ..bounds import MAX_OFFSET, int_arg
from ..db import get_session
from ..models import FieldObservation, Media, Program, SurveyWalk, Taxon, User
from ..storage import get_store
from . import login_required

bp = Blueprint("field_pages", __name__)
PAGE = 100


@bp.route("/areas/<area_id>/field")
@login_required
def field_records(area_id: str):
    s = get_session()
    area, role = load_area(s, area_id, "viewer")
    programs = {p.id: p for p in s.exec(select(Program).where(Program.area_id == area.id))}
    offset = int_arg(request.args.get("offset"), 0, 0, MAX_OFFSET)
    walks = list(s.exec(select(SurveyWalk).where(SurveyWalk.program_id.in_(programs), SurveyWalk.deleted.is_(False))
                        .order_by(SurveyWalk.started_at.desc()).limit(50)))
    rows = list(s.exec(select(FieldObservation, Taxon).join(Taxon, Taxon.id == FieldObservation.taxon_id, isouter=True)
                       .where(FieldObservation.program_id.in_(programs), FieldObservation.deleted.is_(False))
                       .order_by(FieldObservation.observed_at.desc()).offset(offset).limit(PAGE + 1)))
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    shas = {sha for o, _ in rows for sha in (o.photos or [])}
    present = {m.sha256 for m in s.exec(select(Media).where(Media.sha256.in_(shas)))
               if policy.may_see_field_photo(s, area.id, m)} if shas else set()
    users = {u.id: u.username for u in s.exec(select(User).where(
        User.id.in_({o.created_by for o, _ in rows if o.created_by} | {w.created_by for w in walks if w.created_by})))}
    positions = {o.id: policy.field_record_position(o, t, role, g.user) for o, t in rows}
    return render_template("field.html", area=area, programs=programs, walks=walks, rows=rows, present=present,
                           users=users, positions=positions, offset=offset, more=more, page=PAGE)


@bp.route("/areas/<area_id>/field/photo/<sha256>")
@login_required
def field_photo(area_id: str, sha256: str):
    """A field photo (thumbnail) through a record of this area that lists it, as the role may see it
    (server/auth/policy.py: the area must own the bytes; people blurred below biologist)."""
    s = get_session()
    area, role = load_area(s, area_id, "viewer")
    media = s.exec(select(Media).where(Media.sha256 == sha256)).first()
    if (media is None or media.kind != "image" or not policy.field_photo_listed(s, area.id, sha256)
            or not policy.may_see_field_photo(s, area.id, media) or not get_store().exists(media.storage_key)):
        abort(404)
    path, _mime, blurred = policy.image_for(s, media, "thumb", role, get_store(),
                                            current_app.extensions["saola.derivatives"],
                                            bool(current_app.config.get("DETECTOR_MODEL")))
    if policy.is_placeholder(path):
        return policy.placeholder_response(path)
    resp = send_file(io.BytesIO(path.read_bytes()), mimetype="image/jpeg", max_age=0)
    clear_for_all = not blurred and policy.sees_clear_images(role)
    resp.headers["Cache-Control"] = "private, max-age=3600" if clear_for_all else "private, no-store"
    resp.headers["X-Saola-Blurred"] = "1" if blurred else "0"
    return resp
