"""Camtrap DP metadata filled in per program, import keeping what it does not map, complete-only
exports, cameraModel/cameraID from the photos, and the MegaDetector JSON / detections CSV export jobs
(issue 13, items 5 and 8)."""
from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from sqlmodel import select

from server.exports.camtrap_dp import ExportError, export_camtrap_dp, import_camtrap_dp
from server.exports.validate import validate_camtrap_dp
from server.jobs import drain
from server.storage import get_store

METADATA = {
    "sampling_design": "targeted", "baits": "none; cameras on game trails",
    "citation": "Phong Nha-Ke Bang NP (2026). Camera traps 2026. Saola.",
    "data_license": "CC0-1.0", "media_license": "CC-BY-4.0",
    "contributors": [{"title": "Nguyễn Văn A", "email": "a@pnkb.vn", "role": "principalInvestigator",
                      "organization": "PNKB"}, {"title": "PNKB National Park", "role": "rightsHolder"}],
    "keywords": ["camera traps", "Annamites", "camera traps"],
}


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def manager(world, survey, monkeypatch):
    monkeypatch.setattr("server.auth.passwords.hash_password", lambda pw: "not-a-password-hash")
    return world.headers(world.user("manager", roles={survey.area_id: "manager"}))


def test_metadata_filled_once_is_what_the_export_states(app, client, world, survey, manager, tmp_path):
    url = f"/api/v1/programs/{survey.program_id}/camtrap-dp-metadata"
    bad = client.put(url, json={**METADATA, "sampling_design": "random"}, headers=manager)
    assert bad.status_code == 422 and "sampling_design" in bad.get_json()["error"]["message"]
    bad = client.put(url, json={**METADATA, "contributors": [{"title": "X", "role": "boss"}]}, headers=manager)
    assert bad.status_code == 422 and "role" in bad.get_json()["error"]["message"]
    r = client.put(url, json=METADATA, headers=manager)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["keywords"] == ["camera traps", "Annamites"]  # duplicates dropped
    assert client.get(url, headers=manager).get_json()["citation"] == METADATA["citation"]
    with world.session() as s:
        export_camtrap_dp(s, tmp_path / "pkg", program_id=survey.program_id, store=get_store(app))
    assert validate_camtrap_dp(tmp_path / "pkg") == []
    desc = json.loads((tmp_path / "pkg" / "datapackage.json").read_text())
    assert desc["project"]["samplingDesign"] == "targeted"
    assert "Bait: none; cameras on game trails" in desc["project"]["description"]
    assert desc["bibliographicCitation"] == METADATA["citation"]
    assert desc["keywords"] == ["camera traps", "Annamites"]
    assert desc["licenses"] == [{"name": "CC0-1.0", "scope": "data"}, {"name": "CC-BY-4.0", "scope": "media"}]
    assert desc["contributors"][0] == {"title": "Nguyễn Văn A", "email": "a@pnkb.vn",
                                       "role": "principalInvestigator", "organization": "PNKB"}


def test_no_sampling_design_no_export_and_nothing_half_written(app, world, survey, tmp_path):
    from server.models import Location, Program

    with world.session() as s:
        p = s.get(Program, survey.program_id)
        p.settings = {}
    out = tmp_path / "out" / "pkg"
    with world.session() as s, pytest.raises(ExportError, match="has no sampling design: fill in its Camtrap DP"):
        export_camtrap_dp(s, out, program_id=survey.program_id, store=get_store(app))
    with world.session() as s:
        p = s.get(Program, survey.program_id)
        p.settings = {"sampling_design": "systematicRandom"}
        for loc in s.exec(select(Location).where(Location.name == "S02")):
            loc.latitude = None
    # A failure half-way (the second station has no coordinates): no folder, no temporary folder left.
    with world.session() as s, pytest.raises(ExportError, match="has no coordinates"):
        export_camtrap_dp(s, out, program_id=survey.program_id, store=get_store(app))
    assert list((tmp_path / "out").iterdir()) == []
    # A folder holding other files keeps them; the export's files are moved in only when complete.
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with world.session() as s, pytest.raises(ExportError):
        export_camtrap_dp(s, out, program_id=survey.program_id, store=get_store(app))
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    with world.session() as s:
        for loc in s.exec(select(Location).where(Location.name == "S02")):
            loc.latitude = 17.6
        export_camtrap_dp(s, out, program_id=survey.program_id, store=get_store(app))
    assert (out / "notes.txt").read_text() == "mine" and validate_camtrap_dp(out) == []
    assert [p.name for p in out.parent.iterdir()] == ["pkg"]


def test_camera_model_and_id_from_the_photos(app, world, survey, tmp_path):
    from server.models import Deployment, Media

    with world.session() as s:
        d2 = s.exec(select(Deployment).where(Deployment.camera_id == "CAM2")).one()
        d2.camera_id = None  # the record says nothing: the photos do
        for m in s.exec(select(Media).where(Media.deployment_id == d2.id)):
            m.camera_make, m.camera_model, m.camera_serial = "RECONYX", "HYPERFIRE 2 COVERT", "H2C0001234"
        d2_id = d2.id
    with world.session() as s:
        export_camtrap_dp(s, tmp_path, program_id=survey.program_id, store=get_store(app))
    rows = {r["deploymentID"]: r for r in _rows(tmp_path / "deployments.csv")}
    assert (rows[d2_id]["cameraModel"], rows[d2_id]["cameraID"]) == ("Reconyx-HYPERFIRE 2 COVERT", "H2C0001234")
    others = [r for k, r in rows.items() if k != d2_id]
    assert [(r["cameraModel"], r["cameraID"]) for r in others] == [("Reconyx HP2X", "CAM1")]  # the record wins


def test_import_keeps_every_field_it_does_not_map(app, world, shared_dir, tmp_path):
    example = shared_dir / "standards" / "camtrap-dp" / "example"
    original = json.loads((example / "datapackage.json").read_text())
    area = world.area()
    with world.session() as s:
        rep = import_camtrap_dp(s, example, area_id=area.code, store=get_store(app))
    with world.session() as s:
        export_camtrap_dp(s, tmp_path / "out", program_id=rep.program_id, store=get_store(app))
    assert validate_camtrap_dp(tmp_path / "out") == []
    desc = json.loads((tmp_path / "out" / "datapackage.json").read_text())
    for key in ("bibliographicCitation", "homepage", "keywords", "relatedIdentifiers", "references", "image",
                "description", "title", "id", "contributors", "licenses"):
        assert desc[key] == original[key], key
    before = {t["scientificName"]: t for t in original["taxonomic"]}
    after = {t["scientificName"]: t for t in desc["taxonomic"]}
    for name, entry in before.items():
        assert after[name]["taxonID"] == entry["taxonID"], name
        assert after[name]["vernacularNames"]["nld"] == entry["vernacularNames"]["nld"], name


def test_megadetector_json_and_detections_csv_export_jobs(app, client, survey, manager):
    results = {}
    for fmt in ("megadetector", "detections-csv"):
        r = client.post("/api/v1/exports", json={"format": fmt, "program_id": survey.program_id}, headers=manager)
        assert r.status_code == 202, r.get_json()
        results[fmt] = r.get_json()["id"]
    drain(app.config)
    files = {}
    for fmt, job_id in results.items():
        job = client.get(f"/api/v1/jobs/{job_id}", headers=manager).get_json()
        assert job["status"] == "done", job
        r = client.get(f"/api/v1/exports/{job_id}/download", headers=manager)
        z = zipfile.ZipFile(io.BytesIO(r.data))
        r.close()
        files[fmt] = {n: z.read(n) for n in z.namelist()}
    md = {n: json.loads(b) for n, b in files["megadetector"].items()}
    assert len(md) == 2 and all(n.startswith("megadetector/S0") for n in md)  # two camera deployments
    s01 = next(v for n, v in md.items() if n.startswith("megadetector/S01"))
    assert {"images", "detection_categories", "info"} <= set(s01)
    assert sum(len(i.get("detections") or []) for i in s01["images"]) >= 2
    csvs = files["detections-csv"]
    assert len(csvs) == 3  # every deployment, the recorder's sound detections too
    s03 = next(v for n, v in csvs.items() if n.startswith("detections/S03")).decode()
    assert "birdnet@2.4" in s03 and "gunshot" in s03
