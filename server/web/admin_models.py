"""Administration page of models (administrators): upload an ONNX detector or species classifier
with its published SHA-256, list the registered models, enable each for programs, delete unused ones.

werkzeug spools the upload into an unnamed file in ``DATA_DIR/incoming`` (server/staging.py
``SpoolingRequest``), from which it is copied in chunks into ``DATA_DIR/models`` while its
checksum is computed (server/services/models.py): a large model never sits in memory (nor in
a memory-backed /tmp). Every refusal (wrong checksum, not ONNX, not the inputs the kind needs)
is shown next to its field and leaves nothing stored.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from sqlmodel import select

from protocols.i18n import N_

from ..auth.permissions import require_admin
from ..db import get_session
from ..errors import NotFound, SaolaError
from ..i18n import gettext as _
from ..models import MLModel, Program, ProtectedArea
from ..services import models as model_service
from ..services.programs import KIND_NAMES
from . import login_required
from .forms import FORM, text

bp = Blueprint("admin_models", __name__)
KIND_CHOICES = (("detector", N_("Detector (MegaDetector-style boxes)")),
                ("classifier", N_("Species classifier")))


def _values() -> dict[str, Any]:
    f = request.form
    return {"name": text(f, "name"), "kind": f.get("kind") or "detector", "version": text(f, "version"),
            "sha256": text(f, "sha256"), "labels": f.get("labels") or "", "input_size": text(f, "input_size")}


def _list_page(values: dict[str, Any], errors: dict[str, str]):
    s = get_session()
    rows = list(s.exec(select(MLModel).order_by(MLModel.kind, MLModel.name)))
    who = model_service.uploaded_by(s, [m.id for m in rows])
    programs = list(s.exec(select(Program)))
    used_by: dict[str, int] = {m.name: 0 for m in rows}
    for p in programs:
        for name in model_service.program_models(p):
            if name in used_by:
                used_by[name] += 1
    return render_template("admin_models.html", area=None, nav="models", rows=rows, who=who, used_by=used_by,
                           values=values, errors=errors, kind_choices=[(k, _(v)) for k, v in KIND_CHOICES],
                           kind_names=KIND_NAMES), (422 if errors else 200)


@bp.route("/admin/models", methods=["GET", "POST"])
@login_required
def models():
    """The registered models and the upload form."""
    require_admin()
    if request.method == "GET":
        return _list_page({"kind": "detector"}, {})
    s = get_session()
    values = _values()
    errors = model_service.check_fields(s, name=values["name"], kind=values["kind"], sha256=values["sha256"],
                                        labels=values["labels"], input_size=values["input_size"])
    if values["version"] and len(values["version"]) > 64:
        errors["version"] = _("Enter at most {n} characters.", n=64)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        errors["file"] = _("Choose the .onnx file.")
    if errors:
        return _list_page(values, errors)
    assert upload is not None
    try:
        model = model_service.upload_model(s, current_app.config, upload.stream, upload.filename or "",
                                           name=values["name"], kind=values["kind"], sha256=values["sha256"],
                                           version=values["version"], labels=values["labels"],
                                           input_size=values["input_size"])
        s.commit()
    except model_service.ModelUploadError as e:
        s.rollback()
        return _list_page(values, {e.field: e.message})
    except ValueError as e:  # the registry's own checks (a name taken meanwhile)
        s.rollback()
        return _list_page(values, {FORM: str(e)})
    flash(_("Model {name} ({version}) uploaded and checked: SHA-256 matches, {kind} loads.", name=model.name,
            version=model.version, kind=_(KIND_NAMES.get(model.kind, model.kind))), "ok")
    return redirect(url_for(".model_page", model_id=model.id))


def _model(model_id: str) -> MLModel:
    require_admin()
    model = get_session().get(MLModel, model_id)
    if model is None:
        raise NotFound(_("No such model."))
    return model


def _program_rows(model: MLModel) -> list[dict[str, Any]]:
    s = get_session()
    areas = {a.id: a for a in s.exec(select(ProtectedArea))}
    out = []
    for p in s.exec(select(Program).order_by(Program.name)):
        settings = p.settings if isinstance(p.settings, dict) else {}
        area = areas.get(p.area_id)
        out.append({"program": p, "area": area, "enabled": model.name in (settings.get("enabled_models") or []),
                    "chosen": model.name in (settings.get("detector_model"), settings.get("classifier_model"))})
    out.sort(key=lambda r: ((r["area"].code if r["area"] else ""), r["program"].name))
    return out


@bp.route("/admin/models/<model_id>", methods=["GET", "POST"])
@login_required
def model_page(model_id: str):
    """One model: what it is, where it is used; POST saves the programs it is enabled for."""
    model = _model(model_id)
    s = get_session()
    rows = _program_rows(model)
    if request.method == "POST":
        wanted = set(request.form.getlist("program"))
        changed = 0
        for r in rows:
            changed += model_service.set_enabled(s, r["program"], model, r["program"].id in wanted)
        s.commit()
        flash(_("Enabled for {n} program(s).", n=len(wanted & {r['program'].id for r in rows}))
              if changed else _("Nothing changed."), "ok")
        return redirect(url_for(".model_page", model_id=model.id))
    use = model_service.usage(s, model, current_app.config)
    who = model_service.uploaded_by(s, [model.id]).get(model.id, "")
    return render_template("admin_model.html", area=None, nav="models", model=model, rows=rows, use=use, who=who,
                           kind_names=KIND_NAMES)


@bp.route("/admin/models/<model_id>/delete", methods=["POST"])
@login_required
def model_delete(model_id: str):
    """Delete an unused model (refused with the reason when in use)."""
    model = _model(model_id)
    s = get_session()
    name = model.name
    try:
        model_service.delete_model(s, model, current_app.config)
    except SaolaError as e:
        s.rollback()
        flash(e.message, "error")
        return redirect(url_for(".model_page", model_id=model_id))
    flash(_("Model {name} deleted.", name=name), "ok")
    return redirect(url_for(".models"))
