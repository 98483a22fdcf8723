"""Transect walk: start, pause, resume, stop, with live track statistics.

Every state change is written to the store before the screen changes, so a
walk killed at any moment comes back here on restart and keeps recording.
"""
from __future__ import annotations

import protocols
from kivy.app import App
from kivy.clock import Clock
from kivy.uix.screenmanager import Screen

from .. import entry, programs
from ..i18n import N_
from ..numbers import format_decimal
from ..walksummary import computed_summary, duration_text
from .dialogs import choose, confirm
from .widgets import FormView, local_now_iso, set_text

PROTOCOL = "line_transect"
# Set by the app, not typed: start/end come from the clock, the track from the GPS.
AUTOMATIC = ("start_time", "end_time", "track")


# A fix older than this means the receiver lost the sky (canopy, a valley): not "recording".
STALE_FIX_S = 60.0
GREEN, AMBER, RED, GREY = (0.6, 1, 0.6, 1), (1, 0.8, 0.35, 1), (1, 0.45, 0.4, 1), (0.8, 0.8, 0.8, 1)


def walk_state(status: str, fix, location_refused: bool, now: float) -> tuple[str, tuple]:
    """What the walk screen says about recording, and in which colour (finding D5).

    "Recording" in green only with a recent fix; while waiting for one the screen says so in
    amber, never "Recording" next to "Waiting for GPS…".
    """
    if status != "active":
        return N_("Paused"), GREY
    if location_refused:
        return N_("Location not allowed: no track"), RED
    if fix is None:
        return N_("Walk started: waiting for GPS signal…"), AMBER
    if now - fix.t > STALE_FIX_S:
        return N_("GPS signal lost: waiting…"), AMBER
    return N_("Recording"), GREEN


def _duration(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class WalkScreen(Screen):
    """Setup panel before a walk; stats and actions during it."""

    def on_kv_post(self, base_widget):
        # Keep strong references: the panels are swapped in and out of the body.
        self.setup_panel = self.ids.setup_panel.__self__
        self.run_panel = self.ids.run_panel.__self__
        self.form = None
        self.walk_id = None
        self._tick = None

    @property
    def app(self):
        return App.get_running_app()

    def protocol(self):
        return self.app.reference.protocol(PROTOCOL)

    def prepare(self, resumed: bool = False, **_):
        app = self.app
        walk = app.store.active_walk()
        self.ids.message.text = ""
        if walk is None:
            self.walk_id = None
            self._show_setup()
            return
        self.walk_id = walk["id"]
        if walk["status"] == "active" and not app.recording():
            # Found active with nobody recording here: the app was killed. Carry
            # on, in a new track segment (the gap is not walked distance).
            app.store.resume_walk(self.walk_id)
            app.start_recording(self.walk_id)
            if resumed:
                self.ids.message.text = app.tr("Walk resumed after a restart")
        self._show_run()

    def transect_options(self) -> list[tuple[str, str]]:
        """The area's transects from the server's reference (D12): chosen, not typed. Value = its name."""
        area = self.app.store.get_setting("area") or {}
        ref = self.app.store.get_setting(f"reference:{area.get('id')}") if area.get("id") else None
        out = []
        for t in (ref or {}).get("transects") or []:
            if isinstance(t, dict) and t.get("name"):
                length = f" · {format_decimal(t['length_m'] / 1000, self.app.lang, digits=1)} km" \
                    if isinstance(t.get("length_m"), (int, float)) else ""
                out.append((t["name"], f"{t['name']}{length}"))
        return out

    def _show_setup(self):
        app = self.app
        rt = self.protocol().record_type("walk")
        transects = self.transect_options()
        context = {"listed": {"transect_id": lambda: transects}} if transects else {}
        self.form = FormView(rt.fields, app.lang, context, skip=AUTOMATIC)
        # Observers, weather, patrol type and team as on the last walk (sticky, item 4).
        self.form.set_values(entry.sticky_values(app.store, rt.fields))
        self.ids.form_holder.clear_widgets()
        self.ids.form_holder.add_widget(self.form)
        self._swap(self.setup_panel)
        self._stop_ticking()

    def _show_run(self):
        self._swap(self.run_panel)
        self.update_stats()
        self._start_ticking()
        # The forms of a walk, built while the ranger is still walking off (one per frame,
        # and only while this screen shows): the first observation opens without a wait.
        for delay, kind in ((0.5, "observation"), (1.0, "threat")):
            Clock.schedule_once(lambda dt, k=kind: self._prewarm(k), delay)

    def _prewarm(self, kind: str):
        if self.manager is not None and self.manager.current == self.name and self.walk_id:
            self.app.screen("form").prewarm(kind)

    def _swap(self, panel):
        body = self.ids.body
        body.clear_widgets()
        body.add_widget(panel)

    def on_language(self, lang):
        if self.form is not None and self.walk_id is None:
            self.form.set_language(lang)
        self.update_stats()

    def on_leave(self, *args):
        self._stop_ticking()

    def on_enter(self, *args):
        if self.walk_id:
            self._start_ticking()

    def _start_ticking(self):
        if self._tick is None:
            self._tick = Clock.schedule_interval(lambda dt: self.update_stats(), 1.0)

    def _stop_ticking(self):
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None

    # -- actions --------------------------------------------------------------
    def start_walk(self, program: dict | None = None):
        """Start recording; asks which program first when several line-transect programs fit (D12)."""
        app = self.app
        proto = self.protocol()
        record = protocols.complete(proto, self.form.values(), "walk")
        record["start_time"] = local_now_iso()
        errors = protocols.validate(proto, record, "walk")
        if self.form.show_errors(errors, app.lang) or errors:
            self.ids.setup_message.text = app.tr("Please correct the fields marked in red")
            return None
        self.ids.setup_message.text = ""
        if program is None:
            program, candidates, none_fits = programs.resolve(app.store, "walk")
            if program is None and candidates:
                def chosen(p):
                    programs.remember_choice(app.store, "walk", p)
                    self.start_walk(program=p)
                message = (app.tr("No program of this area uses this protocol. Choose where to send the record:")
                           if none_fits else app.tr("Several programs of this area use this protocol."))
                choose(app.tr("Which program is this record for?"), message,
                       [(p.get("name") or p["id"], p) for p in candidates], chosen, cancel=app.tr("Cancel"))
                return None
        app.recorder.listen()
        self.walk_id = app.store.start_walk(proto.key, record, program_id=(program or {}).get("id"),
                                            gps_time=app.recorder.gps_time())
        entry.remember(app.store, record, entry.WALK_STICKY, walk_id=self.walk_id)
        app.start_recording(self.walk_id)
        self._show_run()
        return self.walk_id

    def toggle_pause(self):
        app = self.app
        walk = app.store.get_walk(self.walk_id)
        if walk["status"] == "active":
            app.stop_recording()
            app.store.pause_walk(self.walk_id)
        else:
            app.store.resume_walk(self.walk_id)
            app.start_recording(self.walk_id)
        self.update_stats()

    def summary_preview(self) -> str:
        """Distance, walking time and records so far, for the stop question."""
        app = self.app
        walk = app.store.get_walk(self.walk_id)
        obs = app.store.count_records("observation", walk_id=self.walk_id)
        threats = app.store.count_records("threat", walk_id=self.walk_id)
        return "\n".join([
            f"{app.tr('Distance')}: {format_decimal(walk['distance_m'] / 1000, app.lang, digits=2)} km",
            f"{app.tr('Walking time')}: {duration_text(walk['walking_s'] / 60)}",
            app.tr("Observations: {n}", n=obs) + " · " + app.tr("Threats: {n}", n=threats),
        ])

    def confirm_stop(self):
        """Stop asks first (D10): the summary so far, "Keep walking" or "Stop and save"."""
        app = self.app
        return confirm(app.tr("Stop this walk?"),
                       self.summary_preview() + "\n\n" + app.tr("The track ends here and the walk is saved."),
                       yes=app.tr("Stop and save"), no=app.tr("Keep walking"), on_yes=self.stop_walk, danger=True)

    def stop_walk(self):
        """End the walk with its summary (item 5) and show the summary screen."""
        app = self.app
        app.stop_recording()
        walk_id = self.walk_id
        walk = app.store.get_walk(walk_id)
        fields = self._walk_protocol(walk).record_type("walk").field_names
        end = local_now_iso()
        summary = computed_summary(app.store, walk, fields, end_iso=end)
        app.store.stop_walk(walk_id, {"end_time": end, **summary}, gps_time=app.recorder.gps_time())
        self.walk_id = None
        self._show_setup()
        self.ids.message.text = app.tr("Walk saved")
        self.ids.setup_message.text = app.tr("Walk saved")
        app.show("summary", walk_id=walk_id)

    def _walk_protocol(self, walk: dict):
        """The protocol version the walk was started under (its summary must fit that version)."""
        name, _, version = walk["protocol"].partition("@")
        current = self.app.reference.protocol(name)
        if current.version == version:
            return current
        try:
            return protocols.load(name, version)
        except protocols.ProtocolNotFound:
            return current

    def _last_name(self, record: dict) -> str:
        """The last observation in a few words: its species (or "Unidentified")."""
        app = self.app
        taxon = record["data"].get("taxon")
        if not taxon:
            return app.tr("Unidentified")
        program = app.store.get_setting("program") or {}
        sp_ = app.reference.species(record.get("program_id") or program.get("id")).get(taxon)
        return sp_.name(app.lang) if sp_ else str(taxon)

    def repeat_last(self):
        """A new observation like the last one (species, sign, count, habitat), at a new time and place."""
        walk = self.app.store.get_walk(self.walk_id)
        hidden = {}
        if walk["data"].get("transect_bearing_deg") is not None:
            hidden["transect_bearing_deg"] = walk["data"]["transect_bearing_deg"]
        return self.app.show("form", kind="observation", walk_id=self.walk_id, values=hidden, repeat=True)

    def add_observation(self):
        walk = self.app.store.get_walk(self.walk_id)
        hidden = {}
        if walk["data"].get("transect_bearing_deg") is not None:
            hidden["transect_bearing_deg"] = walk["data"]["transect_bearing_deg"]
        self.app.show("form", kind="observation", walk_id=self.walk_id, values=hidden)

    def add_threat(self):
        self.app.show("form", kind="threat", walk_id=self.walk_id)

    def open_map(self):
        self.app.show("map", walk_id=self.walk_id)

    # -- live statistics ---------------------------------------------------------
    def update_stats(self):
        app = self.app
        if not self.walk_id:
            return
        walk = app.store.get_walk(self.walk_id)
        if walk is None:
            return
        ids = self.ids
        set_text(ids.transect, f"{app.tr('Transect walk')}: {walk['data'].get('transect_id', '')}")
        state, colour = walk_state(walk["status"], app.recorder.last_fix, app.location_refused,
                                   app.recorder.clock())
        set_text(ids.state, app.tr(state))
        ids.state.color = colour
        set_text(ids.distance, f"{app.tr('Distance')}: {walk['distance_m']:.0f} m")
        set_text(ids.elapsed, f"{app.tr('Walking time')}: {_duration(walk['walking_s'])}")
        set_text(ids.points, f"{app.tr('Track points')}: {walk['point_count']}")
        fix = app.recorder.last_fix
        if fix is None or fix.accuracy_m is None:
            set_text(ids.accuracy, app.tr("Waiting for GPS signal…") if fix is None else f"{app.tr('GPS accuracy')}: ?")
        else:
            set_text(ids.accuracy, f"{app.tr('GPS accuracy')}: ±{fix.accuracy_m:.0f} m")
        n = app.store.count_records("observation", walk_id=self.walk_id)
        last = entry.last_observation(app.store, self.walk_id)
        ids.repeat.disabled = last is None
        set_text(ids.repeat, app.tr("Repeat last observation") + (f": {self._last_name(last)}" if last else ""))
        set_text(ids.observations, app.tr("Observations: {n}", n=n))
        set_text(ids.pause, app.tr("Pause") if walk["status"] == "active" else app.tr("Resume"))
