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
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

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


def saola_command() -> list[str]:
    """How to run ``saola`` from this test run's Python (the console script, or the module)."""
    return [SAOLA] if Path(SAOLA).exists() else [sys.executable, "-c", "from server.cli import main; main()"]


@contextmanager
def serving(env: dict, log_path: Path, cwd: Path, start_s: float = 120) -> Iterator[str]:
    """``saola serve`` on a free loopback port with ``env``, its output in ``log_path``; yields the base
    URL once the port accepts connections (up to ``start_s``: a loaded machine starts it slowly) and
    stops the process afterwards."""
    port = free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(saola_command() + ["serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                                cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + start_s
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError as e:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("saola serve did not start: " + log_path.read_text()[-2000:]) from e
                    time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
