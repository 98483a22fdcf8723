"""Sound review (spectrogram with detection boxes, playback, verify/reject, add
a label) and the alerts list (gunshot, engine, chainsaw-like) with acknowledge."""
from __future__ import annotations

import io

from flask import Blueprint, current_app, g, redirect, render_template, request, send_file, url_for
from sqlalchemy import case, func
from sqlmodel import select

from ..auth import policy
from ..auth.permissions import RANK, load_in_area
from ..bounds import MAX_OFFSET, int_arg
from ..db import get_session
from ..errors import NotFound
from ..models import Alert, Deployment, Detection, Location, Media, Program, ProtectedArea
from ..review import actions
from ..review.media import audio_info, spectrogram
from ..review.queue import detection_dict, load_taxa
from ..storage import deferred, get_store, send_stored
from . import areas_with_role, login_required
from .review_pages import js_text

bp = Blueprint("sound_pages", __name__)
PAGE = 50


def _audio(media_id: str) -> tuple[Media, str, str]:
    acc = load_in_area(get_session(), Media, media_id, what="recording")
    if acc.row.kind != "audio" or acc.area_id is None:
        raise NotFound("no such recording")
    return acc.row, acc.area_id, acc.role


@bp.route("/sound")
@login_required
def sound_list():
    """Recordings with machine detections, unreviewed first."""
    s = get_session()
    area_ids = [a.id for a, _r in areas_with_role("viewer")]
    page = int_arg(request.args.get("page"), 0, 0, MAX_OFFSET // 1000)
    open_count = func.sum(case((Detection.review_status == "unreviewed", 1), else_=0))
    stmt = (select(Media, Location, func.count(Detection.id), open_count, Deployment.timezone)
            .join(Detection, Detection.media_id == Media.id)
            .join(Deployment, Deployment.id == Media.deployment_id)
            .join(Location, Location.id == Deployment.location_id)
            .join(Program, Program.id == Deployment.program_id)
            .where(Media.kind == "audio", Program.area_id.in_(area_ids), Detection.dismissed.is_(False))
            .group_by(Media.id, Location.id, Deployment.timezone)
            .order_by(open_count.desc(), Media.captured_at.desc()).offset(page * PAGE).limit(PAGE + 1))
    rows = list(s.exec(stmt)) if area_ids else []
    return render_template("sound_list.html", rows=rows[:PAGE], page=page, more=len(rows) > PAGE)


@bp.route("/sound/<media_id>")
@login_required
def sound_page(media_id: str):
    """One recording: spectrogram with boxes, audio player, verify/reject, add a label."""
    m, area_id, role = _audio(media_id)
    s = get_session()
    store = get_store()
    duration, rate = m.duration_s, m.sample_rate
    if (duration is None or rate is None) and store.exists(m.storage_key):
        duration, rate = audio_info(store.path(m.storage_key))
    dets = list(s.exec(select(Detection).where(Detection.media_id == m.id, Detection.dismissed.is_(False))
                       .order_by(Detection.start_s, Detection.confidence.desc())))
    taxa = load_taxa(s, [d.taxon_id for d in dets])
    nyquist = (rate or 48000) / 2
    boxes = []
    for d in dets:
        dd = detection_dict(d, taxa)
        if d.start_s is not None and duration:
            end = d.end_s if d.end_s is not None else d.start_s + 3
            lo = d.freq_low_hz or 0.0
            hi = min(d.freq_high_hz or nyquist, nyquist)
            dd["css"] = {"left": max(0.0, d.start_s / duration * 100), "width": max(0.3, (end - d.start_s) / duration * 100),
                         "top": (1 - hi / nyquist) * 100, "height": max(1.0, (hi - lo) / nyquist * 100)}
        boxes.append(dd)
    from ..models import Observation, Taxon

    labels = list(s.exec(select(Observation, Taxon).join(Taxon, Taxon.id == Observation.taxon_id, isouter=True)
                         .where(Observation.media_id == m.id).order_by(Observation.event_start)))
    dep = s.get(Deployment, m.deployment_id)
    return render_template("sound.html", m=m, dets=boxes, duration=duration, rate=rate, nyquist=nyquist,
                           labels=labels, dep=dep, loc=s.get(Location, dep.location_id), js_text=js_text(),
                           can_edit=RANK[role] >= RANK["biologist"])


@bp.route("/sound/<media_id>/spectrogram.png")
@login_required
def spectrogram_png(media_id: str):
    m, _a, _r = _audio(media_id)
    store = get_store()
    if not store.exists(m.storage_key):
        raise NotFound(f"the original of {m.file_name} is missing from the media store")
    path = spectrogram(store, current_app.extensions["saola.derivatives"], m)
    return send_file(io.BytesIO(path.read_bytes()), mimetype="image/png", conditional=True, max_age=86400,
                     etag=path.name, last_modified=path.stat().st_mtime)


@bp.route("/sound/<media_id>/audio")
@login_required
def audio(media_id: str):
    """The original recording's bytes (range requests work, so the player can seek)."""
    m, _a, role = _audio(media_id)
    store = get_store()
    if not store.exists(m.storage_key):
        raise NotFound(f"the original of {m.file_name} is missing from the media store")
    # Viewers hear a copy without the recorder's position and serial (server/auth/policy.py).
    with deferred(store):  # S3: the original streams from the bucket with ranges, not copied here first
        path, mimetype, cleaned = policy.recording_for(m, role, store, current_app.extensions["saola.derivatives"])
        resp = send_stored(path, mimetype, etag=f"{m.sha256}-{path.name}", private=cleaned,
                           download_name=m.file_name)
    if resp is None:
        raise NotFound(f"the original of {m.file_name} is missing from the media store")
    if cleaned:
        resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.route("/alerts")
@login_required
def alerts():
    """Threat alerts of the user's areas, open ones first."""
    s = get_session()
    areas = areas_with_role("viewer")
    roles = {a.id: r for a, r in areas}
    show_all = request.args.get("all") == "1"
    stmt = (select(Alert, ProtectedArea, Location, Deployment.timezone)
            .join(ProtectedArea, ProtectedArea.id == Alert.area_id)
            .join(Deployment, Deployment.id == Alert.deployment_id, isouter=True)
            .join(Location, Location.id == Deployment.location_id, isouter=True)
            .where(Alert.area_id.in_(list(roles))))
    if not show_all:
        stmt = stmt.where(Alert.acknowledged_at.is_(None))
    rows = list(s.exec(stmt.order_by(Alert.created_at.desc()).limit(500))) if roles else []
    return render_template("alerts.html", rows=rows, roles=roles, show_all=show_all,
                           can_ack={a: RANK[r] >= RANK["biologist"] for a, r in roles.items()})


@bp.route("/alerts/<alert_id>/acknowledge", methods=["POST"])
@login_required
def acknowledge(alert_id: str):
    s = get_session()
    alert = load_in_area(s, Alert, alert_id, "biologist").row
    actions.acknowledge_alert(s, g.user, alert)
    return redirect(url_for("sound_pages.alerts"))
