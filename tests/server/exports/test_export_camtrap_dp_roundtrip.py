"""The official Camtrap DP example imports and exports again with the same tables; exports validate."""
from __future__ import annotations

import csv
import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from server.exports.camtrap_dp import export_camtrap_dp, import_camtrap_dp
from server.exports.validate import STANDARDS_DIR, validate_camtrap_dp
from server.storage import get_store

OFFICIAL_FILES = ["camtrap-dp-profile.json", "deployments-table-schema.json", "media-table-schema.json",
                  "observations-table-schema.json", "LICENSE"]


@pytest.fixture
def official(shared_dir) -> Path:
    """The Camtrap DP 1.0.2 folder of the shared material: the official files and example package."""
    return shared_dir / "standards" / "camtrap-dp"


@pytest.fixture
def example(official) -> Path:
    return official / "example"


def _typed(table: str, path: Path) -> dict[str, dict]:
    """Rows of a Camtrap DP CSV keyed by primary key, values typed per the official table schema."""
    schema = json.loads((STANDARDS_DIR / f"{table}-table-schema.json").read_text())
    types = {f["name"]: f["type"] for f in schema["fields"]}
    missing = set(schema.get("missingValues", [""]))
    out = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            typed = {}
            for k, v in row.items():
                if v in missing:
                    typed[k] = None
                elif types[k] == "number":
                    typed[k] = round(float(v), 6)
                elif types[k] == "integer":
                    typed[k] = int(v)
                elif types[k] == "boolean":
                    typed[k] = v == "true"
                elif types[k] == "datetime":
                    typed[k] = datetime.fromisoformat(v.replace("Z", "+00:00"))
                else:
                    typed[k] = v
            out[row[schema["fields"][0]["name"]]] = typed
    return out


def test_shipped_standards_are_the_official_files(official):
    """The profile, table schemas and licence Saola ships are byte for byte the official 1.0.2 ones."""
    for name in OFFICIAL_FILES:
        assert (STANDARDS_DIR / name).read_bytes() == (official / name).read_bytes(), name


def test_example_package_is_valid_and_validator_catches_errors(example, tmp_path):
    assert validate_camtrap_dp(example) == []
    bad = tmp_path / "bad"
    shutil.copytree(example, bad, ignore=shutil.ignore_patterns("media"))
    desc = json.loads((bad / "datapackage.json").read_text())
    del desc["project"]["samplingDesign"]
    (bad / "datapackage.json").write_text(json.dumps(desc))
    text = (bad / "observations.csv").read_text().replace(",00a2c20d,", ",nodeployment,", 1)
    (bad / "observations.csv").write_text(text)
    problems = validate_camtrap_dp(bad)
    assert any("samplingDesign" in p for p in problems)
    assert any(p.startswith("observations") for p in problems)


def test_example_round_trip(app, world, example, tmp_path):
    area = world.area()
    with world.session() as s:
        rep = import_camtrap_dp(s, example, area_id=area.code, store=get_store(app))
    assert (rep.deployments, rep.media, rep.observations) == (4, 423, 549)
    assert (rep.media_stored, rep.media_linked) == (10, 413)
    with world.session() as s:  # importing again changes nothing
        again = import_camtrap_dp(s, example, area_id=area.id, store=get_store(app))
    assert again.already_imported and again.program_id == rep.program_id

    out = tmp_path / "out"
    with world.session() as s:
        exp = export_camtrap_dp(s, out, program_id=rep.program_id, store=get_store(app))
    assert (exp.deployments, exp.media, exp.observations, exp.files_copied) == (4, 423, 549, 10)
    assert validate_camtrap_dp(out) == []
    for table in ("deployments", "media", "observations"):
        before = _typed(table, example / f"{table}.csv")
        after = _typed(table, out / f"{table}.csv")
        assert before.keys() == after.keys(), table
        for key, row in before.items():
            assert after[key] == row, f"{table} {key}"
    # Local media files are copied to the same relative paths, byte for byte.
    for f in (example / "media").iterdir():
        assert (out / "media" / f.name).read_bytes() == f.read_bytes()
    desc = json.loads((out / "datapackage.json").read_text())
    assert desc["project"]["samplingDesign"] == "targeted"
    assert {t["scientificName"] for t in desc["taxonomic"]} >= {"Vulpes vulpes", "Ardea", "Anas platyrhynchos"}
