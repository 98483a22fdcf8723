"""Interface text of the field app in Vietnamese and English (stdlib only).

The app's own words go through the one mechanism of Saola (:mod:`protocols.i18n`):
English text in the code, ``tr("Save", lang)``, and its Vietnamese in
``mobile/locale/vi.po``. A message with no translation shows in English rather than
failing. Protocol labels (fields, choices) come from the protocol definitions;
:func:`label` picks them.
"""
from __future__ import annotations

from pathlib import Path

from protocols.i18n import DEFAULT_LANGUAGE, LANGUAGES, Catalog, N_

__all__ = ["DEFAULT_LANGUAGE", "ENTITY_NAMES", "LANGUAGES", "SYNC_STATE_NAMES", "TEXT", "label", "tr"]

TEXT = Catalog(Path(__file__).parent / "locale")

# What the records list calls each kind of record and each sync state (mobile.store's names).
ENTITY_NAMES = {"walk": N_("Walk"), "observation": N_("Observation"), "deployment": N_("Deployment"),
                "threat": N_("Threat")}
SYNC_STATE_NAMES = {"pending": N_("waiting to sync"), "synced": N_("synced"), "conflict": N_("conflict"),
                    "rejected": N_("rejected")}


def tr(message: str, lang: str = DEFAULT_LANGUAGE, **params) -> str:
    """``message`` (English text) in ``lang`` ("vi" or "en"), with ``{params}`` filled in."""
    return TEXT.gettext(message, lang, **params)


def label(labels: dict | None, lang: str = DEFAULT_LANGUAGE, fallback: str = "") -> str:
    """Pick ``lang`` from a protocol {"en": ..., "vi": ...} label."""
    if not labels:
        return fallback
    return labels.get(lang) or labels.get("en") or fallback
