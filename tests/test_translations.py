"""Every message the code shows has a Vietnamese translation in its part's catalogue, with the
same {placeholders}, and every translation is still used (protocols/i18n.py is the one mechanism).

Messages are found where the code asks for them: ``_("...")``, ``gettext("...")``,
``N_("...")`` (labels defined in tables), ``tr("...")`` / ``app.tr("...")`` (field app),
``t("...")`` (report), ``in_both("...")`` (sync answers in both languages), in Python (read with ast), Jinja templates and Kivy rules.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from protocols.i18n import Catalog

ROOT = Path(__file__).resolve().parents[1]
CALLS = {"_", "gettext", "N_", "tr", "t", "in_both"}
CONTEXT_CALLS = {"pgettext"}
# _("..."), t("..."), app.tr("...") in templates and .kv rules (single or double quotes).
TEMPLATE_CALL = re.compile(r"""(?<![\w.])(?:_|t|app\.tr|tr)\((['"])((?:\\.|(?!\1).)*)\1""")
PLACEHOLDER = re.compile(r"{(\w+)[^{}]*}")


@dataclass
class Part:
    name: str
    catalog: Catalog
    sources: list[str]  # globs under the repository root
    exclude: tuple[str, ...] = ()  # folders of another part's catalogue


PARTS = [
    Part("protocols", Catalog(ROOT / "protocols" / "locale"), ["protocols/**/*.py"]),
    Part("mobile", Catalog(ROOT / "mobile" / "locale"), ["mobile/**/*.py", "mobile/**/*.kv"]),
    Part("reports", Catalog(ROOT / "server" / "reports" / "locale"), ["server/reports/*.py", "server/reports/*.html"]),
    Part("server", Catalog(ROOT / "server" / "locale"), ["server/**/*.py", "server/web/templates/*.html"],
         exclude=("server/reports/",)),
]


def _python_messages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        args = node.args
        if name in CONTEXT_CALLS and len(args) >= 2 and all(isinstance(a, ast.Constant) for a in args[:2]):
            found.add(f"{args[0].value}\x04{args[1].value}")
        elif name in CALLS and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
            found.add(args[0].value)
    return found


def used_messages(part: Part) -> set[str]:
    """The message ids the part's code asks to translate."""
    found: set[str] = set()
    for pattern in part.sources:
        for path in ROOT.glob(pattern):
            if str(path.relative_to(ROOT)).startswith(part.exclude):
                continue
            if path.suffix == ".py":
                found |= _python_messages(path)
            else:
                for m in TEMPLATE_CALL.finditer(path.read_text(encoding="utf-8")):
                    found.add(m.group(2).replace("\\'", "'").replace('\\"', '"'))
    return found


@pytest.mark.parametrize("part", PARTS, ids=lambda p: p.name)
def test_every_message_used_has_a_vietnamese_translation(part):
    used = used_messages(part)
    assert used, f"no messages found in {part.sources}"
    missing = sorted(used - set(part.catalog.messages("vi")))
    assert not missing, f"{part.name}: messages with no Vietnamese translation: {missing}"


@pytest.mark.parametrize("part", PARTS, ids=lambda p: p.name)
def test_every_translation_is_used_and_keeps_its_placeholders(part):
    translations = part.catalog.messages("vi")
    stale = sorted(set(translations) - used_messages(part))
    assert not stale, f"{part.name}: translations no code uses any more: {stale}"
    for msgid, msgstr in translations.items():
        assert msgstr.strip(), msgid
        assert set(PLACEHOLDER.findall(msgid)) == set(PLACEHOLDER.findall(msgstr)), msgid


def test_catalogues_ship_with_the_server_package_and_the_android_app():
    import fnmatch
    import tomllib

    catalogues = [p.relative_to(ROOT) for p in ROOT.glob("*/locale/*.po")]
    assert catalogues
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = data["tool"]["setuptools"]["package-data"]["*"]

    def matches(path: Path, pattern: str) -> bool:  # setuptools globs: '*' stays inside one folder
        parts = pattern.split("/")
        return len(parts) == len(path.parts) and all(fnmatch.fnmatch(a, b) for a, b in zip(path.parts, parts))

    for po in catalogues:  # package data patterns are relative to the package folder
        assert any(matches(po.relative_to(po.parts[0]), p) for p in patterns), f"{po} is not package data"
    spec = (ROOT / "buildozer.spec").read_text(encoding="utf-8")
    exts = re.search(r"^source\.include_exts = (.*)$", spec, re.M).group(1).split(",")
    assert "po" in exts


def test_codes_the_pages_translate_cover_the_stored_values():
    from classifiers.audio.birdnet import ALERT_KINDS
    from server.i18n import SHOWN_CODES
    from server.models import ROLES

    assert set(SHOWN_CODES["role"]) == set(ROLES)
    assert set(SHOWN_CODES["alert kind"]) == set(ALERT_KINDS.values())
