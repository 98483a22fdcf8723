"""Creating and changing monitoring programs and their settings (API and administration pages).

``Program.settings`` holds what the rest of Saola reads per program; the keys checked here
(each optional, unknown keys kept as they are, e.g. Camtrap DP metadata or ``audio_bands``):

* ``species_list``: scientific names the species classifier may answer (server/detect/species.py)
  and the field app offers (sync reference);
* ``common_species``: at most 9 species for the review number keys 1-9 (server/review/queue.py);
* ``detector_threshold``: boxes shown from this detector confidence in review (default 0.2);
* ``triage_threshold``: the confidence triage's proposed threshold (default 0.1);
* ``birdnet``, ``birdnet_min_conf``, ``alert_threshold``: the sound analysis (server/audio/config.py);
* ``detector_model``, ``classifier_model``: registered models this program's images go through
  (instead of ``SAOLA_DETECTOR_MODEL`` / ``SAOLA_CLASSIFIER_MODEL``);
* ``audio_classifiers``: registered audio classifiers run on its recordings;
* ``enabled_models``: registered detectors and classifiers enabled for the program (the models
  page of administrators), which managers may run on its deployments (the jobs page).

Species are given by any of their names and stored as scientific names; a name that is not
in the species reference, a model that is not registered (or of another kind) and a number
out of range are refused with a 422 naming the field.
"""
from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from protocols.i18n import N_

from ..errors import Conflict, ValidationError
from ..i18n import gettext as _
from ..models import MLModel, Program
from . import crud

#: Defaults the pages show for thresholds a program leaves unset.
DEFAULTS = {"detector_threshold": 0.2, "triage_threshold": 0.1, "birdnet": True, "birdnet_min_conf": 0.25,
            "alert_threshold": 0.5}
COMMON_MAX = 9
THRESHOLDS = ("detector_threshold", "triage_threshold", "birdnet_min_conf", "alert_threshold")
MODEL_KEYS = {"detector_model": "detector", "classifier_model": "classifier"}
#: How messages name each kind of model (server/detect/registry.py KINDS).
KIND_NAMES = {"detector": N_("detector"), "classifier": N_("species classifier"),
              "audio_classifier": N_("audio classifier")}


def _invalid(field: str, message: str) -> ValidationError:
    return ValidationError(message, details=[{"field": field, "message": message}])


def resolve_species(session: Session, names: list[Any], field: str) -> list[str]:
    """Scientific names for ``names`` (any name of a taxon, diacritics optional), in order, without
    repeats; 422 naming the first unknown name."""
    from ..services.taxa import find_taxa

    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise _invalid(field, _("Give a list of species names."))
    wanted = [" ".join(n.split()) for n in names if n.strip()]
    found = find_taxa(session, wanted)
    out: list[str] = []
    for name in wanted:
        taxon = found.get(name)
        if taxon is None:
            raise _invalid(field, _("{name} is not in the species reference.", name=name))
        if taxon.scientific_name not in out:
            out.append(taxon.scientific_name)
    return out


def check_settings(session: Session, settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` with species names resolved; 422 naming the field of a bad value."""
    out = dict(settings)
    for key in ("species_list", "common_species"):
        if out.get(key) is not None:
            out[key] = resolve_species(session, out[key], key)
    if len(out.get("common_species") or []) > COMMON_MAX:
        raise _invalid("common_species", _("At most {n} common species (the number keys 1 to 9).", n=COMMON_MAX))
    for key in THRESHOLDS:
        v = out.get(key)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1 or (
                key == "triage_threshold" and v == 0):
            raise _invalid(key, _("Enter a confidence from 0 to 1."))
        out[key] = float(v)
    if "birdnet" in out and not isinstance(out["birdnet"], bool):
        raise _invalid("birdnet", _("BirdNET is on or off (true or false)."))
    kinds = {m.name: m.kind for m in session.exec(select(MLModel))}
    for key, kind in MODEL_KEYS.items():
        name = out.get(key)
        if name is not None and kinds.get(name) != kind:
            raise _invalid(key, _("No registered {kind} model is called {name}.", kind=_(KIND_NAMES[kind]),
                                       name=str(name)[:64]))
    audio = out.get("audio_classifiers")
    if audio is not None:
        if not isinstance(audio, list) or not all(isinstance(n, str) for n in audio):
            raise _invalid("audio_classifiers", _("Give a list of model names."))
        for name in audio:
            if kinds.get(name) != "audio_classifier":
                raise _invalid("audio_classifiers", _("No registered {kind} model is called {name}.",
                                                      kind=_(KIND_NAMES["audio_classifier"]), name=name[:64]))
    enabled = out.get("enabled_models")
    if enabled is not None:
        if not isinstance(enabled, list) or not all(isinstance(n, str) for n in enabled):
            raise _invalid("enabled_models", _("Give a list of model names."))
        for name in enabled:
            if kinds.get(name) not in ("detector", "classifier"):
                raise _invalid("enabled_models", _("No registered detector or classifier is called {name}.",
                                                   name=name[:64]))
    return out


def _name_free(session: Session, area_id: str, name: str, program_id: str | None = None) -> None:
    stmt = select(Program.id).where(Program.area_id == area_id, Program.name == name)
    if program_id is not None:
        stmt = stmt.where(col(Program.id) != program_id)
    if session.exec(stmt).first():
        msg = _("This protected area already has a program called {name}.", name=name)
        raise Conflict(msg, details=[{"field": "name", "message": "already used"}])


def create_program(session: Session, values: dict[str, Any]) -> Program:
    """A new program from validated fields (``ProgramIn``), audited."""
    values = dict(values)
    _name_free(session, values["area_id"], values["name"])
    values["settings"] = check_settings(session, values.get("settings") or {})
    return crud.create(session, Program(**values), values["area_id"])


def update_program(session: Session, program: Program, changes: dict[str, Any]) -> Program:
    """Apply validated changes (``ProgramPatch``); a new sequence gap queues the regrouping job."""
    from ..jobs import enqueue

    changes = dict(changes)
    if changes.get("name") and changes["name"] != program.name:
        _name_free(session, program.area_id, changes["name"], program.id)
    if changes.get("settings") is not None:
        changes["settings"] = check_settings(session, changes["settings"])
    start = changes.get("start_date", program.start_date)
    end = changes.get("end_date", program.end_date)
    if start and end and end < start:
        raise _invalid("end_date", _("The end date is before the start date."))
    gap_changed = changes.get("sequence_gap_s") is not None and changes["sequence_gap_s"] != program.sequence_gap_s
    program = crud.update(session, program, changes, program.area_id)
    if gap_changed:
        enqueue(session, "resequence", {"program_id": program.id}, area_id=program.area_id)
    return program


def setting(program: Program, key: str) -> Any:
    """A program's setting, or Saola's default for it."""
    settings = program.settings if isinstance(program.settings, dict) else {}
    value = settings.get(key)
    return DEFAULTS.get(key) if value is None else value
