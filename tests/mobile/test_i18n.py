"""Every interface string exists in Vietnamese and English, and every key the code uses is defined."""
from __future__ import annotations

import re
from pathlib import Path

from mobile.i18n import LANGUAGES, STRINGS, label, tr

MOBILE = Path(__file__).resolve().parents[2] / "mobile"
# tr("key"...), app.tr("key"...), app_tr("key"...) in .py and .kv files
USE = re.compile(r"""\btr\(\s*["']([a-z0-9_]+)["']""")


def test_every_string_has_both_languages():
    for key, entry in STRINGS.items():
        assert set(entry) == set(LANGUAGES), key
        assert all(entry[lang].strip() for lang in LANGUAGES), key
        # Same placeholders in both languages, or formatting fails in one of them.
        assert set(re.findall(r"{(\w+)}", entry["vi"])) == set(re.findall(r"{(\w+)}", entry["en"])), key


def test_every_key_used_by_the_app_is_defined():
    used = set()
    for path in list(MOBILE.rglob("*.py")) + list(MOBILE.rglob("*.kv")):
        used |= set(USE.findall(path.read_text(encoding="utf-8")))
    assert len(used) > 40
    # "entity_" + ... and "sync_" + ... are prefixes completed at run time (checked below).
    assert sorted(used - set(STRINGS) - {"entity_", "sync_"}) == []
    # entity_* and sync_* keys are built at run time from store values.
    from mobile.store import ENTITIES, SYNC_STATES

    assert {f"entity_{e}" for e in ENTITIES} <= set(STRINGS)
    assert {f"sync_{s}" for s in SYNC_STATES} <= set(STRINGS)


def test_tr_fallbacks():
    assert tr("walk_observations", "vi", n=3) == "Số quan sát: 3"
    assert tr("walk_observations", "en", n=3) == "Observations: 3"
    assert tr("no_such_key", "vi") == "no_such_key"
    assert tr("save", "fr") == "Save"
    assert label({"en": "Species", "vi": "Loài"}, "vi") == "Loài" and label(None, "vi", "x") == "x"
