"""Finding 11: a finished export job showed its absolute server path (the work folder) to viewers.
The result names only the zip (downloaded by job id); no server path reaches non-administrators."""
from __future__ import annotations

from server.jobs import drain


def test_export_job_result_has_no_server_path(app, client, world, survey):
    manager = world.headers(world.user("manager", roles={survey.area_id: "manager"}))
    viewer = world.headers(world.user("viewer", roles={survey.area_id: "viewer"}))
    for fmt in ("camtrap-dp", "dwca"):
        r = client.post("/api/v1/exports", json={"format": fmt, "program_id": survey.program_id}, headers=manager)
        assert r.status_code == 202, r.get_json()
        assert drain(app.config) == 1
        for h in (viewer, manager):
            text = client.get(f"/api/v1/jobs/{r.json['id']}", headers=h).get_data(as_text=True)
            assert app.config["DATA_DIR"] not in text and "out_dir" not in text and "out_path" not in text
        job = client.get(f"/api/v1/jobs/{r.json['id']}", headers=viewer).json
        assert job["status"] == "done" and job["result"]["file"].endswith(".zip")
        dl = client.get(f"/api/v1/exports/{r.json['id']}/download", headers=manager)
        dl.get_data()
        dl.close()
        assert dl.status_code == 200
