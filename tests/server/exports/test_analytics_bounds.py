"""Unbounded date ranges (issue 17, finding 8).

A deployment stored with dates from year 1 to 9999 (before dates were
bounded, or written straight to the database) made ``/analytics/rai`` and
``camera-operation`` loop over 3.6 million days (39 s and 94 s of CPU per call)
and the calendar answer 500 "year 10000 is out of range". Trap-nights and RAI
are now computed from the periods (O(deployments)), day-by-day matrices are
refused beyond 20 years with a 422 naming start/end, and the calendar draws
about a dozen month ticks whatever the span.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from server.analytics import camtrap
from server.analytics.camtrap import StationPeriod
from server.bounds import MAX_ANALYSIS_DAYS
from signin import sign_in

FAR_START = datetime(1, 1, 2, tzinfo=timezone.utc)
FAR_END = datetime(9999, 12, 30, tzinfo=timezone.utc)


def _stretch(world, dep_id: str, start=FAR_START, end=FAR_END) -> None:
    """Give a deployment the dates the probe used, bypassing the API's bounds (old or imported data)."""
    from server.models import Deployment, OperatingInterval
    from sqlmodel import delete

    with world.session() as s:
        s.exec(delete(OperatingInterval).where(OperatingInterval.deployment_id == dep_id))
        d = s.get(Deployment, dep_id)
        d.deployment_start, d.deployment_end = start, end


@pytest.fixture
def far(world, survey):
    _stretch(world, survey.ids["d1"])
    return survey


@pytest.fixture
def viewer_h(world, survey):
    return world.headers(world.user("viewer", roles={survey.area_id: "viewer"}))


def _no_day_loops(monkeypatch):
    """Fail the test if an analysis walks day by day (what took minutes of CPU)."""
    def boom(*a, **k):
        raise AssertionError("trap-nights/RAI must not build the day-by-day matrix")

    monkeypatch.setattr(camtrap, "_day_seconds", boom)
    monkeypatch.setattr(camtrap, "camera_operation", boom)


def test_rai_and_trap_nights_over_a_year_1_to_9999_deployment(client, far, viewer_h, monkeypatch):
    _no_day_loops(monkeypatch)
    r = client.get(f"/api/v1/analytics/trap-nights?area_id={far.area_id}", headers=viewer_h)
    assert r.status_code == 200, r.json
    nights = {row["station"]: row["trap_nights"] for row in r.json["rows"]}
    # Local (UTC+7) days from 0001-01-02 07:00 to 9999-12-30 07:00.
    assert nights["S01"] == pytest.approx((FAR_END - FAR_START).total_seconds() / 86400)
    r = client.get(f"/api/v1/analytics/rai?area_id={far.area_id}", headers=viewer_h)
    assert r.status_code == 200, r.json
    assert all(row["trap_nights"] > 3_000_000 for row in r.json["rows"])
    r = client.get(f"/api/v1/analytics/rai?area_id={far.area_id}&by_station=true&fractional=false", headers=viewer_h)
    assert r.status_code == 200, r.json


@pytest.mark.parametrize("name", ["camera-operation", "naive-occupancy", "species-accumulation"])
def test_day_matrices_beyond_the_limit_are_a_clear_422(client, far, viewer_h, name):
    extra = "&unit=day" if name == "species-accumulation" else ""
    r = client.get(f"/api/v1/analytics/{name}?area_id={far.area_id}{extra}", headers=viewer_h)
    assert r.status_code == 422, r.get_data(as_text=True)[:300]
    msg = r.json["error"]["message"]
    assert str(MAX_ANALYSIS_DAYS) in msg and "start and end" in msg


def test_a_narrowed_window_still_works(client, far, viewer_h):
    r = client.get(f"/api/v1/analytics/camera-operation?area_id={far.area_id}&year=2026", headers=viewer_h)
    assert r.status_code == 200, r.json
    assert len(r.json["columns"]) == 1 + 365


def test_calendar_page_never_500s(app, client, world, survey):
    from server.review.overview import calendar

    _stretch(world, survey.ids["d1"], datetime(1, 1, 1, tzinfo=timezone.utc),
             datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc))
    world.user("boss", roles={survey.area_id: "manager"})
    r = sign_in(client, "boss")
    assert r.status_code == 302
    r = client.get(f"/areas/{survey.area_id}/calendar")
    assert r.status_code == 200
    with app.app_context():
        from server.db import get_session

        cal = calendar(get_session(), survey.area_id)
    assert 1 <= len(cal["ticks"]) <= 24
    assert cal["ticks"][0]["label"] == "0001-01" and cal["ticks"][-1]["label"] <= "9999-12"
    assert all(0 <= t["x"] <= cal["width"] for t in cal["ticks"])


def test_month_ticks_match_the_month_walk_for_ordinary_spans():
    from server.review.overview import month_ticks

    t0 = datetime(2026, 1, 15, tzinfo=timezone.utc)
    ticks = month_ticks(t0, datetime(2027, 3, 1, tzinfo=timezone.utc), lambda t: t)
    assert [t["label"] for t in ticks] == ["2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-07",
                                           "2026-08", "2026-09", "2026-10", "2026-11", "2026-12", "2027-01",
                                           "2027-02", "2027-03"]
    assert month_ticks(datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 1, 20, tzinfo=timezone.utc),
                       lambda t: t)[0]["label"] == "2026-01"


# ---- station_nights is the row sum of the matrix, without the matrix ----------------------
_T0 = datetime(2026, 1, 1)


@st.composite
def _periods(draw):
    out = []
    for _ in range(draw(st.integers(1, 4))):
        station = draw(st.sampled_from(["A", "B", "C"]))
        start = _T0 + timedelta(minutes=draw(st.integers(0, 60 * 24 * 20)))
        end = start + timedelta(minutes=draw(st.integers(0, 60 * 24 * 15)))
        problems = []
        for _ in range(draw(st.integers(0, 2))):
            ps = _T0 + timedelta(minutes=draw(st.integers(-60 * 24 * 3, 60 * 24 * 40)))
            problems.append((ps, ps + timedelta(minutes=draw(st.integers(1, 60 * 24 * 6)))))
        operating = None
        if draw(st.booleans()):
            os_ = start + timedelta(minutes=draw(st.integers(0, 60 * 24 * 5)))
            operating = [(os_, os_ + timedelta(minutes=draw(st.integers(1, 60 * 24 * 10))))]
        out.append(StationPeriod(station, start, end, problems, operating))
    return out


@settings(max_examples=300, deadline=None)
@given(periods=_periods(), fractional=st.booleans())
def test_station_nights_equal_the_matrix_row_sums(periods, fractional):
    stations = ["A", "B", "C"]
    matrix = camtrap.trap_nights(camtrap.camera_operation(periods, stations, fractional=fractional))
    direct = camtrap.trap_nights(camtrap.station_nights(periods, stations, fractional=fractional))
    assert direct == pytest.approx(matrix, abs=1e-6)


def test_matrix_limit_is_checked_before_any_day_is_built():
    p = [StationPeriod("A", datetime(1, 1, 1), datetime(9999, 12, 31))]
    with pytest.raises(ValueError, match=str(MAX_ANALYSIS_DAYS)):
        camtrap.camera_operation(p)
    days = MAX_ANALYSIS_DAYS - 1
    op = camtrap.camera_operation([StationPeriod("A", datetime(2000, 1, 1), datetime(2000, 1, 1) + timedelta(days))])
    assert len(op.days) == MAX_ANALYSIS_DAYS and op.days[0] == date(2000, 1, 1)
