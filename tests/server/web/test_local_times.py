"""Local times everywhere (issue 12, item 5): pages and the review screen show the deployment's
local time with its zone ("20:43:09 +07"), the camera's own clock reading on hover; the API keeps
UTC. One helper (server/timeutil.py format_local) for templates and JSON."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from server.timeutil import format_local, format_raw, local_iso, offset_text, to_local

UTC = timezone.utc


@pytest.mark.parametrize("value,tz,style,expected", [
    # Vietnam: UTC+7 all year (no daylight saving): a Reconyx photo stamped 20:43:09 local.
    (datetime(2026, 3, 1, 13, 43, 9, tzinfo=UTC), "Asia/Ho_Chi_Minh", "datetime", "2026-03-01 20:43:09 +07"),
    (datetime(2026, 7, 1, 13, 43, 9, tzinfo=UTC), "Asia/Ho_Chi_Minh", "time", "20:43:09 +07"),
    # The local day, not the UTC day: 20:00 UTC is the next morning in Vietnam.
    (datetime(2026, 3, 1, 20, 0, tzinfo=UTC), "Asia/Ho_Chi_Minh", "date", "2026-03-02"),
    # A zone with daylight saving: New York is -05 in winter and -04 in summer.
    (datetime(2026, 1, 15, 13, 0, tzinfo=UTC), "America/New_York", "datetime", "2026-01-15 08:00:00 -05"),
    (datetime(2026, 7, 15, 13, 0, tzinfo=UTC), "America/New_York", "datetime", "2026-07-15 09:00:00 -04"),
    # Either side of the spring change (2026-03-08 07:00 UTC): 01:59:59 -05, then 03:00:00 -04.
    (datetime(2026, 3, 8, 6, 59, 59, tzinfo=UTC), "America/New_York", "time", "01:59:59 -05"),
    (datetime(2026, 3, 8, 7, 0, 0, tzinfo=UTC), "America/New_York", "time", "03:00:00 -04"),
    # Half-hour offsets, minutes style, naive values as SQLite gives them back (UTC).
    (datetime(2026, 1, 1, 13, 43, 9), "Asia/Kolkata", "minute", "2026-01-01 19:13 +05:30"),
    (datetime(2026, 1, 1, 3, 0), "America/St_Johns", "minute", "2025-12-31 23:30 -03:30"),
    (datetime(2026, 1, 1, 12, 0, tzinfo=UTC), "UTC", "datetime", "2026-01-01 12:00:00 +00"),
    # Years below 1000 keep their four digits (strftime would drop them).
    (datetime(999, 5, 1, 0, 0, tzinfo=UTC), "UTC", "date", "0999-05-01"),
    # An unknown zone never breaks a page: UTC, said so.
    (datetime(2026, 1, 1, 12, 0, tzinfo=UTC), "Mars/Olympus_Mons", "datetime", "2026-01-01 12:00:00 +00"),
    (None, "Asia/Ho_Chi_Minh", "datetime", ""),
    # The last moment datetime can hold has no local time east of UTC: shown in UTC, said so.
    (datetime(9999, 12, 31, 23, 0, tzinfo=UTC), "Asia/Ho_Chi_Minh", "datetime", "9999-12-31 23:00:00 +00"),
])
def test_format_local(value, tz, style, expected):
    assert format_local(value, tz, style) == expected


def test_local_iso_raw_and_bad_style():
    t = datetime(2026, 3, 1, 13, 43, 9, tzinfo=UTC)
    assert local_iso(t, "Asia/Ho_Chi_Minh") == "2026-03-01T20:43:09+07:00"
    assert offset_text(to_local(t, "Asia/Kathmandu")) == "+05:45"
    assert format_raw(datetime(2026, 3, 1, 20, 43, 9)) == "2026-03-01 20:43:09"
    assert format_raw(None) == ""
    with pytest.raises(ValueError, match="style"):
        format_local(t, "UTC", "weekday")


def _set_camera_clock(world, media, raw):
    from server.models import Media

    with world.session() as s:
        m = s.get(Media, media.id)
        m.captured_at_raw = raw
        s.add(m)


def test_review_item_carries_local_times_and_the_camera_clock_api_stays_utc(rd, signed_in, world):
    from server.models import Deployment

    b = signed_in("bio")
    m0 = rd.media[rd.sequences[0].id][0]
    _set_camera_clock(world, m0, datetime(2026, 3, 1, 13, 0, 0))
    item = b.get(f"/api/v1/review/sequences/{rd.sequences[0].id}").get_json()["item"]
    # Stored 06:00 UTC; the deployment is in Vietnam.
    assert item["sequence"]["event_start"] == "2026-03-01T06:00:00+00:00"
    assert item["sequence"]["event_start_local"] == "2026-03-01 13:00:00 +07"
    assert item["media"][0]["captured_at"] == "2026-03-01T06:00:00+00:00"
    assert item["media"][0]["captured_at_local"] == "2026-03-01 13:00:00 +07"
    assert item["media"][0]["captured_at_raw"] == "2026-03-01 13:00:00"
    assert item["deployment"]["timezone"] == "Asia/Ho_Chi_Minh"
    # A deployment in a zone with daylight saving shows that zone's offset of the day.
    with world.session() as s:
        s.get(Deployment, rd.deployment.id).timezone = "Europe/Berlin"
    item = b.get(f"/api/v1/review/sequences/{rd.sequences[0].id}").get_json()["item"]
    assert item["sequence"]["event_start_local"] == "2026-03-01 07:00:00 +01"
    # The plain API keeps UTC.
    media = b.get(f"/api/v1/media/{m0.id}").get_json()
    assert media["captured_at"].startswith("2026-03-01T06:00:00") and media["captured_at"].endswith(("Z", "+00:00"))


def test_pages_show_local_time_with_zone_and_raw_clock_on_hover(rd, signed_in, world, app):
    from webdata import MiniWorld, add_recording

    m, _d = add_recording(app, MiniWorld(app), rd)
    _set_camera_clock(world, m, datetime(2026, 3, 1, 13, 0, 5))
    b = signed_in("bio")
    page = b.get(f"/sound/{m.id}").get_data(as_text=True)
    assert '<time datetime="2026-03-01T06:00:00+00:00" title="Camera clock: 2026-03-01 13:00:05">' \
           '2026-03-01 13:00:00 +07</time>' in page
    assert " UTC" not in page
    listing = b.get("/sound").get_data(as_text=True)
    assert "2026-03-01 13:00 +07" in listing and "Local time" in listing
    alerts = b.get("/alerts").get_data(as_text=True)
    assert "2026-03-01 13:00 +07" in alerts and "(UTC)" not in alerts
    manager = signed_in("manager")
    overview = manager.get(f"/areas/{rd.area.id}/overview").get_data(as_text=True)
    assert ">2026-02-19</time>" in overview and "2026-03-01 13:00 +07" in overview  # start date, alert time
    calendar = manager.get(f"/areas/{rd.area.id}/calendar").get_data(as_text=True)
    assert "2026-02-19 – 2026-03-21" in calendar


def test_field_page_shows_the_installation_zone(rd, signed_in, world):
    from server.models import FieldObservation

    with world.session() as s:
        s.add(FieldObservation(program_id=rd.program.id, protocol="line_transect@1.0", record_type="observation",
                               observed_at=datetime(2026, 3, 1, 0, 30, tzinfo=UTC), data={"data": {}}))
    page = signed_in("bio").get(f"/areas/{rd.area.id}/field").get_data(as_text=True)
    assert '<time datetime="2026-03-01T00:30:00+00:00">2026-03-01 07:30 +07</time>' in page


def test_review_page_deployment_choice_uses_the_local_day(rd, signed_in, world):
    from server.models import Deployment

    with world.session() as s:
        d = s.get(Deployment, rd.deployment.id)
        d.deployment_start = datetime(2026, 2, 18, 20, 0, tzinfo=UTC)  # 19 Feb, 03:00 in Vietnam
    page = signed_in("bio").get("/review").get_data(as_text=True)
    assert "S01 · 2026-02-19 · CAM-1" in page
