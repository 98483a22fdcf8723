"""Field records synced from the tablets: transect walks and the observations, threats and
deployment forms recorded under the field protocols, with their photos. Viewers and above
of the area see them (sensitive species' exact positions are shown only to biologists+)."""
from __future__ import annotations

import io

from flask import Blueprint, abort, render_template, request, send_file
from sqlmodel import select

from ..auth.permissions import load_area
from ..db import get_session
from ..models import FieldObservation, Media, Program, SurveyWalk, Taxon, User
from ..storage import get_store
from . import login_required

bp = Blueprint("field_pages", __name__)
PAGE = 100
THUMB = 240



@bp.route("/areas/<area_id>/field")
@login_required
def field_records(area_id: str):
    s = get_session()
    area, role = load_area(s, area_id, "viewer")
    programs = {p.id: p for p in s.exec(select(Program).where(Program.area_id == area.id))}
    offset = max(0, request.args.get("offset", 0, type=int))
    walks = list(s.exec(select(SurveyWalk).where(SurveyWalk.program_id.in_(programs), SurveyWalk.deleted.is_(False))
                        .order_by(SurveyWalk.started_at.desc()).limit(50)))
    rows = list(s.exec(select(FieldObservation, Taxon).join(Taxon, Taxon.id == FieldObservation.taxon_id, isouter=True)
                       .where(FieldObservation.program_id.in_(programs), FieldObservation.deleted.is_(False))
                       .order_by(FieldObservation.observed_at.desc()).offset(offset).limit(PAGE + 1)))
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    shas = {sha for o, _ in rows for sha in (o.photos or [])}
    present = set(s.exec(select(Media.sha256).where(Media.sha256.in_(shas)))) if shas else set()
    users = {u.id: u.username for u in s.exec(select(User).where(
        User.id.in_({o.created_by for o, _ in rows if o.created_by} | {w.created_by for w in walks if w.created_by})))}
    exact = role in ("biologist", "manager", "admin")
    return render_template("field.html", area=area, programs=programs, walks=walks, rows=rows, present=present,
                           users=users, exact=exact, offset=offset, more=more, page=PAGE)


@bp.route("/areas/<area_id>/field/photo/<sha256>")
@login_required
def field_photo(area_id: str, sha256: str):
    """A field photo (thumbnail), only if an observation of this area links it."""
    s = get_session()
    area, _ = load_area(s, area_id, "viewer")
    media = s.exec(select(Media).where(Media.sha256 == sha256)).first()
    if media is None or not _linked(s, area.id, sha256):
        abort(404)
    from PIL import ImageOps

    from classifiers.safe_image import open_image

    # Header checked first (a 17 KiB PNG can declare 144 megapixels); JPEGs decode at reduced size.
    with get_store().open(media.storage_key) as f, open_image(f, draft=(THUMB * 2, THUMB * 2)) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        im.thumbnail((THUMB, THUMB))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=80)
    buf.seek(0)
    return send_file(buf, mimetype="image/jpeg", max_age=3600)


def _linked(s, area_id: str, sha256: str) -> bool:
    programs = list(s.exec(select(Program.id).where(Program.area_id == area_id)))
    for photos in s.exec(select(FieldObservation.photos).where(FieldObservation.program_id.in_(programs),
                                                               FieldObservation.deleted.is_(False))):
        if sha256 in (photos or []):
            return True
    return False
