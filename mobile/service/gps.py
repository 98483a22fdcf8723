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
        poll_s: float = 1.0, idle_exit_s: float = 30.0, track_filter: TrackFilter | None = None,
        resume_segment: bool = False) -> dict:
    """Record the store's active walk until ``stop`` is set or no walk has been active for ``idle_exit_s``.

    ``resume_segment``: a walk already active when this process picks it up starts a new
    track segment (the service was restarted after a kill). Returns counters (raw fixes,
    points written) for logs and tests.
    """
    stop = stop or threading.Event()
    store = Store(data_dir)
    if track_filter is None:
        import protocols

        track_filter = TrackFilter.from_protocol(protocols.load("line_transect"))
    recorder = WalkRecorder(store, provider, track_filter)
    recorder.listen()
    idle = 0.0
    picked_up: set[str] = set()
    try:
        while not stop.is_set():
            walk = store.active_walk()
            if walk is not None and walk["status"] == "active":
                idle = 0.0
                if not recorder.running or recorder.walk_id != walk["id"]:
                    if resume_segment and walk["id"] not in picked_up:
                        _new_segment(store, walk["id"])
                    picked_up.add(walk["id"])
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


def _new_segment(store: Store, walk_id: str) -> None:
    # Only the segment: the status is the UI's to change (a pause made meanwhile must stay a pause).
    with store._tx() as db:
        db.execute("UPDATE walks SET segment=segment+1 WHERE id=? AND status='active'", (walk_id,))


def main(environ=None, autoclass=None, provider: LocationProvider | None = None, **run_kw) -> dict:
    """Service entry point on Android: find the app's store, record its active walk, exit when none.

    The app passes its data folder as the argument; after Android kills and restarts the
    sticky service the argument is empty, so the folder is found from the service's own
    Context (see :func:`mobile.platform.android_env.service_data_dir`). A walk found active
    then continues in a new track segment: the gap while the service was dead is not walked
    distance. ``environ``, ``autoclass`` and ``provider`` are for the desktop tests.
    """
    from mobile.platform.android_env import NoStore, service_data_dir

    environ = os.environ if environ is None else environ
    if autoclass is None:
        from jnius import autoclass as jnius_autoclass  # lazy: only inside the Android service process

        autoclass = jnius_autoclass
    service = autoclass("org.kivy.android.PythonService").mService
    try:
        data_dir = service_data_dir(environ.get("PYTHON_SERVICE_ARGUMENT"), environ, service)
    except NoStore as exc:
        # Nothing to record into: stop for good (no restart loop, no empty database anywhere).
        print(f"saola gps service: {exc}; stopping", flush=True)
        service.setAutoRestartService(False)
        service.stopSelf()
        return {"raw_fixes": 0, "points": 0, "data_dir": None}
    if provider is None:
        from mobile.location import PlyerGPSProvider

        provider = PlyerGPSProvider(min_time_ms=1000, min_distance_m=0)
    # Restart the service if Android kills it mid-walk; it exits by itself when the walk ends.
    service.setAutoRestartService(True)
    result = run(str(data_dir), provider, resume_segment=True, **run_kw)
    service.setAutoRestartService(False)
    return {**result, "data_dir": str(data_dir)}


if __name__ == "__main__":
    main()
