"""Workers that poll the database: the in-process one (default) and `saola worker`."""
from __future__ import annotations

import logging
import threading
from typing import Any

from . import core

log = logging.getLogger("saola.jobs")


class PollingWorker:
    """Threads that run queued jobs, woken at once by new jobs and otherwise every ``poll_s``.

    Each poll also runs the lease reaper, so a job whose worker died is picked up again.
    """

    def __init__(self, config: dict[str, Any], threads: int = 1, poll_s: float = 2.0):
        self.config = dict(config)
        self.threads = max(1, threads)
        self.poll_s = poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def wake(self, _job_id: str | None = None) -> None:
        self._wake.set()

    def start(self) -> "PollingWorker":
        for i in range(self.threads):
            t = threading.Thread(target=self._loop, name=f"saola-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._wake.set()
        for t in self._threads:
            t.join(timeout)

    def run_forever(self) -> None:
        """Run in the calling thread (``saola worker``) until stopped."""
        self._loop()

    def _loop(self) -> None:
        url = self.config["DATABASE_URL"]
        while not self._stop.is_set():
            try:
                core.reap(url, int(self.config.get("JOB_LEASE_S", 300)))
                while not self._stop.is_set() and core.run_next(self.config) is not None:
                    pass
            except Exception:  # keep the worker alive; the job row records the failure
                log.exception("worker loop error")
            self._wake.wait(self.poll_s)
            self._wake.clear()
