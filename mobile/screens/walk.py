"""Transect walk: start, pause, resume, stop, with live track statistics.

Every state change is written to the store before the screen changes, so a
walk killed at any moment comes back here on restart and keeps recording.
"""
from __future__ import annotations

import protocols
from kivy.app import App
from kivy.clock import Clock
from kivy.uix.screenmanager import Screen

from ..i18n import N_
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

    def _show_setup(self):
        app = self.app
        rt = self.protocol().record_type("walk")
        self.form = FormView(rt.fields, app.lang, {}, skip=AUTOMATIC)
        self.ids.form_holder.clear_widgets()
        self.ids.form_holder.add_widget(self.form)
        self._swap(self.setup_panel)
        self._stop_ticking()

    def _show_run(self):
        self._swap(self.run_panel)
        self.update_stats()
        self._start_ticking()

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
    def start_walk(self):
        app = self.app
        proto = self.protocol()
        record = protocols.complete(proto, self.form.values(), "walk")
        record["start_time"] = local_now_iso()
        errors = protocols.validate(proto, record, "walk")
        if self.form.show_errors(errors, app.lang) or errors:
            self.ids.setup_message.text = app.tr("Please correct the fields marked in red")
            return None
        self.ids.setup_message.text = ""
        app.recorder.listen()
        program = app.store.get_setting("program") or {}
        self.walk_id = app.store.start_walk(proto.key, record, program_id=program.get("id"),
                                            gps_time=app.recorder.gps_time())
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

    def stop_walk(self):
        app = self.app
        app.stop_recording()
        app.store.stop_walk(self.walk_id, {"end_time": local_now_iso()}, gps_time=app.recorder.gps_time())
        self.walk_id = None
        self._show_setup()
        self.ids.message.text = app.tr("Walk saved")
        self.ids.setup_message.text = app.tr("Walk saved")

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
        set_text(ids.observations, app.tr("Observations: {n}", n=n))
        set_text(ids.pause, app.tr("Pause") if walk["status"] == "active" else app.tr("Resume"))
