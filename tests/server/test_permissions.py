"""Roles per protected area; no user reads or changes another area's data."""
import pytest


@pytest.fixture
def two_areas(world):
    a = world.area("A", "Area A")
    b = world.area("B", "Area B")
    pa, pb = world.program(a.id), world.program(b.id)
    da, db = world.deployment(pa), world.deployment(pb)
    return a, b, pa, pb, da, db


def test_user_of_one_area_cannot_see_or_change_another(client, world, two_areas):
    a, b, pa, pb, da, db = two_areas
    mgr_a = world.user("mgr_a", roles={a.id: "manager"})
    h = world.headers(mgr_a)
    assert [x["code"] for x in client.get("/api/v1/areas", headers=h).json["items"]] == ["A"]
    assert client.get(f"/api/v1/areas/{b.id}", headers=h).status_code == 404
    assert client.get(f"/api/v1/programs/{pb.id}", headers=h).status_code == 404
    assert client.get(f"/api/v1/deployments/{db.id}", headers=h).status_code == 404
    assert client.patch(f"/api/v1/deployments/{db.id}", headers=h, json={"camera_height": 2}).status_code == 404
    assert client.delete(f"/api/v1/programs/{pb.id}", headers=h).status_code == 404
    assert client.get(f"/api/v1/programs?area_id={b.id}", headers=h).status_code == 404
    ids = {d["id"] for d in client.get("/api/v1/deployments", headers=h).json["items"]}
    assert ids == {da.id}
    assert client.get(f"/api/v1/areas/{b.id}/audit", headers=h).status_code == 404
    # A location of area A cannot be used for a deployment of area B's program, even by a manager of both.
    r = client.post("/api/v1/deployments", headers=h, json={
        "program_id": pb.id, "location_id": da.location_id, "deployment_start": "2026-01-01T00:00:00Z"})
    assert r.status_code == 404


@pytest.mark.parametrize("role,can_create_location,can_create_program,can_delete_deployment", [
    ("viewer", False, False, False),
    ("ranger", True, False, False),
    ("biologist", True, False, False),
    ("manager", True, True, True),
])
def test_role_ladder(client, world, two_areas, role, can_create_location, can_create_program,
                     can_delete_deployment):
    a, b, pa, pb, da, db = two_areas
    u = world.user(f"u_{role}", roles={a.id: role})
    h = world.headers(u)
    assert client.get(f"/api/v1/deployments/{da.id}", headers=h).status_code == 200
    r = client.post("/api/v1/locations", headers=h, json={"area_id": a.id, "name": "L-new"})
    assert r.status_code == (201 if can_create_location else 403)
    r = client.post("/api/v1/programs", headers=h, json={"area_id": a.id, "name": "New"})
    assert r.status_code == (201 if can_create_program else 403)
    r = client.delete(f"/api/v1/deployments/{da.id}", headers=h)
    assert r.status_code == (204 if can_delete_deployment else 403)


def test_only_admins_manage_users_areas_and_taxa(client, world, two_areas):
    a, *_ = two_areas
    mgr = world.user("mgr", roles={a.id: "manager"})
    h = world.headers(mgr)
    assert client.post("/api/v1/areas", headers=h, json={"code": "C", "name": "C"}).status_code == 403
    assert client.get("/api/v1/users", headers=h).status_code == 403
    assert client.post("/api/v1/users", headers=h, json={"username": "x1", "password": "12345678"}).status_code == 403
    assert client.post("/api/v1/taxa", headers=h, json={"scientific_name": "Panthera tigris"}).status_code == 403
    assert client.patch(f"/api/v1/users/{mgr.id}", headers=h, json={"is_admin": True}).status_code == 403
    # but a user may change their own language
    assert client.patch(f"/api/v1/users/{mgr.id}", headers=h, json={"language": "en"}).status_code == 200


def test_memberships_managed_by_area_managers(client, world, two_areas):
    a, b, *_ = two_areas
    mgr = world.user("mgr", roles={a.id: "manager"})
    lan = world.user("lan")
    h = world.headers(mgr)
    r = client.post(f"/api/v1/areas/{a.id}/members", headers=h, json={"user_id": lan.id, "role": "ranger"})
    assert r.status_code == 201
    assert client.get(f"/api/v1/areas/{a.id}", headers=world.headers(lan)).status_code == 200
    assert client.post(f"/api/v1/areas/{b.id}/members", headers=h,
                       json={"user_id": lan.id, "role": "ranger"}).status_code == 404
    r = client.post(f"/api/v1/areas/{a.id}/members", headers=h, json={"user_id": lan.id, "role": "biologist"})
    assert r.status_code == 201 and r.json["role"] == "biologist"
    assert client.delete(f"/api/v1/areas/{a.id}/members/{lan.id}", headers=h).status_code == 204
    assert client.get(f"/api/v1/areas/{a.id}", headers=world.headers(lan)).status_code == 404


def test_jobs_visible_only_within_area(client, world, two_areas):
    from server.jobs import enqueue

    a, b, *_ = two_areas
    with world.session() as s:
        ja = enqueue(s, "diagnostic.sleep", {"steps": 1}, area_id=a.id)
        jb = enqueue(s, "diagnostic.sleep", {"steps": 1}, area_id=b.id)
    u = world.user("bio", roles={a.id: "biologist"})
    h = world.headers(u)
    assert [j["id"] for j in client.get("/api/v1/jobs", headers=h).json["items"]] == [ja.id]
    assert client.get(f"/api/v1/jobs/{jb.id}", headers=h).status_code == 404
    r = client.post(f"/api/v1/jobs/{ja.id}/cancel", headers=h)
    assert r.status_code == 200 and r.json["status"] == "cancelled"
