"""Schemathesis against a real `saola serve`: every operation of the OpenAPI document,
as an admin, a ranger, a viewer and an anonymous client, on SQLite and PostgreSQL.

The server holds seeded data (areas, programs, deployments, photos with boxes, a
recording, alerts, a sync conflict, an upload, a job); the hooks in
schemathesis_hooks.py put the seeded ids into generated path and query
parameters. Budget: ``SAOLA_FUZZ_EXAMPLES`` (default 4) generated cases per
operation and role in the fuzzing phase, plus schemathesis's coverage phase
(the boundaries of every documented constraint), with a fixed seed. Asserted:
no 5xx, every answer's status code, content type and body as documented, and
invalid input refused with a 4xx.
"""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "web"))  # the web tests' data builders
from webdata import MiniWorld, Tablets, add_recording, build_review_data

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
MAX_EXAMPLES = int(os.environ.get("SAOLA_FUZZ_EXAMPLES", "4"))
SEED = int(os.environ.get("SAOLA_FUZZ_SEED", "17"))
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
          "negative_data_rejection")
# Role -> phases. The coverage phase (every documented boundary, ~50 cases per operation) does not
# depend on the role once signed in (input is validated before the role check), so one role runs it.
ROLES = {"anonymous": "examples,fuzzing", "viewer": "examples,fuzzing", "ranger": "examples,fuzzing",
         "admin": "examples,coverage,fuzzing"}  # admin last: it may delete what the others read

pytestmark = [pytest.mark.schemathesis, pytest.mark.slow]


def seed(app, client) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Data of every kind in the app's database; (role -> bearer token, parameter name -> seeded ids)."""
    from sqlmodel import select

    from server.auth.tokens import issue_token
    from server.db import session_scope
    from server.models import Alert, Job, Media, OperatingInterval, Upload, User

    world = MiniWorld(app)
    rd = build_review_data(app, world)
    with session_scope(app.config["DATABASE_URL"]) as s:  # a camera's local time, as ingest stores it
        for m in s.exec(select(Media)):
            m.captured_at_raw = m.captured_at.replace(tzinfo=None) + timedelta(hours=7)
    recording, sound = add_recording(app, world, rd)
    tabs = Tablets(client, world, rd)
    _oid, conflict_id = tabs.conflict()
    tokens = {}
    with session_scope(app.config["DATABASE_URL"]) as s:
        for role in ("admin", "ranger", "viewer"):
            tokens[role] = issue_token(s, s.get(User, rd.users[role].id), days=1)[0]
        s.add(Upload(sha256="0" * 64, size_bytes=10, user_id=rd.users["ranger"].id, file_name="a.jpg",
                     media_type="image/jpeg"))
        s.add(OperatingInterval(deployment_id=rd.deployment.id, start=rd.deployment.deployment_start,
                                end=rd.deployment.deployment_start, status="malfunction"))
        s.add(Job(kind="export", params={"format": "camtrap-dp", "program_id": rd.program.id}, area_id=rd.area.id,
                  created_by=rd.users["admin"].id))
        s.flush()
        first_media = next(iter(rd.media.values()))[0]
        ids = {
            "area_id": [rd.area.id, rd.other_area.id],
            "program_id": [rd.program.id, tabs.program.id],
            "deployment_id": [rd.deployment.id, rd.other_deployment.id],
            "location_id": [rd.deployment.location_id],
            "sequence_id": [rd.sequences[0].id, rd.sequences[2].id],
            "media_id": [first_media.id, recording.id],
            "detection_id": [rd.detections[first_media.id][0].id, sound.id],
            "taxon_id": [t.id for t in rd.taxa.values()],
            "user_id": [u.id for u in rd.users.values()],
            "alert_id": [a.id for a in s.exec(select(Alert))],
            "conflict_id": [conflict_id],
            "upload_id": [u.id for u in s.exec(select(Upload))],
            "job_id": [j.id for j in s.exec(select(Job))],
            "interval_id": [i.id for i in s.exec(select(OperatingInterval))],
        }
    return tokens, ids


class Server:
    """`saola serve` on a free port over the test's database and data folder."""

    def __init__(self, app):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        env = {**os.environ, "SAOLA_DATA_DIR": app.config["DATA_DIR"], "SAOLA_DATABASE_URL": app.config["DATABASE_URL"],
               "SAOLA_SECRET_KEY": app.config["SECRET_KEY"], "SAOLA_WORKER": "external"}
        self.log = open(Path(app.config["DATA_DIR"]).parent / "serve.log", "w+b")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen([str(BIN / "saola"), "serve", "--port", str(self.port)], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}/api/v1/openapi.json"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(self.url, timeout=5):
                    return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    out = self.output()
                    self.stop()
                    raise AssertionError(f"saola serve did not start:\n{out}") from None
                time.sleep(0.2)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-20000:]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()


def run_schemathesis(url: str, token: str | None, phases: str, ids: dict, report: Path) -> subprocess.CompletedProcess:
    cmd = [str(BIN / "st"), "run", url, "--checks", CHECKS, "--max-examples", str(MAX_EXAMPLES),
           "--seed", str(SEED), "--phases", phases, "--workers", "1", "--no-shrink",
           "--suppress-health-check", "all", "--request-timeout", "60", "--warnings", "off",
           "--report", "junit", "--report-junit-path", str(report)]
    if token:
        cmd += ["--header", f"Authorization: Bearer {token}"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HERE / "schemathesis_hooks.py"),
           "SAOLA_FUZZ_IDS": json.dumps(ids), "NO_COLOR": "1"}
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800, check=False, cwd=report.parent)


def test_schemathesis_finds_no_server_error_or_schema_violation(app, client, tmp_path):
    tokens, ids = seed(app, client)
    server = Server(app)
    try:
        failed = []
        for role, phases in ROLES.items():
            res = run_schemathesis(server.url, tokens.get(role), phases, ids, tmp_path / f"{role}.xml")
            cases = re.search(r"(\d+) generated", res.stdout)
            print(f"schemathesis as {role}: {cases.group(1) if cases else '?'} cases ({phases}), exit {res.returncode}")
            if res.returncode != 0:
                failed.append(f"==== as {role} (exit {res.returncode})\n{res.stdout[-30000:]}\n{res.stderr[-3000:]}")
        log = server.output()
    finally:
        server.stop()
    assert not failed, "\n".join(failed) + f"\n==== server log\n{log}"
