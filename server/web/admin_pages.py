"""Administration pages: protected areas (with their boundary) and monitoring programs.

Administrators create areas; a manager edits the areas they manage and their programs.
Every page loads its area through server/auth/permissions.py (404 for non-members,
403 below manager), validates with the API's schemas (server/web/forms.py: messages next
to the field, in the user's language) and changes data only through the services the API
uses (server/services/areas.py, programs.py), which audit every change. The layout and
side menu are ``admin_base.html`` (server/web/admin_nav.py).
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from sqlmodel import col, func, select

from protocols.i18n import N_

from ..api.schemas import PROTOCOLS, AreaIn, AreaPatch, ProgramIn, ProgramPatch
from ..auth.permissions import load_area, load_in_area, require_admin, visible_area_ids
from ..db import get_session
from ..errors import SaolaError
from ..i18n import format_number, gettext as _
from ..models import Deployment, Membership, MLModel, Program, ProtectedArea
from ..services import areas as area_service, programs as program_service
from ..services.boundary import Boundary, BoundaryError, read_boundary
from . import login_required
from .admin_nav import NAV
from .forms import number, service_errors, text, validate

bp = Blueprint("admin_pages", __name__)
#: The protocols a program may follow (the API's PROTOCOLS), as the pages name them.
PROTOCOL_LABELS = {"camera-trap": N_("Camera traps"), "acoustic": N_("Sound recorders"),
                   "line-transect": N_("Line transects"), "listening-post": N_("Listening posts"),
                   "patrol": N_("Patrols"), "mixed": N_("Mixed")}
assert set(PROTOCOL_LABELS) == set(PROTOCOLS.__args__)  # type: ignore[attr-defined]


# ---- home and the area switch -------------------------------------------------------------------
@bp.route("/admin")
@login_required
def home():
    """The areas the user manages (administrators: all), with what each holds."""
    s = get_session()
    ids = visible_area_ids(s, g.user, "manager")
    if ids is not None and not ids:
        return render_template("error.html", status=403,
                               message=_("Administration is for managers of a protected area and administrators.")), 403
    stmt = select(ProtectedArea).order_by(ProtectedArea.code)
    if ids is not None:
        stmt = stmt.where(col(ProtectedArea.id).in_(ids))
    areas = list(s.exec(stmt))
    counts: dict[str, dict[str, int]] = {a.id: {"programs": 0, "members": 0, "deployments": 0} for a in areas}
    for area_id, n in s.exec(select(Program.area_id, func.count()).group_by(Program.area_id)):
        if area_id in counts:
            counts[area_id]["programs"] = n
    for area_id, n in s.exec(select(Membership.area_id, func.count()).group_by(Membership.area_id)):
        if area_id in counts:
            counts[area_id]["members"] = n
    for area_id, n in s.exec(select(Program.area_id, func.count()).join(Deployment, col(Deployment.program_id) == Program.id)
                             .group_by(Program.area_id)):
        if area_id in counts:
            counts[area_id]["deployments"] = n
    return render_template("admin_home.html", area=None, nav="areas", areas=areas, counts=counts)


@bp.route("/admin/switch")
@login_required
def switch_area():
    """The side menu's area chooser: the same page (menu key ``nav``) for the chosen area."""
    area_id = request.args.get("area_id") or ""
    if not area_id:
        return redirect(url_for(".home"))
    area, _role = load_area(get_session(), area_id, "manager")
    key = request.args.get("nav") or "area"
    from flask import current_app

    item = next((i for i in NAV if i.key == key and i.group == "area" and i.endpoint in current_app.view_functions),
                None)
    return redirect(url_for(item.endpoint if item else ".area_edit", area_id=area.id))


# ---- protected areas ----------------------------------------------------------------------------------
def _area_form() -> dict[str, Any]:
    f = request.form
    return {"code": text(f, "code"), "name": text(f, "name"), "name_vi": text(f, "name_vi"),
            "province": text(f, "province")}


def _uploaded_boundary(errors: dict[str, str]) -> Boundary | None:
    """The boundary file of the form, read; its problem goes next to the field."""
    upload = request.files.get("boundary_file")
    if upload is None or not upload.filename:
        return None
    try:
        return read_boundary(upload.filename, upload.read(read_boundary_limit()))
    except BoundaryError as e:
        errors["boundary_file"] = e.message
        return None


def read_boundary_limit() -> int:
    """Bytes read from an uploaded boundary file: one more than the limit, so a larger file is refused."""
    from ..services.boundary import MAX_FILE_BYTES

    return MAX_FILE_BYTES + 1


def _boundary_note(b: Boundary) -> str:
    parts = [_("Boundary read from the {fmt} file: {n} polygon(s), {km2} km².", fmt=b.format, n=b.polygons,
               km2=format_number(b.area_km2, 2))]
    if b.reprojected:
        parts.append(_("Converted from {crs} to longitude/latitude (WGS84).", crs=b.source_crs))
    if b.repaired:
        parts.append(_("The polygon was invalid ({reason}) and has been repaired.", reason=b.repaired))
    if b.ignored:
        parts.append(_("Left out: {what}.", what=", ".join(f"{n} {t}" for t, n in sorted(b.ignored.items()))))
    return " ".join(parts)


@bp.route("/admin/areas/new", methods=["GET", "POST"])
@login_required
def area_new():
    require_admin()
    errors: dict[str, str] = {}
    values = _area_form() if request.method == "POST" else {}
    if request.method == "POST":
        body, errors = validate(AreaIn, values)
        boundary = _uploaded_boundary(errors)
        if body is not None and not errors:
            data = body.model_dump()
            if boundary is not None:
                data["boundary"] = boundary.geometry
            try:
                area = area_service.create_area(get_session(), data)
            except SaolaError as e:
                get_session().rollback()
                errors = service_errors(e)
            else:
                flash(_("Protected area {code} created.", code=area.code), "ok")
                if boundary is not None:
                    flash(_boundary_note(boundary), "ok")
                return redirect(url_for(".area_edit", area_id=area.id))
    return render_template("admin_area.html", area=None, nav="areas", values=values, errors=errors, new=True,
                           preview=None), (422 if errors else 200)


@bp.route("/admin/areas/<area_id>", methods=["GET", "POST"])
@login_required
def area_edit(area_id: str):
    s = get_session()
    area, _role = load_area(s, area_id, "manager")
    errors: dict[str, str] = {}
    values = {"code": area.code, "name": area.name, "name_vi": area.name_vi, "province": area.province}
    if request.method == "POST":
        values = {**_area_form(), "code": area.code}
        changes = {k: v for k, v in values.items() if k != "code"}
        body, errors = validate(AreaPatch, changes)
        if changes["name"] is None:
            errors["name"] = _("This field is required.")
        boundary = _uploaded_boundary(errors)
        if body is not None and not errors:
            data = body.model_dump(exclude_unset=True)
            for k in ("name_vi", "province"):  # an emptied optional field clears it
                data.setdefault(k, None)
            if boundary is not None:
                data["boundary"] = boundary.geometry
            elif request.form.get("remove_boundary"):
                data["boundary"] = None
            try:
                area_service.update_area(s, area, data)
            except SaolaError as e:
                s.rollback()
                errors = service_errors(e)
            else:
                flash(_("Changes saved."), "ok")
                if boundary is not None:
                    flash(_boundary_note(boundary), "ok")
                return redirect(url_for(".area_edit", area_id=area.id))
    return render_template("admin_area.html", area=area, nav="area", values=values, errors=errors, new=False,
                           preview=preview_data(area)), (422 if errors else 200)


def preview_data(area: ProtectedArea) -> dict[str, Any]:
    """What the boundary preview map draws: the boundary, and the area's own offline basemap
    (MBTiles served by Saola) when one was uploaded; never tiles from the internet."""
    from flask import current_app

    from ..sync import basemaps

    info = basemaps.current(current_app.config["DATA_DIR"], area.id)
    tiles = None
    if info is not None:
        tiles = {"url": url_for("api.basemaps_basemap_tile", area_id=area.id, z=0, x=0, y=0).replace("/0/0/0", "/{z}/{x}/{y}"),
                 "minzoom": info.get("minzoom"), "maxzoom": info.get("maxzoom"), "bounds": info.get("bounds")}
    return {"boundary": area.boundary, "basemap": tiles}


# ---- programs --------------------------------------------------------------------------------------
@bp.route("/admin/areas/<area_id>/programs")
@login_required
def programs(area_id: str):
    s = get_session()
    area, _role = load_area(s, area_id, "manager")
    rows = list(s.exec(select(Program).where(Program.area_id == area.id).order_by(Program.name)))
    deployments = dict(s.exec(select(Deployment.program_id, func.count()).where(
        col(Deployment.program_id).in_([p.id for p in rows])).group_by(Deployment.program_id)).all()) if rows else {}
    return render_template("admin_programs.html", area=area, nav="programs", programs=rows, deployments=deployments,
                           protocol_labels=PROTOCOL_LABELS)


def _names(field: str) -> list[str]:
    """A species list field: one name per line (the picker keeps the textarea up to date)."""
    raw = request.form.get(field) or ""
    return [" ".join(line.split()) for line in raw.splitlines() if line.strip()]


def _settings_form(program: Program | None) -> dict[str, Any]:
    """The program's settings as the form sets them, on top of the keys the form does not show."""
    f = request.form
    settings = dict(program.settings) if program is not None and isinstance(program.settings, dict) else {}
    settings["species_list"] = _names("species_list") or None
    settings["common_species"] = _names("common_species") or None
    for key in program_service.THRESHOLDS:
        settings[key] = number(f, key)
    settings["birdnet"] = bool(f.get("birdnet"))
    for key in program_service.MODEL_KEYS:
        settings[key] = text(f, key)
    settings["audio_classifiers"] = f.getlist("audio_classifiers") or None
    return {k: v for k, v in settings.items() if v is not None}


def _program_form(area_id: str) -> dict[str, Any]:
    f = request.form
    gap = (f.get("sequence_gap_s") or "").strip()
    return {"area_id": area_id, "name": text(f, "name"), "protocol": f.get("protocol") or "camera-trap",
            "season": text(f, "season"), "start_date": text(f, "start_date"), "end_date": text(f, "end_date"),
            "sequence_gap_s": gap or 60, "capture_method": f.get("capture_method") or "activityDetection"}


def _early_errors(values: dict[str, Any], settings: dict[str, Any]) -> dict[str, str]:
    """Errors the schema reports only once every field is right (dates in order) or cannot see."""
    from datetime import date

    errors = {k: _("Enter a number.") for k in program_service.THRESHOLDS if isinstance(settings.get(k), str)}
    try:
        start, end = (date.fromisoformat(values[k]) if values.get(k) else None for k in ("start_date", "end_date"))
    except ValueError:
        return errors
    if start and end and end < start:
        errors["end_date"] = _("The end date is before the start date.")
    return errors


def _program_page(area: ProtectedArea, program: Program | None, values: dict[str, Any], settings: dict[str, Any],
                  errors: dict[str, str]):
    models = list(get_session().exec(select(MLModel).order_by(MLModel.kind, MLModel.name)))

    def model_choices(kind: str) -> list[tuple[str, str]]:
        return [(m.name, f"{m.name} ({m.version})") for m in models if m.kind == kind]

    return render_template("admin_program.html", area=area, nav="programs", program=program, values=values,
                           settings=settings, errors=errors, models=models, model_choices=model_choices,
                           protocol_choices=[(k, _(v)) for k, v in PROTOCOL_LABELS.items()],
                           defaults=program_service.DEFAULTS), (422 if errors else 200)


def _save_program(area: ProtectedArea, program: Program | None):
    s = get_session()
    values = _program_form(area.id)
    settings = _settings_form(program)
    errors = _early_errors(values, settings)
    schema = ProgramIn if program is None else ProgramPatch
    data = values if program is None else {k: v for k, v in values.items() if k != "area_id"}
    body, more = validate(schema, data, where={"": "end_date"})  # type: ignore[type-var]
    errors = {**more, **errors}
    if body is None or errors:
        return _program_page(area, program, values, settings, errors)
    fields = body.model_dump(exclude_unset=program is not None)
    if program is not None:
        for k in ("season", "start_date", "end_date"):
            fields.setdefault(k, None)
    fields["settings"] = settings
    try:
        if program is None:
            program = program_service.create_program(s, fields)
            flash(_("Program {name} created.", name=program.name), "ok")
        else:
            program_service.update_program(s, program, fields)
            flash(_("Changes saved."), "ok")
    except SaolaError as e:
        s.rollback()
        return _program_page(area, program, values, settings, service_errors(e))
    return redirect(url_for(".program_edit", program_id=program.id))


@bp.route("/admin/areas/<area_id>/programs/new", methods=["GET", "POST"])
@login_required
def program_new(area_id: str):
    area, _role = load_area(get_session(), area_id, "manager")
    if request.method == "POST":
        return _save_program(area, None)
    return _program_page(area, None, {"protocol": "camera-trap", "sequence_gap_s": 60,
                                      "capture_method": "activityDetection"}, {}, {})


@bp.route("/admin/programs/<program_id>", methods=["GET", "POST"])
@login_required
def program_edit(program_id: str):
    s = get_session()
    acc = load_in_area(s, Program, program_id, "manager")
    program: Program = acc.row
    area = s.get(ProtectedArea, acc.area_id)
    if request.method == "POST":
        return _save_program(area, program)
    values = program.model_dump()
    values["start_date"] = program.start_date.isoformat() if program.start_date else None
    values["end_date"] = program.end_date.isoformat() if program.end_date else None
    return _program_page(area, program, values, dict(program.settings or {}), {})

