"""Decimal numbers as rangers type and read them: "0,5" in Vietnamese, "0.5" in English (stdlib only).

Vietnamese writes a decimal comma. A form must accept either separator whatever
the interface language (a tablet's keyboard may offer only one of them) and show
numbers with the separator of the language the ranger reads. Thousands
separators are not accepted: in Vietnamese "1.000" is a thousand and in English
it is one, so the only safe reading of a separator is as the decimal point.
"""
from __future__ import annotations

import re

DECIMAL_SEPARATOR = {"vi": ",", "en": "."}
# What a number field lets through while typing: a sign, digits, and one separator.
_PARTIAL = re.compile(r"^-?\d*(?:[.,]\d*)?$")
_NUMBER = re.compile(r"^-?(?:\d+(?:[.,]\d*)?|[.,]\d+)$")


def accepts_typing(text: str) -> bool:
    """True when ``text`` could still become a number ("", "-", "0,", "12.5" yes; "1,2,3" no)."""
    return bool(_PARTIAL.match(text))


def parse_decimal(text: str) -> float | int | None:
    """``text`` as a number, with "," or "." as the decimal separator; None when it is not one.

    Whole numbers typed without a separator stay int ("400" -> 400), so records and
    messages do not say "400.0".
    """
    text = (text or "").strip().replace(" ", "")
    if not _NUMBER.match(text):
        return None
    if "," not in text and "." not in text:
        return int(text)
    return float(text.replace(",", "."))


def format_decimal(value, lang: str, digits: int | None = None) -> str:
    """``value`` written with the decimal separator of ``lang`` ("0,5" / "0.5"); "" for None.

    ``digits`` rounds to that many decimals and drops trailing zeros ("28,30" -> "28,3").
    """
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) and digits is None:
        text = str(value)
    else:
        # at most 6 decimals: no "0.30000000000000004" and no exponent ("1e-05")
        text = f"{value:.{6 if digits is None else digits}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    if text == "-0":
        text = "0"
    return text.replace(".", DECIMAL_SEPARATOR.get(lang, "."))
