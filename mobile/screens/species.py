"""Species picker: type any part of a Vietnamese, English or scientific name, with or without diacritics."""
from __future__ import annotations

from kivy.app import App
from kivy.properties import ObjectProperty
from kivy.uix.button import Button
from kivy.uix.recycleview.views import RecycleDataViewBehavior
from kivy.uix.screenmanager import Screen

from .widgets import fresh_texture


class SpeciesRow(RecycleDataViewBehavior, Button):
    """One result: common name in the current language, then the other names."""

    species = ObjectProperty(None, allownone=True)

    def refresh_view_attrs(self, rv, index, data):
        fresh_texture(self, data.get("text", ""))
        self.species = data.get("species")
        return super().refresh_view_attrs(rv, index, data)

    def on_release(self):
        App.get_running_app().screen("species").pick(self.species)


class SpeciesScreen(Screen):
    """Search box over the program's species list; results in a RecycleView."""

    def on_kv_post(self, base_widget):
        self.on_pick = None
        self.return_to = "home"

    def prepare(self, on_pick=None, return_to: str = "form", **_):
        self.on_pick = on_pick
        self.return_to = return_to
        self.ids.query.text = ""
        self.search("")

    def on_language(self, lang):
        self.search(self.ids.query.text)

    def species_list(self):
        app = App.get_running_app()
        program = app.store.get_setting("program") or {}
        return app.reference.species(program.get("id"))

    def search(self, query: str):
        app = App.get_running_app()
        lang = app.lang
        results = self.species_list().search(query, limit=100)
        self.results = results
        rows = []
        for s in results:
            other = s.english_name if lang == "vi" else s.vietnamese_name
            iucn = f" · IUCN {s.iucn_category}" if s.iucn_category else ""
            rows.append({"text": f"{s.name(lang)} — {other}\n[i]{s.scientific_name}[/i]{iucn}",
                         "species": s})
        self.ids.results.data = rows
        return results

    def pick(self, species):
        """Hand the choice (None = unidentified) back to the form and return to it."""
        if self.on_pick:
            self.on_pick(species)
        App.get_running_app().sm.current = self.return_to
