"""One form screen for every protocol record: observation, deployment, service, retrieval, threat, listening post.

The fields come from the protocol definition, so a new protocol version with
an extra field needs no app change. Validation is the same code the server
runs (protocols.validate); errors appear under their fields in the ranger's
language, and nothing is saved until the record is valid.
"""
from __future__ import annotations

import protocols
from kivy.app import App
from kivy.metrics import dp
from kivy.uix.screenmanager import Screen
from kivy.utils import platform

from ..i18n import label as pick_label
from ..reference import KINDS
from .widgets import FormView, local_now_iso

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

    @property
    def app(self):
        return App.get_running_app()

    def prepare(self, kind: str = "observation", walk_id: str | None = None, values: dict | None = None,
                record_type: str | None = None, record_id: str | None = None, **_):
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
        self._build(values or {}, fill_now=True)

    def _build(self, values: dict, fill_now: bool):
        app = self.app
        rt = self.proto.record_type(self.record_type)
        self.ids.record_type.values = [pick_label(r.label, app.lang, r.name) for r in self.proto.records.values()]
        self.ids.record_type.text = pick_label(rt.label, app.lang, rt.name)
        context = {
            "pick_species": self.pick_species,
            "species_lookup": self.species_list().get,
            "current_location": app.current_location,
            "add_photo": app.add_photo,
            "deployments": self.deployment_options,
            "has_camera": platform == "android",
            "on_change": self.on_change,
            "pick_on_map": lambda on_pick, value: app.pick_on_map(on_pick, value, return_to=self.name),
        }
        self.form = FormView(rt.fields, app.lang, context)
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

    def species_list(self):
        program = self.app.store.get_setting("program") or {}
        return self.app.reference.species(program.get("id"))

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

    def pick_species(self, field_widget):
        def chosen(species):
            field_widget.set_value(species.scientific_name if species else None)
            if species is None and "unidentified" in self.form.widgets:
                self.form.widgets["unidentified"].set_value(True)
            elif species is not None and "unidentified" in self.form.widgets:
                self.form.widgets["unidentified"].set_value(False)
        self.app.show("species", on_pick=chosen, return_to=self.name)

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
        program = app.store.get_setting("program") or {}
        entity = self.spec["entity"]
        kwargs = {}
        if entity == "deployment":
            kwargs["deployment_id"] = record.get("deployment_id")
        else:
            kwargs["walk_id"] = self.walk_id
        recorded_at = next((record[n] for n in NOW_FIELDS if record.get(n)), None)
        self.saved_id = app.store.save_record(
            entity, self.proto.key, self.record_type, record, record_id=self.record_id,
            program_id=program.get("id"), photos=photos, recorded_at=recorded_at,
            gps_time=app.recorder.gps_time(), **kwargs)
        self.ids.message.text = app.tr("Saved")
        self.go_back()
        return self.saved_id

    def go_back(self):
        if self.walk_id and self.app.store.active_walk():
            self.app.show("walk")
        else:
            self.app.show("home")
