"""Times of day relative to sunrise and sunset at the station.

Sunrise and sunset: NOAA's solar calculator (the equations of its spreadsheet and JavaScript,
after Meeus, "Astronomical Algorithms"), as R's ``maptools::sunriset`` / ``suntools::sunriset``
compute them and the R package overlap's ``sunTime`` uses: the sun's centre 0.833 degrees below
the horizon (refraction and the solar disc), two passes (the second at the first pass's time of
day). Accurate to about a minute between the polar circles.

Two transformations of clock times (radians, 0 = midnight) into sun times:

* :func:`sun_time` - overlap's ``sunTime`` (Nouvellet et al. 2012): each day is stretched or
  squeezed so that sunrise falls at pi/2 (06:00) and sunset at 3 pi/2 (18:00); daytime is
  mapped linearly from [sunrise, sunset] onto [pi/2, 3 pi/2], night from [sunset, next sunrise]
  onto [3 pi/2, pi/2 + 2 pi].
* :func:`average_anchored` - Vazquez et al. (2019) "double anchoring" to the average sunrise and
  sunset: the same piecewise-linear map, but onto the mean sunrise and mean sunset of the sample
  instead of 06:00 and 18:00, so sun times stay readable as clock times of the study.

Times without a place (no latitude/longitude) cannot be transformed: callers report them.
"""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from typing import Sequence

import numpy as np

TWO_PI = 2 * math.pi
ZENITH = 90.833  # degrees: the sun's upper limb at the horizon, refraction included


class PolarDayError(ValueError):
    """The sun does not rise or set at this place on this date (beyond the polar circles)."""


def _julian_day(d: date) -> float:
    """Julian day at 0h UT of a Gregorian date."""
    y, m = d.year, d.month
    if m <= 2:
        y, m = y - 1, m + 12
    a = y // 100
    b = 2 - a + a // 4
    return math.floor(365.25 * (y + 4716)) + math.floor(30.6001 * (m + 1)) + d.day + b - 1524.5


def _sun(t: float) -> tuple[float, float]:
    """(equation of time in minutes, declination in degrees) at Julian century ``t`` since J2000."""
    l0 = (280.46646 + t * (36000.76983 + 0.0003032 * t)) % 360
    m = math.radians(357.52911 + t * (35999.05029 - 0.0001537 * t))
    e = 0.016708634 - t * (0.000042037 + 0.0000001267 * t)
    c = (math.sin(m) * (1.914602 - t * (0.004817 + 0.000014 * t)) + math.sin(2 * m) * (0.019993 - 0.000101 * t)
         + math.sin(3 * m) * 0.000289)
    omega = math.radians(125.04 - 1934.136 * t)
    lam = math.radians(l0 + c - 0.00569 - 0.00478 * math.sin(omega))
    seconds = 21.448 - t * (46.815 + t * (0.00059 - t * 0.001813))
    eps = math.radians(23 + (26 + seconds / 60) / 60 + 0.00256 * math.cos(omega))
    decl = math.degrees(math.asin(math.sin(eps) * math.sin(lam)))
    y = math.tan(eps / 2) ** 2
    l0r = math.radians(l0)
    eqt = (y * math.sin(2 * l0r) - 2 * e * math.sin(m) + 4 * e * y * math.sin(m) * math.cos(2 * l0r)
           - 0.5 * y * y * math.sin(4 * l0r) - 1.25 * e * e * math.sin(2 * m))
    return 4 * math.degrees(eqt), decl


def _hour_angle(lat: float, decl: float) -> float:
    lat_r, d_r = math.radians(lat), math.radians(decl)
    arg = math.cos(math.radians(ZENITH)) / (math.cos(lat_r) * math.cos(d_r)) - math.tan(lat_r) * math.tan(d_r)
    if not -1 <= arg <= 1:
        raise PolarDayError(f"no sunrise or sunset at latitude {lat:g} (polar day or night)")
    return math.degrees(math.acos(arg))


def sun_event_utc(d: date, lat: float, lon: float, event: str = "sunrise") -> float:
    """Minutes after 0h UT of ``d`` of the sunrise or sunset at (``lat``, ``lon``), east positive."""
    if event not in ("sunrise", "sunset"):
        raise ValueError(f"event must be 'sunrise' or 'sunset', got {event!r}")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"latitude/longitude out of range: {lat}, {lon}")
    sign = 1 if event == "sunrise" else -1
    jd = _julian_day(d)
    t = (jd - 2451545.0) / 36525.0
    eqt, decl = _sun(t)  # first pass: the sun at 0h UT
    minutes = 720 + 4 * (-lon - sign * _hour_angle(lat, decl)) - eqt
    eqt, decl = _sun(t + minutes / 1440.0 / 36525.0)  # second pass: at the first pass's time
    return 720 + 4 * (-lon - sign * _hour_angle(lat, decl)) - eqt


def sunrise_sunset(d: date, lat: float, lon: float, utc_offset_h: float = 0.0) -> tuple[float, float]:
    """Sunrise and sunset as fractions of the local day (clock offset ``utc_offset_h`` hours from UTC)."""
    return tuple(((sun_event_utc(d, lat, lon, ev) / 60 + utc_offset_h) / 24) % 1.0  # type: ignore[return-value]
                 for ev in ("sunrise", "sunset"))


def sun_times_for(moments: Sequence[datetime], lat: float, lon: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(clock time, sunrise, sunset) in radians for local-time moments (aware, or naive = UTC)."""
    clock, sr, ss = [], [], []
    for m in moments:
        offset = m.utcoffset() if m.tzinfo else timedelta(0)
        off_h = (offset or timedelta(0)).total_seconds() / 3600
        a, b = sunrise_sunset(m.date(), lat, lon, off_h)
        clock.append((m.hour * 3600 + m.minute * 60 + m.second + m.microsecond / 1e6) / 86400 * TWO_PI)
        sr.append(a * TWO_PI)
        ss.append(b * TWO_PI)
    return np.array(clock), np.array(sr), np.array(ss)


def _anchor(clock: np.ndarray, sr: np.ndarray, ss: np.ndarray, to_sr: float, to_ss: float) -> np.ndarray:
    clock, sr, ss = (np.asarray(v, dtype=float) for v in (clock, sr, ss))
    day = (clock > sr) & (clock < ss)
    start_clock = np.where(day, sr, ss)
    day_length = (ss - sr) % TWO_PI
    span = np.where(day, day_length, TWO_PI - day_length)
    target_day = (to_ss - to_sr) % TWO_PI
    start_sun = np.where(day, to_sr, to_ss)
    target_span = np.where(day, target_day, TWO_PI - target_day)
    since = (clock - start_clock + TWO_PI) % TWO_PI
    return (start_sun + since / span * target_span) % TWO_PI


def sun_time(clock: Sequence[float] | np.ndarray, sunrise: Sequence[float] | np.ndarray,
             sunset: Sequence[float] | np.ndarray) -> np.ndarray:
    """overlap's sunTime: sunrise -> pi/2, sunset -> 3 pi/2, linear in between (all radians)."""
    return _anchor(np.asarray(clock), np.asarray(sunrise), np.asarray(sunset), math.pi / 2, 3 * math.pi / 2)


def _circular_mean(x: np.ndarray) -> float:
    return float(math.atan2(np.sin(x).mean(), np.cos(x).mean()) % TWO_PI)


def average_anchored(clock: Sequence[float] | np.ndarray, sunrise: Sequence[float] | np.ndarray,
                     sunset: Sequence[float] | np.ndarray) -> np.ndarray:
    """Double anchoring to the sample's mean sunrise and mean sunset (Vazquez et al. 2019)."""
    sr, ss = np.asarray(sunrise, dtype=float), np.asarray(sunset, dtype=float)
    return _anchor(np.asarray(clock), sr, ss, _circular_mean(sr), _circular_mean(ss))


def utc_moment(d: date, minutes: float) -> datetime:
    """The UTC date-time ``minutes`` after 0h UT of ``d`` (for showing sunrise and sunset)."""
    return datetime(d.year, d.month, d.day, tzinfo=timezone.utc) + timedelta(minutes=minutes)
