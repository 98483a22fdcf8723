"""The camera health section of the deployment calendar (issue 15, item 6): findings listed with
their lost effort, recorded as a malfunction with one button (CSRF, managers only), station names
shown as text. SQLite and PostgreSQL."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from sqlmodel import select

from server.models import Media, OperatingInterval


def _stopped(world, rd):
    """Station "S09 <b>x</b>": 1-31 March (UTC+7), photos only until 15 March."""
    dep = world.deployment(rd.program, "S09 <b>x</b>", deployment_start=datetime(2026, 3, 1, 1, tzinfo=timezone.utc),
                           deployment_end=datetime(2026, 3, 31, 1, tzinfo=timezone.utc))
    with world.session() as s:
        for n in range(45):
            at = datetime(2026, 3, 1, 2, tzinfo=timezone.utc) + timedelta(days=n // 3, hours=8 * (n % 3))
            data = f"h{n}".encode()
            s.add(Media(sha256=hashlib.sha256(data).hexdigest(), deployment_id=dep.id, file_name=f"H{n:03d}.JPG",
                        file_path=f"DCIM/H{n:03d}.JPG", media_type="image/jpeg", size_bytes=1, storage_key=f"h/{n}",
                        captured_at=at))
    return dep


def test_calendar_lists_findings_and_records_one_in_one_step(rd, world, signed_in):
    dep = _stopped(world, rd)
    m = signed_in("manager")
    page = m.get(f"/areas/{rd.area.id}/calendar").get_data(as_text=True)
    assert 'id="health"' in page and "Camera health" in page
    row = page[page.index(f'data-check="stopped_early" data-deployment="{dep.id}"'):]
    row = row[:row.index("</tr>")]
    assert "S09 &lt;b&gt;x&lt;/b&gt;" in row and "Battery dead or card full" in row
    assert "2026-03-16 01:00 – 2026-03-31 08:00" in row and "Record as malfunction" in row
    action = f"/areas/{rd.area.id}/health/{dep.id}/stopped_early@20260316T010000"
    assert action in row
    assert m.client.post(action).status_code == 403  # no CSRF token
    assert signed_in("viewer").form(action, {}).status_code == 403
    assert signed_in("outsider").form(action, {}).status_code == 404
    r = m.form(action, {})
    assert r.status_code == 302 and r.headers["Location"].endswith("#health")
    with world.session() as s:
        iv = s.exec(select(OperatingInterval).where(OperatingInterval.deployment_id == dep.id)).one()
        assert iv.status == "malfunction" and "stopped_early" in iv.reason
    page = m.get(f"/areas/{rd.area.id}/calendar").get_data(as_text=True)
    assert "Recorded as malfunction (1 interval(s))" in page
    row = page[page.index(f'data-check="stopped_early" data-deployment="{dep.id}"'):]
    assert "recorded as malfunction" in row[:row.index("</tr>")]
    again = m.form(action, {})
    assert again.status_code == 302
    assert "already recorded" in m.get(f"/areas/{rd.area.id}/calendar").get_data(as_text=True)
