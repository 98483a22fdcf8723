"""Location: GPX and NMEA replay, the track filter, the recorder."""
from __future__ import annotations

import threading
import time

import pytest

import protocols
from mobile_harness import write_gpx
from mobile.location import Fix, LocationFileError, ReplayProvider, TrackFilter, read_gpx, read_nmea
from mobile.recorder import WalkRecorder
from mobile.store import Store


def nmea(body: str) -> str:
    check = 0
    for ch in body:
        check ^= ord(ch)
    return f"${body}*{check:02X}"


def test_read_gpx_points_times_accuracy(tmp_path):
    path = write_gpx(tmp_path / "t.gpx", n=5, start=1_770_000_000, bad=(2,))
    fixes = read_gpx(path)
    assert len(fixes) == 5
    assert fixes[0].t == 1_770_000_000 and fixes[1].t - fixes[0].t == 5
    assert fixes[0].accuracy_m == pytest.approx(6.0) and fixes[2].accuracy_m == pytest.approx(200.0)
    assert fixes[0].altitude_m == 400 and fixes[0].lat == pytest.approx(16.196)


def test_read_gpx_errors_name_the_file_and_point(tmp_path):
    p = tmp_path / "bad.gpx"
    p.write_text('<gpx xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
                 '<trkpt lat="16" lon="107"><time>2026-03-01T00:00:00Z</time></trkpt>'
                 '<trkpt lat="16" lon="107"></trkpt></trkseg></trk></gpx>')
    with pytest.raises(LocationFileError, match=r"bad.gpx point 2: has no <time>"):
        read_gpx(p)
    p.write_text("<gpx><trk>")
    with pytest.raises(LocationFileError, match="bad.gpx: not a readable GPX file"):
        read_gpx(p)
    p.write_text("<gpx></gpx>")
    with pytest.raises(LocationFileError, match="no track, route or way points"):
        read_gpx(p)


def test_read_nmea_rmc_gga_checksums_and_hemispheres(tmp_path):
    lines = [
        nmea("GPGGA,001500.00,1611.7600,N,10751.3600,E,1,08,1.4,412.0,M,0.0,M,,"),
        nmea("GPRMC,001500.00,A,1611.7600,N,10751.3600,E,0.5,45.0,010326,,,A"),
        nmea("GPRMC,001501.00,V,,,,,,,010326,,,N"),  # no fix
        "$GPRMC,001502.00,A,1611.7700,N,10751.3700,E,0.5,45.0,010326,,,A*00",  # bad checksum
        nmea("GPRMC,001503.50,A,3352.1200,S,15112.6000,W,1.0,0.0,010326,,,A"),
    ]
    p = tmp_path / "log.nmea"
    p.write_text("\n".join(lines) + "\n")
    fixes = read_nmea(p)
    assert len(fixes) == 2
    a, b = fixes
    assert a.lat == pytest.approx(16 + 11.76 / 60) and a.lon == pytest.approx(107 + 51.36 / 60)
    assert a.accuracy_m == pytest.approx(7.0) and a.altitude_m == 412.0
    assert a.speed_mps == pytest.approx(0.257, abs=1e-3)
    assert b.lat < 0 and b.lon < 0 and b.accuracy_m is None
    assert b.t - a.t == pytest.approx(3.5)
    p.write_text(nmea("GPRMC,001501.00,V,,,,,,,010326,,,N") + "\n")
    with pytest.raises(LocationFileError, match="log.nmea: no valid RMC fixes"):
        read_nmea(p)


def line(n, step_m=6.0, dt=5.0, acc=5.0, t0=1000.0):
    return [Fix(16.0 + i * step_m / 111_195, 107.0, t0 + i * dt, acc) for i in range(n)]


def test_filter_warmup_accuracy_and_thinning():
    f = TrackFilter(max_accuracy_m=50, min_distance_m=10, min_interval_s=30, skip_first=3)
    fixes = line(20)  # 6 m every 5 s
    fixes[10] = Fix(fixes[10].lat, fixes[10].lon, fixes[10].t, 80.0)
    kept = [i for i, fx in enumerate(fixes) if f.accept(fx)]
    assert kept[0] == 3  # the first three are warm-up
    assert 10 not in kept and f.dropped["accuracy"] == 1 and f.dropped["warmup"] == 3
    # Every second fix (12 m) passes the 10 m rule; none waits for the 30 s rule.
    gaps = [b - a for a, b in zip(kept, kept[1:])]
    assert set(gaps) <= {2, 3} and f.dropped["thinned"] > 0


def test_filter_time_rule_keeps_a_point_when_standing_still():
    f = TrackFilter(skip_first=0, min_distance_m=10, min_interval_s=30)
    fixes = line(10, step_m=0.0, dt=10.0)  # a ranger standing at a listening post
    kept = [i for i, fx in enumerate(fixes) if f.accept(fx)]
    assert kept == [0, 3, 6, 9]


def test_filter_drops_impossible_speed_and_recovers():
    f = TrackFilter(skip_first=0, min_distance_m=0, min_interval_s=0, max_speed_mps=7)
    fixes = line(4, step_m=5, dt=1)
    jump = Fix(fixes[-1].lat + 0.01, 107.0, fixes[-1].t + 1, 5.0)  # 1.1 km in a second
    assert [f.accept(x) for x in fixes] == [True] * 4
    assert f.accept(jump) is False and f.dropped["speed"] == 1
    # The receiver really is elsewhere now (e.g. after a tunnel): after 5 rejections it follows.
    moved = [Fix(jump.lat + i * 2 / 111_195, 107.0, jump.t + 1 + i, 5.0) for i in range(8)]
    results = [f.accept(x) for x in moved]
    assert results[:4] == [False] * 4 and results[-1] is True


def test_filter_from_protocol_settings():
    f = TrackFilter.from_protocol(protocols.load("line_transect"))
    assert (f.max_accuracy_m, f.min_distance_m, f.min_interval_s, f.skip_first, f.max_speed_mps) == (50, 10, 30, 3, 7)


def test_replay_thread_delivers_in_order_and_stops(tmp_path):
    got, done = [], threading.Event()
    p = ReplayProvider(line(30, dt=0.01), speed=1.0)
    p.start(got.append, lambda s: done.set() if s == "finished" else None)
    assert done.wait(10)
    p.stop()
    assert [x.t for x in got] == sorted(x.t for x in got) and len(got) == 30
    assert got[0].t == pytest.approx(time.time(), abs=5)  # rebased to now


def test_recorder_records_filtered_points_and_current_location(tmp_path):
    store = Store(tmp_path)
    walk = store.start_walk("line_transect@1.0", {"transect_id": "T"})
    provider = ReplayProvider(line(40), speed=0)
    points = []
    rec = WalkRecorder(store, provider, TrackFilter(), on_point=lambda fx, seq: points.append(seq))
    provider.start(lambda fx: None)  # not started by the recorder yet: nothing recorded
    rec.start(walk)
    provider.step(20)
    rec.stop()
    provider.step(10)  # listening, not recording
    assert store.get_walk(walk)["point_count"] == len(points) > 0
    assert points == list(range(len(points)))
    assert rec.current_location()["lat"] == pytest.approx(provider.fixes[29].lat, abs=1e-6)
    assert rec.gps_time() is not None and rec.raw_fixes == 30
    rec.shutdown()
    store.close()
