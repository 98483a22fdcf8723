"""Location behind one interface: plyer GPS on Android, GPX/NMEA replay on desktop and in tests.

A provider calls ``on_fix(fix)`` for every raw fix, from whatever thread it
runs on. A TrackFilter decides which fixes become track points, the way field
tools do it: skip the first fixes after start (the receiver is still
settling), drop fixes worse than the accuracy threshold and jumps at
impossible speeds, then keep a point every N metres or T seconds.

Stdlib only; plyer is imported lazily inside PlyerGPSProvider.
"""
from __future__ import annotations

import re
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .store import haversine_m

__all__ = ["Fix", "LocationProvider", "ReplayProvider", "PlyerGPSProvider", "TrackFilter",
           "haversine_m", "read_gpx", "read_nmea", "LocationFileError"]


class LocationFileError(ValueError):
    """A GPX or NMEA file cannot be read (the message names the file and the line or point)."""


@dataclass(frozen=True)
class Fix:
    """One position from a receiver. ``t`` is seconds since the epoch (UTC)."""

    lat: float
    lon: float
    t: float
    accuracy_m: float | None = None
    altitude_m: float | None = None
    speed_mps: float | None = None
    source: str = "gps"

    @property
    def time_iso(self) -> str:
        """Fix time as ISO 8601 UTC."""
        return datetime.fromtimestamp(self.t, timezone.utc).isoformat(timespec="seconds")


class LocationProvider:
    """Interface: ``start(on_fix, on_status=None)`` then fixes arrive until ``stop()``."""

    name = "base"

    def start(self, on_fix, on_status=None) -> None:
        """Begin delivering fixes to ``on_fix(Fix)``; ``on_status(str)`` gets state changes."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop delivering fixes (safe to call twice)."""
        raise NotImplementedError


# ---------------------------------------------------------------- file readers
def _parse_time(text: str, where: str) -> float:
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise LocationFileError(f"{where}: time {text!r} is not ISO 8601") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)  # GPX times are UTC by the standard
    return dt.timestamp()


def read_gpx(path: str | Path) -> list[Fix]:
    """Track points (trkpt, else rtept/wpt) of a GPX 1.0/1.1 file as Fixes.

    Accuracy comes from <hdop> (times 5 m, a common receiver rule of thumb)
    unless a <saola:accuracy> or <accuracy> extension gives metres.
    """
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise LocationFileError(f"{path.name}: not a readable GPX file: {exc}") from None
    def local(tag):
        return tag.rsplit("}", 1)[-1]
    points = [el for el in root.iter() if local(el.tag) == "trkpt"] or \
             [el for el in root.iter() if local(el.tag) in ("rtept", "wpt")]
    fixes = []
    for i, el in enumerate(points, start=1):
        where = f"{path.name} point {i}"
        try:
            lat, lon = float(el.attrib["lat"]), float(el.attrib["lon"])
        except (KeyError, ValueError):
            raise LocationFileError(f"{where}: lat/lon attributes missing or not numbers") from None
        children = {local(c.tag): c for c in el.iter() if c is not el}
        if "time" not in children:
            raise LocationFileError(f"{where}: has no <time>; replay needs timed points")
        t = _parse_time(children["time"].text or "", where)
        acc = None
        if "accuracy" in children:
            acc = float(children["accuracy"].text)
        elif "hdop" in children:
            acc = float(children["hdop"].text) * 5.0
        ele = float(children["ele"].text) if "ele" in children and children["ele"].text else None
        fixes.append(Fix(lat, lon, t, acc, ele, source="gpx"))
    if not fixes:
        raise LocationFileError(f"{path.name}: no track, route or way points")
    return fixes


_NMEA_COORD = re.compile(r"^(\d+)(\d\d\.\d+)$")


def _nmea_coord(value: str, hemi: str, where: str) -> float:
    m = _NMEA_COORD.match(value)
    if not m:
        raise LocationFileError(f"{where}: coordinate {value!r} is not ddmm.mmmm")
    deg = int(m.group(1)) + float(m.group(2)) / 60.0
    return -deg if hemi in ("S", "W") else deg


def _nmea_checksum_ok(sentence: str) -> bool:
    if "*" not in sentence:
        return True  # checksum is optional in NMEA 0183
    body, _, given = sentence[1:].partition("*")
    calc = 0
    for ch in body:
        calc ^= ord(ch)
    try:
        return calc == int(given[:2], 16)
    except ValueError:
        return False


def read_nmea(path: str | Path) -> list[Fix]:
    """Fixes from an NMEA 0183 log: RMC gives date/time/position, GGA adds HDOP and altitude.

    Sentences with a bad checksum or no fix are skipped, as a receiver would.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="ascii", errors="replace").splitlines()
    except OSError as exc:
        raise LocationFileError(f"{path.name}: cannot read: {exc}") from None
    fixes: list[Fix] = []
    pending_gga: dict = {}
    for n, line in enumerate(lines, start=1):
        line = line.strip()
        if not line.startswith("$") or not _nmea_checksum_ok(line):
            continue
        where = f"{path.name} line {n}"
        parts = line.split("*")[0].split(",")
        kind = parts[0][3:]
        if kind == "GGA" and len(parts) > 9 and parts[6] not in ("", "0"):
            pending_gga = {"hdop": float(parts[8]) if parts[8] else None,
                           "alt": float(parts[9]) if parts[9] else None, "hhmmss": parts[1][:6]}
        elif kind == "RMC" and len(parts) > 9:
            if parts[2] != "A" or not parts[3] or not parts[9]:
                continue  # "V" = no valid fix
            hhmmss, ddmmyy = parts[1], parts[9]
            try:
                dt = datetime.strptime(ddmmyy + hhmmss.split(".")[0], "%d%m%y%H%M%S").replace(tzinfo=timezone.utc)
            except ValueError:
                raise LocationFileError(f"{where}: date/time {ddmmyy} {hhmmss} unreadable") from None
            frac = float("0." + hhmmss.split(".")[1]) if "." in hhmmss else 0.0
            lat = _nmea_coord(parts[3], parts[4], where)
            lon = _nmea_coord(parts[5], parts[6], where)
            speed = float(parts[7]) * 0.514444 if parts[7] else None  # knots -> m/s
            gga = pending_gga if pending_gga.get("hhmmss") == hhmmss[:6] else {}
            acc = gga["hdop"] * 5.0 if gga.get("hdop") is not None else None
            fixes.append(Fix(lat, lon, dt.timestamp() + frac, acc, gga.get("alt"), speed, source="nmea"))
    if not fixes:
        raise LocationFileError(f"{path.name}: no valid RMC fixes")
    return fixes


def read_track_file(path: str | Path) -> list[Fix]:
    """Read a .gpx or .nmea/.nmea0183/.txt/.log track file by its extension."""
    path = Path(path)
    if path.suffix.lower() == ".gpx":
        return read_gpx(path)
    return read_nmea(path)


# ---------------------------------------------------------------- providers
class ReplayProvider(LocationProvider):
    """Replays a recorded GPX or NMEA track, for the desktop app and tests.

    ``speed`` scales time (10 = ten times faster); ``speed=0`` delivers fixes
    only when ``step()`` is called, so tests drive it fix by fix. Fix times are
    shifted so the first fix is "now" (``rebase=True``), like a live receiver.
    """

    name = "replay"

    def __init__(self, fixes_or_path, speed: float = 1.0, rebase: bool = True, clock=time.time):
        fixes = read_track_file(fixes_or_path) if isinstance(fixes_or_path, (str, Path)) else list(fixes_or_path)
        if rebase and fixes:
            shift = clock() - fixes[0].t
            fixes = [Fix(f.lat, f.lon, f.t + shift, f.accuracy_m, f.altitude_m, f.speed_mps, f.source) for f in fixes]
        self.fixes = fixes
        self.speed = speed
        self.position = 0
        self._on_fix = None
        self._on_status = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def finished(self) -> bool:
        """True once every fix has been delivered."""
        return self.position >= len(self.fixes)

    def start(self, on_fix, on_status=None) -> None:
        self._on_fix, self._on_status = on_fix, on_status
        self._stop.clear()
        if on_status:
            on_status("started")
        if self.speed > 0:
            self._thread = threading.Thread(target=self._run, name="replay-gps", daemon=True)
            self._thread.start()

    def step(self, n: int = 1) -> int:
        """Deliver the next ``n`` fixes now; returns how many were delivered."""
        delivered = 0
        while delivered < n and not self.finished and self._on_fix is not None:
            fix = self.fixes[self.position]
            self.position += 1
            self._on_fix(fix)
            delivered += 1
        return delivered

    def _run(self) -> None:
        while not self.finished and not self._stop.is_set():
            if self.position > 0:
                gap = (self.fixes[self.position].t - self.fixes[self.position - 1].t) / self.speed
                if self._stop.wait(max(0.0, gap)):
                    break
            self.step(1)
        if self._on_status and self.finished:
            self._on_status("finished")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None


class PlyerGPSProvider(LocationProvider):
    """Android GPS through plyer (imported only when started, never on import of this module)."""

    name = "gps"

    def __init__(self, min_time_ms: int = 1000, min_distance_m: float = 0):
        self.min_time_ms = min_time_ms
        self.min_distance_m = min_distance_m
        self._gps = None

    def start(self, on_fix, on_status=None) -> None:
        from plyer import gps  # lazy: plyer's Android backend needs pyjnius

        def on_location(**kw):
            acc = kw.get("accuracy")
            on_fix(Fix(float(kw["lat"]), float(kw["lon"]), time.time(),
                       float(acc) if acc is not None else None,
                       kw.get("altitude"), kw.get("speed"), source="gps"))

        def on_stat(stype=None, status=None, **_):
            if on_status:
                on_status(f"{stype}: {status}")

        gps.configure(on_location=on_location, on_status=on_stat)
        gps.start(minTime=self.min_time_ms, minDistance=self.min_distance_m)
        self._gps = gps

    def stop(self) -> None:
        if self._gps is not None:
            self._gps.stop()
            self._gps = None


# ---------------------------------------------------------------- filtering
@dataclass
class TrackFilter:
    """Decide which raw fixes become track points.

    Defaults follow the line-transect protocol settings: accuracy 50 m, a
    point every 10 m or 30 s, skip 3 fixes after start, at most 7 m/s (a
    ranger on foot, with margin; faster means the fix jumped).
    """

    max_accuracy_m: float = 50.0
    min_distance_m: float = 10.0
    min_interval_s: float = 30.0
    skip_first: int = 3
    max_speed_mps: float = 7.0
    # After this many speed rejections in a row the receiver has moved on and
    # the old "good" fix was the outlier: start comparing from the new one.
    max_speed_rejections: int = 5
    seen: int = 0
    speed_rejections: int = 0
    last_good: Fix | None = None
    last_recorded: Fix | None = None
    dropped: dict = field(default_factory=lambda: {"warmup": 0, "accuracy": 0, "speed": 0, "thinned": 0})

    @classmethod
    def from_protocol(cls, protocol) -> "TrackFilter":
        """A filter using a Protocol's settings (gps_accuracy_max_m, record_every_m, ...)."""
        s = protocol.settings
        return cls(max_accuracy_m=s.get("gps_accuracy_max_m", 50.0), min_distance_m=s.get("record_every_m", 10.0),
                   min_interval_s=s.get("record_every_s", 30.0), skip_first=s.get("skip_first_fixes", 3),
                   max_speed_mps=s.get("max_speed_mps", 7.0))

    def restart(self) -> None:
        """Start over after a pause or restart: warm-up again, no speed check across the gap."""
        self.seen = 0
        self.speed_rejections = 0
        self.last_good = None
        self.last_recorded = None

    def accept(self, fix: Fix) -> bool:
        """True when ``fix`` should be recorded as a track point."""
        self.seen += 1
        if self.seen <= self.skip_first:
            self.dropped["warmup"] += 1
            return False
        if fix.accuracy_m is not None and fix.accuracy_m > self.max_accuracy_m:
            self.dropped["accuracy"] += 1
            return False
        if self.last_good is not None:
            dt = fix.t - self.last_good.t
            d = haversine_m(self.last_good.lat, self.last_good.lon, fix.lat, fix.lon)
            # A fix in the same second that moved is as impossible as a fast one.
            if (dt <= 0 and d > self.max_accuracy_m) or (dt > 0 and d / dt > self.max_speed_mps):
                self.dropped["speed"] += 1
                self.speed_rejections += 1
                if self.speed_rejections >= self.max_speed_rejections:
                    self.last_good = fix
                    self.speed_rejections = 0
                return False
        self.speed_rejections = 0
        self.last_good = fix
        if self.last_recorded is not None:
            d = haversine_m(self.last_recorded.lat, self.last_recorded.lon, fix.lat, fix.lon)
            if d < self.min_distance_m and fix.t - self.last_recorded.t < self.min_interval_s:
                self.dropped["thinned"] += 1
                return False
        self.last_recorded = fix
        return True
