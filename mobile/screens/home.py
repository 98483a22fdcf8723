"""The main menu: what to record, the records list and how much waits to sync."""
from __future__ import annotations

from kivy.app import App
from kivy.uix.screenmanager import Screen


class HomeScreen(Screen):
    """Big buttons for each kind of field work."""

    def prepare(self, **_):
        self.refresh()

    def on_language(self, lang):
        self.refresh()

    def refresh(self):
        app = App.get_running_app()
        area = app.store.get_setting("area") or {}
        program = app.store.get_setting("program") or {}
        if area.get("id") is None and program.get("id") is None:
            self.ids.where.text = app.tr("offline_program")
        else:
            self.ids.where.text = f"{area.get('name') or '—'} · {program.get('name') or '—'}"
        self.ids.pending.text = app.tr("pending_count", n=app.store.outbox_count())

    def open_form(self, kind: str):
        App.get_running_app().show("form", kind=kind)
