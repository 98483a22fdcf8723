"""Deployments in the browser (managers of the area): the list, the form with the station picked
on the map or typed, operating intervals (malfunctions), the clock-correction tool, the camera
and recorder inventory, and card uploads.

Every page loads its object through server/auth/permissions.py (404 outside the user's areas,
403 below manager) and changes data only through the services the API and the CLI use
(server/services/deployments.py, devices.py, clock.py), which audit every change. Forms are
validated with the API's schemas (server/web/forms.py: messages next to the field, in the
user's language). The layout is ``admin_base.html``; scripts are in server/web/static
(deploy.js: the map picker and the clock tool; cards.js: the card upload).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy import func
from sqlmodel import col, select

from protocols.i18n import N_

from ..api.schemas import DeploymentIn, DeploymentPatch, IntervalIn, NewLocation
from ..auth.permissions import load_area, load_in_area
from ..db import get_session
from ..errors import SaolaError
from ..i18n import gettext as _
from ..models import (CardUpload, Deployment, Device, Job, Location, Media, OperatingInterval, Program,
                      ProtectedArea, Sequence)
from ..models.inventory import DEVICE_STATUSES
from ..review.overview import intervals_by_deployment, states, trap_nights
from ..services import clock, crud, deployments as svc, devices as device_service
from ..timeutil import format_local, to_local
from . import login_required
from .forms import FORM, number, service_errors, text, validate

bp = Blueprint("deploy_pages", __name__)

STATUS_LABELS = {"in_store": N_("In store"), "deployed": N_("Deployed"), "repair": N_("In repair"),
                 "lost": N_("Lost or stolen")}
KIND_LABELS = {"camera": N_("Camera trap"), "acoustic": N_("Sound recorder")}
#: A card upload's states (server/models/card.py) as the pages name them.
CARD_STATUS_LABELS = {"receiving": N_("receiving"), "ingesting": N_("ingesting"), "done": N_("done"),
                      "failed": N_("failed"), "cancelled": N_("cancelled")}
INTERVAL_LABELS = {"malfunction": N_("malfunction"), "operating": N_("operating")}
#: Time zones offered first (the zone field accepts any IANA name).
COMMON_ZONES = ("Asia/Ho_Chi_Minh", "Asia/Bangkok", "Asia/Vientiane", "Asia/Phnom_Penh", "UTC")
assert set(STATUS_LABELS) == set(DEVICE_STATUSES)

# The form's fields that go to the deployment as they are (text) or as numbers.
TEXT_FIELDS = ("camera_id", "camera_model", "habitat", "feature_type", "setup_by", "sd_card", "deployment_comments")
NUMBER_FIELDS = ("camera_height", "camera_heading", "camera_delay", "detection_distance")


def _area_of(s, dep: Deployment) -> ProtectedArea:
    return s.get(ProtectedArea, s.get(Program, dep.program_id).area_id)


def _local_input(value: datetime | None, tz: str) -> str:
    """A stored UTC time as the value of a datetime-local field (the deployment's local time)."""
    local = to_local(value, tz)
    return local.strftime("%Y-%m-%dT%H:%M") if local is not None else ""


#: Messages of the schemas and services (English, as the API says them) as the forms say them.
SERVICE_MESSAGES = (
    ("deployment_end must be after deployment_start", N_("The collection time must be after the set-up time.")),
    ("end must be after start", N_("The end must be after the start.")),
    ("interval end must be after its start", N_("The end must be after the start.")),
    ("interval lies outside the deployment window", N_("The interval lies outside the deployment period.")),
    ("unknown time zone", N_("Unknown time zone: use an IANA name such as Asia/Ho_Chi_Minh.")),
)


def _say(errors: dict[str, str]) -> dict[str, str]:
    """The form's messages in the user's language (those the services and schemas word in English)."""
    out = {}
    for key, message in errors.items():
        for english, said in SERVICE_MESSAGES:
            if english in message:
                message = _(said)
                break
        out[key] = message
    return out


# ---- the list ----------------------------------------------------------------------------------------
@bp.route("/admin/areas/<area_id>/deployments")
@login_required
def deployments(area_id: str):
    """The area's deployments: station, device, window, zone, clock offset, media and effort."""
    s = get_session()
    area, _role = load_area(s, area_id, "manager")
    rows = list(s.exec(select(Deployment, Program, Location).join(Program, col(Program.id) == Deployment.program_id)
                       .join(Location, col(Location.id) == Deployment.location_id)
                       .where(Program.area_id == area.id)
                       .order_by(Location.name, col(Deployment.deployment_start).desc())))
    ids = [d.id for d, _p, _l in rows]
    media = dict(s.exec(select(Media.deployment_id, func.count()).where(col(Media.deployment_id).in_(ids))
                        .group_by(Media.deployment_id)).all()) if ids else {}
    ivs = intervals_by_deployment(s, ids)
    nights = {d.id: trap_nights(d, ivs[d.id]) for d, _p, _l in rows}
    programs = list(s.exec(select(Program).where(Program.area_id == area.id)))
    return render_template("deploy_list.html", area=area, nav="deployments", rows=rows, media=media, nights=nights,
                           programs=programs, kind_labels=KIND_LABELS)


# ---- the form ----------------------------------------------------------------------------------------
def _form_values() -> dict[str, Any]:
    f = request.form
    values: dict[str, Any] = {k: text(f, k) for k in TEXT_FIELDS}
    values.update({k: number(f, k) for k in NUMBER_FIELDS})
    values.update({"program_id": f.get("program_id") or "", "kind": f.get("kind") or "camera",
                   "location_name": text(f, "location_name"), "latitude": number(f, "latitude"),
                   "longitude": number(f, "longitude"), "deployment_start": text(f, "deployment_start"),
                   "deployment_end": text(f, "deployment_end"), "timezone": text(f, "timezone") or "Asia/Ho_Chi_Minh",
                   "bait_use": bool(f.get("bait_use"))})
    return values


def _check_location(values: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The station: its name and coordinates (both or neither, in range), messages by field."""
    data = {"name": values["location_name"], "latitude": values["latitude"], "longitude": values["longitude"]}
    loc, errors = validate(NewLocation, data)
    out = {("location_name" if k == "name" else k): v for k, v in errors.items()}
    if loc is not None and (loc.latitude is None) != (loc.longitude is None):
        missing = "latitude" if loc.latitude is None else "longitude"
        out[missing] = _("Give both latitude and longitude, or neither.")
    if loc is not None and loc.latitude == 0 and loc.longitude == 0:
        out["latitude"] = _("0, 0 is not a place in a protected area: pick the station on the map.")
    return (loc.model_dump() if loc is not None and not out else None), out


def _outside_boundary(area: ProtectedArea, lat: float | None, lon: float | None) -> float | None:
    """Kilometres from the area's boundary when the station lies outside it (None inside or unknown)."""
    if lat is None or lon is None or not area.boundary:
        return None
    try:
        import shapely
        from shapely.geometry import Point, shape

        geom = shape(area.boundary)
        point = Point(lon, lat)
        if geom.covers(point):
            return None
        # Degrees to km at this latitude (a message, not a survey).
        import math

        p1, _p2 = shapely.ops.nearest_points(geom, point)
        dy = (p1.y - lat) * 111.32
        dx = (p1.x - lon) * 111.32 * math.cos(math.radians(lat))
        return round(math.hypot(dx, dy), 1)
    except Exception:  # a boundary shapely cannot read: no warning rather than no page
        return None


def _form_page(area: ProtectedArea, dep: Deployment | None, values: dict[str, Any], errors: dict[str, str],
               iv_values: dict[str, Any] | None = None, iv_errors: dict[str, str] | None = None):
    s = get_session()
    programs = list(s.exec(select(Program).where(Program.area_id == area.id).order_by(Program.name)))
    stations = [{"name": loc.name, "lat": loc.latitude, "lon": loc.longitude}
                for loc in s.exec(select(Location).where(Location.area_id == area.id).order_by(Location.name))]
    devices = device_service.devices_of(s, area.id)
    extra: dict[str, Any] = {}
    if dep is not None:
        extra = _deployment_extras(dep)
        extra.update(iv_values=iv_values or {}, iv_errors=iv_errors or {})
    return render_template("deploy_form.html", area=area, nav="deployments", dep=dep, values=values, errors=errors,
                           programs=programs, stations=stations, devices=devices, zones=COMMON_ZONES,
                           kind_labels=KIND_LABELS, interval_labels=INTERVAL_LABELS,
                           program_choices=[("", _("Choose…"))] + [(p.id, p.name) for p in programs],
                           kind_choices=[(k, _(v)) for k, v in KIND_LABELS.items()],
                           map_data={"boundary": area.boundary, "stations": stations},
                           **extra), (422 if errors or iv_errors else 200)


def _deployment_extras(dep: Deployment) -> dict[str, Any]:
    s = get_session()
    ivs = svc.intervals_of(s, dep.id)
    tz = dep.timezone
    spans = states(dep, ivs)
    strip = None
    if spans:
        t0, t1 = spans[0][0], spans[-1][1]
        total = max((t1 - t0).total_seconds(), 1.0)
        strip = [{"x": round((a - t0).total_seconds() / total * 100, 3),
                  "w": max(0.3, round((b - a).total_seconds() / total * 100, 3)), "status": st, "reason": r,
                  "start": format_local(a, tz, "minute"), "end": format_local(b, tz, "minute")}
                 for a, b, st, r in spans]
    media = s.exec(select(func.count()).select_from(Media).where(Media.deployment_id == dep.id)).one()
    return {"intervals": ivs, "strip": strip, "media_count": media, "nights": trap_nights(dep, ivs)}


def _save(area: ProtectedArea, dep: Deployment | None):
    s = get_session()
    values = _form_values()
    loc, errors = _check_location(values)
    fields = {k: values[k] for k in (*TEXT_FIELDS, *NUMBER_FIELDS, "kind", "deployment_start", "deployment_end",
                                     "timezone", "bait_use")}
    program = None
    if dep is None:
        program = next((p for p in s.exec(select(Program).where(Program.area_id == area.id))
                        if p.id == values["program_id"]), None)
        if program is None:
            errors["program_id"] = _("Choose the program of this deployment.")
        body, more = validate(DeploymentIn, {**fields, "program_id": values["program_id"] or "-",
                                             "location": {"name": "-"}})
    else:
        fields.pop("kind")
        body, more = validate(DeploymentPatch, fields)
        if values["deployment_start"] is None:
            more.setdefault("deployment_start", _("This field is required."))
    for k, v in _say(more).items():
        errors.setdefault(k, v)
    if errors or body is None or loc is None:
        return _form_page(area, dep, values, errors)
    data = body.model_dump(exclude={"program_id", "location_id", "location"}, exclude_unset=dep is not None)
    if dep is not None:  # emptied optional fields are cleared
        for k in (*TEXT_FIELDS, *NUMBER_FIELDS, "deployment_end"):
            data.setdefault(k, None)
    try:
        location, _created = svc.find_or_create_location(s, area.id, loc["name"], loc["latitude"], loc["longitude"])
        if loc["latitude"] is not None and (location.latitude, location.longitude) != (loc["latitude"], loc["longitude"]):
            crud.update(s, location, {"latitude": loc["latitude"], "longitude": loc["longitude"]}, area.id, commit=False)
        if dep is None:
            assert program is not None
            dep = svc.build_deployment(s, program, data, location_id=location.id)
            crud.create(s, dep, area.id, commit=False)
            retime = bool(dep.camera_id)
            message = _("Deployment at {station} created.", station=location.name)
        else:
            data["location_id"] = location.id
            tz = data.get("timezone") or dep.timezone
            svc.normalise_times(data, tz)
            merged = {"deployment_start": data.get("deployment_start", dep.deployment_start),
                      "deployment_end": data.get("deployment_end", dep.deployment_end)}
            svc.normalise_times(merged, "UTC")
            retime = any(k in data and data[k] != getattr(dep, k)
                         for k in ("timezone", "deployment_start", "deployment_end", "camera_id"))
            crud.update(s, dep, data, area.id, commit=False)
            message = _("Changes saved.")
        device_service.register_from_deployment(s, area.id, dep)
        job = None
        if retime:  # media times and window flags follow the zone, window and serial
            from ..jobs import enqueue

            job = enqueue(s, "retime", {"deployment_id": dep.id}, area_id=area.id, created_by=g.user.id,
                          commit=False)
        s.commit()
    except SaolaError as e:
        s.rollback()
        errs = _say(service_errors(e))
        return _form_page(area, dep if dep is not None and dep.id else None, values, errs)
    if job is not None:
        from ..jobs import dispatch

        dispatch(job.id)
    flash(message, "ok")
    far = _outside_boundary(area, loc["latitude"], loc["longitude"])
    if far is not None:
        flash(_("Note: the station lies outside the area's boundary ({km} km from it).", km=far), "error")
    return redirect(url_for(".deployment_edit", deployment_id=dep.id))


@bp.route("/admin/areas/<area_id>/deployments/new", methods=["GET", "POST"])
@login_required
def deployment_new(area_id: str):
    s = get_session()
    area, _role = load_area(s, area_id, "manager")
    if request.method == "POST":
        return _save(area, None)
    programs = list(s.exec(select(Program).where(Program.area_id == area.id).order_by(Program.name)))
    values = {"program_id": request.args.get("program_id") or (programs[0].id if len(programs) == 1 else ""),
              "kind": "camera", "timezone": "Asia/Ho_Chi_Minh", "location_name": request.args.get("station") or ""}
    return _form_page(area, None, values, {})


def _load_deployment(deployment_id: str) -> tuple[Deployment, ProtectedArea]:
    s = get_session()
    acc = load_in_area(s, Deployment, deployment_id, "manager")
    area = s.get(ProtectedArea, acc.area_id)
    assert area is not None  # load_in_area found the deployment's area
    return acc.row, area


def _values_of(dep: Deployment) -> dict[str, Any]:
    s = get_session()
    loc = s.get(Location, dep.location_id)
    values: dict[str, Any] = {k: getattr(dep, k) for k in (*TEXT_FIELDS, *NUMBER_FIELDS, "kind", "timezone",
                                                           "bait_use", "program_id")}
    values.update({"location_name": loc.name if loc else "", "latitude": loc.latitude if loc else None,
                   "longitude": loc.longitude if loc else None,
                   "deployment_start": _local_input(dep.deployment_start, dep.timezone),
                   "deployment_end": _local_input(dep.deployment_end, dep.timezone)})
    return values


@bp.route("/admin/deployments/<deployment_id>", methods=["GET", "POST"])
@login_required
def deployment_edit(deployment_id: str):
    dep, area = _load_deployment(deployment_id)
    if request.method == "POST":
        return _save(area, dep)
    return _form_page(area, dep, _values_of(dep), {})


# ---- operating intervals -----------------------------------------------------------------------------
@bp.route("/admin/deployments/<deployment_id>/intervals", methods=["POST"])
@login_required
def interval_add(deployment_id: str):
    s = get_session()
    dep, area = _load_deployment(deployment_id)
    f = request.form
    iv_values = {"start": text(f, "start"), "end": text(f, "end"), "status": f.get("status") or "malfunction",
                 "reason": text(f, "reason")}
    body, errors = validate(IntervalIn, iv_values, where={"": "end"})
    errors = _say(errors)
    if body is not None:
        try:
            row = svc.add_interval(s, dep, body.start, body.end, body.status, body.reason)
            crud.create(s, row, area.id, commit=False)
            s.commit()
        except SaolaError as e:
            s.rollback()
            errors = _say(service_errors(e, "start"))
    if errors:
        return _form_page(area, dep, _values_of(dep), {}, iv_values, errors)
    flash(_("Interval recorded: the calendar and the effort count it."), "ok")
    return redirect(url_for(".deployment_edit", deployment_id=dep.id) + "#intervals")


@bp.route("/admin/deployments/<deployment_id>/intervals/<interval_id>/delete", methods=["POST"])
@login_required
def interval_delete(deployment_id: str, interval_id: str):
    s = get_session()
    dep, area = _load_deployment(deployment_id)
    row = load_in_area(s, OperatingInterval, interval_id, "manager").row
    if row.deployment_id != dep.id:
        from ..errors import NotFound

        raise NotFound("no such interval in this deployment")
    crud.delete(s, row, area.id)
    flash(_("Interval removed."), "ok")
    return redirect(url_for(".deployment_edit", deployment_id=dep.id) + "#intervals")


# ---- the clock-correction tool -----------------------------------------------------------------------
CLOCK_PHOTOS = 120


@bp.route("/admin/deployments/<deployment_id>/clock")
@login_required
def clock_tool(deployment_id: str):
    """Pick a photo, type the true time it shows, preview the offset on the sequences, apply."""
    dep, area = _load_deployment(deployment_id)
    return _clock_page(dep, area, {"media_id": request.args.get("media_id") or "", "true_time": ""}, {})


def _clock_page(dep: Deployment, area: ProtectedArea, values: dict[str, str], errors: dict[str, str]):
    s = get_session()
    photos = list(s.exec(select(Media).where(Media.deployment_id == dep.id, col(Media.kind).in_(("image", "video")),
                                             col(Media.captured_at_raw).is_not(None))
                         .order_by(Media.captured_at_raw, Media.file_name).limit(CLOCK_PHOTOS)))
    seqs = list(s.exec(select(Sequence).where(Sequence.deployment_id == dep.id)
                       .order_by(Sequence.event_start).limit(clock.PREVIEW_ROWS)))
    n_seq = s.exec(select(func.count()).select_from(Sequence).where(Sequence.deployment_id == dep.id)).one()
    job_id = request.args.get("job")
    job = s.get(Job, job_id) if job_id else None
    if job is not None and (job.kind != "retime" or (job.params or {}).get("deployment_id") != dep.id):
        job = None
    loc = s.get(Location, dep.location_id)
    return render_template("deploy_clock.html", area=area, nav="deployments", dep=dep, station=loc, photos=photos,
                           sequences=seqs, sequences_total=n_seq, history=list(reversed(clock.history(dep))),
                           job=job, errors=errors, values=values,
                           offset=clock.describe_offset(dep.clock_offset_s or 0)), (422 if errors else 200)


@bp.route("/admin/deployments/<deployment_id>/clock/preview")
@login_required
def clock_preview(deployment_id: str):
    """JSON: the offset and the sequences before and after (errors by field, in the user's language)."""
    s = get_session()
    dep, _area = _load_deployment(deployment_id)
    try:
        t = clock.parse_true_time(request.args.get("true_time") or "")
        return jsonify(clock.preview(s, dep, request.args.get("media_id") or "", t))
    except SaolaError as e:
        return jsonify({"errors": {k: _translate_clock(v) for k, v in service_errors(e, "true_time").items()}}), 422


#: The clock service's messages as the page says them.
CLOCK_MESSAGES = {"choose a photo of this deployment": N_("Choose a photo of this deployment."),
                  "enter the true time as YYYY-MM-DD HH:MM:SS": N_("Enter the true time as YYYY-MM-DD HH:MM:SS."),
                  "the true time must lie between 1990 and today": N_("The true time must lie between 1990 and today."),
                  "the true time is more than 60 years from the camera's time: check the date":
                      N_("The true time is more than 60 years from the camera's time: check the date."),
                  "there is no clock correction to undo": N_("There is no clock correction to undo.")}


def _translate_clock(message: str) -> str:
    if message.endswith("has no camera time: choose another photo"):
        return _("This photo has no camera time: choose another photo.")
    return _(CLOCK_MESSAGES[message]) if message in CLOCK_MESSAGES else message


@bp.route("/admin/deployments/<deployment_id>/clock", methods=["POST"])
@login_required
def clock_apply(deployment_id: str):
    from ..jobs import dispatch

    s = get_session()
    dep, area = _load_deployment(deployment_id)
    values = {"media_id": request.form.get("media_id") or "", "true_time": request.form.get("true_time") or ""}
    try:
        if request.form.get("undo"):
            job = clock.undo(s, dep, area.id, g.user)
            message = _("The previous clock offset is back; the photos' times are being recomputed.")
        else:
            t = clock.parse_true_time(values["true_time"])
            job = clock.apply(s, dep, area.id, g.user, values["media_id"], t)
            message = _("Clock offset set; the photos' times are being recomputed.")
        s.commit()
    except SaolaError as e:
        s.rollback()
        errors = {k: _translate_clock(v) for k, v in service_errors(e, "true_time").items()}
        return _clock_page(dep, area, values, errors)
    dispatch(job.id)
    flash(message, "ok")
    return redirect(url_for(".clock_tool", deployment_id=dep.id, job=job.id))


# ---- the inventory -----------------------------------------------------------------------------------
@bp.route("/admin/areas/<area_id>/devices")
@login_required
def devices(area_id: str):
    s = get_session()
    area, _role = load_area(s, area_id, "manager")
    rows = device_service.devices_of(s, area.id)
    in_use = device_service.current_use(s, area.id)
    counts: dict[str, int] = {}
    for serial, n in s.exec(select(func.upper(func.trim(Deployment.camera_id)), func.count())
                            .join(Program, col(Program.id) == Deployment.program_id)
                            .where(Program.area_id == area.id, col(Deployment.camera_id).is_not(None))
                            .group_by(func.upper(func.trim(Deployment.camera_id)))):
        counts[serial] = n
    return render_template("deploy_devices.html", area=area, nav="devices", devices=rows, in_use=in_use,
                           counts=counts, norm=device_service.norm_serial, status_labels=STATUS_LABELS,
                           kind_labels=KIND_LABELS)


def _device_values() -> dict[str, Any]:
    f = request.form
    return {"serial": (f.get("serial") or "").strip(), "kind": f.get("kind") or "camera", "make": text(f, "make"),
            "model": text(f, "model"), "status": f.get("status") or "in_store", "notes": text(f, "notes")}


DEVICE_MESSAGES = {"required": N_("This field is required."), "camera or acoustic": N_("Choose one of the listed values."),
                   "unknown status": N_("Choose one of the listed values."),
                   "already in the inventory": N_("The inventory already has a device with this serial number.")}


def _device_errors(e: SaolaError) -> dict[str, str]:
    out = {}
    for d in (e.details if isinstance(e.details, list) else []):
        msg = str(d.get("message"))
        out[str(d.get("field"))] = _(DEVICE_MESSAGES[msg]) if msg in DEVICE_MESSAGES else \
            _("Enter at most {n} characters.", n=msg.split()[2]) if msg.startswith("at most") else msg
    return out or {FORM: e.message}


def _device_page(area: ProtectedArea, device: Device | None, values: dict[str, Any], errors: dict[str, str]):
    history = device_service.deployments_of_device(get_session(), device) if device is not None else []
    return render_template("deploy_device.html", area=area, nav="devices", device=device, values=values,
                           errors=errors, history=history, status_labels=STATUS_LABELS,
                           kind_labels=KIND_LABELS), (422 if errors else 200)


@bp.route("/admin/areas/<area_id>/devices/new", methods=["GET", "POST"])
@login_required
def device_new(area_id: str):
    s = get_session()
    area, _role = load_area(s, area_id, "manager")
    if request.method == "GET":
        return _device_page(area, None, {"kind": "camera", "status": "in_store"}, {})
    values = _device_values()
    try:
        device = device_service.create_device(s, area.id, values)
    except SaolaError as e:
        s.rollback()
        return _device_page(area, None, values, _device_errors(e))
    flash(_("Device {serial} added to the inventory.", serial=device.serial), "ok")
    return redirect(url_for(".device_edit", device_id=device.id))


@bp.route("/admin/devices/<device_id>", methods=["GET", "POST"])
@login_required
def device_edit(device_id: str):
    s = get_session()
    acc = load_in_area(s, Device, device_id, "manager")
    device: Device = acc.row
    area = s.get(ProtectedArea, acc.area_id)
    if request.method == "GET":
        return _device_page(area, device, device.model_dump(), {})
    values = _device_values()
    try:
        device_service.update_device(s, device, values)
    except SaolaError as e:
        s.rollback()
        return _device_page(area, device, values, _device_errors(e))
    flash(_("Changes saved."), "ok")
    return redirect(url_for(".device_edit", device_id=device.id))


# ---- card uploads ------------------------------------------------------------------------------------
@bp.route("/admin/areas/<area_id>/uploads")
@login_required
def uploads(area_id: str):
    """Drop a card (a folder or a zip) on a deployment; the upload resumes, then ingest's report."""
    s = get_session()
    area, _role = load_area(s, area_id, "manager")
    deps = list(s.exec(select(Deployment, Location).join(Program, col(Program.id) == Deployment.program_id)
                       .join(Location, col(Location.id) == Deployment.location_id)
                       .where(Program.area_id == area.id)
                       .order_by(Location.name, col(Deployment.deployment_start).desc())))
    ids = [d.id for d, _l in deps]
    cards = list(s.exec(select(CardUpload).where(col(CardUpload.deployment_id).in_(ids))
                        .order_by(col(CardUpload.created_at).desc()).limit(30))) if ids else []
    names = {d.id: loc.name for d, loc in deps}
    chosen = request.args.get("deployment_id") or (deps[0][0].id if len(deps) == 1 else "")
    return render_template("deploy_uploads.html", area=area, nav="uploads", deployments=deps, cards=cards,
                           names=names, chosen=chosen, kind_labels=KIND_LABELS, card_status=CARD_STATUS_LABELS,
                           chunk_bytes=_chunk_bytes())


def _chunk_bytes() -> int:
    """The card upload's piece size: CARD_CHUNK_KB, at most half the largest request."""
    kb = int(current_app.config.get("CARD_CHUNK_KB") or 8192)
    return max(16 * 1024, min(kb * 1024, int(current_app.config["MAX_CONTENT_LENGTH"]) // 2))
