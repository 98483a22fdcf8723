"""Every third-party package the code imports is declared in pyproject.toml, in the right extra.

A package that only arrives as a dependency of another (Jinja2 through Flask, pydantic through
SQLModel) can disappear or change major version when that other package moves on; so each import
in the product packages must name a distribution declared in an extra that the package is
installed with. The core (``dependencies``) is stdlib-only: ``protocols/`` runs on Android.
"""
from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIRST_PARTY = {"server", "classifiers", "protocols", "mobile", "tests", "main"}
# Which extras each folder's code may use ("core" is the bare package).
ALLOWED_EXTRAS = {
    "protocols": {"core"},
    "mobile": {"core", "mobile"},
    "classifiers": {"core", "server", "audio", "birdnet"},
    "server": {"core", "server", "audio", "birdnet", "scale"},
    "main.py": {"core", "mobile"},
    "tests": {"core", "server", "audio", "birdnet", "scale", "mobile", "dev"},
    "benchmarks": {"core", "server", "audio", "birdnet", "scale", "mobile", "dev"},
}
# Imported but deliberately not declared, each guarded by an ImportError fallback or a platform.
NOT_DECLARED = {
    "android": "provided by python-for-android on the tablet (mobile/app.py, Android only)",
    "jnius": "provided by python-for-android on the tablet (Android only)",
    "tflite_runtime": "optional: a real tflite_runtime wins over the ai-edge-litert shim (classifiers/audio/tflite_shim.py)",
    "torch": "optional reference in benchmarks/detector.py and yolov5_arch.py, skipped without it",
}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> dict[str, set[str]]:
    """Normalised distribution name -> the extras ("core" for dependencies) that declare it."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = {"core": project.get("dependencies", []), **project.get("optional-dependencies", {})}
    out: dict[str, set[str]] = {}
    for extra, reqs in groups.items():
        for req in reqs:
            name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", req).group(0)
            if _norm(name) == "saola":  # all = saola[...]: the other extras, already counted
                continue
            out.setdefault(_norm(name), set()).add(extra)
    return out


def _imports(path: Path) -> set[str]:
    """Top-level names of the absolute imports in a file, at any depth (lazy imports too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _files(folder: str) -> list[Path]:
    root = REPO / folder
    if root.is_file():
        return [root]
    return [p for p in root.rglob("*.py") if "vendor" not in p.parts]


def test_every_import_is_stdlib_first_party_or_declared_in_the_right_extra():
    declared = _declared()
    dists = importlib.metadata.packages_distributions()
    problems = []
    for folder, extras in ALLOWED_EXTRAS.items():
        files = _files(folder)
        local = {p.stem for p in files}  # helper modules next to tests and benchmarks
        for path in files:
            for name in sorted(_imports(path)):
                if name in sys.stdlib_module_names or name in FIRST_PARTY or name in local or name in NOT_DECLARED:
                    continue
                where = path.relative_to(REPO)
                candidates = dists.get(name)
                if not candidates:
                    problems.append(f"{where}: imports {name!r}, which no installed distribution provides")
                    continue
                ok = [d for d in candidates if declared.get(_norm(d), set()) & extras]
                if not ok:
                    found = {d: sorted(declared.get(_norm(d), set())) or "undeclared" for d in candidates}
                    problems.append(f"{where}: imports {name!r} from {found}; declare it in one of {sorted(extras)}")
    assert not problems, "\n".join(problems)


def test_server_extra_has_no_unused_pins():
    """Each distribution pinned in the server extra is imported somewhere in server/ or classifiers/."""
    dists = importlib.metadata.packages_distributions()
    imported = set()
    for folder in ("server", "classifiers"):
        for path in _files(folder):
            for name in _imports(path):
                imported.update(_norm(d) for d in dists.get(name, []))
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    server = {_norm(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", r).group(0)) for r in project["optional-dependencies"]["server"]}
    # Used without an import statement: psycopg is the SQLAlchemy driver named in database URLs.
    used_by_name = {"psycopg"}
    assert sorted(server - imported - used_by_name) == []
