"""Sunrise and sunset (NOAA's solar calculator) and sun-relative times (overlap's sunTime, average anchoring)."""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest

from server.stats import suntime as st

TWO_PI = 2 * math.pi
ICT = timezone(timedelta(hours=7))


def _hhmm(fraction: float) -> float:
    return fraction * 24 * 60


def _day_length_min(lat: float, decl: float) -> float:
    """Minutes between sunrise and sunset on the sphere: cos H = (cos 90.833 - sin lat sin decl) / (cos lat cos decl)."""
    la, de = math.radians(lat), math.radians(decl)
    h = math.acos((math.cos(math.radians(90.833)) - math.sin(la) * math.sin(de)) / (math.cos(la) * math.cos(de)))
    return 2 * math.degrees(h) * 4


@pytest.mark.parametrize("day, lat, decl", [
    (date(2024, 6, 21), 21.03, 23.44),  # Hanoi at the June solstice: 13 h 25 min
    (date(2024, 12, 21), 21.03, -23.44),  # and the December solstice: 10 h 51 min
    (date(2024, 3, 20), 0.0, 0.0),  # the equator at the equinox: 12 h 6.7 min (refraction and the disc)
    (date(2024, 6, 21), 11.42, 23.44),  # Cat Tien
])
def test_day_length_follows_the_declination(day, lat, decl):
    sr, ss = st.sunrise_sunset(day, lat, 105.0, 7)
    assert _hhmm(ss - sr) == pytest.approx(_day_length_min(lat, decl), abs=1.0)


@pytest.mark.parametrize("day, equation_of_time", [(date(2024, 2, 11), -14.2), (date(2024, 11, 3), 16.4),
                                                    (date(2024, 6, 13), 0.0)])
def test_solar_noon_follows_the_equation_of_time(day, equation_of_time):
    """Midway between sunrise and sunset at longitude 0 is 12:00 minus the equation of time
    (its extremes: -14.2 min about 11 February, +16.4 min about 3 November; zero about 13 June)."""
    sr, ss = st.sunrise_sunset(day, 0.0, 0.0)
    assert _hhmm((sr + ss) / 2) == pytest.approx(720 - equation_of_time, abs=0.5)
    # 15 degrees east: an hour earlier by the sun (UTC)
    sr_e, ss_e = st.sunrise_sunset(day, 0.0, 15.0)
    assert _hhmm((sr_e + ss_e) / 2) == pytest.approx(720 - 60 - equation_of_time, abs=0.5)


def test_no_sunrise_in_the_polar_summer():
    with pytest.raises(st.PolarDayError):
        st.sunrise_sunset(date(2024, 6, 21), 80.0, 15.0)
    with pytest.raises(ValueError, match="out of range"):
        st.sun_event_utc(date(2024, 6, 21), 95.0, 0.0)


def test_sun_time_puts_sunrise_at_six_and_sunset_at_eighteen():
    sr, ss = np.full(5, 1.3), np.full(5, 5.1)  # a long day: 04:58 to 19:29
    clock = np.array([1.3, 5.1, (1.3 + 5.1) / 2, 0.0, 6.0])
    out = st.sun_time(clock, sr, ss)
    assert out[0] == pytest.approx(math.pi / 2)  # sunrise itself ends the night: 3pi/2 + pi, i.e. pi/2
    assert out[2] == pytest.approx(math.pi)  # midway between sunrise and sunset: solar noon -> 12:00
    assert out[1] == pytest.approx(3 * math.pi / 2)  # sunset
    # night is stretched: midnight lies (2pi - 5.1) into a 2pi - 3.8 long night
    assert out[3] == pytest.approx(3 * math.pi / 2 + (TWO_PI - 5.1) / (TWO_PI - 3.8) * math.pi)
    # monotone over a day from just after sunrise
    day = np.linspace(1.31, 1.3 + TWO_PI - 0.01, 200) % TWO_PI
    shifted = (st.sun_time(day, np.full(200, 1.3), np.full(200, 5.1)) - math.pi / 2) % TWO_PI
    assert np.all(np.diff(shifted) > 0)


def test_sun_time_is_the_identity_on_equinox_days():
    clock = np.linspace(0.01, TWO_PI - 0.01, 50)
    out = st.sun_time(clock, np.full(50, math.pi / 2), np.full(50, 3 * math.pi / 2))
    assert np.allclose(out, clock)


def test_average_anchoring_maps_onto_the_mean_sunrise_and_sunset():
    sr = np.array([1.4, 1.6])
    ss = np.array([4.6, 4.8])
    out = st.average_anchored(np.array([1.4, 4.8]), sr, ss)
    assert out[1] == pytest.approx(4.7)  # the second day's sunset -> the mean sunset
    # constant sunrise/sunset: nothing moves
    clock = np.linspace(0.1, 6.0, 20)
    assert np.allclose(st.average_anchored(clock, np.full(20, 1.5), np.full(20, 4.7)), clock)


def test_sun_times_for_local_moments():
    moments = [datetime(2024, 6, 21, 12, 0, tzinfo=ICT), datetime(2024, 6, 21, 5, 13, tzinfo=ICT)]
    clock, sr, ss = st.sun_times_for(moments, 21.03, 105.85)
    assert clock[0] == pytest.approx(math.pi)
    assert sr[0] == pytest.approx(sr[1])
    # in the moments' own clock (UTC+7), not UTC
    assert sr[0] / TWO_PI == pytest.approx(st.sunrise_sunset(date(2024, 6, 21), 21.03, 105.85, 7)[0])
    assert 5 * 60 < _hhmm(sr[0] / TWO_PI) < 5 * 60 + 30
