"""One form screen for every protocol record: observation, deployment, service, retrieval, threat, listening post.

The fields come from the protocol definition, so a new protocol version with
an extra field needs no app change. Validation is the same code the server
runs (protocols.validate); errors appear under their fields in the ranger's
language, and nothing is saved until the record is valid.

Fast entry (issue 14, item 4): recent species as one-tap buttons, "repeat last
observation" (``prepare(repeat=True)``), sticky fields, tally counters and picture
choices (quickfields.py). Each record goes to a program whose protocol fits its
kind (D12, mobile/programs.py); a form always opens at its top (D7); a save is
confirmed on the next screen and a filled form is never discarded without asking (D10).
"""
from __future__ import annotations

import protocols
from kivy.app import App
from kivy.metrics import dp
from kivy.uix.screenmanager import Screen
from kivy.utils import platform

from .. import entry, programs
from ..i18n import label as pick_label
from ..reference import KINDS
from ..store import ReadOnlyRecord, StorageFull
from .dialogs import choose, confirm, toast
from .widgets import FormView, local_now_iso, new_texture_on_text

# Datetime fields that mean "when this was recorded": filled with now.
NOW_FIELDS = ("observed_at", "start_time", "visit_time", "end_time")


class FormScreen(Screen):
    """A record form built from the protocol; ``prepare(kind=...)`` sets it up."""

    def on_kv_post(self, base_widget):
        self.form = None
        self.kind = None
        self.walk_id = None
        self.record_id = None
        self.saved_id = None
        self.program = None
        self.initial_values = {}
        self._forms: dict = {}  # (protocol, record type, kind, language) -> FormView, reused
        for label in (self.ids.program, self.ids.message):
            label.fbind("text", new_texture_on_text)  # texts that change while shown (see fresh_texture)

    @property
    def app(self):
        return App.get_running_app()

    def prepare(self, kind: str = "observation", walk_id: str | None = None, values: dict | None = None,
                record_type: str | None = None, record_id: str | None = None, repeat: bool = False, **_):
        """Open a new form of ``kind`` (in walk ``walk_id``), or the saved record ``record_id`` to correct.

        ``repeat``: start from the last observation's species, sign, count and habitat
        (new time and position).
        """
        if kind not in KINDS:
            raise ValueError(f"unknown form kind {kind!r}; expected one of {sorted(KINDS)}")
        self.kind = kind
        self.spec = KINDS[kind]
        self.walk_id = walk_id
        self.record_id = record_id
        self.saved_id = None
        self.proto = self.app.reference.protocol(self.spec["protocol"])
        self.app.ensure_gps()
        types = list(self.proto.records)
        self.record_type = record_type or self.spec["record_type"] or types[0]
        chooser = self.ids.record_type
        if self.spec["record_type"] is None and len(types) > 1:
            chooser.disabled, chooser.opacity, chooser.height = False, 1, dp(56)
        else:
            chooser.disabled, chooser.opacity, chooser.height = True, 0, 0
        self.ids.message.text = ""
        self.confirmed_no_location = False
        values = dict(values or {})
        ask = self._choose_program(record_id)
        if record_id is None:
            rt = self.proto.record_type(self.record_type)
            prefill = entry.sticky_values(self.app.store, rt.fields, walk_id)
            if repeat and self.record_type == "observation":
                prefill.update(entry.repeat_values(self.app.store, walk_id) or {})
            values = {**prefill, **values}
        self._build(values, fill_now=record_id is None)
        self.initial_values = self.form.values()
        self.ids.scroll.scroll_y = 1  # D7: a form opens at its top, wherever the last one was left
        if ask is not None:
            ask()

    # -- which program (D12) ------------------------------------------------------------
    def _choose_program(self, record_id: str | None):
        """Set ``self.program``; return a function that asks the ranger, when that is needed."""
        store = self.app.store
        self.program_candidates, self.no_program_fits = [], False
        if record_id is not None:  # a correction stays in its record's program
            rec = store.get_record(self.spec["entity"], record_id) or {}
            known = {p["id"]: p for p in programs.area_programs(store)}
            pid = rec.get("program_id")
            self.program = known.get(pid) or ({"id": pid, "name": None} if pid else store.get_setting("program"))
            self._show_program()
            return None
        walk = store.get_walk(self.walk_id) if self.walk_id else None
        program, candidates, none_fits = programs.resolve(store, self.kind, walk)
        self.program, self.program_candidates, self.no_program_fits = program, candidates, none_fits
        self._show_program()
        return None if program is not None else self.ask_program

    def ask_program(self):
        """Which program is this record for? (several programs fit it, or none does)."""
        app = self.app
        message = (app.tr("No program of this area uses this protocol. Choose where to send the record:")
                   if self.no_program_fits else app.tr("Several programs of this area use this protocol."))
        options = [(p.get("name") or p["id"], p) for p in self.program_candidates]

        def chosen(program):
            self.program = program
            programs.remember_choice(app.store, self.kind, program)
            self._show_program()
        return choose(app.tr("Which program is this record for?"), message, options, chosen,
                      cancel=app.tr("Cancel"), on_cancel=self.go_back)

    def _show_program(self):
        app = self.app
        name = (self.program or {}).get("name") or (self.program or {}).get("id")
        self.ids.program.text = app.tr("Program: {name}", name=name) if name else ""
        change = self.ids.change_program
        many = len(self.program_candidates) > 1 or self.no_program_fits
        change.disabled, change.opacity = not many, 1 if many else 0
        change.width = dp(130) if many else 0

    def _build(self, values: dict, fill_now: bool):
        app = self.app
        rt = self.proto.record_type(self.record_type)
        self.ids.record_type.values = [pick_label(r.label, app.lang, r.name) for r in self.proto.records.values()]
        self.ids.record_type.text = pick_label(rt.label, app.lang, rt.name)
        context = self._context()
        # One form per protocol record type, kind and language, reset for each new record:
        # building one makes hundreds of widgets, too slow to do on every "Add observation".
        key = (self.proto.key, self.record_type, self.kind, app.lang)
        cached = self._forms.get(key)
        if cached is not None and cached.context.keys() == context.keys():
            self.form = cached
            cached.context.update(context)
            cached.reset()
        else:
            self.form = self._forms[key] = FormView(rt.fields, app.lang, context)
        initial = {}
        if fill_now:
            for f in rt.fields:
                if f["name"] in NOW_FIELDS and f.get("required"):
                    initial[f["name"]] = local_now_iso()
                if f["type"] == "geopoint" and app.current_location():
                    initial[f["name"]] = app.current_location()
        initial.update(values)
        self.form.set_values(initial)
        self.on_change(self.form, None)
        holder = self.ids.form_holder
        holder.clear_widgets()
        holder.add_widget(self.form)
        self.ids.title_bar.title = f"{pick_label(self.proto.title, app.lang)} · {pick_label(rt.label, app.lang)}"

    def _context(self) -> dict:
        """What the form's fields ask the screen for (FormView's ``context``)."""
        app = self.app
        context = {
            "pick_species": self.pick_species,
            "species_lookup": self.species_list().get,
            "current_location": app.current_location,
            "add_photo": app.add_photo,
            "deployments": self.deployment_options,
            "has_camera": platform == "android",
            "on_change": self.on_change,
            "pick_on_map": lambda on_pick, value: app.pick_on_map(on_pick, value, return_to=self.name),
            "choose_species": lambda widget, species: self._species_chosen(widget, species),
        }
        if self.record_type == "observation" and self.kind == "observation":
            context["recent_species"] = self.recent_species
        return context

    def prewarm(self, kind: str) -> bool:
        """Build ``kind``'s form ahead of its first opening (its labels render on the next frame).

        The walk screen calls it just after a walk starts, so the first "Add observation"
        of the day opens as fast as the next ones. False when it was already built.
        """
        spec = KINDS[kind]
        proto = self.app.reference.protocol(spec["protocol"])
        rtype = spec["record_type"] or next(iter(proto.records))
        key = (proto.key, rtype, kind, self.app.lang)
        if key in self._forms:
            return False
        saved = (self.kind, getattr(self, "proto", None), getattr(self, "record_type", None))
        self.kind, self.proto, self.record_type = kind, proto, rtype
        try:
            self._forms[key] = FormView(proto.record_type(rtype).fields, self.app.lang, self._context())
        finally:
            self.kind, self.proto, self.record_type = saved
        return True

    def species_list(self):
        program = self.program or self.app.store.get_setting("program") or {}
        return self.app.reference.species(program.get("id"))

    def recent_species(self):
        """This ranger's recent and frequent species that are on the program's list."""
        species = self.species_list()
        return [s for s in (species.get(n) for n in entry.species_ranking(self.app.store)) if s is not None]

    def deployment_options(self):
        """This device's deployments of the same protocol, newest first, labelled by station."""
        out = []
        for rec in reversed(self.app.store.records("deployment")):
            if rec["record_type"] == "deployment" and rec["protocol"].split("@")[0] == self.proto.name:
                d = rec["data"]
                serial = d.get("camera_serial") or d.get("recorder_serial") or ""
                out.append((rec["id"], f"{d.get('station_id', '?')} · {serial} · {d.get('start_time', '')[:10]}"))
        return out

    def choose_record_type(self, text: str):
        for r in self.proto.records.values():
            if pick_label(r.label, self.app.lang, r.name) == text and r.name != self.record_type:
                self.record_type = r.name
                self._build({}, fill_now=True)
                return

    def on_language(self, lang):
        if self.form is not None:
            values = self.form.values()
            self._build(values, fill_now=False)

    def on_change(self, form, name):
        """Recompute computed fields (perpendicular distance) as the ranger types."""
        if form is not self.form or self.form is None:
            return
        values = protocols.complete(self.proto, form.values(), self.record_type)
        for f in self.proto.record_type(self.record_type).fields:
            if "computed" in f and f["name"] in form.widgets:
                form.widgets[f["name"]].set_value(values.get(f["name"]))

    def _species_chosen(self, field_widget, species):
        field_widget.set_value(species.scientific_name if species else None)
        if "unidentified" in self.form.widgets:
            self.form.widgets["unidentified"].set_value(species is None)

    def pick_species(self, field_widget):
        self.app.show("species", on_pick=lambda species: self._species_chosen(field_widget, species),
                      return_to=self.name, program=self.program)

    # -- save ----------------------------------------------------------------
    def collect(self) -> tuple[dict, list]:
        """The record as it would be saved, and the validator's errors."""
        record = protocols.complete(self.proto, self.form.values(), self.record_type)
        return record, protocols.validate(self.proto, record, self.record_type)

    def save(self):
        app = self.app
        record, errors = self.collect()
        self.form.show_errors(errors, app.lang)
        if errors:
            self.ids.message.text = app.tr("Please correct the fields marked in red")
            return None
        rt = self.proto.record_type(self.record_type)
        unplaced = [f["name"] for f in rt.fields if f["type"] == "geopoint" and not record.get(f["name"])]
        if unplaced and not self.confirmed_no_location:
            # D5: no fix and no position set: say so once; a second Save saves without one.
            self.confirmed_no_location = True
            for name in unplaced:
                if name in self.form.widgets:
                    self.form.widgets[name].show_error(app.tr("No position: pick it on the map or enter coordinates"))
            self.ids.message.text = app.tr("No position: tap Save again to save without one")
            return None
        photos = [sha for f in rt.fields if f["type"] == "photos" for sha in record.get(f["name"], [])]
        program = self.program or {}
        entity = self.spec["entity"]
        kwargs = {}
        if entity == "deployment":
            kwargs["deployment_id"] = record.get("deployment_id")
        else:
            kwargs["walk_id"] = self.walk_id
        recorded_at = next((record[n] for n in NOW_FIELDS if record.get(n)), None)
        try:
            self.saved_id = app.store.save_record(
                entity, self.proto.key, self.record_type, record, record_id=self.record_id,
                program_id=program.get("id"), photos=photos, recorded_at=recorded_at,
                gps_time=app.recorder.gps_time(), **kwargs)
        except StorageFull:
            # Nothing was written; the form stays open with everything entered (issue 14, bad input).
            self.ids.message.text = app.tr("The tablet's storage is full: nothing was saved yet. Free some space, "
                                           "then tap Save again.")
            return None
        except ReadOnlyRecord:
            self.ids.message.text = app.tr("Recorded on another tablet: read only")
            return None
        entry.remember(app.store, record, entry.WALK_STICKY)
        if self.walk_id:
            entry.remember(app.store, record, entry.OBSERVATION_STICKY, walk_id=self.walk_id)
        self.ids.message.text = app.tr("Saved")
        self.initial_values = self.form.values()
        self.go_back()
        # D10: the form closes at once, so the confirmation is shown over the next screen.
        what = self.describe(record)
        toast(app.tr("Saved") + (f": {what}" if what else ""))
        return self.saved_id

    def describe(self, record: dict) -> str:
        """A few words naming the record: species and sign, threat type, station."""
        app, parts = self.app, []
        if record.get("taxon"):
            sp_ = self.species_list().get(record["taxon"])
            parts.append(sp_.name(app.lang) if sp_ else str(record["taxon"]))
        elif record.get("unidentified"):
            parts.append(app.tr("Unidentified"))
        for f in self.proto.record_type(self.record_type).fields:
            if f["name"] in ("sign_type", "threat_type") and record.get(f["name"]):
                choice = next((c for c in f["choices"] if c["value"] == record[f["name"]]), None)
                parts.append(pick_label(choice["label"], app.lang) if choice else record[f["name"]])
        for key in ("station_id", "post_id"):
            if record.get(key):
                parts.append(str(record[key]))
        return " · ".join(parts)

    # -- leaving ------------------------------------------------------------------------
    def is_filled(self) -> bool:
        """True when the ranger changed something since the form opened (or was last saved)."""
        return self.form is not None and self.form.values() != self.initial_values

    def cancel(self):
        """Cancel or back: a filled form is only discarded after asking (D10)."""
        app = self.app
        if not self.is_filled():
            return self.go_back()
        what = app.tr("this correction") if self.record_id else app.tr("this record")
        return confirm(app.tr("Discard {what}?", what=what),
                       app.tr("What you entered will be lost."),
                       yes=app.tr("Discard"), no=app.tr("Keep editing"), on_yes=self.go_back, danger=True)

    def go_back(self):
        if self.walk_id and self.app.store.active_walk():
            self.app.show("walk")
        else:
            self.app.show("home")
