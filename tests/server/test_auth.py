"""Passwords, bearer tokens (expiring, revocable), browser sessions with CSRF."""
from datetime import timedelta

from server.auth.passwords import hash_password, verify_password
from server.models import DeviceToken, utcnow
from signin import sign_in


def test_password_hash_is_argon2_and_verifies():
    h = hash_password("correct horse")
    assert h.startswith("$argon2id$")
    assert verify_password(h, "correct horse") and not verify_password(h, "wrong horse")


def test_no_token_is_401(client):
    r = client.get("/api/v1/areas")
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"


def test_token_from_password_and_revocation(client, world):
    world.user("lan", password="s3cret-pass")
    r = client.post("/api/v1/auth/token", json={"username": "lan", "password": "wrong-pass"})
    assert r.status_code == 401 and r.json["error"]["message"] == "wrong username or password"
    r = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "wrong-pass"})
    assert r.status_code == 401 and r.json["error"]["message"] == "wrong username or password"
    r = client.post("/api/v1/auth/token", json={"username": "lan", "password": "s3cret-pass", "days": 7})
    assert r.status_code == 201
    tok = r.json["token"]
    h = {"Authorization": f"Bearer {tok}"}
    assert client.get("/api/v1/users/me", headers=h).json["username"] == "lan"
    assert client.delete(f"/api/v1/tokens/{r.json['token_id']}", headers=h).status_code == 204
    r = client.get("/api/v1/users/me", headers=h)
    assert r.status_code == 401 and "revoked" in r.json["error"]["message"]


def test_expired_token(client, world):
    u = world.user("old")
    tok = world.token(u)
    with world.session() as s:
        for row in s.exec(__import__("sqlmodel").select(DeviceToken)):
            row.expires_at = utcnow() - timedelta(seconds=1)
            s.add(row)
    r = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {tok}"})
    assert r.status_code == 401 and "expired" in r.json["error"]["message"]


def test_garbage_and_malformed_authorization(client):
    assert client.get("/api/v1/users/me", headers={"Authorization": "Bearer saola_nope"}).status_code == 401
    r = client.get("/api/v1/users/me", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401 and "Bearer" in r.json["error"]["message"]


def test_device_registration(client, world):
    world.user("ranger1", password="field-pass1")
    r = client.post("/api/v1/auth/device", json={"username": "ranger1", "password": "field-pass1",
                                                 "device_id": "tab-0001", "device_name": "Tablet 1"})
    assert r.status_code == 201
    h = {"Authorization": f"Bearer {r.json['token']}"}
    toks = client.get("/api/v1/tokens", headers=h).json
    assert toks[0]["kind"] == "device" and toks[0]["device_id"] == "tab-0001"
    assert "token_hash" not in toks[0]


def test_browser_session_needs_csrf_for_writes(client, world):
    world.user("root", admin=True, password="admin-pass1")
    r = sign_in(client, "root", "admin-pass1")
    assert r.status_code == 302
    assert client.get("/api/v1/users/me").json["username"] == "root"
    r = client.post("/api/v1/areas", json={"code": "A1", "name": "Area"})
    assert r.status_code == 403 and r.json["error"]["code"] == "csrf"
    with client.session_transaction() as sess:
        csrf = sess["csrf"]
    r = client.post("/api/v1/areas", json={"code": "A1", "name": "Area"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    r = client.post("/logout", data={"csrf_token": csrf})
    assert r.status_code == 302
    assert client.get("/api/v1/users/me").status_code == 401


def test_login_page_rejects_wrong_password(client, world):
    world.user("root", admin=True, password="admin-pass1")
    r = sign_in(client, "root", "nope-nope")
    assert r.status_code == 401 and b"Wrong username or password" in r.data


def test_login_redirect_is_local_only(client, world):
    world.user("root", admin=True, password="admin-pass1")
    r = sign_in(client, "root", "admin-pass1", url="/login?next=//evil.example/x")
    assert r.headers["Location"] == "/"
