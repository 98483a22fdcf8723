"""Sign in and register this device with the server, or continue offline."""
from __future__ import annotations

import platform as host

from kivy.app import App
from kivy.uix.screenmanager import Screen

from ..api_client import ApiClient


class SignInScreen(Screen):
    """Server address, user name, password, device name -> device token."""

    def prepare(self, **_):
        app = App.get_running_app()
        self.ids.server.text = app.store.get_setting("server", "") or self.ids.server.text
        if not self.ids.device_name.text:
            self.ids.device_name.text = app.store.get_setting("device_name") or host.node() or "tablet"
        self.ids.message.text = ""

    def sign_in(self):
        app = App.get_running_app()
        server, user, password = self.ids.server.text, self.ids.username.text, self.ids.password.text
        device_name = self.ids.device_name.text.strip() or "tablet"
        self.ids.message.text = app.tr("Signing in…")
        store = app.store

        def work():
            client = ApiClient(server)
            answer = client.sign_in(user, password, store.device_id, device_name)
            areas = client.areas()
            programs = {a["id"]: client.programs(a["id"]) for a in areas if isinstance(a, dict) and "id" in a}
            try:
                definitions = client.protocols()
            except Exception:  # protocols are optional at sign-in: the bundled ones work
                definitions = []
            references = {}
            for a in areas:
                if isinstance(a, dict) and "id" in a:
                    try:  # the map's boundary, transects and basemap; an older server has none
                        references[a["id"]] = client.reference(a["id"])
                    except Exception:
                        pass
            return client, answer, areas, programs, definitions, references

        def done(result, error):
            if error is not None:
                self.ids.message.text = app.tr("Sign-in failed: {error}", error=str(error))
                return
            client, answer, areas, programs, definitions, references = result
            store.set_setting("server", client.server)
            store.set_setting("token", answer["token"])
            store.set_setting("user", answer.get("user"))
            store.set_setting("device_name", device_name)
            store.set_setting("areas", areas)
            for area_id, progs in programs.items():
                store.set_setting(f"programs:{area_id}", progs)
            for area_id, ref in references.items():
                store.set_setting(f"reference:{area_id}", ref)
            refused = app.reference.update_protocols(definitions, lang=app.lang) if definitions else []
            self.ids.password.text = ""
            app.start_autosync()
            app.show("area", message="\n".join(refused))

        app.run_in_background(work, done)

    def continue_offline(self):
        app = App.get_running_app()
        app.store.set_setting("offline", True)
        app.show("area")
