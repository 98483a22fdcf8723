"""Android foreground location service: records the active walk's track into the store.

Declared in buildozer.spec (``services = Gps:mobile/service/gps.py:foreground:...``
with ``foregroundServiceType=location``), python-for-android runs this file in
its own process. The app starts it when a walk starts; it follows the walk's
state in the shared SQLite store (WAL lets both processes use it) and exits
when no walk is in progress. So the track keeps growing with the screen off,
and a killed UI loses nothing: the service, not the UI, owns recording.

``run()`` takes any LocationProvider, so the same loop is tested on the
desktop with a replayed track.
"""
from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

# p4a starts services with the app root as the working directory, but put it
# on the path explicitly so "import mobile" works whatever the launcher did.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mobile.location import LocationProvider, TrackFilter  # noqa: E402
from mobile.recorder import WalkRecorder  # noqa: E402
from mobile.store import Store  # noqa: E402


def run(data_dir: str, provider: LocationProvider, stop: threading.Event | None = None,
        poll_s: float = 1.0, idle_exit_s: float = 30.0, track_filter: TrackFilter | None = None) -> dict:
    """Record the store's active walk until ``stop`` is set or no walk has been active for ``idle_exit_s``.

    Returns counters (raw fixes, points written) for logs and tests.
    """
    stop = stop or threading.Event()
    store = Store(data_dir)
    if track_filter is None:
        import protocols

        track_filter = TrackFilter.from_protocol(protocols.load("line_transect"))
    recorder = WalkRecorder(store, provider, track_filter)
    recorder.listen()
    idle = 0.0
    try:
        while not stop.is_set():
            walk = store.active_walk()
            if walk is not None and walk["status"] == "active":
                idle = 0.0
                if not recorder.running or recorder.walk_id != walk["id"]:
                    recorder.start(walk["id"])
            else:
                if recorder.running:
                    recorder.stop()
                idle += poll_s
                if idle >= idle_exit_s:
                    break
            stop.wait(poll_s)
    finally:
        points = store.get_walk(recorder.walk_id)["point_count"] if recorder.walk_id else 0
        recorder.shutdown()
        store.close()
    return {"raw_fixes": recorder.raw_fixes, "points": points}


def main() -> None:
    """Service entry point on Android: the argument is the app's storage folder."""
    from jnius import autoclass  # lazy: only inside the Android service process

    from mobile.location import PlyerGPSProvider

    service = autoclass("org.kivy.android.PythonService").mService
    # Restart the service if Android kills it mid-walk; it exits by itself when the walk ends.
    service.setAutoRestartService(True)
    data_dir = os.environ.get("PYTHON_SERVICE_ARGUMENT") or os.getcwd()
    run(data_dir, PlyerGPSProvider(min_time_ms=1000, min_distance_m=0))
    service.setAutoRestartService(False)


if __name__ == "__main__":
    main()
