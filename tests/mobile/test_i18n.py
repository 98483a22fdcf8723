"""The field app's text goes through the one mechanism (protocols/i18n.py): English in the code,
Vietnamese in mobile/locale/vi.po. That every message used is translated is checked for every
part of Saola in tests/test_translations.py."""
from __future__ import annotations

from mobile.i18n import ENTITY_NAMES, LANGUAGES, SYNC_STATE_NAMES, TEXT, label, tr


def test_records_list_names_every_entity_and_sync_state():
    from mobile.store import ENTITIES, SYNC_STATES

    assert set(ENTITY_NAMES) == set(ENTITIES)
    assert set(SYNC_STATE_NAMES) == set(SYNC_STATES)
    vi = TEXT.messages("vi")
    assert all(name in vi for name in [*ENTITY_NAMES.values(), *SYNC_STATE_NAMES.values()])


def test_tr_languages_parameters_and_fallbacks():
    assert LANGUAGES == ("vi", "en")
    assert tr("Observations: {n}", "vi", n=3) == "Số quan sát: 3"
    assert tr("Observations: {n}", "en", n=3) == "Observations: 3"
    assert tr("No such message", "vi") == "No such message"
    assert tr("Save", "fr") == "Save"
    assert tr("Save") == "Lưu"  # Vietnamese by default
    assert label({"en": "Species", "vi": "Loài"}, "vi") == "Loài" and label(None, "vi", "x") == "x"
