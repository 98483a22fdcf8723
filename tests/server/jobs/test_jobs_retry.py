"""Retrying failed and cancelled jobs through the API (SQLite and PostgreSQL), and queueing
detection for a whole program: what the jobs page's buttons call."""
from __future__ import annotations

from test_jobs_core import jobs  # noqa: F401 - the fixture


def test_retry_puts_a_failed_job_back_with_a_clean_slate(client, world, jobs):  # noqa: F811
    from server.jobs import drain

    area = world.area()
    viewer = world.headers(world.user("v", roles={area.id: "viewer"}))
    bio = world.headers(world.user("b", roles={area.id: "biologist"}))
    stranger = world.headers(world.user("s", roles={world.area("CT", "Cat Tien").id: "manager"}))
    job_id = jobs.add("test.flaky", {"fail_times": 1, "items": ["a", "bad1", "c"]}, area_id=area.id, max_attempts=1)
    drain(jobs.config)
    failed = jobs.get(job_id)
    assert failed.status == "failed" and failed.error.startswith("RuntimeError: boom")
    # Nothing to retry while it is not failed or cancelled; outsiders do not see it; viewers may not.
    assert client.post(f"/api/v1/jobs/{job_id}/retry", headers=stranger).status_code == 404
    assert client.post(f"/api/v1/jobs/{job_id}/retry", headers=viewer).status_code == 403
    r = client.post(f"/api/v1/jobs/{job_id}/retry", headers=bio)
    assert r.status_code == 200, r.json
    assert (r.json["status"], r.json["attempts"], r.json["error"], r.json["failures"]) == ("queued", 0, None, [])
    assert job_id in jobs.published  # dispatched again
    assert client.post(f"/api/v1/jobs/{job_id}/retry", headers=bio).status_code == 409  # queued already
    drain(jobs.config)
    done = jobs.get(job_id)
    assert done.status == "done" and [f["item"] for f in done.failures] == ["bad1"]
    assert client.post(f"/api/v1/jobs/{job_id}/retry", headers=bio).status_code == 409  # done


def test_retry_of_a_cancelled_job_and_the_role_of_its_kind(client, world, jobs):  # noqa: F811
    area = world.area()
    bio = world.headers(world.user("b", roles={area.id: "biologist"}))
    manager = world.headers(world.user("m", roles={area.id: "manager"}))
    job_id = jobs.add("diagnostic.sleep", {"steps": 1, "step_s": 0}, area_id=area.id)
    assert client.post(f"/api/v1/jobs/{job_id}/cancel", headers=bio).status_code == 200
    assert client.post(f"/api/v1/jobs/{job_id}/retry", headers=bio).json["status"] == "queued"
    # An export (managers start them) is retried by managers only.
    export_id = jobs.add("export", {"format": "camtrap-dp"}, area_id=area.id)
    jobs.set(export_id, status="failed", error="disk full")
    assert client.post(f"/api/v1/jobs/{export_id}/retry", headers=bio).status_code == 403
    assert client.post(f"/api/v1/jobs/{export_id}/retry", headers=manager).status_code == 200


def test_detection_of_a_program_is_queued_for_biologists(client, world):
    from server.detect.registry import add_model
    from tests.server.detect.detect_helpers import constant_detector

    area = world.area()
    program = world.program(area.id)
    ranger = world.headers(world.user("r", roles={area.id: "ranger"}))
    bio = world.headers(world.user("b", roles={area.id: "biologist"}))
    url = f"/api/v1/programs/{program.id}/detect"
    assert client.post(url, json={"model": "md"}, headers=ranger).status_code == 403
    r = client.post(url, json={"model": "md"}, headers=bio)
    assert r.status_code == 422 and "no registered model" in r.json["error"]["message"]
    import tempfile
    from pathlib import Path

    with world.session() as s, tempfile.TemporaryDirectory() as tmp:
        add_model(s, constant_detector(Path(tmp) / "md.onnx"), "md", version="1")
    r = client.post(url, json={"model": "md", "force": True}, headers=bio)
    assert r.status_code == 202 and r.json["kind"] == "detect"
    assert r.json["params"] == {"program_id": program.id, "model": "md", "force": True, "classify": True}
