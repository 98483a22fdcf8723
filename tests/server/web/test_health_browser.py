"""The camera health section in headless Chromium against a real ``saola serve`` (SQLite and
PostgreSQL): a manager sees the finding and records it as a malfunction with its button; no
script error, no CSP violation. Screenshot at 1366x768 in test-artifacts/."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from sqlmodel import select

from test_web_e2e import ARTIFACTS, browser, e2e_db, server  # noqa: F401 - fixtures


def test_manager_records_a_health_finding_in_the_browser(server, browser, e2e_db):  # noqa: F811
    from server.db import session_scope
    from server.models import Media, OperatingInterval
    from server.services.deployments import build_deployment

    base, app, rd = server
    with session_scope(app.config["DATABASE_URL"]) as s:
        from server.models import Program

        dep = build_deployment(s, s.get(Program, rd.program.id),
                               {"deployment_start": datetime(2026, 3, 1, 1, tzinfo=timezone.utc),
                                "deployment_end": datetime(2026, 3, 31, 1, tzinfo=timezone.utc)},
                               location={"name": "S09", "latitude": 17.5, "longitude": 106.3})
        dep_id = dep.id
        for n in range(45):  # three photos a day until 16 March, then nothing until retrieval
            at = datetime(2026, 3, 1, 2, tzinfo=timezone.utc) + timedelta(days=n // 3, hours=8 * (n % 3))
            data = f"b{n}".encode()
            s.add(Media(sha256=hashlib.sha256(data).hexdigest(), deployment_id=dep_id, file_name=f"B{n:03d}.JPG",
                        file_path=f"DCIM/B{n:03d}.JPG", media_type="image/jpeg", size_bytes=1, storage_key=f"b/{n}",
                        captured_at=at))
    backend = "postgresql" if e2e_db.startswith("postgresql") else "sqlite"
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-US")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(base + f"/login?next=/areas/{rd.area.id}/calendar")
    page.fill("#username", "manager")
    page.fill("#password", "password123")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/areas/{rd.area.id}/calendar")
    row = page.locator(f'tr[data-check="stopped_early"][data-deployment="{dep_id}"]')
    assert "Battery dead or card full" in row.inner_text()
    assert "2026-03-16 01:00 – 2026-03-31 08:00" in row.inner_text()
    row.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"health_{backend}_1_findings.png"))
    row.get_by_role("button", name="Record as malfunction").click()
    page.wait_for_url("**/calendar#health")
    assert "Recorded as malfunction (1 interval(s))" in page.locator("#health").inner_text()
    assert "recorded as malfunction" in page.locator(
        f'tr[data-check="stopped_early"][data-deployment="{dep_id}"]').inner_text()
    page.locator("#health").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"health_{backend}_2_recorded.png"))
    with session_scope(app.config["DATABASE_URL"]) as s:
        iv = s.exec(select(OperatingInterval).where(OperatingInterval.deployment_id == dep_id)).one()
        assert iv.status == "malfunction"
    assert not errors, errors
    ctx.close()
