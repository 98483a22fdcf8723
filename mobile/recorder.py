"""Walk recording without a GUI: provider -> track filter -> store, plus the latest fix.

The desktop app, the Android foreground service (mobile/service/gps.py) and
the tests all record walks through this class, so the logic that decides
what lands in the track is tested once, headless.

Listening (the receiver is on, ``last_fix`` is fresh for forms) is separate
from recording (fixes become track points of a walk).
"""
from __future__ import annotations

import threading

from .location import Fix, LocationProvider, TrackFilter
from .store import Store, StoreError


class WalkRecorder:
    """Feeds filtered fixes of ``provider`` into ``store`` as track points of a walk."""

    def __init__(self, store: Store, provider: LocationProvider, track_filter: TrackFilter | None = None,
                 on_point=None, on_status=None):
        self.store = store
        self.provider = provider
        self.filter = track_filter or TrackFilter()
        self.on_point = on_point
        self.on_status = on_status
        self.walk_id: str | None = None
        self.last_fix: Fix | None = None
        self.raw_fixes = 0
        self._lock = threading.Lock()
        self._listening = False
        self._recording = False

    @property
    def running(self) -> bool:
        """True while fixes are recorded into a walk."""
        return self._recording

    @property
    def listening(self) -> bool:
        """True while the provider is on."""
        return self._listening

    def listen(self) -> None:
        """Turn the provider on (idempotent)."""
        with self._lock:
            if self._listening:
                return
            self._listening = True
        self.provider.start(self._on_fix, self.on_status)

    def start(self, walk_id: str) -> None:
        """Record into ``walk_id`` with a fresh warm-up (the receiver was off, paused, or the app restarted)."""
        with self._lock:
            self.walk_id = walk_id
            self.filter.restart()
            self._recording = True
        self.listen()

    def stop(self) -> None:
        """Stop recording into the walk (pause or stop); the provider stays on for forms."""
        with self._lock:
            self._recording = False

    def shutdown(self) -> None:
        """Stop recording and turn the provider off."""
        with self._lock:
            self._recording = False
            listening, self._listening = self._listening, False
        if listening:
            self.provider.stop()

    def _on_fix(self, fix: Fix) -> None:
        with self._lock:
            self.raw_fixes += 1
            self.last_fix = fix
            if not self._recording or self.walk_id is None or not self.filter.accept(fix):
                return
            try:
                seq = self.store.add_track_point(self.walk_id, fix.lat, fix.lon, fix.t, fix.accuracy_m, fix.altitude_m)
            except StoreError:
                # The walk was paused or stopped (e.g. by the other process)
                # between the check and the write: the fix is not part of it.
                return
        if self.on_point:
            self.on_point(fix, seq)

    def current_location(self) -> dict | None:
        """The latest fix as a protocol geopoint {lat, lon, accuracy_m}, for a new record."""
        f = self.last_fix
        if f is None:
            return None
        return {"lat": round(f.lat, 7), "lon": round(f.lon, 7), "accuracy_m": f.accuracy_m}

    def clock(self) -> float:
        """Now, on the clock fixes are stamped with (seconds since the epoch)."""
        import time

        return time.time()

    def gps_time(self) -> str | None:
        """ISO time of the latest fix (the outbox's gps_time), or None."""
        return self.last_fix.time_iso if self.last_fix else None
