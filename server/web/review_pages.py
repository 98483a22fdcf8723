"""Camera-trap review pages: the keyboard-driven queue and repeated false positives.

The page is a shell; its JavaScript (static/review.js) talks to
/api/v1/review/* (server/api/review.py). Review images are made from the
originals, cached in the derivatives store (server/review/media.py), and pass
the image policy for the user's role (server/auth/policy.py).
"""
from __future__ import annotations

import io

from flask import Blueprint, current_app, render_template, request, send_file
from sqlmodel import select

from protocols.i18n import N_

from ..auth import policy
from ..api.preferences import preferences_of
from ..auth.permissions import RANK, current_user, load_in_area
from ..bounds import int_arg
from ..db import get_session
from ..errors import NotFound
from ..i18n import gettext as _
from ..models import Deployment, Location, Media, Program, Taxon
from ..storage import deferred, get_store, send_stored
from . import areas_with_role, login_required

bp = Blueprint("review_pages", __name__)

# Text the review script shows, translated when the page is rendered.
JS_TEXT = (
    N_("Saved"), N_("Marked blank"), N_("Undone"), N_("Nothing to undo"), N_("The queue is empty"),
    N_("No species chosen"), N_("Box saved"), N_("Box deleted"), N_("Box added"),
    N_("Applied to the whole sequence"), N_("Read only: you cannot change labels here"), N_("images"),
    N_("Loading…"), N_("Error"), N_("reviewed"), N_("blank"), N_("unreviewed"), N_("of"), N_("done"),
    N_("Suggestion"), N_("Draw a box: drag on the image"), N_("Labels"), N_("none"), N_("Image"), N_("Sequence"),
    N_("Search species…"), N_("animal"), N_("person"), N_("vehicle"),
    # every sequence reviewable, with or without a detector (issue 12)
    N_("No detector has run on these photos: label them by hand (species search, number keys 1-9, b for blank). "
       "There are no boxes to check."),
    N_("No detector has run on this sequence: label it by hand."), N_("Camera clock"),
    # confidence triage
    N_("{sequences} sequences ({media} media) have no box at or above {threshold} and would be marked blank."),
    N_("{n} unreviewed sequences no detector has processed are left alone."),
    N_("Marked {n} sequences blank."), N_("{n} sequences changed since the preview and were left as they are."),
    N_("Restored {n} sequences to unreviewed."), N_("{n} sequences were reviewed since and keep that review."),
    N_("Choose a protected area, program or deployment first."), N_("Highest confidence"), N_("no box"),
    # what the threshold would have done to the sequences already reviewed (server/stats/ai_eval.py)
    N_("Checked against the {n} sequences people have already reviewed here, this threshold would have hidden "
       "{animals} of {animal_total} sequences with an animal, {persons} with a person, and removed {blanks} of "
       "{blank_total} true blanks."),
    N_("Animals it would have hidden:"),
    N_("No sequence has been reviewed here yet: nothing to check this threshold against."),
)
# The viewer's tools (static/imagetools.js): zoom, adjustments, burst, side by side, video.
JS_TEXT += (
    N_("Play"), N_("Pause"), N_("Side by side needs two photos in the sequence"), N_("video"),
    N_("Boxes are drawn on photos; label the video with the form."),
    # a video's best frame (the detector's roll-up, server/detect/video.py) and a damaged video
    N_("Best frame"), N_("Damaged video"),
)
# The camera's own metadata in the media line (server/ingest/makernotes.py).
JS_TEXT += (
    N_("Serial"), N_("Burst"), N_("event"), N_("Trigger"), N_("Moon"), N_("Battery"), N_("Light"), N_("Label"),
    N_("motion"), N_("time lapse"), N_("point and shoot"), N_("external sensor"), N_("new"), N_("new crescent"),
    N_("first quarter"), N_("waxing gibbous"), N_("full"), N_("waning gibbous"), N_("last quarter"),
    N_("old crescent"),
)


def js_text() -> dict[str, str]:
    return {t: _(t) for t in JS_TEXT}


@bp.route("/review")
@login_required
def review():
    """The review queue page (viewers see it read-only)."""
    s = get_session()
    areas = areas_with_role("viewer")
    area_ids = [a.id for a, _r in areas]
    programs = list(s.exec(select(Program).where(Program.area_id.in_(area_ids)).order_by(Program.name))) \
        if area_ids else []
    deployments = list(s.exec(select(Deployment, Location).join(Location, Location.id == Deployment.location_id)
                              .where(Deployment.program_id.in_([p.id for p in programs]), Deployment.kind == "camera")
                              .order_by(Location.name, Deployment.deployment_start))) if programs else []
    taxon = s.get(Taxon, request.args["taxon_id"]) if request.args.get("taxon_id") else None
    user = current_user()
    return render_template("review.html", areas=areas, programs=programs, deployments=deployments,
                           args=request.args, taxon=taxon, js_text=js_text(),
                           prefs=preferences_of(user), user_id=user.id,
                           can_edit=any(RANK[r] >= RANK["biologist"] for _a, r in areas))


@bp.route("/review/media/<media_id>/<size>.jpg")
@login_required
def media_image(media_id: str, size: str):
    """A review-sized (or thumbnail) JPEG of an image the user may see (of a video: its poster frame).

    Who sees what is server/auth/policy.py's rule: biologists and above the
    clear image, viewers and rangers people and vehicles blurred.
    """
    s = get_session()
    acc = load_in_area(s, Media, media_id, what="image")
    m, role = acc.row, acc.role
    if acc.area_id is None or size not in ("review", "thumb") or m.kind not in ("image", "video"):
        raise NotFound("no such image")
    derivatives = current_app.extensions["saola.derivatives"]
    detector = bool(current_app.config.get("DETECTOR_MODEL"))
    if m.kind == "video":  # its poster frame, when one was made
        found = policy.poster_for(s, m, size, role, derivatives, detector)
        if found is None:
            raise NotFound(f"the video {m.file_name} has no poster frame")
        path, _mime, blurred = found
    else:
        store = get_store()
        if not store.exists(m.storage_key):
            raise NotFound(f"the original of {m.file_name} is missing from the media store")
        path, _mime, blurred = policy.image_for(s, m, size, role, store, derivatives, detector)
    if policy.is_placeholder(path):  # the background job has not made it yet: the page asks again
        return policy.placeholder_response(path)
    # Small files: send the bytes (no open file handle left to the WSGI server).
    resp = send_file(io.BytesIO(path.read_bytes()), mimetype="image/jpeg", conditional=True,
                     etag=path.name, last_modified=path.stat().st_mtime)
    clear_for_all = not blurred and policy.sees_clear_images(role)
    resp.headers["Cache-Control"] = "private, max-age=3600" if clear_for_all else "private, no-store"
    return resp


@bp.route("/review/media/<media_id>/original")
@login_required
def media_original(media_id: str):
    """The full-resolution photo or the video, shown in the browser, as the user may see it.

    The policy of server/auth/policy.py decides: biologists and above get the
    stored file, viewers a re-encoded photo (people blurred) or a video copy
    without metadata. Answers HTTP Range requests (206), so a video seeks and
    streams without downloading the whole file first.
    """
    s = get_session()
    acc = load_in_area(s, Media, media_id, what="media")
    m, role = acc.row, acc.role
    if acc.area_id is None or m.kind not in ("image", "video"):
        raise NotFound("no such photo or video")
    store = get_store()
    if not store.exists(m.storage_key):
        raise NotFound(f"the original of {m.file_name} is missing from the media store")
    derivatives = current_app.extensions["saola.derivatives"]
    detector = bool(current_app.config.get("DETECTOR_MODEL"))
    if m.kind == "image":
        path, mime, blurred = policy.image_for(s, m, "original", role, store, derivatives, detector)
        private = blurred or not policy.sees_clear_images(role)
    else:
        with deferred(store):  # S3: a video the policy gives unmodified streams from the bucket (ranges)
            path, mime, private = policy.video_for(s, m, role, store, derivatives, detector)
            remote = send_stored(path, mime, etag=f"{m.sha256}-{path.name}", private=private,
                                 download_name=m.file_name) if not path.is_file() else None
        if remote is not None:
            remote.headers["Cache-Control"] = "private, no-store" if private else "private, max-age=3600"
            return remote
    # A photo is sent as bytes (no file handle left to the WSGI server); a video, which can be
    # hundreds of megabytes, is streamed from its file.
    body = io.BytesIO(path.read_bytes()) if m.kind == "image" else path
    resp = send_file(body, mimetype=mime, conditional=True, etag=f"{m.sha256}-{path.name}", max_age=0)
    resp.headers["Accept-Ranges"] = "bytes"
    resp.headers["Cache-Control"] = "private, no-store" if private else "private, max-age=3600"
    name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in m.file_name)
    resp.headers["Content-Disposition"] = f'inline; filename="{name}"'
    return resp


@bp.route("/review/repeated")
@login_required
def repeated():
    """Repeated boxes of one deployment, offered for bulk dismissal."""
    s = get_session()
    dep_id = request.args.get("deployment_id")
    areas = areas_with_role("viewer")
    area_ids = [a.id for a, _r in areas]
    deployments = list(s.exec(select(Deployment, Location).join(Location, Location.id == Deployment.location_id)
                              .join(Program, Program.id == Deployment.program_id)
                              .where(Program.area_id.in_(area_ids), Deployment.kind == "camera")
                              .order_by(Location.name))) if area_ids else []
    groups, role, dep = [], None, None
    min_images_i = int_arg(request.args.get("min_images"), 5, 2, 100_000)
    if dep_id:
        acc = load_in_area(s, Deployment, dep_id)
        dep, role = acc.row, acc.role
        from ..review.false_positives import find_repeated

        groups = find_repeated(s, dep_id, min_images=min_images_i)
    return render_template("repeated.html", deployments=deployments, dep=dep, groups=groups,
                           min_images=min_images_i, js_text=js_text(),
                           can_edit=role is not None and RANK[role] >= RANK["biologist"])
