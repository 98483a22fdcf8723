"""Protocol definitions are parsed once per process, and again when a file changes."""
import json
import shutil

import protocols
from protocols import loader


def test_definitions_are_cached_until_a_file_changes(tmp_path, monkeypatch):
    defs = tmp_path / "definitions"
    shutil.copytree(loader.DEFINITIONS_DIR, defs)
    monkeypatch.setattr(loader, "DEFINITIONS_DIR", defs)
    first = protocols.load("line_transect")
    assert protocols.load("line_transect") is first  # not parsed again
    path = defs / "line_transect.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["title"]["en"] = "Line transect (edited)"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert protocols.load("line_transect").title["en"] == "Line transect (edited)"
    (defs / "line_transect.json").unlink()  # the newest version gone: the older one is listed again
    assert {p["name"]: p["version"] for p in protocols.list_protocols()}["line_transect"] == "1.0"
    for older in defs.glob("line_transect_*.json"):
        older.unlink()
    assert "line_transect" not in {p["name"] for p in protocols.list_protocols()}
