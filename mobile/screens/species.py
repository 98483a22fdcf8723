"""Species picker: type any part of a Vietnamese, English or scientific name, with or without diacritics.

Before anything is typed, the ranger's recent and frequent species come first
(mobile/entry.py, from this device's records), then the whole list.
"""
from __future__ import annotations

from kivy.app import App
from kivy.metrics import dp
from kivy.properties import ObjectProperty
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.recycleview.views import RecycleDataViewBehavior
from kivy.uix.screenmanager import Screen

from .. import entry
from .widgets import fresh_texture


HEADER = (None, dp(44))  # a section title row; species rows are 72dp (species.kv)


class SpeciesRow(RecycleDataViewBehavior, Button):
    """One result: common name in the current language, then the other names."""

    species = ObjectProperty(None, allownone=True)

    def refresh_view_attrs(self, rv, index, data):
        fresh_texture(self, data.get("text", ""))
        self.species = data.get("species")
        return super().refresh_view_attrs(rv, index, data)

    def on_release(self):
        App.get_running_app().screen("species").pick(self.species)


class SpeciesHeader(RecycleDataViewBehavior, Label):
    """A section title in the results ("Recent and frequent", "All species")."""

    def refresh_view_attrs(self, rv, index, data):
        fresh_texture(self, data.get("text", ""))
        return super().refresh_view_attrs(rv, index, data)


class SpeciesScreen(Screen):
    """Search box over the program's species list; results in a RecycleView."""

    def on_kv_post(self, base_widget):
        self.on_pick = None
        self.return_to = "home"
        self.program = None
        self.recent = []

    def prepare(self, on_pick=None, return_to: str = "form", program: dict | None = None, **_):
        self.on_pick = on_pick
        self.return_to = return_to
        self.program = program
        self.ids.query.text = ""
        self.search("")

    def on_language(self, lang):
        self.search(self.ids.query.text)

    def species_list(self):
        app = App.get_running_app()
        program = self.program or app.store.get_setting("program") or {}
        return app.reference.species(program.get("id"))

    def search(self, query: str):
        app = App.get_running_app()
        lang = app.lang
        species = self.species_list()
        results = species.search(query, limit=100)
        self.recent = []
        if not query.strip():
            self.recent = [s for s in (species.get(n) for n in entry.species_ranking(app.store)) if s is not None]
        self.results = self.recent + [s for s in results if s not in self.recent]

        def row(s):
            other = s.english_name if lang == "vi" else s.vietnamese_name
            iucn = f" · IUCN {s.iucn_category}" if s.iucn_category else ""
            # Alternative names too, so a ranger who typed "Hoẵng" sees why the muntjac came up.
            aka = f" · {', '.join(s.other_names[:3])}" if s.other_names else ""
            return {"viewclass": "SpeciesRow",
                    "text": f"{s.name(lang)} — {other}\n[i]{s.scientific_name}[/i]{iucn}{aka}", "species": s}
        rows = []
        if self.recent:
            rows.append({"viewclass": "SpeciesHeader", "text": app.tr("Recent and frequent"), "row_size": HEADER})
            rows += [row(s) for s in self.recent]
            rows.append({"viewclass": "SpeciesHeader", "text": app.tr("All species"), "row_size": HEADER})
        rows += [row(s) for s in results]
        self.ids.results.data = rows
        return self.results

    def pick(self, species):
        """Hand the choice (None = unidentified) back to the form and return to it."""
        if self.on_pick:
            self.on_pick(species)
        App.get_running_app().sm.current = self.return_to
