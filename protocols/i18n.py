"""Vietnamese and English text: the one mechanism of the server, its reports and digests,
and the field app. Stdlib only (the field app runs it on Android).

Text is written in English in the code, and that English text is the message id, as with
GNU gettext. Translations live in gettext ``.po`` catalogues next to the code that uses
them (``protocols/locale/vi.po``, ``mobile/locale/vi.po``, ``server/locale/vi.po``), so
translators use any gettext tool (Poedit, Weblate, ``msgfmt --check``). There is no build
step: a catalogue is compiled in memory into the GNU ``.mo`` format when first used and
read with the standard library's :class:`gettext.GNUTranslations`.

    >>> from protocols.i18n import Catalog
    >>> text = Catalog("server/locale")
    >>> text.gettext("Sign in", "vi")
    'Đăng nhập'
    >>> text.gettext("{n} alert(s)", "en", n=3)
    '3 alert(s)'

Messages that need different translations in different places take a context
(``msgctxt`` in the catalogue, :meth:`Catalog.pgettext` in the code). Messages defined in
data (tables of labels) are marked with :func:`N_` so the completeness test finds them.
"""
from __future__ import annotations

import ast
import gettext as _gettext
import io
import struct
import threading
from pathlib import Path

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
SOURCE_LANGUAGE = "en"  # the language of the message ids: needs no catalogue
_CONTEXT_SEP = "\x04"  # GNU gettext joins msgctxt and msgid with EOT
_HEADER = "Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=1; plural=0;\n"


def N_(message: str) -> str:
    """Mark ``message`` for translation where it is defined (a table of labels); translate it where shown."""
    return message


class PoError(ValueError):
    """A .po catalogue that cannot be read; the message names the file and line."""


def read_po(path: str | Path) -> dict[str, str]:
    """The translations of a .po file: ``{msgid: msgstr}`` (``ctxt\\x04msgid`` with a context).

    Entries marked ``#, fuzzy`` and untranslated entries (empty ``msgstr``) are left out, as
    ``msgfmt`` does, so the English text shows instead. Plural entries are not used by Saola
    (Vietnamese has one form) and are refused.
    """
    path = Path(path)
    out: dict[str, str] = {}
    entry: dict[str, str] = {}
    fuzzy = False
    key = None

    def finish(lineno: int) -> None:
        nonlocal entry, fuzzy, key
        if entry:
            if "msgid" not in entry or "msgstr" not in entry:
                raise PoError(f"{path}:{lineno}: an entry needs msgid and msgstr")
            msgid = entry["msgid"]
            if "msgctxt" in entry:
                msgid = entry["msgctxt"] + _CONTEXT_SEP + msgid
            if msgid and entry["msgstr"] and not fuzzy:
                if msgid in out:
                    raise PoError(f"{path}:{lineno}: {entry['msgid']!r} is translated twice")
                out[msgid] = entry["msgstr"]
        entry, fuzzy, key = {}, False, None

    lines = path.read_text(encoding="utf-8").splitlines()
    for lineno, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            finish(lineno)
        elif line.startswith("#"):
            if key is not None and "msgstr" in entry:
                finish(lineno)
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
        elif line.startswith('"'):
            if key is None:
                raise PoError(f"{path}:{lineno}: a string outside an entry")
            entry[key] += _unquote(line, path, lineno)
        else:
            keyword, _, rest = line.partition(" ")
            if keyword in ("msgid_plural",) or keyword.startswith("msgstr["):
                raise PoError(f"{path}:{lineno}: plural forms are not used in Saola's catalogues")
            if keyword not in ("msgctxt", "msgid", "msgstr"):
                raise PoError(f"{path}:{lineno}: unknown keyword {keyword!r}")
            if keyword in ("msgctxt", "msgid") and "msgstr" in entry:
                finish(lineno)
            if keyword in entry:
                raise PoError(f"{path}:{lineno}: {keyword} given twice in one entry")
            key = keyword
            entry[key] = _unquote(rest.strip(), path, lineno)
    finish(len(lines) + 1)
    return out


def _unquote(token: str, path: Path, lineno: int) -> str:
    if len(token) < 2 or not (token.startswith('"') and token.endswith('"')):
        raise PoError(f"{path}:{lineno}: expected a quoted string, got {token!r}")
    try:
        value = ast.literal_eval(token)  # C escapes (\n, \", \\) read like Python's
    except (SyntaxError, ValueError):
        raise PoError(f"{path}:{lineno}: bad string {token!r}") from None
    if not isinstance(value, str):
        raise PoError(f"{path}:{lineno}: bad string {token!r}")
    return value


def compile_mo(messages: dict[str, str]) -> bytes:
    """The GNU .mo image of ``messages`` (with a UTF-8 header), as ``msgfmt`` would write it."""
    entries = {"": _HEADER, **messages}
    keys = sorted(entries)  # the format wants the originals sorted (binary search)
    ids = [k.encode("utf-8") for k in keys]
    strs = [entries[k].encode("utf-8") for k in keys]
    n = len(keys)
    originals_at = 7 * 4
    translations_at = originals_at + n * 8
    data_at = translations_at + n * 8
    table_o, table_t, blob = [], [], b""
    for s in ids:
        table_o += [len(s), data_at + len(blob)]
        blob += s + b"\0"
    for s in strs:
        table_t += [len(s), data_at + len(blob)]
        blob += s + b"\0"
    head = struct.pack("<7I", 0x950412DE, 0, n, originals_at, translations_at, 0, 0)
    return head + struct.pack(f"<{2 * n}I", *table_o) + struct.pack(f"<{2 * n}I", *table_t) + blob


class Catalog:
    """The translations of one part of Saola: ``<lang>.po`` files in ``folders`` (the first
    folder that translates a message wins), loaded once per language when first used."""

    def __init__(self, *folders: str | Path):
        self.folders = [Path(f) for f in folders]
        self._cache: dict[str, _gettext.NullTranslations] = {}
        self._lock = threading.Lock()

    def messages(self, lang: str) -> dict[str, str]:
        """Every translation into ``lang`` (``{msgid: msgstr}``; ``ctxt\\x04msgid`` with a context)."""
        merged: dict[str, str] = {}
        for folder in reversed(self.folders):
            po = folder / f"{lang}.po"
            if po.is_file():
                merged.update(read_po(po))
        return merged

    def translation(self, lang: str) -> _gettext.NullTranslations:
        """The standard library translation object for ``lang`` (English and unknown languages:
        the message ids themselves)."""
        lang = lang if lang in LANGUAGES else SOURCE_LANGUAGE
        found = self._cache.get(lang)
        if found is None:
            with self._lock:
                found = self._cache.get(lang)
                if found is None:
                    found = _gettext.NullTranslations() if lang == SOURCE_LANGUAGE else \
                        _gettext.GNUTranslations(io.BytesIO(compile_mo(self.messages(lang))))
                    self._cache[lang] = found
        return found

    def gettext(self, message: str, lang: str, **params) -> str:
        """``message`` in ``lang``, its ``{placeholders}`` filled from ``params`` (when given)."""
        text = self.translation(lang).gettext(message)
        return text.format(**params) if params else text

    def pgettext(self, context: str, message: str, lang: str, **params) -> str:
        """``message`` in ``lang`` as translated for ``context`` (``msgctxt``)."""
        text = self.translation(lang).pgettext(context, message)
        return text.format(**params) if params else text

    def translator(self, lang: str):
        """A one-argument function ``t(message, **params)`` bound to ``lang`` (templates, renderers)."""
        if lang not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, got {lang!r}")

        def t(message: str, **params) -> str:
            return self.gettext(message, lang, **params)

        return t
