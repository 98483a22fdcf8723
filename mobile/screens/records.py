"""Records on this device with their sync state, newest first, paged into a RecycleView.

Rows say what a record is in the ranger's language ("Service visit: CT-12", a
species' common name with its scientific name), never a raw id (issue 14,
D11). The list shows the ranger's own records; a button shows the team's
(other tablets' records, read only).

Rows are fetched 200 at a time with keyset paging as the list nears its end,
so 10,000 records open as fast as 10 and scrolling only recycles row widgets.
"""
from __future__ import annotations

from kivy.app import App
from kivy.metrics import dp
from kivy.properties import StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.label import Label
from kivy.uix.recycleview.views import RecycleDataViewBehavior
from kivy.uix.screenmanager import Screen

from .. import syncstatus
from ..summaries import Describer
from .widgets import fresh_texture

PAGE = 200
ROW_HEIGHT = dp(64)  # records.kv: RecordRow height and default_size
SYNC_COLOURS = {
    "pending": (1, 0.8, 0.3, 1),
    "synced": (0.5, 0.95, 0.55, 1),
    "conflict": (1, 0.45, 0.4, 1),
    "rejected": (1, 0.45, 0.4, 1),
    "remote": (0.7, 0.78, 0.95, 1),  # another tablet's record: read only
}


class RecordRow(ButtonBehavior, RecycleDataViewBehavior, Label):
    """Entity, summary, time and sync state of one record; tap to open it."""

    record_id = StringProperty("")
    entity = StringProperty("")

    def refresh_view_attrs(self, rv, index, data):
        fresh_texture(self, data.get("text", ""))
        return super().refresh_view_attrs(rv, index, data)

    def on_release(self):
        App.get_running_app().screen("records").open_record(self.entity, self.record_id)


class RecordsScreen(Screen):
    """The paged records list: this ranger's records by default, the team's on request."""

    def on_kv_post(self, base_widget):
        self.cursor = None
        self.rows = []
        self.total = 0
        self.scope = "mine"
        self.describer = None

    def prepare(self, scope: str | None = None, **_):
        if scope:
            self.scope = scope
        self.reload()

    def on_language(self, lang):
        self.reload()

    def toggle_scope(self):
        """Switch between my records and the whole team's (what this tablet holds)."""
        self.scope = "team" if self.scope == "mine" else "mine"
        self.reload()

    def reload(self):
        app = App.get_running_app()
        self.cursor = None
        self.rows = []
        self.ids.list.data = []
        self.ids.list.scroll_y = 1
        program = app.store.get_setting("program") or {}
        self.describer = Describer(app.lang, app.reference.protocol, app.reference.species(program.get("id")),
                                   app.store.stations())
        self.me = app.store.username()
        self.total = app.store.count_page_records(self.scope)
        scope_button = self.ids.scope
        scope_button.text = app.tr("Show the team's records") if self.scope == "mine" else app.tr("Show my records")
        self.load_more()

    def _row(self, r: dict) -> dict:
        state = r["sync_state"] if r["origin"] == "local" else "remote"
        return {
            "text": self.describer.row_text(r, self.me),
            "color": SYNC_COLOURS.get(state, (1, 1, 1, 1)),
            "record_id": r["id"],
            "entity": r["entity"],
        }

    def open_record(self, entity: str, record_id: str):
        """Open a record: this tablet's own records in their form to correct (and send again), walks and
        other tablets' records on the record screen (read only for the latter)."""
        from ..reference import KINDS

        app = App.get_running_app()
        rec = app.store.get_record(entity, record_id)
        if rec is None:
            return None
        if entity == "walk" or rec["read_only"]:
            return app.show("record", entity=entity, record_id=record_id)
        name = rec["protocol"].split("@")[0]
        kind = next((k for k, v in KINDS.items() if v["protocol"] == name), None)
        if kind is None:
            return app.show("record", entity=entity, record_id=record_id)
        scr = app.show("form", kind=kind, record_id=record_id, record_type=rec["record_type"],
                       values=rec["data"], walk_id=rec.get("walk_id"))
        if rec["sync_state"] in ("rejected", "conflict") and rec.get("sync_error"):
            scr.ids.message.text = app.tr("Refused by the server: {reason}",
                                          reason=syncstatus.record_error(rec["sync_error"], app.lang)) \
                if rec["sync_state"] == "rejected" else app.tr("Kept on the server for a biologist to decide")
        return scr

    def load_more(self) -> int:
        """Append the next page; returns how many rows were added."""
        if self.rows and self.cursor is None:
            return 0
        store = App.get_running_app().store
        page, self.cursor = store.records_page(limit=PAGE, cursor=self.cursor, scope=self.scope)
        rv = self.ids.list
        # Keep the rows on screen where they are: scroll_y is a fraction of
        # the content height, which is about to grow. (Appending, rather than
        # sliding a window, keeps every visible row bound to the same data, so
        # no row texture is re-rendered: text rendering is the costly part.)
        old_h = len(rv.data) * ROW_HEIGHT
        from_top = (1 - rv.scroll_y) * max(0.0, old_h - rv.height)
        self.rows.extend(page)
        rv.data.extend(self._row(r) for r in page)
        new_h = len(rv.data) * ROW_HEIGHT
        if old_h > rv.height and new_h > rv.height:
            rv.scroll_y = max(0.0, 1 - from_top / (new_h - rv.height))
        self.update_count()
        return len(page)

    def update_count(self):
        app = App.get_running_app()
        if not self.total:
            text = app.tr("No records yet")
        elif self.scope == "mine":
            text = app.tr("{shown} of {total} shown", shown=len(self.rows), total=self.total)
        else:
            text = app.tr("Team: {shown} of {total} shown", shown=len(self.rows), total=self.total)
        fresh_texture(self.ids.count, text)
        self.ids.count.text = text

    def on_scroll(self, scroll_y: float):
        # Near the bottom (scroll_y -> 0): fetch the next page before the ranger gets there.
        if scroll_y < 0.1 and self.cursor is not None:
            self.load_more()
