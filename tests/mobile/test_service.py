"""The Android GPS service loop, run on the desktop with a replayed track."""
from __future__ import annotations

import threading
import time

from mobile.demo import demo_fixes
from mobile.location import ReplayProvider, TrackFilter
from mobile.service.gps import run
from mobile.store import Store


class CountingReplay(ReplayProvider):
    """A replayed track that tells the test how many fixes it has handed to the service."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.delivered = 0
        self._counted = threading.Condition()

    def start(self, on_fix, on_status=None) -> None:
        def counted(fix):
            on_fix(fix)
            with self._counted:
                self.delivered += 1
                self._counted.notify_all()

        super().start(counted, on_status)

    def wait_for(self, n: int, timeout: float = 20.0) -> bool:
        with self._counted:
            return self._counted.wait_for(lambda: self.delivered >= n, timeout)


def test_service_follows_the_walk_state_in_the_store(tmp_path):
    app_store = Store(tmp_path)  # the UI process
    walk = app_store.start_walk("line_transect@1.0", {"transect_id": "T1"})
    # 3,000 s of walking in ~15 s: far more than the test needs, so a loaded CI machine never runs out.
    provider = CountingReplay(demo_fixes(3000, speed_mps=1.2), speed=200)
    stop = threading.Event()
    result = {}
    t = threading.Thread(target=lambda: result.update(run(str(tmp_path), provider, stop, poll_s=0.05,
                                                          track_filter=TrackFilter())))
    t.start()
    deadline = time.monotonic() + 20
    while app_store.get_walk(walk)["point_count"] < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    app_store.pause_walk(walk)  # the ranger pauses in the app: the service stops writing
    paused = app_store.get_walk(walk)["point_count"]  # the store takes no point for a paused walk
    # The service goes on receiving fixes (the receiver stays on for forms) and writes none of them.
    assert provider.wait_for(provider.delivered + 30)
    assert app_store.get_walk(walk)["point_count"] == paused >= 10
    app_store.resume_walk(walk)
    while app_store.get_walk(walk)["point_count"] <= paused and time.monotonic() < deadline:
        time.sleep(0.05)
    app_store.stop_walk(walk)
    stop.set()
    t.join(10)
    assert not t.is_alive()
    final = app_store.get_walk(walk)
    assert final["status"] == "done" and final["point_count"] > paused
    assert result["raw_fixes"] > final["point_count"]
    assert len(final["data"]["track"]) <= final["point_count"]
    app_store.close()


def test_service_exits_when_no_walk_is_active(tmp_path):
    started = time.monotonic()
    result = run(str(tmp_path), ReplayProvider(demo_fixes(10), speed=0), poll_s=0.05, idle_exit_s=0.3,
                 track_filter=TrackFilter())
    assert time.monotonic() - started < 5 and result["points"] == 0
