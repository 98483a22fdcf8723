"""Bad input gets a specific 4xx JSON error and writes nothing."""
import pytest
from sqlmodel import func, select

from server.models import AuditLog, Program, ProtectedArea


@pytest.fixture
def admin_h(world):
    return world.headers(world.user("admin", admin=True))


def _count(world, model):
    with world.session() as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_malformed_json(client, admin_h, world):
    r = client.post("/api/v1/areas", data='{"code": "X", "name": ', headers={**admin_h, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json["error"]["code"] == "malformed_json"
    assert "line 1" in r.json["error"]["message"]
    assert _count(world, ProtectedArea) == 0


def test_wrong_content_type(client, admin_h):
    r = client.post("/api/v1/areas", data="code=X", headers={**admin_h, "Content-Type": "text/plain"})
    assert r.status_code == 415


def test_missing_and_wrong_typed_fields(client, admin_h, world):
    a = world.area()
    r = client.post("/api/v1/programs", json={"area_id": a.id, "sequence_gap_s": "soon"}, headers=admin_h)
    assert r.status_code == 422
    fields = {d["field"] for d in r.json["error"]["details"]}
    assert fields == {"name", "sequence_gap_s"}
    assert _count(world, Program) == 0


def test_unknown_field_is_an_error(client, admin_h):
    r = client.post("/api/v1/areas", json={"code": "X", "name": "X", "colour": "red"}, headers=admin_h)
    assert r.status_code == 422 and r.json["error"]["details"][0]["field"] == "colour"


def test_unknown_ids(client, admin_h):
    r = client.post("/api/v1/programs", json={"area_id": "no-such-area", "name": "P"}, headers=admin_h)
    assert r.status_code == 404
    r = client.post("/api/v1/deployments", headers=admin_h, json={
        "program_id": "nope", "location": {"name": "S"}, "deployment_start": "2026-01-01T00:00:00Z"})
    assert r.status_code == 404 and "program" in r.json["error"]["message"]
    assert client.get("/api/v1/taxa/nope", headers=admin_h).status_code == 404


def test_duplicates_conflict_and_nothing_half_written(client, admin_h, world):
    assert client.post("/api/v1/areas", json={"code": "X", "name": "X"}, headers=admin_h).status_code == 201
    audits = _count(world, AuditLog)
    r = client.post("/api/v1/areas", json={"code": "X", "name": "Y"}, headers=admin_h)
    assert r.status_code == 409 and r.json["error"]["code"] == "conflict"
    assert _count(world, ProtectedArea) == 1
    assert _count(world, AuditLog) == audits  # the failed insert left no audit entry behind


def test_bad_deployment_values(client, admin_h, world):
    a = world.area()
    p = world.program(a.id)
    base = {"program_id": p.id, "location": {"name": "S"}}
    r = client.post("/api/v1/deployments", headers=admin_h, json={**base, "deployment_start": "not a date"})
    assert r.status_code == 422
    r = client.post("/api/v1/deployments", headers=admin_h, json={**base, "deployment_start": "2026-01-02T00:00:00",
                                                                 "deployment_end": "2026-01-01T00:00:00"})
    assert r.status_code == 422 and "after" in r.json["error"]["message"]
    r = client.post("/api/v1/deployments", headers=admin_h, json={**base, "deployment_start": "2026-01-02T00:00:00",
                                                                 "timezone": "Mars/Olympus"})
    assert r.status_code == 422 and "time zone" in r.json["error"]["message"]
    r = client.post("/api/v1/deployments", headers=admin_h, json={**base, "location": {"name": "S", "latitude": 123},
                                                                 "deployment_start": "2026-01-02T00:00:00"})
    assert r.status_code == 422


def test_too_large_body(app, client, admin_h):
    app.config["MAX_JSON_MB"] = 1
    big = '{"code": "X", "name": "' + "x" * (2 * 1024 * 1024) + '"}'
    r = client.post("/api/v1/areas", data=big, headers={**admin_h, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json["error"]["code"] == "too_large"


def test_unknown_route_is_json_404(client, admin_h):
    r = client.get("/api/v1/nothing-here", headers=admin_h)
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
