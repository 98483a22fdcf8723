"""Camera health over the database on SQLite and PostgreSQL: ``saola check``, the API, the one-step
malfunction (effort follows: trap-nights drop), the check after ingest, access rules."""
from __future__ import annotations

import hashlib
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlmodel import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ingest"))
from ingest_helpers import jpeg_bytes, write  # noqa: E402

from server.analytics.registry import Options, run  # noqa: E402


def utc(*a) -> datetime:
    return datetime(*a, tzinfo=timezone.utc)


@pytest.fixture
def stopped(world):
    """S01: set up 1 March, retrieved 31 March (UTC+7), photos (three events a day) only until 15 March."""
    from server.models import Media

    area = world.area()
    program = world.program(area.id, name="Cameras 2026")
    dep = world.deployment(program, "S01", deployment_start=utc(2026, 3, 1, 1), deployment_end=utc(2026, 3, 31, 1),
                           timezone="Asia/Ho_Chi_Minh")
    with world.session() as s:
        n = 0
        for day in range(15):
            for hour in (2, 10, 14):  # 09:00, 17:00, 21:00 local
                at = utc(2026, 3, 1, hour) + timedelta(days=day)
                n += 1
                data = f"{dep.id}-{n}".encode()
                s.add(Media(sha256=hashlib.sha256(data).hexdigest(), kind="image", deployment_id=dep.id,
                            file_name=f"IMG_{n:04d}.JPG", file_path=f"DCIM/IMG_{n:04d}.JPG", media_type="image/jpeg",
                            size_bytes=10, storage_key=f"k/{n}", captured_at=at, captured_at_raw=at.replace(
                                tzinfo=None) + timedelta(hours=7), meta={"camera": {"battery_v": 5.1}}))
    return area, program, dep


def test_saola_check_finds_and_records_the_dead_battery(runner, world, stopped):
    area, program, dep = stopped
    res = runner.invoke(["check", "--program", program.id])
    assert res.exit_code == 0, res.output
    assert "S01" in res.output and "battery_or_card/stopped_early" in res.output
    assert "battery 5.10 V at the last photo" in res.output
    assert "lost effort 2026-03-15 21:00 – 2026-03-31 08:00" in res.output
    with world.session() as s:
        nights = {r["station"]: r["trap_nights"] for r in run(s, "trap-nights", [program.id], Options()).rows}
    assert nights == {"S01": 30.0}
    res = runner.invoke(["check", "--program", program.id, "--record", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["recorded"] == ["S01: stopped_early (1 interval(s))"]
    assert [f["recorded"] for f in out["findings"]] == [True]
    with world.session() as s:
        from server.models import AuditLog, OperatingInterval

        iv = s.exec(select(OperatingInterval).where(OperatingInterval.deployment_id == dep.id)).one()
        assert iv.status == "malfunction" and iv.reason.startswith("health check stopped_early")
        assert s.exec(select(AuditLog).where(AuditLog.entity == "operating_interval")).first() is not None
        nights = {r["station"]: r["trap_nights"] for r in run(s, "trap-nights", [program.id], Options()).rows}
        # effort follows: 1 March 08:00 to 15 March 21:00 local
        assert nights == {"S01": round(14 + 13 / 24, 6)}
        table = run(s, "camera-health", [program.id], Options())
        assert table.rows[0]["recorded"] is True and table.notes["summary"]["battery_or_card"] == 1
    # recording again changes nothing
    res = runner.invoke(["check", "--program", program.id, "--record"])
    assert res.exit_code == 0 and "recorded as malfunction" not in res.output


def test_api_findings_and_one_step_malfunction(client, world, stopped):
    area, program, dep = stopped
    viewer = world.headers(world.user("v1", roles={area.id: "viewer"}))
    ranger = world.headers(world.user("r1", roles={area.id: "ranger"}))
    outsider = world.headers(world.user("o1", roles={world.area("OTHER", "Other").id: "manager"}))
    r = client.get(f"/api/v1/programs/{program.id}/health", headers=viewer)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["summary"]["battery_or_card"] == 1
    f = body["findings"][0]
    assert f["check"] == "stopped_early" and f["intervals"] == [
        {"start": "2026-03-15 21:00:00", "end": "2026-03-31 08:00:00"}]
    assert client.get(f"/api/v1/programs/{program.id}/health", headers=outsider).status_code == 404
    url = f"/api/v1/deployments/{dep.id}/health/{f['key']}/malfunction"
    assert client.post(url, headers=viewer).status_code == 403
    assert client.post(f"/api/v1/deployments/{dep.id}/health/long_gap@x/malfunction", headers=ranger).status_code == 404
    r = client.post(url, headers=ranger)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["intervals"][0]["status"] == "malfunction"
    again = client.post(url, headers=ranger)
    assert again.status_code == 422 and "already recorded" in again.get_json()["error"]["message"]
    d = client.get(f"/api/v1/deployments/{dep.id}/health", headers=viewer).get_json()
    assert d["findings"][0]["recorded"] is True


def test_ingest_runs_the_checks_of_the_deployments_it_touched(runner, world, tmp_path):
    area = world.area()
    program = world.program(area.id, name="Cameras")
    dep = world.deployment(program, "S07", deployment_start=utc(2026, 3, 1, 1), deployment_end=utc(2026, 3, 21, 1),
                           timezone="Asia/Ho_Chi_Minh")
    card = tmp_path / "card"
    n = 0
    for day in range(2, 9):
        for hour in (6, 12, 18):
            n += 1
            write(card / f"DCIM/IMG_{n:04d}.JPG", jpeg_bytes(f"2026:03:{day:02d} {hour:02d}:00:00", color=(n, 3, 3)))
    res = runner.invoke(["ingest", str(card), "--deployment", dep.id, "--workers", "0"])
    assert res.exit_code == 0, res.output
    assert "health S07 battery_or_card/stopped_early" in res.output
    assert "health S07 infrared/" not in res.output


def test_annual_report_carries_the_camera_health_summary(world, stopped):
    from server.reports import build_report, render_html

    area, program, dep = stopped
    with world.session() as s:
        data = build_report(s, 2026, program_id=program.id)
        assert [(f["station"], f["check"], f["lost_days"], f["recorded"]) for f in data.health] == [
            ("S01", "stopped_early", 15.5, False)]
        html_en, html_vi = render_html(data, "en"), render_html(data, "vi")
        assert data.health_lost_days == 15.5
        assert build_report(s, 2025, program_id=program.id).health == []  # the deployment ran in 2026
    assert "Camera health" in html_en and "Battery dead or card full" in html_en and "15.5" in html_en
    assert "Hết pin hoặc đầy thẻ nhớ" in html_vi and "Tình trạng máy ảnh bẫy" in html_vi
