"""One record, opened from the records list: a walk, or a record another tablet made.

Another tablet's record is a read-only reference: its fields are shown but
cannot change, and a walk of another tablet is never continued here (issue
14, D1). This tablet's finished walk can be corrected and sent again, which
is how a walk the server refused is fixed (D2); the reason it was refused is
shown in the ranger's language.
"""
from __future__ import annotations

from kivy.app import App
from kivy.metrics import dp
from kivy.uix.screenmanager import Screen

from .. import syncstatus
from ..i18n import SYNC_STATE_NAMES
from ..store import StoreError
from ..summaries import Describer
from .widgets import FormView, set_text

# Set by the app, not typed (as on the walk screen).
AUTOMATIC = ("start_time", "end_time", "track")


def _duration(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class RecordScreen(Screen):
    """Details of one record; editable only for this tablet's finished walks."""

    def on_kv_post(self, base_widget):
        self.entity = None
        self.record_id = None
        self.form = None
        self.editable = False

    @property
    def app(self):
        return App.get_running_app()

    def prepare(self, entity: str = "walk", record_id: str | None = None, **_):
        self.entity, self.record_id = entity, record_id
        self.ids.message.text = ""
        self.show()

    def on_language(self, lang):
        if self.record_id:
            values = self.form.values() if self.form is not None and self.editable else None
            self.show(values)

    def record(self) -> dict | None:
        store = self.app.store
        return store.get_walk(self.record_id) if self.entity == "walk" else store.get_record(self.entity,
                                                                                          self.record_id)

    def show(self, values: dict | None = None):
        app, rec = self.app, self.record()
        if rec is None:
            return
        program = app.store.get_setting("program") or {}
        describer = Describer(app.lang, app.reference.protocol, app.reference.species(program.get("id")),
                              app.store.stations())
        row = {**rec, "link": rec.get("walk_id") or rec.get("deployment_id")}
        self.ids.title_bar.title = describer.title(row)
        if rec["read_only"]:
            who = rec.get("owner")
            set_text(self.ids.owner, app.tr("Recorded on another tablet by {owner}: read only", owner=who) if who
                     else app.tr("Recorded on another tablet: read only"))
        else:
            set_text(self.ids.owner, app.tr("Recorded on this tablet"))
        set_text(self.ids.state, self._state_text(rec))
        set_text(self.ids.stats, self._stats_text(rec) if self.entity == "walk" else "")
        walk = self.entity == "walk"
        self.ids.summary.height, self.ids.summary.opacity, self.ids.summary.disabled = \
            (dp(52), 1, False) if walk else (0, 0, True)
        self.editable = self.entity == "walk" and not rec["read_only"] and rec["status"] == "done"
        proto = self.protocol_of(rec)
        fields = proto.record_type(rec["record_type"]).fields
        context: dict = {"species_lookup": describer.species.get if describer.species is not None else (lambda n: None),
                   "current_location": lambda: None, "deployments": lambda: [], "pick_species": lambda w: None,
                   "add_photo": lambda *a, **k: None}
        self.form = FormView(fields, app.lang, context, skip=AUTOMATIC if self.entity == "walk" else ())
        if values is None:
            values = rec["data"]
            if not self.editable:  # show what was recorded, not the form's defaults for what was not
                values = {**{name: None for name in self.form.widgets}, **values}
        self.form.set_values(values)
        self.form.disabled = not self.editable
        holder = self.ids.form_holder
        holder.clear_widgets()
        holder.add_widget(self.form)
        actions = self.ids.actions
        actions.opacity, actions.disabled = (1, False) if self.editable else (0, True)
        actions.height = dp(64) if self.editable else 0

    def protocol_of(self, rec: dict):
        """The protocol version the record was made with (a walk of line_transect 1.0 is corrected as 1.0,
        without the fields of a later version), else the one in use."""
        import protocols

        name, _, version = rec["protocol"].partition("@")
        try:
            return protocols.load(name, version) if version else self.app.reference.protocol(name)
        except protocols.ProtocolNotFound:
            return self.app.reference.protocol(name)

    def _state_text(self, rec: dict) -> str:
        app = self.app
        if rec["read_only"]:
            return ""
        if rec["sync_state"] == "rejected" and rec.get("program_id") is None:
            return app.tr("Refused by the server: made offline without a program. Choose the area and program: "
                          "it is then sent again.")
        if rec["sync_state"] == "rejected":
            return app.tr("Refused by the server: {reason}",
                          reason=syncstatus.record_error(rec.get("sync_error"), app.lang) or "?")
        if rec["sync_state"] == "conflict":
            return app.tr("Kept on the server for a biologist to decide")
        if rec.get("program_id") is None:
            return app.tr("Made offline: waits for a program (choose the area and program)")
        if self.entity == "walk" and rec["status"] in ("active", "paused"):
            return app.tr("In progress on this tablet")
        return app.tr(SYNC_STATE_NAMES.get(rec["sync_state"], "waiting to sync"))

    def _stats_text(self, rec: dict) -> str:
        app = self.app
        lines = [f"{app.tr('Distance')}: {rec['distance_m']:.0f} m",
                 f"{app.tr('Track points')}: {rec['point_count']}"]
        if not rec["read_only"]:
            lines.append(f"{app.tr('Walking time')}: {_duration(rec['walking_s'])}")
        return "\n".join(lines)

    # -- actions (this tablet's finished walk) -----------------------------------
    def save(self):
        """Save the corrected fields and queue the whole walk again."""
        import protocols

        app = self.app
        rec = self.record()
        proto = self.protocol_of(rec)
        record = protocols.complete(proto, {**rec["data"], **self.form.values()}, "walk")
        errors = protocols.validate(proto, record, "walk")
        if self.form.show_errors(errors, app.lang) or errors:
            self.ids.message.text = app.tr("Please correct the fields marked in red")
            return None
        try:
            app.store.update_walk(self.record_id, record)
        except StoreError as e:
            self.ids.message.text = str(e)
            return None
        self.show()
        self.ids.message.text = app.tr("Saved: it will be sent at the next sync")
        return self.record_id

    def resend(self):
        """Queue the walk again as it is (after the server was fixed, or a program was chosen)."""
        app = self.app
        try:
            app.store.resend(self.entity, self.record_id)
        except StoreError:
            self.ids.message.text = app.tr("Made offline: waits for a program (choose the area and program)")
            return None
        self.show()
        self.ids.message.text = app.tr("Saved: it will be sent at the next sync")
        return self.record_id
