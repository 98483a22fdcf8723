"""Deployment pages (issue 13, item 2) through the Flask client on SQLite and PostgreSQL: the form
with its messages next to the field (English and Vietnamese), stations and coordinates, operating
intervals on the calendar, the inventory, the clock-correction tool (preview, apply, undo) and who
may reach them. The browser path is tests/server/web/test_deploy_browser.py."""
from __future__ import annotations

import html
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

FIELD_ERROR = re.compile(r'<p class="field-error" id="err-([\w-]+)" role="alert">([^<]*)</p>')
FLASH = re.compile(r'<p class="flash (\w+)" role="status">([^<]*)</p>')


def errors(r) -> dict[str, str]:
    return {k: html.unescape(v) for k, v in FIELD_ERROR.findall(r.get_data(as_text=True))}


@pytest.fixture
def setup(world, signed_in):
    area = world.area()
    program = world.program(area.id, "Camera traps 2026")
    world.user("manager", roles={area.id: "manager"})
    world.user("ranger", roles={area.id: "ranger"})
    other = world.area("BNCN", "Bac Nam Cat Nhat")
    world.user("outsider", roles={other.id: "manager"})
    return area, program, signed_in("manager")


GOOD = {"program_id": None, "kind": "camera", "location_name": "PN-07", "latitude": "17,5123",
        "longitude": "106.2845", "deployment_start": "2026-02-01T09:30", "deployment_end": "2026-04-01T10:00",
        "timezone": "Asia/Ho_Chi_Minh", "camera_id": "H2C-0042", "camera_model": "RECONYX HyperFire 2",
        "camera_height": "0,6", "camera_heading": "180"}


def _deployments(world):
    from server.models import Deployment, Location

    with world.session() as s:
        return [(d, loc) for d, loc in s.exec(select(Deployment, Location).join(Location, Location.id == Deployment.location_id))]


def test_manager_creates_a_deployment_with_a_new_station_and_device(setup, world):
    from server.models import AuditLog, Device

    area, program, mgr = setup
    r = mgr.form(f"/admin/areas/{area.id}/deployments/new", {**GOOD, "program_id": program.id})
    assert r.status_code == 302, errors(r) or r.get_data(as_text=True)[:2000]
    [(dep, loc)] = _deployments(world)
    assert (loc.name, loc.latitude, loc.longitude) == ("PN-07", 17.5123, 106.2845)
    # Local times in the deployment's zone (UTC+7) stored as UTC.
    assert dep.deployment_start.replace(tzinfo=None) == datetime(2026, 2, 1, 2, 30)
    assert (dep.camera_id, dep.camera_height, dep.camera_heading) == ("H2C-0042", 0.6, 180)
    with world.session() as s:
        [dev] = s.exec(select(Device)).all()
        assert (dev.serial, dev.model, dev.status, dev.area_id) == ("H2C-0042", "RECONYX HyperFire 2", "deployed", area.id)
        assert s.exec(select(AuditLog).where(AuditLog.entity == "deployment", AuditLog.action == "create")).first()
    page = mgr.get(r.headers["Location"]).get_data(as_text=True)
    assert "PN-07" in page and 'value="2026-02-01T09:30"' in page and 'id="operating-strip"' in page
    listing = mgr.get(f"/admin/areas/{area.id}/deployments").get_data(as_text=True)
    assert "PN-07" in listing and "H2C-0042" in listing


@pytest.mark.parametrize("change, field, message", [
    ({"latitude": "97.2"}, "latitude", "Enter a value of at most 90."),
    ({"longitude": "-181"}, "longitude", "Enter a value of at least -180."),
    ({"latitude": "17°30'N"}, "latitude", "Enter a number."),
    ({"longitude": ""}, "longitude", "Give both latitude and longitude, or neither."),
    ({"latitude": "0", "longitude": "0"}, "latitude", "0, 0 is not a place in a protected area"),
    ({"location_name": ""}, "location_name", "This field is required."),
    ({"program_id": ""}, "program_id", "Choose the program of this deployment."),
    ({"deployment_start": ""}, "deployment_start", "This field is required."),
    ({"deployment_end": "2026-01-01T00:00"}, "deployment_end", "The collection time must be after the set-up time."),
    ({"timezone": "Mars/Olympus"}, "timezone", "Unknown time zone: use an IANA name such as Asia/Ho_Chi_Minh."),
    ({"camera_heading": "400"}, "camera_heading", "Enter a value of at most 360."),
])
def test_deployment_form_messages_next_to_the_field(setup, world, change, field, message):
    area, program, mgr = setup
    r = mgr.form(f"/admin/areas/{area.id}/deployments/new", {**GOOD, "program_id": program.id, **change})
    assert r.status_code == 422
    errs = errors(r)
    assert field in errs and message in errs[field], errs
    assert _deployments(world) == []  # nothing stored


def test_deployment_form_messages_in_vietnamese(world, signed_in):
    area = world.area()
    program = world.program(area.id)
    world.user("quanly", roles={area.id: "manager"}, language="vi")
    mgr = signed_in("quanly")
    mgr.form("/language/vi", {"next": "/"})
    r = mgr.form(f"/admin/areas/{area.id}/deployments/new", {**GOOD, "program_id": program.id, "latitude": "97",
                                                              "location_name": ""})
    errs = errors(r)
    assert errs["latitude"] == "Nhập giá trị tối đa là 90."
    assert errs["location_name"] == "Trường này là bắt buộc."
    assert "Tên điểm đặt máy" in r.get_data(as_text=True)
    r = mgr.form(f"/admin/areas/{area.id}/deployments/new", {**GOOD, "program_id": program.id,
                                                              "deployment_end": "2026-01-01T00:00"})
    assert errors(r) == {"deployment_end": "Thời gian thu máy phải sau thời gian đặt máy."}


def test_editing_moves_the_station_and_retimes_when_the_zone_changes(setup, world):
    from server.models import Job, Location

    area, program, mgr = setup
    dep = world.deployment(program, "PN-01", camera_id="X1")
    r = mgr.form(f"/admin/deployments/{dep.id}", {**GOOD, "location_name": "PN-01", "latitude": "17.61",
                                                  "longitude": "106.31", "timezone": "Asia/Bangkok",
                                                  "deployment_start": "2026-01-01T08:00", "deployment_end": ""})
    assert r.status_code == 302, errors(r)
    with world.session() as s:
        loc = s.exec(select(Location).where(Location.name == "PN-01")).one()
        assert (loc.latitude, loc.longitude) == (17.61, 106.31)
        jobs = s.exec(select(Job).where(Job.kind == "retime")).all()
        assert any(j.params.get("deployment_id") == dep.id for j in jobs)
    [(d, _loc)] = _deployments(world)
    assert d.timezone == "Asia/Bangkok" and d.deployment_end is None


def test_intervals_are_drawn_and_counted_and_the_calendar_shows_operating(setup, world):
    area, program, mgr = setup
    dep = world.deployment(program, "PN-02", deployment_end=datetime(2026, 1, 31, tzinfo=timezone.utc),
                           timezone="UTC")
    cal = mgr.get(f"/areas/{area.id}/calendar").get_data(as_text=True)
    assert cal.count('class="operating"') == 1 and 'class="malfunction"' not in cal  # issue 13, item 8
    r = mgr.form(f"/admin/deployments/{dep.id}/intervals", {"status": "malfunction", "start": "2026-01-10T00:00",
                                                            "end": "2026-01-15T00:00", "reason": "card full"})
    assert r.status_code == 302
    page = mgr.get(f"/admin/deployments/{dep.id}").get_data(as_text=True)
    assert "card full" in page and "25.0 days operating" in page
    cal = mgr.get(f"/areas/{area.id}/calendar").get_data(as_text=True)
    assert cal.count('class="operating"') == 2 and cal.count('class="malfunction"') == 1
    # Bad intervals: messages next to the field, nothing stored.
    r = mgr.form(f"/admin/deployments/{dep.id}/intervals", {"status": "malfunction", "start": "2026-01-20T00:00",
                                                            "end": "2026-01-19T00:00"})
    assert r.status_code == 422 and errors(r) == {"end": "The end must be after the start."}
    r = mgr.form(f"/admin/deployments/{dep.id}/intervals", {"status": "malfunction", "start": "2025-12-20T00:00",
                                                            "end": "2026-01-02T00:00"})
    assert r.status_code == 422 and errors(r) == {"start": "The interval lies outside the deployment period."}
    from server.models import OperatingInterval

    with world.session() as s:
        [iv] = s.exec(select(OperatingInterval)).all()
    r = mgr.form(f"/admin/deployments/{dep.id}/intervals/{iv.id}/delete", {})
    assert r.status_code == 302
    cal = mgr.get(f"/areas/{area.id}/calendar").get_data(as_text=True)
    assert cal.count('class="operating"') == 1 and 'class="malfunction"' not in cal


def test_inventory_devices_their_history_and_duplicate_serials(setup, world):
    area, program, mgr = setup
    r = mgr.form(f"/admin/areas/{area.id}/devices/new", {"serial": "AM-0001", "kind": "acoustic", "make": "Open Acoustic",
                                                          "model": "AudioMoth 1.2", "status": "in_store"})
    assert r.status_code == 302
    r = mgr.form(f"/admin/areas/{area.id}/devices/new", {"serial": " am-0001 ", "kind": "acoustic", "status": "in_store"})
    assert r.status_code == 422 and errors(r)["serial"] == "The inventory already has a device with this serial number."
    r = mgr.form(f"/admin/areas/{area.id}/devices/new", {"serial": "", "kind": "camera", "status": "gone"})
    assert errors(r) == {"serial": "This field is required.", "status": "Choose one of the listed values."}
    world.deployment(program, "PN-03", camera_id="am-0001", kind="acoustic")
    page = mgr.get(f"/admin/areas/{area.id}/devices").get_data(as_text=True)
    assert "AM-0001" in page and "AudioMoth 1.2" in page and "PN-03" in page  # in the field there now
    from server.models import Device

    with world.session() as s:
        dev = s.exec(select(Device)).one()
    page = mgr.get(f"/admin/devices/{dev.id}").get_data(as_text=True)
    assert 'id="device-history"' in page and "PN-03" in page
    r = mgr.form(f"/admin/devices/{dev.id}", {"serial": "AM-0001", "kind": "acoustic", "status": "repair"})
    assert r.status_code == 302
    with world.session() as s:
        assert s.get(Device, dev.id).status == "repair"


def _photos(world, dep, raws: list[datetime]) -> list[str]:
    """Media of ``dep`` with these camera-clock readings, sequenced as ingest would."""
    from server.ingest.jobs import retime_deployment
    from server.models import Media

    ids = []
    with world.session() as s:
        for i, raw in enumerate(raws):
            m = Media(sha256=f"{i:064x}", kind="image", deployment_id=dep.id, file_name=f"IMG_{i:04d}.JPG",
                      media_type="image/jpeg", size_bytes=10, storage_key=f"x/{i}.jpg", captured_at_raw=raw,
                      timestamp_source="exif")
            s.add(m)
            s.flush()
            ids.append(m.id)
    retime_deployment(world.session, dep.id)
    return ids


def _wait_job(world, job_id: str):
    """Run the queued jobs (tests have no background worker) and return this one."""
    from server.jobs import drain
    from server.models import Job

    drain(world.app.config)
    with world.session() as s:
        return s.get(Job, job_id)


def test_clock_tool_previews_applies_and_undoes(setup, world):
    from server.models import Job, Media, Sequence

    area, program, mgr = setup
    # A camera whose clock was reset to 2000-01-01 at set-up (2026-01-05 08:00 local, UTC+7).
    dep = world.deployment(program, "PN-04", timezone="Asia/Ho_Chi_Minh",
                           deployment_start=datetime(2026, 1, 5, 1, 0, tzinfo=timezone.utc))
    base = datetime(2000, 1, 1, 0, 0, 5)
    ids = _photos(world, dep, [base, base + timedelta(seconds=2), base + timedelta(days=3, hours=4)])
    page = mgr.get(f"/admin/deployments/{dep.id}/clock").get_data(as_text=True)
    assert "IMG_0000.JPG" in page and 'id="photo-pick"' in page
    pv = mgr.get(f"/admin/deployments/{dep.id}/clock/preview?media_id={ids[0]}&true_time=2026-01-05T08:00:05")
    data = pv.get_json()
    assert pv.status_code == 200, data
    expected = int((datetime(2026, 1, 5, 8, 0, 5) - base).total_seconds())
    assert data["offset_s"] == expected and data["camera_time"] == "2000-01-01 00:00:05"
    assert data["photo_after"] == "2026-01-05 08:00:05 +07"
    assert [(q["new_start"], q["media"]) for q in data["sequences"]] == [("2026-01-05 08:00:05 +07", 2),
                                                                        ("2026-01-08 12:00:05 +07", 1)]
    assert data["outside_window_after"] == 0
    # Messages next to the field, in the page's language.
    bad = mgr.get(f"/admin/deployments/{dep.id}/clock/preview?media_id={ids[0]}&true_time=5 Jan 2026")
    assert bad.status_code == 422 and bad.get_json()["errors"] == {
        "true_time": "Enter the true time as YYYY-MM-DD HH:MM:SS."}
    r = mgr.form(f"/admin/deployments/{dep.id}/clock", {"media_id": "nope", "true_time": "2026-01-05 08:00:05"})
    assert r.status_code == 422 and errors(r) == {"media_id": "Choose a photo of this deployment."}
    r = mgr.form(f"/admin/deployments/{dep.id}/clock", {"media_id": ids[0], "true_time": "2026-01-05 08:00:05"})
    assert r.status_code == 302
    with world.session() as s:
        job = s.exec(select(Job).where(Job.kind == "retime").order_by(Job.created_at.desc())).first()
        assert job.params == {"deployment_id": dep.id, "clock_offset_s": expected, "previous_offset_s": 0}
    assert _wait_job(world, job.id).status == "done"
    with world.session() as s:
        times = sorted(s.get(Media, i).captured_at.replace(tzinfo=None) for i in ids)
        assert times[0] == datetime(2026, 1, 5, 1, 0, 5)  # UTC
        assert s.exec(select(Sequence).where(Sequence.deployment_id == dep.id)).all()
    page = mgr.get(r.headers["Location"]).get_data(as_text=True)
    assert "2026-01-05 08:00:05 +07" in page and 'id="clock-history"' in page
    # Undo: the previous offset back, the times recomputed from the camera's readings.
    r = mgr.form(f"/admin/deployments/{dep.id}/clock", {"undo": "1"})
    assert r.status_code == 302
    with world.session() as s:
        job = s.exec(select(Job).where(Job.kind == "retime").order_by(Job.created_at.desc())).first()
        assert job.params["clock_offset_s"] == 0 and job.params["previous_offset_s"] == expected
    _wait_job(world, job.id)
    with world.session() as s:
        assert s.get(Media, ids[0]).captured_at.replace(tzinfo=None) == datetime(1999, 12, 31, 17, 0, 5)
        from server.models import Deployment

        hist = s.get(Deployment, dep.id).settings["clock_corrections"]
        assert [h["action"] for h in hist] == ["correct", "undo"] and hist[0]["undone"] is True
    r = mgr.form(f"/admin/deployments/{dep.id}/clock", {"undo": "1"})
    assert r.status_code == 422 and "There is no clock correction to undo." in r.get_data(as_text=True)


def test_who_may_reach_the_deployment_pages(setup, world, signed_in):
    area, program, _mgr = setup
    dep = world.deployment(program, "PN-05")
    ranger, outsider = signed_in("ranger"), signed_in("outsider")
    for url in (f"/admin/areas/{area.id}/deployments", f"/admin/deployments/{dep.id}",
                f"/admin/deployments/{dep.id}/clock", f"/admin/areas/{area.id}/devices",
                f"/admin/areas/{area.id}/uploads", f"/admin/areas/{area.id}/deployments/new"):
        assert ranger.get(url).status_code == 403, url
        assert outsider.get(url).status_code == 404, url
    r = outsider.form(f"/admin/deployments/{dep.id}/clock", {"undo": "1"})
    assert r.status_code == 404
    r = ranger.form(f"/admin/deployments/{dep.id}", {**GOOD})
    assert r.status_code == 403
    # A manager of another area cannot move a deployment into their area's programs either.
    r = outsider.form(f"/admin/areas/{area.id}/deployments/new", {**GOOD, "program_id": program.id})
    assert r.status_code == 404
