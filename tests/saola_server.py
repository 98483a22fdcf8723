"""A real ``saola serve`` process on loopback for end-to-end tests (the sync client, the field app's UI).

It runs this checkout's code (PYTHONPATH) against the test's database URL (SQLite file or
PostgreSQL), so the test can check what the server stored through the ``world`` fixture.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

SAOLA = str(Path(sys.executable).with_name("saola"))


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``saola serve`` with its own data folder; ``start()`` waits for /api/v1/health."""

    def __init__(self, db_url, data_dir):
        self.port = free_port()
        self.env = {**os.environ, "SAOLA_DATABASE_URL": db_url, "SAOLA_DATA_DIR": str(data_dir),
                    "SAOLA_SECRET_KEY": "e2e-secret-key-0123456789abcdef", "SAOLA_WORKER": "external",
                    "SAOLA_THREADS": "4"}
        self.proc = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self):
        self.proc = subprocess.Popen([SAOLA, "serve", "--port", str(self.port)], env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if requests.get(self.url + "/api/v1/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.2)
        raise AssertionError("saola serve did not start")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
