"""Cellular cameras' FTP logins kept by the managers of their area, through the API and the
administration page, on SQLite and PostgreSQL: passwords shown once and stored as Argon2 hashes,
names checked with a message next to the field (Vietnamese and English), other areas' logins out
of reach (404) and roles below manager refused (403), every change audited; then the FTP
endpoint accepts the password the page showed (ftp tests: -k ftp)."""
from __future__ import annotations

import ftplib
import html
import io
import re

from sqlmodel import select

from ftp_helpers import RunningFTP, photo
from server.models import AuditLog, CameraLogin, CameraUpload
from signin import form_token, sign_in

SHOWN = re.compile(r'id="shown-password">([A-Za-z0-9]+)<')


def _area(world, code):
    return world.area(code, f"Area {code}")


def test_ftp_camera_logins_through_the_api(app, world):
    a, b = _area(world, "PNKB"), _area(world, "CTN")
    manager = world.user("manager", roles={a.id: "manager"})
    ranger = world.user("ranger", roles={a.id: "ranger"})
    other = world.user("other", roles={b.id: "manager"})
    c = app.test_client()
    h = world.headers(manager)
    r = c.post(f"/api/v1/areas/{a.id}/camera-logins", json={"username": "cam01", "camera_serial": "CAM-4G-1",
                                                            "label": "Ridge trail"}, headers=h)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    password, login_id = body["password"], body["id"]
    assert len(password) == 16 and body["camera_serial"] == "CAM-4G-1" and body["active"] is True
    with world.session() as s:
        row = s.get(CameraLogin, login_id)
        assert row.password_hash.startswith("$argon2") and password not in row.password_hash
        assert [e.action for e in s.exec(select(AuditLog).where(AuditLog.entity_id == login_id))] == ["create"]
    listed = c.get(f"/api/v1/areas/{a.id}/camera-logins", headers=h).get_json()
    assert [i["username"] for i in listed["items"]] == ["cam01"] and listed["items"][0]["password"] is None

    bad = c.post(f"/api/v1/areas/{a.id}/camera-logins", json={"username": "cam01"}, headers=h)
    assert bad.status_code == 422 and "already used" in bad.get_json()["error"]["message"]
    bad = c.post(f"/api/v1/areas/{a.id}/camera-logins", json={"username": "a b"}, headers=h)
    assert bad.status_code == 422 and bad.get_json()["error"]["details"][0]["field"] == "username"
    assert c.post(f"/api/v1/areas/{a.id}/camera-logins", json={"username": "cam02"},
                  headers=world.headers(ranger)).status_code == 403
    assert c.get(f"/api/v1/areas/{a.id}/camera-logins", headers=world.headers(other)).status_code == 404
    assert c.patch(f"/api/v1/camera-logins/{login_id}", json={"active": False},
                   headers=world.headers(other)).status_code == 404

    r = c.patch(f"/api/v1/camera-logins/{login_id}", json={"active": False, "reset_password": True}, headers=h)
    assert r.status_code == 200 and r.get_json()["active"] is False and r.get_json()["password"] not in (None, password)
    with world.session() as s:
        s.add(CameraUpload(login_id=login_id, file_name="x.txt", status="refused", reason="not accepted"))
    ups = c.get(f"/api/v1/camera-logins/{login_id}/uploads", headers=h).get_json()
    assert [(u["file_name"], u["status"]) for u in ups["items"]] == [("x.txt", "refused")]


def test_ftp_camera_page_creates_a_login_the_camera_then_uses(app, world):
    area = _area(world, "PNKB")
    world.user("manager", roles={area.id: "manager"}, language="vi")
    world.user("viewer", roles={area.id: "viewer"})
    c = app.test_client()
    assert sign_in(c, "manager").status_code == 302
    page = c.get(f"/admin/areas/{area.id}/cameras")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Bẫy ảnh 4G" in text and 'id="nav-admin-cameras"' in text and "Thêm bẫy ảnh" in text
    token = form_token(c, f"/admin/areas/{area.id}/cameras")
    # A bad name: 422, the message next to the field, in the manager's language, the values kept.
    r = c.post(f"/admin/areas/{area.id}/cameras", data={"csrf_token": token, "username": "x",
                                                         "camera_serial": "CAM-4G-1", "label": "<b>ridge</b>"})
    assert r.status_code == 422
    t = r.get_data(as_text=True)
    assert 'id="err-username"' in t and "3 đến 64 chữ cái" in t and "&lt;b&gt;ridge&lt;/b&gt;" in t
    r = c.post(f"/admin/areas/{area.id}/cameras", data={"csrf_token": token, "username": "cam01",
                                                         "camera_serial": "CAM-4G-1", "label": "<b>ridge</b>"})
    assert r.status_code == 201
    t = r.get_data(as_text=True)
    password = SHOWN.search(t).group(1)
    assert "<b>ridge</b>" not in t and html.escape("<b>ridge</b>") in t  # user text only as text
    assert c.get(f"/admin/areas/{area.id}/cameras").get_data(as_text=True).count(password) == 0  # shown once

    server = RunningFTP(app)
    try:
        ftp = ftplib.FTP()
        ftp.connect("127.0.0.1", server.port, timeout=30)
        ftp.login("cam01", password)
        ftp.storbinary("STOR IMG_0001.JPG", io.BytesIO(photo()))
        with_ftp_error = None
        try:
            ftp.storbinary("STOR log.csv", io.BytesIO(b"a,b"))
        except ftplib.error_perm as e:
            with_ftp_error = str(e)
        ftp.quit()
        server.settle()
    finally:
        server.stop()
    assert with_ftp_error and with_ftp_error.startswith("553")
    t = c.get(f"/admin/areas/{area.id}/cameras").get_data(as_text=True)
    assert "IMG_0001.JPG" in t and "log.csv" in t and "bị từ chối" in t and "đã nhập" in t

    with world.session() as s:
        login = s.exec(select(CameraLogin)).one()
    r = c.post(f"/admin/areas/{area.id}/cameras/{login.id}/active", data={"csrf_token": token, "active": "0"})
    assert r.status_code == 302
    with world.session() as s:
        assert s.get(CameraLogin, login.id).active is False
    r = c.post(f"/admin/areas/{area.id}/cameras/{login.id}/password", data={"csrf_token": token})
    assert r.status_code == 200 and SHOWN.search(r.get_data(as_text=True)).group(1) != password
    # Without the CSRF token nothing changes.
    assert c.post(f"/admin/areas/{area.id}/cameras/{login.id}/active", data={"active": "1"}).status_code in (400, 403)

    viewer = app.test_client()
    sign_in(viewer, "viewer")
    assert viewer.get(f"/admin/areas/{area.id}/cameras").status_code == 403
