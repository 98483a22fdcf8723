"""Vietnamese and English interface text.

A message catalogue per language, keyed by the English text; the language is
the signed-in user's, else the browser session's choice, else the browser's
Accept-Language, else ``SAOLA_LANGUAGE``. Feature modules add their strings
with :func:`add_messages` so catalogues stay next to the code that uses them.
A test checks that every key has a Vietnamese translation.
"""
from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, g, has_request_context, request, session

from protocols.i18n import Catalog

# The server's catalogue (protocols/i18n.py, Saola's one mechanism): English text in the code,
# Vietnamese in server/locale/vi.po.
TEXT = Catalog(Path(__file__).parent / "locale")
LANGUAGES = ("vi", "en")
CATALOG: dict[str, dict[str, str]] = {"vi": {}}


def add_messages(vi: dict[str, str]) -> None:
    """Register Vietnamese translations (English text -> Vietnamese)."""
    CATALOG["vi"].update(vi)


add_messages({
    "Sign in": "Đăng nhập",
    "Sign out": "Đăng xuất",
    "Username": "Tên đăng nhập",
    "Password": "Mật khẩu",
    "Wrong username or password": "Sai tên đăng nhập hoặc mật khẩu",
    "Protected areas": "Khu bảo tồn",
    "Programs": "Chương trình giám sát",
    "Deployments": "Điểm đặt thiết bị",
    "Locations": "Vị trí",
    "Species": "Loài",
    "Jobs": "Tác vụ",
    "Review": "Duyệt ảnh",
    "Language": "Ngôn ngữ",
    "Home": "Trang chủ",
    "Page not found": "Không tìm thấy trang",
    "Error": "Lỗi",
    "Media": "Tư liệu",
    "Detections": "Phát hiện",
    "Observations": "Quan sát",
    "Alerts": "Cảnh báo",
    "Reports": "Báo cáo",
    "No data yet": "Chưa có dữ liệu",
})


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
    """``text`` in the current language, formatted with ``kw``."""
    lang = current_language()
    out = CATALOG.get(lang, {}).get(text, text) if lang != "en" else text
    return out.format(**kw) if kw else out


_ = gettext


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(_=gettext, current_language=current_language, LANGUAGES=LANGUAGES)
