"""A card ingested before its deployment was entered joins the deployment when it is created."""
from pathlib import Path

from sqlmodel import func, select

from server.db import session_scope
from server.models import Media, Sequence

CAMERA = Path(__file__).resolve().parents[3] / "sample_media" / "camera"


def test_media_without_deployment_are_adopted_by_a_new_deployment(runner, app, client, world):
    runner.invoke(["areas", "add", "DEMO", "Demo"])
    res = runner.invoke(["ingest", str(CAMERA)])
    assert res.exit_code == 0 and "no_deployment" in res.output
    res = runner.invoke(["deployments", "add", "--area", "DEMO", "--program", "CT", "--location", "S01",
                         "--start", "2026-03-01T08:00", "--end", "2026-03-31T17:00", "--serial", "SAOLA-CAM-01"])
    assert res.exit_code == 0, res.output
    assert "8 media ingested earlier with serial SAOLA-CAM-01 now belong to it" in res.output
    dep_id = res.output.strip().splitlines()[-1]
    with session_scope(app.config["DATABASE_URL"]) as s:
        media = s.exec(select(Media)).all()
        assert {m.deployment_id for m in media} == {dep_id}
        assert not any("no_deployment" in m.flags for m in media)
        assert s.exec(select(func.count()).select_from(Sequence)).one() == 3
    # a deployment of another camera adopts nothing
    res = runner.invoke(["deployments", "add", "--area", "DEMO", "--program", "CT", "--location", "S02",
                         "--start", "2026-03-01T08:00", "--serial", "OTHER-CAM"])
    assert res.exit_code == 0 and "now belong" not in res.output


def test_api_created_deployment_queues_the_adoption(runner, app, client, world):
    from server.jobs import drain

    a = world.area()
    p = world.program(a.id)
    runner.invoke(["ingest", str(CAMERA)])
    h = world.headers(world.user("mgr", roles={a.id: "manager"}))
    r = client.post("/api/v1/deployments", headers=h, json={
        "program_id": p.id, "location": {"name": "S01"}, "camera_id": "SAOLA-CAM-01",
        "deployment_start": "2026-03-01T08:00:00", "deployment_end": "2026-03-31T17:00:00"})
    assert r.status_code == 201
    drain(app.config)
    with session_scope(app.config["DATABASE_URL"]) as s:
        assert {m.deployment_id for m in s.exec(select(Media))} == {r.json["id"]}
