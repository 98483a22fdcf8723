"""An S3-compatible server for the tests: moto's server mode, a separate process speaking the S3
REST protocol over real HTTP on 127.0.0.1 (boto3 and presigned links reach it as they would MinIO
or AWS). It is an emulator: see the README's "Media in object storage" for what that leaves unverified.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass

KEY_ID, SECRET = "saola-test-key", "saola-test-secret"


@dataclass
class S3Server:
    """A running server: its endpoint and a fresh bucket name per call of :meth:`bucket`."""

    endpoint: str
    proc: subprocess.Popen

    def config(self, url: str) -> dict:
        """Saola settings that put the media at ``url`` on this server."""
        return {"MEDIA_URL": url, "S3_ENDPOINT_URL": self.endpoint, "S3_ACCESS_KEY_ID": KEY_ID,
                "S3_SECRET_ACCESS_KEY": SECRET, "S3_REGION": "us-east-1", "S3_PART_MB": 5}

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client("s3", endpoint_url=self.endpoint, aws_access_key_id=KEY_ID,
                                              aws_secret_access_key=SECRET, region_name="us-east-1",
                                              config=Config(s3={"addressing_style": "path"}))

    def bucket(self) -> str:
        name = f"saola-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start() -> S3Server:
    """Start moto's S3 server in its own process and wait until it answers."""
    port = _free_port()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=2).read()
            return S3Server(endpoint, proc)
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("moto's S3 server did not start") from None
            time.sleep(0.2)


def stop(server: S3Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()
