"""Vietnamese and English interface text of the server: the language of a request and ``_()``.

The text is English in the code and the templates, and its Vietnamese is in
``server/locale/vi.po``, read through Saola's one mechanism (:mod:`protocols.i18n`,
shared with the field app and the reports). The language is the signed-in
user's, else the browser session's choice, else the browser's Accept-Language,
else ``SAOLA_LANGUAGE``. tests/test_translations.py checks that every message the
code and the templates use has a Vietnamese translation.
"""
from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, g, has_request_context, request, session

from protocols.i18n import LANGUAGES, Catalog, N_

TEXT = Catalog(Path(__file__).parent / "locale")
__all__ = ["LANGUAGES", "SHOWN_CODES", "TEXT", "current_language", "format_number", "gettext", "in_both", "init_app",
           "number_format"]

# Stored codes the pages show through ``_(code)``: English shows the code itself, Vietnamese
# its translation. Listed here so the translation check knows them.
SHOWN_CODES = {
    "role": (N_("viewer"), N_("ranger"), N_("biologist"), N_("manager"), N_("admin")),
    "deployment kind": (N_("camera"), N_("acoustic")),
    "alert kind": (N_("gunshot"), N_("engine"), N_("power_tools")),
    "operating interval": (N_("operating"), N_("malfunction")),
    "review status": (N_("unreviewed"), N_("verified"), N_("rejected")),
    "conflict status": (N_("open"), N_("resolved")),
    "conflict resolution": (N_("mine"), N_("theirs"), N_("merge")),
    "token state": (N_("live"), N_("expired"), N_("revoked")),
    "job status": (N_("queued"), N_("running"), N_("done"), N_("failed"), N_("cancelled")),
    "camera upload": (N_("ingested"), N_("duplicate"), N_("skipped"), N_("refused"), N_("incomplete")),
    "taxon rank": (N_("kingdom"), N_("phylum"), N_("class"), N_("order"), N_("family"), N_("genus"), N_("species"),
                   N_("subspecies")),
    "taxon group": (N_("mammal"), N_("bird"), N_("reptile"), N_("amphibian")),
    "audit action": (N_("create"), N_("update"), N_("delete"), N_("review"), N_("undo"), N_("reset_link")),
}


def current_language() -> str:
    if has_request_context():
        user = g.get("user")
        if user is not None and user.language in LANGUAGES:
            return user.language
        lang = session.get("lang")
        if lang in LANGUAGES:
            return lang
        best = request.accept_languages.best_match(LANGUAGES)
        if best:
            return best
    try:
        lang = current_app.config.get("LANGUAGE", "vi")
    except RuntimeError:
        lang = "vi"
    return lang if lang in LANGUAGES else "vi"


def gettext(text: str, **kw) -> str:
    """``text`` (English) in the current language, formatted with ``kw``."""
    return TEXT.gettext(text, current_language(), **kw)


_ = gettext


def number_format(lang: str = "en", decimals: int | None = None):
    """A function writing a number as ``lang`` writes it (babel.numbers): Vietnamese 1.234,5, English
    1,234.5; ``decimals`` fixed, else up to three. The one number format of pages, charts and the report."""
    from babel.numbers import format_decimal

    pattern = "#,##0" + ("." + "0" * decimals if decimals else "") if decimals is not None else "#,##0.###"
    locale = lang if lang in LANGUAGES else "en"
    return lambda v: format_decimal(v, format=pattern, locale=locale)


def format_number(value, decimals: int | None = None) -> str:
    """``value`` in the current language's number format (templates: ``{{ n|num(1) }}``); '' for None."""
    if value is None or value == "":
        return ""
    return number_format(current_language(), decimals)(value)


def in_both(message: str, **params) -> dict[str, str]:
    """``message`` in English and Vietnamese, ``{"en": ..., "vi": ...}``: for answers a tablet
    shows in the ranger's language (sync rejections)."""
    return {lang: TEXT.gettext(message, lang, **params) for lang in ("en", "vi")}


def init_app(app: Flask) -> None:
    """Give templates ``_()``, ``current_language()`` and ``LANGUAGES``."""
    app.jinja_env.globals.update(_=gettext, current_language=current_language, LANGUAGES=LANGUAGES)
