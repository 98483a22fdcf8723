"""`saola serve` is a real WSGI server answering the API (SQLite file and PostgreSQL)."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

SAOLA = str(Path(sys.executable).with_name("saola"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_openapi(db_url, tmp_path):
    env = {**os.environ, "SAOLA_DATA_DIR": str(tmp_path), "SAOLA_DATABASE_URL": db_url,
           "SAOLA_SECRET_KEY": "k" * 32}
    port = free_port()
    proc = subprocess.Popen([SAOLA, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=2) as r:
                    doc = json.load(r)
                break
            except OSError as e:
                if time.time() > deadline or proc.poll() is not None:
                    raise AssertionError(proc.stdout.read().decode() if proc.poll() is not None else "timeout") from e
                time.sleep(0.3)
        assert doc["info"]["title"] == "Saola API" and "/api/v1/deployments" in doc["paths"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=5) as r:
            assert json.load(r)["status"] == "ok"  # with the free disk space beside it
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/areas")
        try:
            urllib.request.urlopen(req, timeout=5)
            raise AssertionError("unauthenticated request succeeded")
        except urllib.error.HTTPError as e:
            e.close()
            assert e.code == 401
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=5) as r:
            # No Server header naming the software (waitress adds one unless its ident is empty),
            # and the security headers reach the client through the real WSGI server.
            assert r.headers["Server"] is None
            assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
            assert r.headers["X-Content-Type-Options"] == "nosniff"
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
