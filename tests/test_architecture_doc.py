"""docs/architecture.md maps every top-level folder and every module and package of server/:
adding one without a line in the map fails here."""
from __future__ import annotations

import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def _ignored(name: str) -> bool:
    patterns = [line.strip().strip("/") for line in (ROOT / ".gitignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    return any(fnmatch.fnmatch(name, p) for p in patterns)


def test_every_top_level_folder_is_mapped():
    folders = [p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".") and not _ignored(p.name)]
    assert "server" in folders and "tests" in folders
    missing = [f for f in folders if f"`{f}/`" not in DOC]
    assert not missing, f"docs/architecture.md has no line for: {missing}"


def test_every_server_module_and_package_is_mapped():
    server = ROOT / "server"
    names = [f"{p.name}/" for p in server.iterdir() if (p / "__init__.py").exists() or p.name == "migrations"]
    names += [p.name for p in server.glob("*.py")]
    missing = [n for n in names if f"`{n}`" not in DOC]
    assert not missing, f"docs/architecture.md has no line for server/{missing}"
