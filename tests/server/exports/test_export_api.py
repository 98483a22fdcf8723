"""API: export jobs and downloads (managers), analyses and the report (viewers), never another area's data."""
from __future__ import annotations

import io
import zipfile

import pypdf
import pytest
from sqlmodel import select

from server.jobs import drain


@pytest.fixture
def people(world, survey, monkeypatch):
    # These users sign in with bearer tokens only: skip the (deliberately slow) argon2 hashing.
    monkeypatch.setattr("server.auth.passwords.hash_password", lambda pw: "not-a-password-hash")
    other = world.area("PNVQ", "Vu Quang")
    return {
        "manager": world.headers(world.user("manager", roles={survey.area_id: "manager"})),
        "viewer": world.headers(world.user("viewer", roles={survey.area_id: "viewer"})),
        "stranger": world.headers(world.user("stranger", roles={other.id: "manager"})),
    }


def test_export_job_and_download(app, client, survey, people):
    body = {"format": "camtrap-dp", "program_id": survey.program_id, "public": True}
    assert client.post("/api/v1/exports", json=body, headers=people["viewer"]).status_code == 403
    assert client.post("/api/v1/exports", json=body, headers=people["stranger"]).status_code == 404
    r = client.post("/api/v1/exports", json=body, headers=people["manager"])
    assert r.status_code == 202, r.get_json()
    job_id = r.get_json()["id"]
    early = client.get(f"/api/v1/exports/{job_id}/download", headers=people["manager"])
    assert early.status_code == 409 and "not done" in early.get_json()["error"]["message"]
    assert drain(app.config) == 1
    job = client.get(f"/api/v1/jobs/{job_id}", headers=people["manager"]).get_json()
    assert job["status"] == "done", job
    assert job["result"]["person_media_excluded"] == 1
    assert client.get(f"/api/v1/exports/{job_id}/download", headers=people["viewer"]).status_code == 403
    assert client.get(f"/api/v1/exports/{job_id}/download", headers=people["stranger"]).status_code == 404
    r = client.get(f"/api/v1/exports/{job_id}/download", headers=people["manager"])
    data = r.data
    r.close()  # send_file streams from an open file
    assert r.status_code == 200 and r.mimetype == "application/zip"
    names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert {"datapackage.json", "deployments.csv", "media.csv", "observations.csv"} <= names
    assert any(n.startswith("media/") for n in names)


def test_export_body_is_validated(client, survey, people):
    r = client.post("/api/v1/exports", json={"format": "camtrap-dp"}, headers=people["manager"])
    assert r.status_code == 422 and "exactly one of program_id or area_id" in r.get_json()["error"]["message"]
    r = client.post("/api/v1/exports", json={"format": "shapefile", "area_id": "PNKB"}, headers=people["manager"])
    assert r.status_code == 422 and "format" in r.get_json()["error"]["message"]


def test_dwca_export_job_by_area_code(app, client, survey, people):
    r = client.post("/api/v1/exports", json={"format": "dwca", "area_id": "PNKB"}, headers=people["manager"])
    assert r.status_code == 202, r.get_json()
    drain(app.config)
    r = client.get(f"/api/v1/exports/{r.get_json()['id']}/download", headers=people["manager"])
    data = r.data
    r.close()
    assert {"meta.xml", "eml.xml", "event.txt", "occurrence.txt"} <= set(zipfile.ZipFile(io.BytesIO(data)).namelist())


def test_analytics_json_csv_plot_and_scoping(client, survey, people):
    base = f"/api/v1/analytics/rai?program_id={survey.program_id}"
    r = client.get(base, headers=people["viewer"])
    assert r.status_code == 200
    assert {row["species"] for row in r.get_json()["rows"]} == {"Sus scrofa", "Muntiacus vuquangensis"}
    r = client.get(base + "&format=csv&min_delta=30&compared_to=last-independent-record", headers=people["viewer"])
    assert r.status_code == 200 and r.mimetype == "text/csv" and r.data.decode().startswith("species,events")
    assert client.get(base, headers=people["stranger"]).status_code == 404
    r = client.get("/api/v1/analytics/diel-activity/plot?area_id=PNKB", headers=people["viewer"])
    assert r.status_code == 200 and r.data[:4] == b"\x89PNG"
    r = client.get(f"/api/v1/analytics/nonsense?program_id={survey.program_id}", headers=people["viewer"])
    assert r.status_code == 422 and "unknown analysis" in r.get_json()["error"]["message"]
    r = client.get(base + "&colour=red", headers=people["viewer"])
    assert r.status_code == 422
    names = {a["name"] for a in client.get("/api/v1/analytics", headers=people["viewer"]).get_json()}
    assert {"record-table", "detection-history", "encounter-rates", "detections-per-hour"} <= names


def test_report_html_and_pdf(client, survey, people):
    r = client.get(f"/api/v1/reports/annual?program_id={survey.program_id}&year=2026&lang=en",
                   headers=people["viewer"])
    assert r.status_code == 200 and b"Species inventory" in r.data
    # Its own policy (inline <style>, data: figures) still lets no script run and no site frame it.
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "frame-ancestors 'none'" in csp
    r = client.get("/api/v1/reports/annual?area_id=PNKB&year=2026&format=pdf&lang=en", headers=people["viewer"])
    assert r.status_code == 200 and r.data[:5] == b"%PDF-"
    reader = pypdf.PdfReader(io.BytesIO(r.data))
    text = " ".join(p.extract_text() for p in reader.pages)
    assert "Species inventory" in text and "Large-antlered muntjac" in text and "Sus scrofa" in text
    assert client.get("/api/v1/reports/annual?area_id=PNKB&year=2026",
                      headers=people["stranger"]).status_code == 404


def test_old_exports_are_pruned(tmp_path):
    import os
    import time

    from server.exports.jobs import prune_exports

    old, new = tmp_path / "exports" / "old-job", tmp_path / "exports" / "new-job"
    old.mkdir(parents=True)
    new.mkdir()
    (old / "x.zip").write_bytes(b"zip")
    past = time.time() - 8 * 86400
    os.utime(old, (past, past))
    assert prune_exports({"DATA_DIR": str(tmp_path)}) == 1
    assert not old.exists() and new.exists()


def test_export_job_leaves_only_its_zip_and_nothing_when_it_fails(app, client, world, survey, people):
    from server.exports.jobs import export_dir
    from server.models import Location

    body = {"format": "camtrap-dp", "program_id": survey.program_id}
    ok = client.post("/api/v1/exports", json=body, headers=people["manager"]).get_json()["id"]
    drain(app.config)
    assert [p.name for p in export_dir(app.config, ok).iterdir()] == [f"camtrap-dp-{ok[:8]}.zip"]
    # A station without coordinates fails the export after deployments.csv was begun.
    with world.session() as s:
        loc = s.exec(select(Location).where(Location.name == "S02")).one()
        loc.latitude = None
        s.add(loc)
    failed = client.post("/api/v1/exports", json=body, headers=people["manager"]).get_json()["id"]
    drain(app.config)
    job = client.get(f"/api/v1/jobs/{failed}", headers=people["manager"]).get_json()
    assert job["status"] == "failed" and "no coordinates" in job["error"], job
    assert not export_dir(app.config, failed).exists()
