"""Which monitoring program a record goes to (issue 14, D12); stdlib only, tested headless.

One chosen program for every form sent a camera deployment into the line-transect
program. Each kind of form now goes to a program of the area whose protocol fits
it: chosen by itself when the area has exactly one, asked when it has several (the
answer is remembered per area and kind); observations and threats of a walk go
with their walk. When no program of the area fits, the ranger chooses among all of
them, told that none uses the protocol. Offline (no area yet) the record keeps the
program chosen on the area screen (none), as before.

The server names protocols its own way ("camera-trap", "line-transect",
"acoustic"); :func:`protocol_of` maps them onto the bundled definitions' names.
"""
from __future__ import annotations

from typing import cast

# Form kind (mobile.reference.KINDS, plus "walk") -> protocols whose programs fit it, best first.
FITS = {
    "walk": ("line_transect",),
    "observation": ("line_transect",),
    "camera": ("camera_trap",),
    "acoustic": ("acoustic_recorder",),
    "gibbon": ("gibbon_listening_post",),
    "threat": ("threat_incident", "line_transect"),
}
# Server program protocol names -> bundled protocol names.
ALIASES = {
    "camera-trap": "camera_trap", "camera_trap": "camera_trap", "cameratrap": "camera_trap",
    "line-transect": "line_transect", "line_transect": "line_transect", "transect": "line_transect",
    "acoustic": "acoustic_recorder", "acoustic-recorder": "acoustic_recorder", "acoustic_recorder": "acoustic_recorder",
    "gibbon": "gibbon_listening_post", "gibbon-listening-post": "gibbon_listening_post",
    "gibbon_listening_post": "gibbon_listening_post",
    "threat": "threat_incident", "threat-incident": "threat_incident", "threat_incident": "threat_incident",
    "patrol": "threat_incident",
}


def protocol_of(program: dict) -> str | None:
    """The bundled protocol name a server program records with ("camera-trap" -> "camera_trap")."""
    raw = str(program.get("protocol") or "").strip().lower()
    if not raw:
        return None
    name = raw.split("@")[0]
    return ALIASES.get(name, name.replace("-", "_"))


def area_programs(store) -> list[dict]:
    """The programs of the chosen area, as cached at sign-in or refresh."""
    area = store.get_setting("area") or {}
    if not area.get("id"):
        return []
    return [p for p in (store.get_setting(f"programs:{area['id']}") or []) if isinstance(p, dict) and p.get("id")]


def fitting(store, kind: str) -> list[dict]:
    """The area's programs whose protocol fits form ``kind``, best-fitting protocol first.

    A program that names no protocol (an older server) may hold anything: it fits too, last.
    """
    wanted = FITS.get(kind, ())
    programs = area_programs(store)
    return ([p for proto in wanted for p in programs if protocol_of(p) == proto]
            + [p for p in programs if protocol_of(p) is None])


def _memory_key(store, kind: str) -> str:
    area = store.get_setting("area") or {}
    return f"program_for:{area.get('id')}:{kind}"


def remember_choice(store, kind: str, program: dict) -> None:
    """Remember the ranger's answer for this area and kind of form."""
    store.set_setting(_memory_key(store, kind), {"id": program.get("id"), "name": program.get("name")})


def resolve(store, kind: str, walk: dict | None = None) -> tuple[dict | None, list[dict], bool]:
    """(program, candidates to ask among, none_fits) for a new record of ``kind``.

    ``program`` is set when no question is needed: the walk's program for its
    observations and threats, the one fitting program, a remembered answer, or the
    area screen's choice when the area has no programs (offline). Otherwise
    ``program`` is None and the ranger chooses among ``candidates``; ``none_fits``
    says that no program of the area uses the form's protocol.
    """
    programs = area_programs(store)
    if walk is not None and kind in ("observation", "threat") and walk.get("program_id"):
        match = next((p for p in programs if p["id"] == walk["program_id"]), None)
        return (match or {"id": walk["program_id"], "name": None}), [], False
    if not programs:
        return store.get_setting("program"), [], False
    fits = fitting(store, kind)
    candidates, none_fits = (fits, False) if fits else (programs, True)
    if len(candidates) == 1 and not none_fits:
        return candidates[0], candidates, False
    remembered = store.get_setting(_memory_key(store, kind)) or {}
    chosen = next((p for p in candidates if p["id"] == remembered.get("id")), None)
    if chosen is not None:
        return chosen, candidates, none_fits
    return None, candidates, none_fits


def offline_assignments(store) -> dict[str, dict]:
    """Protocol name -> the one program of the area that fits records made with it, for the
    records made offline before a program was chosen (D2). Protocols several programs fit
    (or none) are left out: those records take the program the ranger chose."""
    from .reference import KINDS

    out: dict[str, dict] = {}
    kinds_of: dict[str, list[str]] = {"line_transect": ["walk"]}
    for kind, spec in KINDS.items():
        kinds_of.setdefault(str(cast(dict, spec)["protocol"]), []).append(kind)
    for protocol, kinds in kinds_of.items():
        found = {p["id"]: p for kind in kinds for p in fitting(store, kind) if protocol_of(p) == protocol}
        if len(found) == 1:
            out[protocol] = next(iter(found.values()))
    return out
