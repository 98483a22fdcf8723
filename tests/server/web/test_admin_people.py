"""Administration pages about people (issue 13, item 1), SQLite and PostgreSQL: accounts created with
a temporary password or a one-time link, roles per area (managers: below manager, in their areas),
password resets and deactivation ending sessions and tokens, device tokens listed and revoked."""
from __future__ import annotations

import html
import re

import pytest
from sqlmodel import select

from signin import sign_in
from test_admin_areas import errors, flashes

STRONG = "Rừng-xanh-Kẻ-Bàng-2026"
LINK = re.compile(r'id="link-url" value="([^"]+)"')


def _user(world, username):
    from server.models import User

    with world.session() as s:
        return s.exec(select(User).where(User.username == username)).first()


def _role(world, username, area_id):
    from server.models import Membership

    u = _user(world, username)
    with world.session() as s:
        m = s.exec(select(Membership).where(Membership.user_id == u.id, Membership.area_id == area_id)).first()
        return m.role if m else None


def _actions(world, entity_id):
    from server.models import AuditLog

    with world.session() as s:
        return [e.action for e in s.exec(select(AuditLog).where(AuditLog.entity_id == entity_id).order_by(AuditLog.id))]


def _link(page_text: str) -> str:
    url = html.unescape(LINK.search(page_text).group(1))
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


@pytest.fixture
def area(world):
    return world.area("PNKB", "Phong Nha-Ke Bang")


@pytest.fixture
def admin(world, signed_in):
    world.user("root", admin=True)
    return signed_in("root")


def test_invited_person_chooses_their_password_once(app, admin, world, area):
    r = admin.form("/admin/users/new", {"username": "lan", "full_name": "Nguyễn Thị Lan", "language": "vi",
                                        "area_id": area.id, "role": "manager", "password_mode": "invite"})
    assert r.status_code == 302, errors(r)
    lan = _user(world, "lan")
    assert lan.full_name == "Nguyễn Thị Lan" and _role(world, "lan", area.id) == "manager"
    page = admin.get(r.headers["Location"]).get_data(as_text=True)
    link = _link(page)
    assert "/welcome/" in link and "It is not shown again" in page
    assert LINK.search(admin.get(r.headers["Location"]).get_data(as_text=True)) is None  # shown once
    # Nobody can sign in to the invited account before the link is used.
    assert sign_in(app.test_client(), "lan", "").status_code != 302
    person = app.test_client()
    form = person.get(link).get_data(as_text=True)
    assert 'id="welcome-user">lan<' in form
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    r = person.post(link, data={"csrf_token": token, "password": "matkhau123", "password2": "matkhau123"})
    assert r.status_code == 422 and errors(r)["password"]  # the password policy's own message
    r = person.post(link, data={"csrf_token": token, "password": STRONG, "password2": STRONG + "x"})
    assert r.status_code == 422 and "password2" in errors(r)
    r = person.post(link, data={"password": STRONG, "password2": STRONG})  # no form token: refused
    assert r.status_code == 422
    r = person.post(link, data={"csrf_token": token, "password": STRONG, "password2": STRONG})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert 'class="note" role="status"' in person.get("/login").get_data(as_text=True)
    assert person.get(link).status_code == 404  # used: gone
    assert sign_in(app.test_client(), "lan", STRONG).status_code == 302
    assert _actions(world, lan.id) == ["create", "invite", "password_set"]


def test_account_with_a_temporary_password_follows_the_policy(app, admin, world, area):
    r = admin.form("/admin/users/new", {"username": "minh", "language": "en", "password_mode": "password",
                                        "password": "password1234"})
    assert r.status_code == 422 and "most common passwords" in errors(r)["password"]
    r = admin.form("/admin/users/new", {"username": "m i n h", "password_mode": "password", "password": ""})
    e = errors(r)
    assert e["username"].startswith("Not accepted") or e["username"].startswith("Use only")
    assert e["password"] == "This field is required."
    r = admin.form("/admin/users/new", {"username": "minh", "password_mode": "password", "password": STRONG,
                                        "area_id": area.id, "role": "biologist"})
    assert r.status_code == 302
    assert sign_in(app.test_client(), "minh", STRONG).status_code == 302
    r = admin.form("/admin/users/new", {"username": "minh", "password_mode": "password", "password": STRONG})
    assert errors(r) == {"username": "The username minh is already taken."}
    listing = admin.get("/admin/users?q=MIN").get_data(as_text=True)
    assert 'data-user="minh"' in listing and "PNKB · biologist" in listing and 'data-user="root"' not in listing


def test_manager_manages_roles_below_manager_in_their_area(app, world, signed_in, area):
    other = world.area("CT", "Cat Tien")
    world.user("mgr", roles={area.id: "manager"})
    world.user("boss", roles={area.id: "manager"})
    world.user("ranger1", roles={area.id: "ranger"})
    world.user("both", roles={area.id: "ranger", other.id: "viewer"})
    world.user("loner")
    mgr = signed_in("mgr")
    page = mgr.get(f"/admin/areas/{area.id}/members").get_data(as_text=True)
    assert 'data-user="boss"' in page and 'data-user="ranger1"' in page
    assert '<option value="manager"' not in page  # a manager cannot hand out the manager role
    # A new biologist account made by the manager, with an invitation link.
    r = mgr.form(f"/admin/areas/{area.id}/members/new", {"username": "bio2", "full_name": "Trần Văn B",
                                                         "language": "vi", "role": "biologist",
                                                         "password_mode": "invite"})
    assert r.status_code == 302, errors(r)
    assert _role(world, "bio2", area.id) == "biologist"
    assert "/welcome/" in _link(mgr.get(r.headers["Location"]).get_data(as_text=True))
    r = mgr.form(f"/admin/areas/{area.id}/members/new", {"username": "mgr2", "role": "manager",
                                                         "password_mode": "invite"})
    assert r.status_code == 422 and errors(r)["role"] == "Choose one of the listed values."
    assert _user(world, "mgr2") is None
    # An existing account by its username; an unknown one gets a message next to the field.
    r = mgr.form(f"/admin/areas/{area.id}/members", {"add_username": "loner", "role": "viewer"})
    assert r.status_code == 302 and _role(world, "loner", area.id) == "viewer"
    r = mgr.form(f"/admin/areas/{area.id}/members", {"add_username": "nobody", "role": "viewer"})
    assert errors(r) == {"add_username": "No account is called nobody."}
    # Change and remove roles below manager; a fellow manager is out of reach.
    ranger = _user(world, "ranger1")
    assert mgr.form(f"/admin/areas/{area.id}/members/{ranger.id}", {"role": "biologist"}).status_code == 302
    assert _role(world, "ranger1", area.id) == "biologist"
    boss = _user(world, "boss")
    assert mgr.form(f"/admin/areas/{area.id}/members/{boss.id}", {"role": "viewer"}).status_code == 403
    assert mgr.form(f"/admin/areas/{area.id}/members/{boss.id}/remove", {}).status_code == 403
    assert mgr.form(f"/admin/areas/{area.id}/members/{ranger.id}", {"role": "manager"}).status_code == 403
    assert _role(world, "boss", area.id) == "manager" and _role(world, "ranger1", area.id) == "biologist"
    assert mgr.form(f"/admin/areas/{area.id}/members/{ranger.id}/remove", {}).status_code == 302
    assert _role(world, "ranger1", area.id) is None
    # Another area: as if it did not exist.
    assert mgr.get(f"/admin/areas/{other.id}/members").status_code == 404
    both = _user(world, "both")
    assert mgr.form(f"/admin/areas/{other.id}/members/{both.id}/remove", {}).status_code == 404
    assert _role(world, "both", other.id) == "viewer"
    from server.models import AuditLog

    with world.session() as s:
        acts = [(e.action, e.entity) for e in s.exec(select(AuditLog).where(AuditLog.area_id == area.id))]
    assert ("create", "membership") in acts and ("update", "membership") in acts and ("delete", "membership") in acts


def test_manager_resets_and_deactivates_only_accounts_wholly_in_their_areas(app, world, signed_in, area):
    other = world.area("CT", "Cat Tien")
    world.user("mgr", roles={area.id: "manager"})
    r1 = world.user("ranger1", roles={area.id: "ranger"})
    both = world.user("both", roles={area.id: "ranger", other.id: "viewer"})
    root = world.user("root", admin=True)
    mgr = signed_in("mgr")
    assert mgr.get(f"/admin/users/{r1.id}").status_code == 200
    for u in (both, root):
        assert mgr.get(f"/admin/users/{u.id}").status_code == 403
        assert mgr.form(f"/admin/users/{u.id}/password", {"password": STRONG}).status_code == 403
        assert mgr.form(f"/admin/users/{u.id}/active", {"active": "0"}).status_code == 403
    assert mgr.get("/admin/users").status_code == 403  # the list of every account is the administrators'
    # The ranger is signed in on a browser and a tablet; a reset ends both.
    ranger_browser = app.test_client()
    assert sign_in(ranger_browser, "ranger1").status_code == 302
    tablet = world.headers(r1)
    assert app.test_client().get("/api/v1/users/me", headers=tablet).status_code == 200
    r = mgr.form(f"/admin/users/{r1.id}/password", {"password": "short"})
    assert r.status_code == 422 and "at least 10" in errors(r)["password"]
    r = mgr.form(f"/admin/users/{r1.id}/password", {"password": STRONG})
    assert r.status_code == 302
    assert ranger_browser.get("/review").status_code == 302  # sent to the sign-in page
    assert app.test_client().get("/api/v1/users/me", headers=tablet).status_code == 401
    assert sign_in(app.test_client(), "ranger1", STRONG).status_code == 302
    assert "password_reset" in _actions(world, r1.id)
    # A reset link; a second one replaces nothing but the first dies once the password changes.
    r = mgr.form(f"/admin/users/{r1.id}/link", {})
    link = _link(mgr.get(r.headers["Location"]).get_data(as_text=True))
    assert app.test_client().get(link).status_code == 200
    assert mgr.form(f"/admin/users/{r1.id}/password", {"password": STRONG + "!"}).status_code == 302
    assert app.test_client().get(link).status_code == 404
    # Deactivate: signing in stops; reactivate: it works again.
    assert mgr.form(f"/admin/users/{r1.id}/active", {"active": "0"}).status_code == 302
    assert not _user(world, "ranger1").active
    assert sign_in(app.test_client(), "ranger1", STRONG + "!").status_code != 302
    assert mgr.form(f"/admin/users/{r1.id}/link", {}).status_code == 422  # no link for a deactivated account
    assert mgr.form(f"/admin/users/{r1.id}/active", {"active": "1"}).status_code == 302
    assert sign_in(app.test_client(), "ranger1", STRONG + "!").status_code == 302
    me = _user(world, "mgr")
    assert mgr.get(f"/admin/users/{me.id}").status_code == 403  # not through the admin pages


def test_admin_edits_an_account_and_its_administrator_flag(admin, world, area):
    u = world.user("hoa", roles={area.id: "viewer"})
    r = admin.form(f"/admin/users/{u.id}", {"full_name": "Lê Thị Hoa", "email": "hoa@example.org", "language": "en",
                                            "is_admin": "1"})
    assert r.status_code == 302
    hoa = _user(world, "hoa")
    assert (hoa.full_name, hoa.email, hoa.language, hoa.is_admin) == ("Lê Thị Hoa", "hoa@example.org", "en", True)
    r = admin.form(f"/admin/users/{u.id}", {"full_name": "x" * 201, "language": "en"})
    assert r.status_code == 422 and errors(r)["full_name"] == "Enter at most 200 characters."
    root = _user(world, "root")
    assert admin.form(f"/admin/users/{root.id}/active", {"active": "0"}).status_code == 403
    assert _user(world, "root").active


def test_device_tokens_listed_and_revoked_by_their_managers(app, world, signed_in, area):
    other = world.area("CT", "Cat Tien")
    world.user("mgr", roles={area.id: "manager"})
    world.user("bio", roles={area.id: "biologist"})
    world.user("ranger1", roles={area.id: "ranger"})
    stranger = world.user("ranger2", roles={other.id: "ranger"})
    world.user("root", admin=True)
    client = app.test_client()
    r = client.post("/api/v1/auth/device", json={"username": "ranger1", "password": "password123",
                                                 "device_id": "tab-07", "device_name": "Tablet 7"})
    raw = r.json["token"]
    mine = r.json["token_id"]
    theirs = client.post("/api/v1/auth/device", json={"username": "ranger2", "password": "password123",
                                                      "device_id": "tab-99"}).json["token_id"]
    mgr = signed_in("mgr")
    page = mgr.get("/admin/tokens").get_data(as_text=True)
    assert f'data-token="{mine}"' in page and "Tablet 7" in page and "tab-07" in page
    assert f'data-token="{theirs}"' not in page
    assert mgr.form(f"/admin/tokens/{theirs}/revoke", {}).status_code == 404
    assert signed_in("bio").form(f"/admin/tokens/{mine}/revoke", {}).status_code == 403
    assert signed_in("bio").get("/admin/tokens").status_code == 403
    r = mgr.form(f"/admin/tokens/{mine}/revoke", {"next": "/admin/tokens"})
    assert r.status_code == 302
    assert any("revoked" in n for n in flashes(mgr, "/admin/tokens?show=all"))
    assert client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    assert 'data-token="%s"' % mine not in mgr.get("/admin/tokens").get_data(as_text=True)
    assert 'badge revoked' in mgr.get("/admin/tokens?show=all").get_data(as_text=True)
    root = signed_in("root")
    page = root.get("/admin/tokens").get_data(as_text=True)
    assert f'data-token="{theirs}"' in page
    assert f'data-token="{theirs}"' in root.get(f"/admin/users/{stranger.id}").get_data(as_text=True)
    assert "update" in _actions(world, mine)


def test_api_managers_grant_only_roles_below_manager(client, world, area):
    mgr = world.user("mgr", roles={area.id: "manager"})
    boss = world.user("boss", roles={area.id: "manager"})
    lan = world.user("lan")
    h = world.headers(mgr)
    r = client.post(f"/api/v1/areas/{area.id}/members", headers=h, json={"user_id": lan.id, "role": "manager"})
    assert r.status_code == 403
    r = client.post(f"/api/v1/areas/{area.id}/members", headers=h, json={"user_id": boss.id, "role": "viewer"})
    assert r.status_code == 403
    assert client.delete(f"/api/v1/areas/{area.id}/members/{boss.id}", headers=h).status_code == 403
    r = client.post(f"/api/v1/areas/{area.id}/members", headers=h, json={"user_id": lan.id, "role": "biologist"})
    assert r.status_code == 201
    root = world.user("root", admin=True)
    r = client.post(f"/api/v1/areas/{area.id}/members", headers=world.headers(root),
                    json={"user_id": lan.id, "role": "manager"})
    assert r.status_code == 201 and r.json["role"] == "manager"
