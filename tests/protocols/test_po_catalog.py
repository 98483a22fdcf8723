"""The one i18n mechanism (protocols/i18n.py): .po catalogues read with the standard library's
gettext, compiled in memory, with contexts, fallbacks and clear errors for a broken file."""
from __future__ import annotations

import gettext
import io

import pytest

from protocols.i18n import LANGUAGES, Catalog, PoError, compile_mo, read_po

PO = r'''# a comment
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"

#: somewhere.py:1
msgid "Sign in"
msgstr "Đăng nhập"

msgid "Say \"hi\"\n"
"on two lines"
msgstr "Nói \"chào\"\n"
"trên hai dòng"

msgctxt "mobile"
msgid "Deployment"
msgstr "Lắp đặt máy"

msgid "Deployment"
msgstr "Điểm đặt"

#, fuzzy
msgid "Guess"
msgstr "Đoán"

msgid "Not yet"
msgstr ""
#~ msgid "Obsolete"
#~ msgstr "Cũ"
msgid "{n} alert(s)"
msgstr "{n} cảnh báo"
'''


def _write(tmp_path, text, name="vi.po"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_read_po_entries_escapes_contexts_and_what_msgfmt_leaves_out(tmp_path):
    m = read_po(_write(tmp_path, PO))
    assert m == {"Sign in": "Đăng nhập", 'Say "hi"\non two lines': 'Nói "chào"\ntrên hai dòng',
                 "mobile\x04Deployment": "Lắp đặt máy", "Deployment": "Điểm đặt", "{n} alert(s)": "{n} cảnh báo"}


def test_compiled_catalogue_reads_with_the_standard_library():
    mo = compile_mo({"Sign in": "Đăng nhập", "ctx\x04Deployment": "Lắp đặt máy", "Á": "B"})
    t = gettext.GNUTranslations(io.BytesIO(mo))
    assert t.gettext("Sign in") == "Đăng nhập"
    assert t.pgettext("ctx", "Deployment") == "Lắp đặt máy"
    assert t.gettext("Á") == "B" and t.gettext("Missing") == "Missing"
    assert t.info()["content-type"] == "text/plain; charset=UTF-8"


def test_catalog_languages_fallbacks_and_parameters(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    _write(first, PO)
    _write(second, 'msgid "Sign in"\nmsgstr "KHÔNG"\n\nmsgid "Only here"\nmsgstr "Chỉ ở đây"\n')
    c = Catalog(first, second)
    assert LANGUAGES == ("vi", "en")
    assert c.gettext("Sign in", "vi") == "Đăng nhập"  # the first folder wins
    assert c.gettext("Only here", "vi") == "Chỉ ở đây"
    assert c.gettext("Sign in", "en") == "Sign in" and c.gettext("Sign in", "fr") == "Sign in"
    assert c.gettext("{n} alert(s)", "vi", n=3) == "3 cảnh báo"
    assert c.gettext("{n} alert(s)", "en", n=1) == "1 alert(s)"
    assert c.gettext("Guess", "vi") == "Guess" and c.gettext("Not yet", "vi") == "Not yet"
    assert c.pgettext("mobile", "Deployment", "vi") == "Lắp đặt máy" and c.gettext("Deployment", "vi") == "Điểm đặt"
    t = c.translator("vi")
    assert t("Sign in") == "Đăng nhập"
    with pytest.raises(ValueError, match="language must be one of vi, en"):
        c.translator("fr")


@pytest.mark.parametrize("text, message", [
    ('msgid "a"\nmsgstr "b"\n\nmsgid "a"\nmsgstr "c"\n', "translated twice"),
    ('msgid "a"\nmsgid_plural "as"\nmsgstr[0] "b"\n', "plural forms"),
    ('msgid "a"\nmsgstr b\n', "expected a quoted string"),
    ('"loose"\n', "outside an entry"),
    ('msgid "a"\n\n', "needs msgid and msgstr"),
    ('msgfoo "a"\n', "unknown keyword"),
])
def test_broken_catalogue_is_refused_naming_file_and_line(tmp_path, text, message):
    p = _write(tmp_path, text)
    with pytest.raises(PoError, match=message) as e:
        read_po(p)
    assert str(e.value).startswith(f"{p}:")
