"""Reference data for the app: protocol definitions and the species list, offline first.

The app ships with the bundled protocols and species list, so it works before
it ever reaches a server. Definitions the server sends replace the bundled
ones only when compatible (same major version); a newer major version is
refused with a clear message (update the app) and the bundled one stays in use.
Stdlib only.
"""
from __future__ import annotations

import protocols
from protocols import ProtocolDefinitionError, ProtocolVersionError, species as species_mod

from .store import Store

# What each menu entry of the app records, and where.
KINDS = {
    "observation": {"protocol": "line_transect", "record_type": "observation", "entity": "observation"},
    "camera": {"protocol": "camera_trap", "record_type": None, "entity": "deployment"},
    "acoustic": {"protocol": "acoustic_recorder", "record_type": None, "entity": "deployment"},
    "gibbon": {"protocol": "gibbon_listening_post", "record_type": "session", "entity": "observation"},
    "threat": {"protocol": "threat_incident", "record_type": "incident", "entity": "threat"},
}


class Reference:
    """Protocols and species for the current program, from the store's cache or bundled."""

    def __init__(self, store: Store):
        self.store = store
        self._protocols: dict[str, protocols.Protocol] = {}
        self._species: dict[str, species_mod.SpeciesList] = {}

    def protocol(self, name: str) -> protocols.Protocol:
        """The protocol to record with: the server's cached definition if accepted, else bundled."""
        if name not in self._protocols:
            cached = (self.store.get_setting("protocols") or {}).get(name)
            proto = None
            if cached:
                try:
                    proto = protocols.load_definition(cached, source=f"server:{name}")
                except ProtocolDefinitionError:
                    proto = None  # a bad cache entry must not stop the ranger: use the bundled one
            self._protocols[name] = proto or protocols.load(name)
        return self._protocols[name]

    def update_protocols(self, definitions: list[dict], lang: str = "en") -> list[str]:
        """Accept server definitions that this app can use; return messages (in ``lang``) for the refused ones.

        A newer major version gives ProtocolVersionError's text, e.g. "Protocol
        'line_transect' version 2.0 is newer than this app supports (1.x)...";
        a malformed definition gives ProtocolDefinitionError's (English only).
        """
        accepted = dict(self.store.get_setting("protocols") or {})
        refused: list[str] = []
        for i, definition in enumerate(definitions):
            name = definition.get("name") if isinstance(definition, dict) else None
            try:
                proto = protocols.load_definition(definition, source=f"server protocol {name or i}")
                bundled = protocols.load(proto.name)
                protocols.check_compatibility(proto.name, bundled.version, proto.version)
            except ProtocolVersionError as exc:
                refused.append(exc.message(lang))
                continue
            except (ProtocolDefinitionError, protocols.ProtocolNotFound) as exc:
                refused.append(str(exc))
                continue
            accepted[proto.name] = proto.to_dict()
        self.store.set_setting("protocols", accepted)
        self.store.set_setting("protocols_refused", refused)
        self._protocols.clear()
        return refused

    def species(self, program_id: str | None = None) -> species_mod.SpeciesList:
        """The program's species list (cached from the server), else the bundled reference (vn_reference)."""
        key = program_id or ""
        if key not in self._species:
            cached = self.store.get_setting(f"species:{program_id}") if program_id else None
            if cached:
                self._species[key] = species_mod.from_records(cached, source=f"program {program_id}")
            else:
                self._species[key] = species_mod.load_bundled()
        return self._species[key]

    def set_species(self, program_id: str, records: list[dict]) -> int:
        """Cache a program's species list from the server (checked first); returns its length.

        Alternative names are kept (issue 14, D9): the server's (``other_names``)
        and those of the bundled list for the same species, so "Hoẵng" still
        finds Muntiacus vaginalis after an update from a server that lacks them.
        """
        import dataclasses

        checked = species_mod.from_records(records, source=f"program {program_id}")
        bundled = species_mod.load_bundled()
        merged = []
        for sp in checked:
            known = bundled.get(sp.scientific_name)
            extra = [n for n in (known.other_names if known else ()) if n.lower() not in
                     {o.lower() for o in sp.other_names}]
            merged.append(dataclasses.replace(sp, other_names=sp.other_names + tuple(extra)) if extra else sp)
        checked = species_mod.SpeciesList(merged, checked.source)
        self.store.set_setting(f"species:{program_id}", checked.to_list())
        self._species.pop(program_id, None)
        return len(checked)
