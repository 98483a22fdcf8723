"""CRUD of areas, programs, locations, deployments and intervals through the API."""


def _setup(world):
    admin = world.user("admin", admin=True)
    return admin, world.headers(admin)


def test_area_program_location_deployment_lifecycle(client, world):
    _, h = _setup(world)
    r = client.post("/api/v1/areas", json={"code": "PNKB", "name": "Phong Nha-Ke Bang",
                                            "name_vi": "Phong Nha-Kẻ Bàng"}, headers=h)
    assert r.status_code == 201, r.json
    area = r.json
    r = client.post("/api/v1/programs", json={"area_id": area["id"], "name": "CT 2026", "sequence_gap_s": 30},
                    headers=h)
    assert r.status_code == 201, r.json
    program = r.json
    assert program["sequence_gap_s"] == 30
    r = client.post("/api/v1/deployments", headers=h, json={
        "program_id": program["id"], "location": {"name": "S01", "latitude": 17.5, "longitude": 106.2},
        "deployment_start": "2026-03-01T08:00:00", "deployment_end": "2026-04-01T08:00:00",
        "camera_id": "H2-0001", "camera_height": 0.5})
    assert r.status_code == 201, r.json
    dep = r.json
    # Naive times are the deployment's local time (Asia/Ho_Chi_Minh, UTC+7).
    assert dep["deployment_start"].startswith("2026-03-01T01:00:00")
    r = client.get(f"/api/v1/locations?area_id={area['id']}", headers=h)
    assert [loc["name"] for loc in r.json["items"]] == ["S01"]
    # A second deployment at the same named location reuses it.
    r2 = client.post("/api/v1/deployments", headers=h, json={
        "program_id": program["id"], "location": {"name": "S01"}, "deployment_start": "2026-04-02T08:00:00+07:00"})
    assert r2.json["location_id"] == dep["location_id"]
    r = client.post(f"/api/v1/deployments/{dep['id']}/intervals", headers=h, json={
        "start": "2026-03-10T00:00:00+07:00", "end": "2026-03-12T00:00:00+07:00", "reason": "battery"})
    assert r.status_code == 201, r.json
    r = client.get(f"/api/v1/deployments/{dep['id']}", headers=h)
    assert r.json["operating_intervals"][0]["reason"] == "battery"
    r = client.patch(f"/api/v1/deployments/{dep['id']}", headers=h, json={"camera_height": 0.8})
    assert r.status_code == 200 and r.json["camera_height"] == 0.8
    r = client.get(f"/api/v1/deployments?program_id={program['id']}&camera_id=H2-0001", headers=h)
    assert r.json["total"] == 1
    r = client.get("/api/v1/deployments?active_at=2026-03-15T00:00:00Z", headers=h)
    assert [d["id"] for d in r.json["items"]] == [dep["id"]]
    assert client.delete(f"/api/v1/deployments/{dep['id']}", headers=h).status_code == 204
    assert client.get(f"/api/v1/deployments/{dep['id']}", headers=h).status_code == 404


def test_interval_outside_deployment_is_refused(client, world):
    _, h = _setup(world)
    a = world.area()
    p = world.program(a.id)
    from datetime import datetime, timezone

    d = world.deployment(p, deployment_start=datetime(2026, 3, 1, tzinfo=timezone.utc),
                         deployment_end=datetime(2026, 3, 5, tzinfo=timezone.utc))
    r = client.post(f"/api/v1/deployments/{d.id}/intervals", headers=h,
                    json={"start": "2026-03-04T00:00:00Z", "end": "2026-03-09T00:00:00Z"})
    assert r.status_code == 422 and "outside the deployment window" in r.json["error"]["message"]


def test_pagination(client, world):
    _, h = _setup(world)
    a = world.area()
    for i in range(7):
        world.program(a.id, name=f"P{i}")
    r = client.get(f"/api/v1/programs?area_id={a.id}&limit=3&offset=0", headers=h)
    assert r.json["total"] == 7 and len(r.json["items"]) == 3 and r.json["next_offset"] == 3
    r = client.get(f"/api/v1/programs?area_id={a.id}&limit=3&offset=6", headers=h)
    assert len(r.json["items"]) == 1 and r.json["next_offset"] is None
    assert client.get("/api/v1/programs?limit=0", headers=h).status_code == 422
    assert client.get("/api/v1/programs?limit=5000", headers=h).status_code == 422


def test_clock_offset_change_needs_manager_and_queues_retime(client, world):
    from sqlmodel import select

    from server.models import Job

    a = world.area()
    p = world.program(a.id)
    d = world.deployment(p)
    ranger = world.user("ranger", roles={a.id: "ranger"})
    manager = world.user("manager", roles={a.id: "manager"})
    r = client.patch(f"/api/v1/deployments/{d.id}", headers=world.headers(ranger), json={"clock_offset_s": 3600})
    assert r.status_code == 403
    r = client.patch(f"/api/v1/deployments/{d.id}", headers=world.headers(ranger), json={"camera_height": 1.0})
    assert r.status_code == 200
    r = client.patch(f"/api/v1/deployments/{d.id}", headers=world.headers(manager), json={"clock_offset_s": 3600})
    assert r.status_code == 200 and r.json["clock_offset_s"] == 3600
    with world.session() as s:
        jobs = s.exec(select(Job).where(Job.kind == "retime")).all()
        assert [j.params for j in jobs] == [{"deployment_id": d.id}]


def test_window_change_queues_retime_for_the_outside_window_flags(client, world):
    from sqlmodel import select

    from server.models import Job

    a = world.area()
    p = world.program(a.id)
    d = world.deployment(p)
    ranger = world.user("ranger", roles={a.id: "ranger"})
    r = client.patch(f"/api/v1/deployments/{d.id}", headers=world.headers(ranger),
                     json={"deployment_end": "2026-02-01T00:00:00Z"})
    assert r.status_code == 200
    r = client.patch(f"/api/v1/deployments/{d.id}", headers=world.headers(ranger), json={"camera_height": 2.0})
    with world.session() as s:
        assert [j.kind for j in s.exec(select(Job))] == ["retime"]
