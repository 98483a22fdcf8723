"""The main menu: what to record, the records list, and where sync stands.

Sync status (issue 14, D8): when the tablet last synced, what still waits and
why (offline-mode records without a program, records the server refused,
conflicts kept for a biologist), and a failure in words a ranger can act on.
Progress lines are replaced by the outcome when a sync ends, whoever started
it (the "Sync now" button or the automatic sync).
"""
from __future__ import annotations

from kivy.app import App
from kivy.uix.screenmanager import Screen

from .. import syncstatus
from .widgets import set_text


class HomeScreen(Screen):
    """Big buttons for each kind of field work."""

    def prepare(self, **_):
        self.refresh()

    def on_language(self, lang):
        self.refresh()

    def refresh(self):
        app = App.get_running_app()
        store, lang = app.store, app.lang
        area = store.get_setting("area") or {}
        program = store.get_setting("program") or {}
        if area.get("id") is None and program.get("id") is None:
            self.ids.where.text = app.tr("Offline (no program yet)")
        else:
            self.ids.where.text = f"{area.get('name') or '—'} · {program.get('name') or '—'}"
        set_text(self.ids.pending, syncstatus.pending_text(store.pending_counts(), lang))
        last = store.get_setting("sync.last")
        set_text(self.ids.last_sync, syncstatus.last_sync_text(last, lang))
        if not (self.ids.sync.disabled and self.ids.sync_status.text):  # not while a sync shows progress
            set_text(self.ids.sync_status, syncstatus.outcome_text(last, lang))
        set_text(self.ids.storage, syncstatus.storage_text(store.photo_storage(), lang))

    def open_form(self, kind: str):
        App.get_running_app().show("form", kind=kind)

    # -- sync (the client is mobile/sync.py; this only starts it and shows its progress) --
    def sync_now(self):
        app = App.get_running_app()
        client = app.sync_client()
        if client is None:
            set_text(self.ids.sync_status, app.tr("Sign in to a server first (Change area or program, then back)"))
            return None
        self.ids.sync.disabled = True

        def done(report, error):
            self.ids.sync.disabled = False
            if error is not None:  # a bug, not a network problem: say so, nothing was lost
                set_text(self.ids.sync_status, syncstatus.error_text("local", app.lang))
            self.refresh()

        return app.run_in_background(client.sync, done)

    def show_progress(self, p):
        """While a sync runs: what it is doing; when it ends: its outcome (stored by the client)."""
        app = App.get_running_app()
        if p.phase in ("done", "failed"):
            self.ids.sync.disabled = False
            set_text(self.ids.sync_status, "")
            self.refresh()
            return
        set_text(self.ids.sync_status, syncstatus.progress_text(p, app.lang))
