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
            self.ids.where.text = app.tr("Offline (no program yet)")
        else:
            self.ids.where.text = f"{area.get('name') or '—'} · {program.get('name') or '—'}"
        self.ids.pending.text = app.tr("{n} change(s) waiting to sync", n=app.store.outbox_count())

    def open_form(self, kind: str):
        App.get_running_app().show("form", kind=kind)

    # -- sync (the client is mobile/sync.py; this only starts it and shows its progress) --
    def sync_now(self):
        app = App.get_running_app()
        client = app.sync_client()
        if client is None:
            self.ids.sync_status.text = app.tr("Sign in to a server first (Change area or program, then back)")
            return None
        self.ids.sync.disabled = True

        def done(report, error):
            self.ids.sync.disabled = False
            if error is not None or not report.ok:
                self.ids.sync_status.text = app.tr("Sync stopped, nothing lost: {error}", error=error or "; ".join(map(str, report.errors)))
            else:
                self.ids.sync_status.text = app.tr("Synced: {pushed} sent, {photos} photo(s), {pulled} received", pushed=sum(report.pushed.values()),
                                                   photos=report.uploaded_photos, pulled=report.pulled)
            self.refresh()

        return app.run_in_background(client.sync, done)

    def show_progress(self, p):
        """One line: records and photo bytes sent so far."""
        app = App.get_running_app()
        self.ids.sync_status.text = app.tr("Syncing: {done}/{total} records, {mb_done:.1f}/{mb_total:.1f} MB of photos", done=p.records_done, total=p.records_total,
                                           mb_done=p.bytes_done / 1e6, mb_total=p.bytes_total / 1e6)
