"""Pick the protected area and monitoring program (from data cached at sign-in)."""
from __future__ import annotations

from kivy.app import App
from kivy.uix.screenmanager import Screen

from .. import programs as program_fit
from ..api_client import ApiClient, ApiError


class AreaScreen(Screen):
    """Two dropdowns filled from the store; works offline once data was fetched."""

    def prepare(self, message: str = "", **_):
        self.ids.message.text = message or ""
        self.reload()

    def on_language(self, lang):
        self.reload()

    def reload(self):
        app = App.get_running_app()
        store = app.store
        self.areas = [a for a in (store.get_setting("areas") or []) if isinstance(a, dict) and "id" in a]
        names = [a.get("name") or a["id"] for a in self.areas]
        self.ids.area.values = names
        if self.ids.area.text not in names:  # keep what the ranger picked across a refresh
            current = store.get_setting("area")
            chosen = next((a for a in self.areas if current and a["id"] == current.get("id")), None)
            self.ids.area.text = (chosen.get("name") or chosen["id"]) if chosen else app.tr("Choose…")
        if not self.areas:
            self.ids.message.text = self.ids.message.text or app.tr("No protected areas stored yet: sign in once with a network, or work offline.")
        self.fill_programs()

    def selected_area(self):
        for a in self.areas:
            if (a.get("name") or a["id"]) == self.ids.area.text:
                return a
        return None

    def fill_programs(self):
        app = App.get_running_app()
        area = self.selected_area()
        progs = app.store.get_setting(f"programs:{area['id']}") if area else None
        self.programs = [p for p in (progs or []) if isinstance(p, dict) and "id" in p]
        if not self.programs:
            # Only when there is nothing to choose yet: records then wait for a program (issue 14, D2).
            self.programs.append({"id": None, "name": app.tr("Offline (no program yet)")})
        self.ids.program.values = [p.get("name") or p["id"] for p in self.programs]
        if self.ids.program.text not in self.ids.program.values:
            current = app.store.get_setting("program")
            chosen = next((p for p in self.programs if current and current.get("id") and p["id"] == current["id"]),
                          None)
            self.ids.program.text = (chosen.get("name") or chosen["id"]) if chosen else self.ids.program.values[0]

    def refresh(self):
        app = App.get_running_app()
        store = app.store
        if not store.get_setting("token"):
            self.ids.message.text = app.tr("No protected areas stored yet: sign in once with a network, or work offline.")
            return

        def work():
            client = ApiClient(store.get_setting("server"), token=store.get_setting("token"))
            areas = client.areas()
            progs = {a["id"]: client.programs(a["id"]) for a in areas if isinstance(a, dict) and "id" in a}
            definitions = client.protocols()
            references = {}
            for a in areas:
                if isinstance(a, dict) and "id" in a:
                    try:  # the map's boundary, transects and basemap; an older server has none
                        references[a["id"]] = client.reference(a["id"])
                    except ApiError:
                        pass
            species = {}
            for plist in progs.values():
                for p in plist:
                    if isinstance(p, dict) and "id" in p:
                        species[p["id"]] = client.species(p["id"])
            return areas, progs, definitions, species, references

        def done(result, error):
            if error is not None:
                self.ids.message.text = str(error)
                return
            areas, progs, definitions, species, references = result
            store.set_setting("areas", areas)
            for area_id, ref in references.items():
                store.set_setting(f"reference:{area_id}", ref)
            for area_id, plist in progs.items():
                store.set_setting(f"programs:{area_id}", plist)
            refused = app.reference.update_protocols(definitions, lang=app.lang)
            for program_id, records in species.items():
                app.reference.set_species(program_id, records)
            self.ids.message.text = "\n".join(refused) or app.tr("Reference data updated")
            self.reload()

        app.run_in_background(work, done)

    def proceed(self):
        app = App.get_running_app()
        area = self.selected_area()
        program = next((p for p in self.programs if (p.get("name") or p["id"]) == self.ids.program.text),
                       self.programs[-1])
        app.store.set_setting("area", area or {"id": None, "name": None})
        app.store.set_setting("program", program)
        home = app.show("home")
        if program.get("id"):
            # Records made in offline mode take the program now, so the server accepts them (D2):
            # each kind the one program of the area whose protocol fits it (D12), else the chosen one.
            n = sum(app.store.assign_program(p["id"], protocol=name)
                    for name, p in program_fit.offline_assignments(app.store).items())
            n += app.store.assign_program(program["id"])
            if n:
                home.refresh()
                home.ids.sync_status.text = app.tr("{n} record(s) made offline now belong to {program}", n=n,
                                                   program=program.get("name") or program["id"])
        return home
