"""The patrol and walk summary shown when a walk stops (issue 14, item 5).

Team, patrol type, start and end, walking time, distance and the walk's records
by type, read back from the stored walk (what is synced is what is shown).
"""
from __future__ import annotations

from kivy.app import App
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen

from ..i18n import label as pick_label
from ..numbers import format_decimal
from ..walksummary import duration_text, local_time

PROTOCOLS = {"observation": ("line_transect", "observation", "sign_type"),
             "threat": ("threat_incident", "incident", "threat_type")}


class SummaryRow(Label):
    """One line of the summary: "Name: value"."""


class SummaryScreen(Screen):
    """``prepare(walk_id=...)``: the summary of a stopped (or any) walk."""

    def on_kv_post(self, base_widget):
        self.walk_id = None
        self.return_to = "home"
        self.rows: list[tuple[str, str]] = []

    def prepare(self, walk_id: str | None = None, return_to: str = "home", **_):
        """Show ``walk_id``'s summary; Done and back return to ``return_to`` (home after a stop)."""
        self.walk_id = walk_id
        self.return_to = return_to
        self.ids.scroll.scroll_y = 1
        self.refresh()

    def go_back(self):
        app = App.get_running_app()
        if self.return_to == "home":
            app.show("home")
        else:
            app.sm.current = self.return_to  # the screen it came from, as it was left

    def on_language(self, lang):
        self.refresh()

    def _choice_label(self, protocol: str, record_type: str, field: str, value) -> str:
        app = App.get_running_app()
        try:
            f = app.reference.protocol(protocol).record_type(record_type).field(field)
        except (KeyError, LookupError):
            return str(value)
        choice = next((c for c in f.get("choices", []) if c["value"] == value), None)
        return pick_label(choice["label"], app.lang, str(value)) if choice else str(value)

    def summary_rows(self, walk: dict) -> list[tuple[str, str]]:
        """(title, value) lines in the ranger's language."""
        app = App.get_running_app()
        d, lang = walk["data"], app.lang
        start, end = d.get("start_time") or walk.get("started_at"), d.get("end_time") or walk.get("ended_at")
        day = (start or "")[:10]
        minutes = d.get("walking_time_min")
        if minutes is None and walk.get("walking_s") is not None:
            minutes = walk["walking_s"] / 60
        distance = d.get("distance_m", walk.get("distance_m"))
        rows = [
            (app.tr("Transect"), str(d.get("transect_id") or "—")),
            (app.tr("Patrol type"), self._choice_label("line_transect", "walk", "patrol_type", d["patrol_type"])
             if d.get("patrol_type") else "—"),
            (app.tr("Team leader"), d.get("team_leader") or "—"),
            (app.tr("Observers"), ", ".join(d.get("observers") or []) or "—"),
            (app.tr("Team"), ", ".join(d.get("team") or []) or "—"),
            (app.tr("Start"), f"{day} {local_time(start)}".strip()),
            (app.tr("End"), local_time(end)),
            (app.tr("Walking time"), duration_text(minutes)),
            (app.tr("Distance"), f"{format_decimal((distance or 0) / 1000, lang, digits=2)} km"),
            (app.tr("Track points"), str(walk.get("point_count", 0))),
        ]
        counts = d.get("record_counts")
        if counts is None:  # a walk of an older protocol version: count from the store
            from ..walksummary import record_counts

            counts = record_counts(app.store, walk["id"])
        for entity, title in (("observation", app.tr("Observations by type")), ("threat", app.tr("Threats by type"))):
            mine = [c for c in counts if c["record"] == entity]
            protocol, rtype, field = PROTOCOLS[entity]
            text = "\n".join(f"{self._choice_label(protocol, rtype, field, c['type'])}: {c['count']}" for c in mine)
            rows.append((title, text or app.tr("none")))
        return rows

    def refresh(self):
        app = App.get_running_app()
        walk = app.store.get_walk(self.walk_id) if self.walk_id else None
        box = self.ids.rows
        box.clear_widgets()
        self.rows = self.summary_rows(walk) if walk else []
        for title, value in self.rows:
            box.add_widget(SummaryRow(text=f"[b]{title}[/b]\n{value}"))
        just_stopped = walk is not None and walk["status"] == "done" and walk["sync_state"] == "pending" \
            and self.return_to == "home"
        self.ids.status.text = app.tr("Walk saved: it will be sent with the next sync") if just_stopped else ""

