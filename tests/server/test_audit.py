"""Every create/update/delete is audited with who, when, before and after."""


def test_audit_trail_of_a_deployment(client, world):
    a = world.area()
    p = world.program(a.id)
    mgr = world.user("mgr", roles={a.id: "manager"})
    h = world.headers(mgr)
    r = client.post("/api/v1/deployments", headers=h, json={
        "program_id": p.id, "location": {"name": "S9"}, "deployment_start": "2026-01-01T00:00:00Z"})
    dep_id = r.json["id"]
    client.patch(f"/api/v1/deployments/{dep_id}", headers=h, json={"camera_height": 1.5})
    client.delete(f"/api/v1/deployments/{dep_id}", headers=h)
    log = client.get(f"/api/v1/areas/{a.id}/audit?entity=deployment", headers=h).json["items"]
    assert [e["action"] for e in log] == ["delete", "update", "create"]
    upd = log[1]
    assert upd["actor"] == "mgr" and upd["user_id"] == mgr.id
    assert upd["before"]["camera_height"] is None and upd["after"]["camera_height"] == 1.5
    assert log[0]["before"]["id"] == dep_id and log[0]["after"] is None


def test_audit_needs_manager(client, world):
    a = world.area()
    bio = world.user("bio", roles={a.id: "biologist"})
    assert client.get(f"/api/v1/areas/{a.id}/audit", headers=world.headers(bio)).status_code == 403


def test_secrets_never_reach_the_audit_log(client, world):
    from sqlmodel import select

    from server.models import AuditLog

    h = world.headers(world.user("root", admin=True))
    client.post("/api/v1/users", headers=h, json={"username": "new1", "password": "Tiger-river-7"})
    client.post("/api/v1/auth/token", json={"username": "new1", "password": "Tiger-river-7"})
    with world.session() as s:
        rows = s.exec(select(AuditLog)).all()
    text = repr([(r.before, r.after) for r in rows])
    assert rows and "password_hash" not in text and "token_hash" not in text and "argon2" not in text
