"""Records on this device with their sync state, newest first, paged into a RecycleView.

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

from ..i18n import ENTITY_NAMES, SYNC_STATE_NAMES
from .widgets import fresh_texture

PAGE = 200
ROW_HEIGHT = dp(64)  # records.kv: RecordRow height and default_size
SYNC_COLOURS = {
    "pending": (1, 0.8, 0.3, 1),
    "synced": (0.5, 0.95, 0.55, 1),
    "conflict": (1, 0.45, 0.4, 1),
    "rejected": (1, 0.45, 0.4, 1),
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
    """The paged records list."""

    def on_kv_post(self, base_widget):
        self.cursor = None
        self.rows = []
        self.total = 0

    def prepare(self, **_):
        self.reload()

    def on_language(self, lang):
        self.reload()

    def reload(self):
        self.cursor = None
        self.rows = []
        self.ids.list.data = []
        self.ids.list.scroll_y = 1
        counts = App.get_running_app().store.sync_counts()
        self.total = sum(counts.values())
        self.load_more()

    def _choice_labels(self, lang: str) -> dict:
        # Summaries hold raw values ("snare"); show the protocol's label for them.
        if getattr(self, "_labels_lang", None) != lang:
            import protocols

            app = App.get_running_app()
            labels = {"unidentified": app.tr("Unidentified", lang)}
            for info in protocols.list_protocols():
                proto = app.reference.protocol(info["name"])
                for rt in proto.records.values():
                    for f in rt.fields:
                        for c in f.get("choices", []):
                            labels.setdefault(c["value"], c["label"].get(lang) or c["value"])
            self._labels, self._labels_lang = labels, lang
        return self._labels

    def _row(self, r: dict) -> dict:
        app = App.get_running_app()
        state = r["sync_state"]
        summary = self._choice_labels(app.lang).get(r["summary"], r["summary"]) or r["record_type"]
        return {
            "text": f"{app.tr(ENTITY_NAMES[r['entity']])}: {summary}\n"
                    f"{r['recorded_at'][:16].replace('T', ' ')} · {app.tr(SYNC_STATE_NAMES[state])}",
            "color": SYNC_COLOURS.get(state, (1, 1, 1, 1)),
            "record_id": r["id"],
            "entity": r["entity"],
        }

    def open_record(self, entity: str, record_id: str):
        """Open a record's form to correct it (walks are edited on the walk screen, not here)."""
        from ..reference import KINDS

        app = App.get_running_app()
        rec = app.store.get_record(entity, record_id)
        if rec is None or entity == "walk":
            return None
        name = rec["protocol"].split("@")[0]
        kind = next((k for k, v in KINDS.items() if v["protocol"] == name), None)
        if kind is None:
            return None
        return app.show("form", kind=kind, record_id=record_id, record_type=rec["record_type"],
                        values=rec["data"], walk_id=rec.get("walk_id"))

    def load_more(self) -> int:
        """Append the next page; returns how many rows were added."""
        if self.rows and self.cursor is None:
            return 0
        store = App.get_running_app().store
        page, self.cursor = store.records_page(limit=PAGE, cursor=self.cursor)
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
        else:
            text = app.tr("{shown} of {total} shown", shown=len(self.rows), total=self.total)
        fresh_texture(self.ids.count, text)
        self.ids.count.text = text

    def on_scroll(self, scroll_y: float):
        # Near the bottom (scroll_y -> 0): fetch the next page before the ranger gets there.
        if scroll_y < 0.1 and self.cursor is not None:
            self.load_more()
