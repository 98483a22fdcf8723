"""HTTP hardening (issue 17, findings 10 and 11): security headers, HTTPS cookies and
trusted proxies, server-side session revocation, sign-in CSRF, the password policy,
the current password for one's own change and the cap on token lifetimes."""
from __future__ import annotations

import pytest

from server.models import DeviceToken
from signin import FORM_TOKEN, form_token, sign_in

CSP_DIRECTIVES = {"default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
                  "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'"}


def _csp(r) -> set[str]:
    return {d.strip() for d in r.headers.get("Content-Security-Policy", "").split(";")}


def _assert_hardened(r, what):
    assert CSP_DIRECTIVES <= _csp(r), (what, r.headers.get("Content-Security-Policy"))
    assert not any("unsafe" in d for d in _csp(r)), what
    assert r.headers["X-Content-Type-Options"] == "nosniff", what
    assert r.headers["X-Frame-Options"] == "DENY", what
    assert r.headers["Referrer-Policy"] == "same-origin", what
    assert r.headers["Cross-Origin-Opener-Policy"] == "same-origin", what
    assert "Server" not in r.headers, what


def test_security_headers_on_every_kind_of_response(client, world):
    world.user("lan")
    for url, status in [("/login", 200), ("/", 302), ("/static/saola.css", 200), ("/api/v1/health", 200),
                        ("/api/v1/areas", 401), ("/api/v1/nothing-here", 404), ("/areas/x/overview", 302)]:
        r = client.get(url)
        r.close()  # static files are streamed from an open file
        assert r.status_code == status, url
        _assert_hardened(r, url)
        assert "Strict-Transport-Security" not in r.headers  # plain http: no HSTS
    assert sign_in(client, "lan").status_code == 302
    for url in ["/", "/review", "/sound", "/alerts", "/conflicts", "/areas/nope/overview"]:
        _assert_hardened(client.get(url), url)
    cookie = client.get_cookie("session")
    assert cookie is not None and not cookie.secure and cookie.http_only and cookie.same_site == "Lax"


def _app(app_config, **extra):
    from server import create_app

    return create_app({**app_config, **extra})


def test_https_setting_makes_cookies_secure_and_sends_hsts(app_config):
    c = _app(app_config, HTTPS=True).test_client()
    r = c.get("/login")
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Secure" in r.headers["Set-Cookie"] and c.get_cookie("session").secure


def test_https_from_a_trusted_proxy_only(app_config):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    # Nobody trusted: anyone can send the header, so it changes nothing.
    r = _app(app_config).test_client().get("/login", headers=forwarded)
    assert "Secure" not in r.headers["Set-Cookie"] and "Strict-Transport-Security" not in r.headers
    # One trusted proxy says the client came over https.
    r = _app(app_config, TRUSTED_PROXIES=1).test_client().get("/login", headers=forwarded)
    assert "Secure" in r.headers["Set-Cookie"] and "Strict-Transport-Security" in r.headers


# ---- session revocation ----------------------------------------------------------------------------
def _csrf(client) -> str:
    with client.session_transaction() as sess:
        return sess["csrf"]


def test_a_copied_cookie_stops_working_after_sign_out(app, world):
    world.user("lan", roles={world.area().id: "viewer"})
    c = app.test_client()
    assert sign_in(c, "lan").status_code == 302
    stolen = c.get_cookie("session").value
    assert c.post("/logout", data={"csrf_token": _csrf(c)}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/api/v1/users/me").status_code == 401
    r = thief.get("/review")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    # Signing in again works, with a new session.
    assert sign_in(c, "lan").status_code == 302 and c.get("/api/v1/users/me").status_code == 200


def test_own_password_change_ends_other_sessions_and_tokens(app, world):
    u = world.user("lan", password="Old-river-2024")
    here, elsewhere = app.test_client(), app.test_client()
    assert sign_in(here, "lan", "Old-river-2024").status_code == 302
    assert sign_in(elsewhere, "lan", "Old-river-2024").status_code == 302
    tablet = world.token(u, kind="device")
    r = here.patch(f"/api/v1/users/{u.id}", json={"password": "New-forest-2025", "current_password": "Old-river-2024"},
                   headers={"X-CSRF-Token": _csrf(here)})
    assert r.status_code == 200, r.json
    assert here.get("/api/v1/users/me").status_code == 200  # the browser that changed it stays signed in
    assert elsewhere.get("/api/v1/users/me").status_code == 401
    r = here.get("/api/v1/users/me", headers={"Authorization": f"Bearer {tablet}"})
    assert r.status_code == 401 and "revoked" in r.json["error"]["message"]
    assert sign_in(app.test_client(), "lan", "Old-river-2024").status_code == 401
    assert sign_in(app.test_client(), "lan", "New-forest-2025").status_code == 302


def test_password_change_by_token_keeps_that_token_only(client, world):
    u = world.user("lan", password="Old-river-2024")
    mine, other = world.token(u), world.token(u)
    browser = client.application.test_client()
    assert sign_in(browser, "lan", "Old-river-2024").status_code == 302
    r = client.patch(f"/api/v1/users/{u.id}", json={"password": "New-forest-2025", "current_password": "Old-river-2024"},
                     headers={"Authorization": f"Bearer {mine}"})
    assert r.status_code == 200
    assert client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {mine}"}).status_code == 200
    assert client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {other}"}).status_code == 401
    assert browser.get("/api/v1/users/me").status_code == 401


def test_admin_password_reset_and_deactivation_end_everything(app, world):
    admin = world.headers(world.user("root", admin=True))
    u = world.user("lan")
    c = app.test_client()
    tok = world.token(u)
    assert sign_in(c, "lan").status_code == 302
    r = c.patch(f"/api/v1/users/{u.id}", json={"password": "Reset-by-admin-77"}, headers=admin)
    assert r.status_code == 200  # no current password needed to reset someone else's
    assert c.get("/api/v1/users/me").status_code == 401
    assert c.get("/api/v1/users/me", headers={"Authorization": f"Bearer {tok}"}).status_code == 401
    # Deactivation ends the new sign-ins too, and reactivating does not bring them back.
    assert sign_in(c, "lan", "Reset-by-admin-77").status_code == 302
    tok = world.token(u)
    assert c.patch(f"/api/v1/users/{u.id}", json={"active": False}, headers=admin).status_code == 200
    assert c.patch(f"/api/v1/users/{u.id}", json={"active": True}, headers=admin).status_code == 200
    assert c.get("/api/v1/users/me").status_code == 401
    assert c.get("/api/v1/users/me", headers={"Authorization": f"Bearer {tok}"}).status_code == 401
    with world.session() as s:
        from sqlmodel import select

        assert all(t.revoked_at is not None for t in s.exec(select(DeviceToken).where(DeviceToken.user_id == u.id)))


# ---- sign-in CSRF ------------------------------------------------------------------------------------
def test_sign_in_needs_the_forms_csrf_token(app, world):
    world.user("lan")
    c = app.test_client()
    creds = {"username": "lan", "password": "password123"}
    # A cross-site post: no pre-session cookie, no token.
    r = c.post("/login", data=creds)
    assert r.status_code == 403 and "came from another site" in r.get_data(as_text=True)
    assert FORM_TOKEN.search(r.get_data(as_text=True))  # the page offers a fresh form
    assert c.get("/api/v1/users/me").status_code == 401
    # A token of another browser's pre-session does not fit this one.
    r = c.post("/login", data={**creds, "csrf_token": form_token(app.test_client())})
    assert r.status_code == 403 and c.get("/api/v1/users/me").status_code == 401
    # JSON clients get a JSON error.
    r = app.test_client().post("/login", data=creds, headers={"Accept": "application/json"})
    assert r.status_code == 403 and r.json["error"]["code"] == "csrf"
    # In Vietnamese too.
    vi = app.test_client()
    vi.post("/login", data=creds, headers={"Accept-Language": "vi"})
    r = vi.post("/login", data=creds, headers={"Accept-Language": "vi"})
    assert "Biểu mẫu đăng nhập" in r.get_data(as_text=True)
    # With the token of its own form, signing in works.
    assert c.post("/login", data={**creds, "csrf_token": form_token(c)}).status_code == 302
    assert c.get("/api/v1/users/me").status_code == 200


# ---- password policy, current password, token lifetime ------------------------------------------------
@pytest.mark.parametrize("password,reason", [
    ("short-1", "too_short"),
    ("password123", "common"),
    ("qwertyuiop", "common"),
    ("thanhlan2024", "contains_username"),
    ("aaaaaaaaaaaa", "guessable"),
    ("anhyeuem123", "guessable"),
])
def test_password_policy_refuses_weak_passwords(client, world, password, reason):
    h = world.headers(world.user("root", admin=True))
    r = client.post("/api/v1/users", headers=h, json={"username": "thanhlan", "password": password})
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == "weak_password" and r.json["error"]["details"]["reason"] == reason
    assert client.get("/api/v1/users?q=thanhlan", headers=h).json["total"] == 0  # nothing stored


def test_password_policy_messages_and_acceptance(client, world):
    root = world.user("root", admin=True, language="vi")
    h = world.headers(root)
    r = client.post("/api/v1/users", headers=h, json={"username": "thanhlan", "password": "password123"})
    assert r.status_code == 422 and "mật khẩu phổ biến" in r.json["error"]["message"]  # the admin reads Vietnamese
    r = client.post("/api/v1/users", headers=h, json={"username": "thanhlan", "password": "Tiger-river-lamp"})
    assert r.status_code == 201
    # The same policy for a new password of an existing user.
    r = client.patch(f"/api/v1/users/{r.json['id']}", headers=h, json={"password": "1234567890"})
    assert r.status_code == 422 and r.json["error"]["details"]["reason"] == "common"


def test_cli_applies_the_password_policy(runner):
    res = runner.invoke(["users", "add", "lan", "--password", "password123"])
    assert res.exit_code != 0 and "most common passwords" in res.output


def test_own_password_change_needs_the_current_password(client, world):
    u = world.user("lan", password="Old-river-2024")
    h = world.headers(u)
    r = client.patch(f"/api/v1/users/{u.id}", headers=h, json={"password": "New-forest-2025"})
    assert r.status_code == 422 and r.json["error"]["code"] == "current_password_required"
    r = client.patch(f"/api/v1/users/{u.id}", headers=h,
                     json={"password": "New-forest-2025", "current_password": "not-my-password"})
    assert r.status_code == 403 and r.json["error"]["code"] == "wrong_password"
    r = client.post("/api/v1/auth/token", json={"username": "lan", "password": "Old-river-2024"})
    assert r.status_code == 201  # unchanged so far
    # Other fields need no password.
    assert client.patch(f"/api/v1/users/{u.id}", headers=h, json={"full_name": "Lan"}).status_code == 200
    # An administrator changing their own password needs it too.
    root = world.user("root", admin=True)
    r = client.patch(f"/api/v1/users/{root.id}", headers=world.headers(root), json={"password": "New-forest-2025"})
    assert r.status_code == 422 and r.json["error"]["code"] == "current_password_required"


def test_token_lifetime_is_capped(client, world, app):
    world.user("lan", password="Old-river-2024")
    world.user("root", admin=True, password="Admin-river-2024")
    for who, pw in [("lan", "Old-river-2024"), ("root", "Admin-river-2024")]:
        r = client.post("/api/v1/auth/token", json={"username": who, "password": pw, "days": 3650})
        assert r.status_code == 422 and r.json["error"]["code"] == "token_lifetime", r.json
        assert "365" in r.json["error"]["message"]
        r = client.post("/api/v1/auth/token", json={"username": who, "password": pw, "days": 365})
        assert r.status_code == 201
    app.config["TOKEN_MAX_DAYS"] = 30
    r = client.post("/api/v1/auth/token", json={"username": "lan", "password": "Old-river-2024", "days": 31})
    assert r.status_code == 422


def test_cli_token_lifetime_is_capped(runner, world):
    world.user("lan")
    res = runner.invoke(["tokens", "create", "lan", "--days", "3650"])
    assert res.exit_code != 0 and "365" in res.output
    res = runner.invoke(["tokens", "create", "lan", "--days", "0"])  # 0 used to mean "never expires"
    assert res.exit_code != 0


# ---- no inline code in templates, no HTML strings in scripts ---------------------------------------------
def test_templates_carry_no_inline_script_or_style_and_scripts_build_no_html():
    """What the Content-Security-Policy would refuse is not there to begin with, and the
    pages' scripts put user text into the page only as text."""
    import re
    from pathlib import Path

    web = Path(__file__).resolve().parents[2] / "server" / "web"
    for tpl in sorted((web / "templates").glob("*.html")):
        # Jinja expressions are not HTML: a call's keyword (time_tag(..., style='date')) is no attribute.
        html = re.sub(r"\{\{.*?\}\}", "{{}}", tpl.read_text(encoding="utf-8"), flags=re.S)
        for m in re.finditer(r"<script\b([^>]*)>", html):
            attrs = m.group(1)
            assert "src=" in attrs or 'type="application/json"' in attrs, f"{tpl.name}: inline <script{attrs}>"
        assert not re.search(r"\son[a-z]+\s*=", html), f"{tpl.name}: an on* handler attribute"
        assert not re.search(r"\sstyle\s*=", html), f"{tpl.name}: a style attribute"
        assert "javascript:" not in html, tpl.name
    for js in sorted((web / "static").glob("*.js")):
        code = js.read_text(encoding="utf-8")
        assert not re.search(r"\.(innerHTML|outerHTML)\s*\+?=|insertAdjacentHTML|document\.write", code), \
            f"{js.name}: builds HTML from strings"
        for call in re.finditer(r"\.(bindTooltip|bindPopup|setContent)\(([^)]*)\)", code):
            # Only the pages' DOM builders (createElement + textContent; innerHTML is refused file-wide above).
            assert re.match(r"\s*(textElement|popupOf)\(", call.group(2)), \
                f"{js.name}: Leaflet gets a string (parsed as HTML): {call.group(0)}"
