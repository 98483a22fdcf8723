"""Stored XSS (issue 17, finding 1) in headless Chromium against a real `saola serve`.

A ranger names a location through the API with markup in it (the probe's attack:
the manager hovering the marker ran the ranger's script); every other field of user
text that reaches a page gets the same kind of payload. A manager then visits every
page (hovering each map feature, searching species on the review page) and the test
asserts, on each page: no element of a payload exists in the DOM (so the markup was
never parsed as HTML, whatever the Content-Security-Policy would have blocked), no
payload ran, the payload text shows literally, and the browser reported no
Content-Security-Policy violation, console error or page error.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from test_web_e2e import browser, e2e_db, server  # noqa: F401  (the real server and Chromium)
from webdata import T0, MiniWorld, add_recording

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Short enough for 64-character columns; `__xss=1` marks a payload that ran.
P = "<img class=xss-probe src=x onerror=__xss=1>"
# For text that also travels in a JSON data block (<script type="application/json">).
P_SCRIPT = "</script>" + P

WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber));
"""


def _store_payloads(base, app, rd) -> dict:
    """Payloads in every user-text field that reaches a page; returns ids the pages need."""
    from server.db import session_scope
    from server.models import (Alert, Deployment, Detection, FieldObservation, Location, Media, OperatingInterval,
                               Program, ProtectedArea, SurveyWalk, SyncConflict, Taxon, Transect, User)

    # The probe's attack, through the API as a ranger: a new location named with markup.
    tok = requests.post(base + "/api/v1/auth/token", json={"username": "ranger", "password": "password123"},
                        timeout=10).json()["token"]
    ranger = {"Authorization": f"Bearer {tok}"}
    r = requests.post(base + "/api/v1/deployments", headers=ranger, timeout=10, json={
        "program_id": rd.program.id, "deployment_start": (T0 - timedelta(days=5)).isoformat(),
        "camera_id": "C" + P, "location": {"name": "R1" + P_SCRIPT, "latitude": 17.56, "longitude": 106.36}})
    assert r.status_code == 201, r.text
    # A biologist's label with free text, through the review API.
    tok = requests.post(base + "/api/v1/auth/token", json={"username": "bio", "password": "password123"},
                        timeout=10).json()["token"]
    r = requests.post(base + f"/api/v1/review/sequences/{rd.sequences[0].id}/label", timeout=10,
                      headers={"Authorization": f"Bearer {tok}"},
                      json={"observation_type": "animal", "taxon_id": rd.taxa["saola"].id, "count": 2,
                            "behavior": "B" + P, "comments": "M" + P, "media_id": rd.media[rd.sequences[0].id][0].id})
    assert r.status_code in (200, 201), r.text
    m, d = add_recording(app, MiniWorld(app), rd)
    url = app.config["DATABASE_URL"]
    with session_scope(url) as s:
        s.get(ProtectedArea, rd.area.id).name = "A" + P
        s.get(Program, rd.program.id).name = "P" + P
        s.get(Location, s.get(Deployment, rd.deployment.id).location_id).name = "S01" + P
        s.get(Deployment, rd.deployment.id).camera_id = "K" + P
        for key in ("saola", "pheasant"):
            t = s.get(Taxon, rd.taxa[key].id)
            t.english_name, t.vietnamese_name = "E" + P, "V" + P
        s.get(Detection, d.id).label = "D" + P
        s.get(Media, m.id).file_name = "F" + P
        s.get(User, rd.users["manager"].id).full_name = "U" + P
        s.add(Transect(area_id=rd.area.id, name="T" + P_SCRIPT,
                       geometry={"type": "LineString", "coordinates": [[106.295, 17.495], [106.32, 17.51]]}))
        s.add(OperatingInterval(deployment_id=rd.deployment.id, start=T0 - timedelta(days=9),
                                end=T0 - timedelta(days=8), status="malfunction", reason="O" + P))
        s.add(Alert(area_id=rd.area.id, deployment_id=rd.deployment.id, kind="engine", confidence=0.8,
                    occurred_at=T0, acknowledged_by="K" + P, acknowledged_at=T0))
        walk = SurveyWalk(program_id=rd.program.id, started_at=T0, observers=["W" + P], weather="w" + P,
                          data={"data": {"transect_id": "t" + P}},
                          track=[[106.3, 17.5, "t", 5], [106.305, 17.51, "t", 5]])
        s.add(walk)
        s.flush()
        s.add(FieldObservation(program_id=rd.program.id, walk_id=walk.id, protocol="line_transect@1.0",
                               record_type="threat", observed_at=T0, note="N" + P,
                               data={"data": {"threat_type": "H" + P}}))
        c = SyncConflict(area_id=rd.area.id, entity="field_observation", record_id="rec-1", base_revision=1,
                         server_revision=2, server_version={"note": "s" + P}, client_version={"note": "c" + P},
                         fields=["note"], client_user="u" + P, client_device="d" + P, server_user="v" + P)
        s.add(c)
        s.flush()
        return {"media": m.id, "conflict": c.id}


def _check(page, what: str, console: list, errors: list, literal: bool = True) -> None:
    state = page.evaluate("""() => ({probes: document.querySelectorAll('.xss-probe').length,
                                     ran: window.__xss !== undefined, csp: window.__csp || [],
                                     text: document.body.innerText + document.title})""")
    assert state["probes"] == 0, f"{what}: a payload was parsed as HTML"
    assert not state["ran"], f"{what}: a payload ran"
    assert state["csp"] == [], f"{what}: Content-Security-Policy violations {state['csp']}"
    bad = [m for m in console if "Content Security Policy" in m or "Refused to" in m]
    assert bad == [] and errors == [], f"{what}: console {bad} page errors {errors}"
    if literal:
        assert "<img class=xss-probe" in state["text"], f"{what}: the payload text is not shown literally"


def test_stored_xss_payloads_stay_text_on_every_page(server, browser, e2e_db):  # noqa: F811
    base, app, rd = server
    ids = _store_payloads(base, app, rd)
    ctx = browser.new_context(viewport={"width": 1300, "height": 900})
    ctx.add_init_script(WATCH)
    page = ctx.new_page()
    console: list[str] = []
    errors: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(base + "/login")
    _check(page, "sign-in page", console, errors, literal=False)
    page.fill("#username", "manager")
    page.fill("#password", "password123")
    page.press("#password", "Enter")
    page.wait_for_url(base + "/")
    _check(page, "home", console, errors)

    area = rd.area.id
    for url, ready in [
        (f"/areas/{area}/overview", "#deployments"),
        (f"/areas/{area}/calendar", "#timeline"),
        (f"/areas/{area}/field", "#observations"),
        ("/alerts?all=1", "#alerts"),
        ("/conflicts?status=all", "#conflicts"),
        (f"/conflicts/{ids['conflict']}", "#versions"),
        ("/sound", "#recordings"),
        (f"/review/repeated?deployment_id={rd.deployment.id}", "#rep-deployment"),
    ]:
        page.goto(base + url)
        page.wait_for_selector(ready)
        _check(page, url, console, errors)

    # The sound page: detection boxes placed by script, labels, the species picker.
    page.goto(base + f"/sound/{ids['media']}")
    page.wait_for_function("() => document.querySelector('.spectro .box').style.left !== ''")
    _check(page, "sound page", console, errors)
    page.fill("#label-species", "Lophura")
    page.wait_for_selector("#add-label .choices li")
    assert "<img class=xss-probe" in page.locator("#add-label .choices li").first.inner_text()
    _check(page, "sound page species picker", console, errors)

    # The review page draws the queue item, its labels, boxes and shortcuts from the API by script.
    page.goto(base + f"/review?deployment_id={rd.deployment.id}&review_status=any")
    page.wait_for_function("() => document.getElementById('stage').dataset.sequenceId")
    page.wait_for_selector("#shortcuts li")
    page.wait_for_selector("#label-list li")
    for sel in ("#seq-title", "#label-list", "#shortcuts", "#boxes .tag"):
        assert "<img class=xss-probe" in page.locator(sel).first.inner_text(), sel
    page.fill("#species", "Pseudoryx")
    page.wait_for_selector("#species-picker .choices li")
    assert "<img class=xss-probe" in page.locator("#species-picker .choices li").first.inner_text()
    _check(page, "review page", console, errors)

    # The map: hover every feature (the probe's attack ran on hovering the ranger's location).
    page.goto(base + f"/areas/{area}/map")
    page.wait_for_function("() => document.getElementById('map').dataset.ready")
    from server.web.manager_pages import leaflet_installed

    if leaflet_installed():
        seen = []
        features = page.locator("path.leaflet-interactive")
        for i in range(features.count()):
            features.nth(i).hover(force=True)
            seen += page.evaluate("() => Array.from(document.querySelectorAll('.leaflet-tooltip'), (t) => t.textContent)")
            page.mouse.move(1, 1)
        _check(page, "map", console, errors, literal=False)
        assert any(t.startswith("R1</script><img class=xss-probe") for t in seen), seen
        assert any(t.startswith("T</script><img class=xss-probe") for t in seen), seen  # the transect
    else:  # the SVG fallback names points in <title> elements
        titles = page.evaluate("() => Array.from(document.querySelectorAll('#map title'), (t) => t.textContent)")
        assert any(t.startswith("R1</script><img class=xss-probe") for t in titles), titles
    _check(page, "map", console, errors, literal=False)
    ctx.close()
