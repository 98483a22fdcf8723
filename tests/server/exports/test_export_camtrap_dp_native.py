"""Camtrap DP export of Saola's own data: machine and human observations, people and sensitive species."""
from __future__ import annotations

import csv
import json

import pytest

from server.exports.camtrap_dp import ExportError, export_camtrap_dp
from server.exports.validate import validate_camtrap_dp
from server.storage import get_store


def _csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_full_export_is_valid_and_projects_every_table(app, world, survey, tmp_path):
    ids = survey.ids
    with world.session() as s:
        rep = export_camtrap_dp(s, tmp_path, program_id=survey.program_id, store=get_store(app))
    assert validate_camtrap_dp(tmp_path) == []
    deps = {r["deploymentID"]: r for r in _csv(tmp_path / "deployments.csv")}
    assert set(deps) == {ids["d1"], ids["d2"]}  # the acoustic recorder is not a camera deployment
    assert deps[ids["d1"]]["deploymentStart"] == "2026-01-01T10:00:00+07:00"  # Asia/Ho_Chi_Minh local time
    assert (deps[ids["d1"]]["latitude"], deps[ids["d1"]]["featureType"]) == ("17.51234", "trailGame")
    media = {r["mediaID"]: r for r in _csv(tmp_path / "media.csv")}
    assert set(media) == {ids["m1"], ids["m2"], ids["m3"], ids["m4"]}  # no timestamp: left out
    assert rep.media_without_time == 1
    assert media[ids["m3"]]["filePublic"] == "false" and media[ids["m1"]]["filePublic"] == "true"
    assert media[ids["m1"]]["timestamp"] == "2026-01-03T21:00:00+07:00"
    assert all((tmp_path / m["filePath"]).is_file() for m in media.values())
    obs = {r["observationID"]: r for r in _csv(tmp_path / "observations.csv")}
    # o1 (event, human), o2 (media, accepted machine), o3 (human in view), and the kept detections of m1, m2, m3;
    # the m4 detection was taken over by o2; rejected and dismissed detections are left out.
    assert set(obs) == {ids["o1"], ids["o2"], ids["o3"], ids["det_m1"], ids["det_m2"], ids["det_person"]}
    d = obs[ids["det_m1"]]
    # The sequence was labelled (o1, wild boar, by biologist1): its boxes carry that review (issue 12,
    # item 8): a human classification, no machine probability.
    assert (d["observationLevel"], d["classificationMethod"], d["classifiedBy"]) == ("media", "human",
                                                                                     "biologist1")
    assert (d["scientificName"], d["classificationProbability"], d["bboxX"], d["bboxWidth"]) == (
        "Sus scrofa", "", "0.1", "0.3")
    assert d["classificationTimestamp"] == "2026-02-01T09:00:00Z"
    assert (obs[ids["det_person"]]["classificationMethod"], obs[ids["det_person"]]["classifiedBy"]) == (
        "human", "biologist1")  # o3 says a person is in view of m3
    assert d["eventID"] == ids["seq"] and d["mediaID"] == ids["m1"]
    assert float(obs[ids["det_m2"]]["bboxWidth"]) == pytest.approx(0.2)  # clipped at the right edge
    assert obs[ids["det_person"]]["observationType"] == "human"
    assert (obs[ids["o1"]]["observationLevel"], obs[ids["o1"]]["count"], obs[ids["o1"]]["mediaID"]) == (
        "event", "2", "")
    desc = json.loads((tmp_path / "datapackage.json").read_text())
    assert desc["profile"].endswith("/1.0.2/camtrap-dp-profile.json")
    assert desc["project"]["observationLevel"] == ["media", "event"]
    assert desc["project"]["samplingDesign"] == "systematicRandom"
    assert desc["spatial"]["type"] == "Polygon" and desc["temporal"] == {"start": "2026-01-01", "end": "2026-01-20"}
    names = {t["scientificName"]: t for t in desc["taxonomic"]}
    assert names["Muntiacus vuquangensis"]["vernacularNames"] == {"vie": "Mang lớn", "eng": "Large-antlered muntjac"}
    assert "coordinatePrecision" not in desc


def test_public_export_generalises_sensitive_and_drops_people(app, world, survey, tmp_path):
    ids = survey.ids
    with world.session() as s:
        rep = export_camtrap_dp(s, tmp_path, area_id="PNKB", public=True, media_mode="link",
                                base_url="https://saola.example.org/media")
    assert validate_camtrap_dp(tmp_path) == []
    assert (rep.person_media_excluded, rep.generalised_deployments) == (1, 1)
    deps = {r["deploymentID"]: r for r in _csv(tmp_path / "deployments.csv")}
    # S02 recorded the sensitive muntjac: moved to the centre of its 0.1 degree cell
    assert (deps[ids["d2"]]["latitude"], deps[ids["d2"]]["longitude"]) == ("17.65", "106.45")
    assert int(deps[ids["d2"]]["coordinateUncertainty"]) > 7000
    assert deps[ids["d1"]]["latitude"] == "17.51234"
    media = {r["mediaID"]: r for r in _csv(tmp_path / "media.csv")}
    assert ids["m3"] not in media and media[ids["m1"]]["filePath"] == f"https://saola.example.org/media/{ids['m1']}"
    obs = {r["observationID"] for r in _csv(tmp_path / "observations.csv")}
    assert ids["o3"] not in obs and ids["det_person"] not in obs and ids["o1"] in obs
    desc = json.loads((tmp_path / "datapackage.json").read_text())
    assert desc["coordinatePrecision"] == 0.1
    assert not (tmp_path / "media").exists()


def test_export_errors_are_specific(app, world, survey, tmp_path):
    from server.models import Location

    with world.session() as s, pytest.raises(ExportError, match="media mode 'link' needs a base URL"):
        export_camtrap_dp(s, tmp_path, program_id=survey.program_id, media_mode="link")
    with world.session() as s:
        for loc in s.exec(__import__("sqlmodel").select(Location).where(Location.name == "S02")):
            loc.latitude = None
    with world.session() as s, pytest.raises(ExportError, match="location 'S02' has no coordinates"):
        export_camtrap_dp(s, tmp_path, program_id=survey.program_id, store=get_store(app))


def _gps(path):
    from PIL import Image

    with Image.open(path) as img:
        return img.getexif().get_ifd(0x8825)


def test_public_copies_of_sensitive_stations_lose_their_exif_gps(app, world, survey, tmp_path):
    ids = survey.ids
    with world.session() as s:
        export_camtrap_dp(s, tmp_path, program_id=survey.program_id, public=True, store=get_store(app))
    assert validate_camtrap_dp(tmp_path) == []
    media = {r["mediaID"]: r for r in _csv(tmp_path / "media.csv")}
    store = get_store(app)
    with world.session() as s:
        from server.models import Media

        originals = {mid: store.path(s.get(Media, mid).storage_key) for mid in (ids["m1"], ids["m4"])}
    assert _gps(originals[ids["m4"]])  # the original in the store keeps its position
    assert not _gps(tmp_path / media[ids["m4"]]["filePath"])  # S02 recorded the sensitive muntjac
    # other stations' originals are copied unchanged
    assert (tmp_path / media[ids["m1"]]["filePath"]).read_bytes() == originals[ids["m1"]].read_bytes()
