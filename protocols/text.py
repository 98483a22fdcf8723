"""Text helpers shared by the server and the app (stdlib only)."""
from __future__ import annotations

import unicodedata

_EXTRA = str.maketrans({"đ": "d", "Đ": "D", "ø": "o", "Ø": "O", "ß": "ss"})


def fold(text: str | None) -> str:
    """Lower-case ``text`` and strip diacritics, so "Voọc chà vá" matches "vooc cha va".

    Vietnamese đ/Đ are not combining marks and are mapped to d explicitly.
    """
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFD", text.translate(_EXTRA))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.lower().split())
