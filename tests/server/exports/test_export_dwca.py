"""Darwin Core Archive export, read back with python-dwca-reader."""
from __future__ import annotations

import pytest
from dwca.read import DwCAReader

from server.exports.dwca import export_dwca
from server.exports.sensitive import SensitivePolicy, cell_uncertainty_m, generalise

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DWC = "http://rs.tdwg.org/dwc/terms/"


def _read(path):
    with DwCAReader(str(path)) as dwca:
        events = {}
        occurrences = {}
        measurements = []
        for core in dwca:
            events[core.id] = core.data
            for ext in core.extensions:
                if ext.rowtype == DWC + "Occurrence":
                    occurrences[ext.data[DWC + "occurrenceID"]] = ext.data
                else:
                    measurements.append(ext.data)
        return events, occurrences, measurements


def test_archive_covers_cameras_transects_and_acoustics(world, survey, tmp_path):
    ids = survey.ids
    with world.session() as s:
        rep = export_dwca(s, tmp_path / "pnkb.zip", program_id=survey.program_id)
    events, occ, mof = _read(tmp_path / "pnkb.zip")
    assert (rep.events, rep.occurrences, rep.measurements) == (len(events), len(occ), len(mof))
    # parent events: 3 deployments and the transect; child events: the camera sequence, the muntjac image,
    # the recording and the walk
    assert events[ids["d1"]][DWC + "samplingProtocol"] == "camera trap"
    assert events[ids["d3"]][DWC + "samplingProtocol"] == "passive acoustic monitoring"
    assert events[ids["walk"]][DWC + "parentEventID"] == ids["transect"]
    assert events[ids["walk"]][DWC + "sampleSizeValue"] == "1.85" and events[ids["walk"]][DWC + "sampleSizeUnit"] == "km"
    assert events[f"{ids['d1']}:{ids['seq']}"][DWC + "parentEventID"] == ids["d1"]
    assert set(occ) == {ids["o1"], ids["o2"], ids["det_bird"], ids["f1"], ids["f2"]}
    assert occ[ids["o1"]][DWC + "individualCount"] == "2"
    assert occ[ids["det_bird"]][DWC + "basisOfRecord"] == "MachineObservation"
    assert occ[ids["det_bird"]][DWC + "scientificName"] == "Polyplectron germaini"
    assert occ[ids["f2"]][DWC + "occurrenceRemarks"] == "sign: track"
    assert occ[ids["f2"]][DWC + "decimalLatitude"] == "17.61299"  # not public: exact
    by_type = {(m[DWC + "occurrenceID"], m[DWC + "measurementType"]): m[DWC + "measurementValue"] for m in mof}
    assert by_type[(ids["f1"], "distance from observer")] == "20"
    assert by_type[(ids["f1"], "bearing")] == "30"
    assert by_type[(ids["f2"], "perpendicular distance")] == "5"


def test_public_archive_generalises_or_withholds_sensitive_coordinates(world, survey, tmp_path):
    ids = survey.ids
    with world.session() as s:
        export_dwca(s, tmp_path / "gen", program_id=survey.program_id, public=True)
    events, occ, _ = _read(tmp_path / "gen")
    f2 = occ[ids["f2"]]
    assert (f2[DWC + "decimalLatitude"], f2[DWC + "decimalLongitude"]) == ("17.65", "106.45")
    assert "0.1 degree" in f2[DWC + "dataGeneralizations"]
    assert int(f2[DWC + "coordinateUncertaintyInMeters"]) == cell_uncertainty_m(17.65, 0.1)
    assert occ[ids["f1"]][DWC + "decimalLatitude"] == "17.50111"  # wild boar stays exact
    assert occ[ids["f1"]][DWC + "dataGeneralizations"] == ""
    # the camera station that recorded the muntjac is generalised in its event and occurrence too
    assert events[ids["d2"]][DWC + "decimalLatitude"] == "17.65"
    assert occ[ids["o2"]][DWC + "dataGeneralizations"] != ""
    with world.session() as s:
        export_dwca(s, tmp_path / "wh", program_id=survey.program_id, public=True,
                    policy=SensitivePolicy("withhold"))
    events, occ, _ = _read(tmp_path / "wh")
    assert occ[ids["f2"]][DWC + "decimalLatitude"] == "" and "withheld" in occ[ids["f2"]][DWC + "informationWithheld"]
    assert events[ids["d2"]][DWC + "decimalLatitude"] == ""


def test_generalise_grid_and_policy_errors():
    assert generalise(17.61234, 106.43216, 0.1)[:2] == (17.65, 106.45)
    assert generalise(-0.01, -0.01, 0.1)[:2] == (-0.05, -0.05)
    # half the diagonal of a 0.1 degree cell at the equator is about 7.86 km
    assert 7800 < cell_uncertainty_m(0.05, 0.1) < 7900
    with pytest.raises(ValueError, match="policy must be one of"):
        SensitivePolicy("blur")
