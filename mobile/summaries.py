"""Human lines for records in lists (issue 14, D11): never a raw id, names in the ranger's language.

"Service visit: CT-12" rather than "Deployment: 9f4842f0-…"; "Observation: Red-shanked douc
(Pygathrix nemaeus)" in English and "Quan sát: Voọc chà vá chân nâu (Pygathrix nemaeus)" in
Vietnamese; a record from another tablet says whose it is. Stdlib only (plus the protocol
definitions), so it is tested without Kivy.
"""
from __future__ import annotations

import re

from .i18n import ENTITY_NAMES, SYNC_STATE_NAMES, label, tr

_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


class Describer:
    """Describes store rows (``Store.records_page``) for one language.

    ``protocol(name)`` gives a protocol definition (the app's Reference),
    ``species`` a SpeciesList (``get(scientific_name)``) and ``stations`` a
    deployment id -> station id map (``Store.stations()``).
    """

    def __init__(self, lang: str, protocol, species=None, stations: dict | None = None):
        self.lang = lang
        self.protocol = protocol
        self.species = species
        self.stations = stations or {}
        self._labels: dict = {}
        self._choices: dict | None = None

    def kind(self, row: dict) -> str:
        """What the record is: the protocol's name for its record type ("Service visit"), in the language."""
        name = (row.get("protocol") or "").split("@")[0]
        key = (name, row.get("record_type"))
        if key not in self._labels:
            text = None
            try:
                rt = self.protocol(name).records.get(row.get("record_type"))
                text = label(rt.label, self.lang) if rt is not None else None
            except Exception:  # an unknown protocol still gets a name
                text = None
            self._labels[key] = text or tr(ENTITY_NAMES.get(str(row.get("entity")), "Observation"), self.lang)
        return self._labels[key]

    def choice(self, value: str) -> str:
        """A stored choice value ("snare") as the protocols label it ("Bẫy dây")."""
        if self._choices is None:
            import protocols

            self._choices = {"unidentified": tr("Unidentified", self.lang)}
            for info in protocols.list_protocols():
                try:
                    proto = self.protocol(info["name"])
                except Exception:
                    continue
                for rt in proto.records.values():
                    for f in rt.fields:
                        for c in f.get("choices", []):
                            self._choices.setdefault(c["value"], label(c.get("label"), self.lang, c["value"]))
        return self._choices.get(value, value)

    def species_name(self, scientific: str) -> str:
        """Common name in the language with the scientific name: "Red-shanked douc (Pygathrix nemaeus)"."""
        sp = self.species.get(scientific) if self.species is not None and scientific else None
        if sp is None:
            return scientific
        common = sp.name(self.lang)
        return f"{common} ({sp.scientific_name})" if common and common != sp.scientific_name else sp.scientific_name

    def subject(self, row: dict) -> str:
        """The record's own line: species, station, transect, threat type... never a bare id."""
        summary = row.get("summary") or ""
        entity, link = row.get("entity"), row.get("link")
        if entity == "deployment":
            station = self.stations.get(link) or self.stations.get(row.get("id"))
            if station:
                return station
            return "" if _ID.match(summary) else summary
        if entity == "observation" and row.get("record_type") == "observation" and summary != "unidentified":
            return self.species_name(summary)
        if _ID.match(summary):
            return ""
        return self.choice(summary)

    def title(self, row: dict) -> str:
        """ "Kind: subject" (the kind alone when there is nothing more to say)."""
        subject = self.subject(row)
        return f"{self.kind(row)}: {subject}" if subject else self.kind(row)

    def detail(self, row: dict, me: str | None = None) -> str:
        """When, sync state and, for another tablet's record, whose it is."""
        when = (row.get("recorded_at") or "")[:16].replace("T", " ")
        parts = [when] if when else []
        if row.get("origin") == "remote":
            owner = row.get("owner")
            parts.append(tr("by {owner}, another tablet (read only)", self.lang, owner=owner)
                         if owner and owner != me else tr("from another tablet (read only)", self.lang))
        else:
            parts.append(tr(SYNC_STATE_NAMES.get(str(row.get("sync_state")), "waiting to sync"), self.lang))
        return " · ".join(parts)

    def row_text(self, row: dict, me: str | None = None) -> str:
        """The two lines of a records-list row."""
        return f"{self.title(row)}\n{self.detail(row, me)}"
