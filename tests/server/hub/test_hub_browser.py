"""The hub's national dashboard and the public portal in headless Chromium (issue 18, item 2): a real
``saola serve`` over a two-area network built in the database (SQLite and PostgreSQL), the dashboard
in English and Vietnamese with its charts loaded, the inventory, and the portal's map as an anonymous
visitor with the saola's station generalised. Screenshots in test-artifacts/."""
from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from saola_server import serving

import hub_network as net
from server.auth.policy import generalise

# The web tests' browser and database fixtures (tests/server/web/test_web_e2e.py), shared, not copied.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from test_web_e2e import ARTIFACTS, REPO, browser, e2e_db  # noqa: E402,F401 - fixtures
from test_web_review_browser import _backend  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def hub_server(e2e_db, tmp_path):  # noqa: F811 - the fixture
    """`saola serve` with the portal on, the network and a national viewer; the base URL."""
    from server import create_app
    from server.auth.passwords import hash_password
    from server.db import session_scope
    from server.models import User
    from server.reports.submissions import record_submission

    data = tmp_path / "data"
    create_app({"DATABASE_URL": e2e_db, "DATA_DIR": str(data), "SECRET_KEY": "e2e-secret", "WORKER": "external",
                "TESTING": True})
    with session_scope(e2e_db) as s:
        areas = net.build(s)
        record_submission(s, areas["PNKB"].id, 2025, "vi", pdf_sha256="c" * 64, source="publish",
                          received_at=datetime(2026, 3, 12, tzinfo=timezone.utc))
        s.add(User(username="nation", password_hash=hash_password("password123"), language="en", is_national=True))
    env = {**os.environ, "SAOLA_DATABASE_URL": e2e_db, "SAOLA_DATA_DIR": str(data), "SAOLA_SECRET_KEY": "e2e-secret",
           "SAOLA_WORKER": "external", "SAOLA_LANGUAGE": "en", "SAOLA_LOG_LEVEL": "WARNING", "SAOLA_PORTAL": "1"}
    try:
        with serving(env, tmp_path / "serve.log", REPO) as base:
            yield base
    finally:
        from server.db import dispose_engine

        dispose_engine(e2e_db)


def _shot(page, name: str, backend: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"hub_{backend}_{name}_1366x768.png"), full_page=True)


def _context(browser):  # noqa: F811 - the fixture's value
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-US")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return ctx, page, errors


def _charts_loaded(page) -> None:
    page.wait_for_function("() => [...document.querySelectorAll('#charts img')].every(i => i.complete && i.naturalWidth > 0)",
                           timeout=60000)


def test_browser_hub_dashboard_and_portal(hub_server, browser, e2e_db):  # noqa: F811
    backend = _backend(e2e_db)
    ctx, page, errors = _context(browser)
    page.goto(hub_server + "/login")
    page.fill("#username", "nation")
    page.fill("#password", "password123")
    page.press("#password", "Enter")
    page.wait_for_url(hub_server + "/")
    page.click("#nav-national")
    page.goto(hub_server + "/national?year=2025&on=2026-04-01")
    _charts_loaded(page)
    assert page.inner_text("#total-trap-nights") == "300"
    assert page.get_attribute("tr[data-area=PNKB] td.report", "data-status") == "on_time"
    assert page.get_attribute("tr[data-area=CT] td.report", "data-status") == "missing"
    assert page.locator("#charts img").count() == 3
    _shot(page, "dashboard_en", backend)
    page.click("#lang-vi")
    page.wait_for_selector("html[lang=vi]")
    _charts_loaded(page)
    assert "Bảng tổng hợp quốc gia" in page.inner_text("h1")
    assert "0,20" in page.inner_text(f"tr[data-species='{net.SAOLA}']")
    _shot(page, "dashboard_vi", backend)
    page.click("#nav-national-inventory")
    page.wait_for_selector("#inventory")
    assert page.locator("#inventory tbody tr").count() == 3
    _shot(page, "inventory_vi", backend)
    page.click("#nav-national-report")
    page.wait_for_selector("#report-links")
    assert page.locator("#report-links a").count() == 4
    assert not errors, errors
    ctx.close()

    # the portal, as a visitor who never signed in
    ctx, page, errors = _context(browser)
    page.goto(hub_server + "/portal")
    page.click("tr[data-area=PNKB] a")
    page.wait_for_selector("#portal-points li")
    leaflet = page.get_attribute("#portal-map", "data-leaflet") == "true"
    if leaflet:
        page.wait_for_selector("#portal-map[data-ready=true]")
    p01 = next(s for s in net.STATIONS["PNKB"] if s[0] == "P01")
    glat, glon, _unc = generalise(p01[1], p01[2])
    shown = [(float(li.get_attribute("data-lat")), float(li.get_attribute("data-lon")), li.get_attribute("class"))
             for li in page.locator("#portal-points li").all()]
    assert (glat, glon, "generalised") in shown
    assert all((lat, lon) != (p01[1], p01[2]) for lat, lon, _c in shown)
    assert page.locator("img").count() == 0 or all("/media" not in (page.locator("img").nth(i).get_attribute("src") or "")
                                                     for i in range(page.locator("img").count()))
    _shot(page, "portal_area_en", backend)
    assert not errors, errors
    ctx.close()
