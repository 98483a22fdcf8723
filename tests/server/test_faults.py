"""Crashes and full disks (issue 17, finding 11).

- kill -9 during an upload left its staged files in DATA_DIR/incoming for ever;
- kill -9 of an ingest left its pool worker processes running as orphans;
- a full disk gave a generic 500 on sync push and sign-in while /health said 200.
"""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from server.dberrors import is_disk_full
from signin import sign_in

REPO = Path(__file__).resolve().parents[2]


class Child:
    """A Python subprocess running ``script``, whose output lines are awaited (select, never sleep)."""

    def __init__(self, script: str, *args: str):
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, stdin=subprocess.PIPE, env=env, cwd=str(REPO))
        self.pid = self.proc.pid
        self._buf = b""

    def line(self, timeout: float = 120) -> str:
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            ready, _, _ = select.select([fd], [], [], timeout)
            assert ready, f"no output from the child in {timeout} s"
            chunk = os.read(fd, 4096)
            assert chunk, f"the child ended: {self.proc.wait()} {self.proc.stderr.read()[-2000:]!r}"
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode().strip()

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def __enter__(self) -> "Child":
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            f.close()


# ---- staged uploads ------------------------------------------------------------------------
_STAGE_AND_HANG = """
    import sys
    from server.staging import staging_dir

    with staging_dir(sys.argv[1]) as d:
        (d / "000000").mkdir()
        (d / "000000" / "IMG_0001.JPG").write_bytes(b"photo" * 1000)
        print(d, flush=True)
        sys.stdin.read()  # until killed
"""


def test_staged_upload_of_a_killed_process_is_removed_at_startup(app_config, tmp_path):
    from server import create_app

    data = Path(app_config["DATA_DIR"])
    with Child(_STAGE_AND_HANG, str(data)) as child:
        staged = Path(child.line())
        assert staged.parent == data / "incoming" and staged.is_dir()
        child.kill9()  # kill -9 in the middle of an upload
    assert staged.is_dir()  # what the probe found: left behind
    create_app(app_config)
    assert not staged.exists()


def test_staged_upload_of_a_killed_process_is_removed_before_the_next_upload(app, client, world):
    area = world.area()
    dep = world.deployment(world.program(area.id))
    h = world.headers(world.user("lan", roles={area.id: "ranger"}))
    with Child(_STAGE_AND_HANG, app.config["DATA_DIR"]) as child:
        staged = Path(child.line())
        child.kill9()
    import io

    r = client.post(f"/api/v1/deployments/{dep.id}/media", headers=h, content_type="multipart/form-data",
                    data={"files": (io.BytesIO(b"not media"), "notes.txt")})
    assert r.status_code in (200, 201), r.get_data(as_text=True)[:300]
    assert not staged.exists()
    assert list((Path(app.config["DATA_DIR"]) / "incoming").iterdir()) == []  # and its own is gone too


def test_a_folder_in_use_is_never_removed(tmp_path):
    from server.staging import clean_stale, staging_dir

    with staging_dir(tmp_path) as d:
        (d / "file").write_bytes(b"x")
        assert clean_stale(tmp_path) == 0 and d.is_dir()
    assert not d.exists()
    # A folder without a lock (an older version's, or one being made) is kept until it is an hour old.
    legacy = tmp_path / "incoming" / uuid.uuid4().hex
    legacy.mkdir()
    assert clean_stale(tmp_path) == 0 and legacy.is_dir()
    old = legacy.stat().st_mtime - 2 * 3600
    os.utime(legacy, (old, old))
    assert clean_stale(tmp_path) == 1 and not legacy.exists()


# ---- orphaned ingest workers ---------------------------------------------------------------
_INGEST_AND_HANG = """
    import os, sys, threading
    from pathlib import Path

    sys.path.insert(0, sys.argv[2])
    from ingest_helpers import jpeg_bytes
    from server.ingest import pipeline, process
    from server.ingest.sources import scan

    card = Path(sys.argv[1])
    for i in range(12):
        (card / f"IMG_{i:04d}.JPG").write_bytes(jpeg_bytes(color=(i * 20, 9, 9)))
    roots = process.StoreRoots(str(card.parent / "media"), str(card.parent / "derivatives"))

    def hang(src):  # a worker busy with a big file when its parent is killed
        os.write(1, f"worker {os.getpid()}\\n".encode())  # one write: the workers share the pipe
        threading.Event().wait()

    process.work = hang  # inherited by the forked workers
    sources, _ = scan(card)
    os.write(1, f"parent {os.getpid()}\\n".encode())
    for _ in pipeline._results(sources, roots, workers=2):
        pass
"""


def _wait_exit(pid: int, timeout: float) -> bool:
    """True once process ``pid`` (not our child) has exited; waits on a pidfd, no polling."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        return bool(ready)
    finally:
        os.close(fd)


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="needs Linux pidfd_open to await another's child")
def test_ingest_workers_die_with_a_killed_parent(tmp_path):
    card = tmp_path / "card"
    card.mkdir()
    workers: list[int] = []
    try:
        with Child(_INGEST_AND_HANG, str(card), str(REPO / "tests" / "server" / "ingest")) as child:
            seen: dict[str, list[int]] = {}
            while len(workers) < 2:
                kind, pid = child.line().split()
                seen.setdefault(kind, []).append(int(pid))
                workers = seen.get("worker", [])
            assert seen["parent"] == [child.pid]
            child.kill9()  # kill -9 of the ingest process
        survivors = [pid for pid in workers if not _wait_exit(pid, 20)]
        assert survivors == [], "pool workers outlived their killed parent"
    finally:
        for pid in workers:  # never leave orphans behind, even when the test fails
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


# ---- full disks ----------------------------------------------------------------------------
_FULL_TABLES = ("device_token", "login_throttle", "field_observation", "survey_walk", "sync_change",
                "sync_mutation", "audit_log")


@contextmanager
def full_disk(url: str):
    """Make every write to the tables of sign-in and sync fail as on a full disk.

    PostgreSQL raises its own ``disk_full`` error (SQLSTATE 53100) from a trigger;
    SQLite's trigger fails with the text of SQLITE_FULL ("database or disk is full").
    A real SQLITE_FULL is checked in test_a_real_sqlite_full_is_recognised.
    """
    eng = create_engine(url)
    with eng.begin() as c:
        if url.startswith("postgresql"):
            c.execute(text("CREATE OR REPLACE FUNCTION saola_test_disk_full() RETURNS trigger AS $$ BEGIN "
                           "RAISE EXCEPTION 'could not extend file: No space left on device' "
                           "USING ERRCODE = 'disk_full'; END $$ LANGUAGE plpgsql"))
            for t in _FULL_TABLES:
                c.execute(text(f'CREATE TRIGGER saola_full_{t} BEFORE INSERT OR UPDATE OR DELETE ON "{t}" '
                               "FOR EACH ROW EXECUTE FUNCTION saola_test_disk_full()"))
        else:
            for t in _FULL_TABLES:
                for ev in ("INSERT", "UPDATE", "DELETE"):
                    c.execute(text(f'CREATE TRIGGER saola_full_{t}_{ev.lower()} BEFORE {ev} ON "{t}" '
                                   "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"))
    try:
        yield
    finally:
        with eng.begin() as c:
            for t in _FULL_TABLES:
                if url.startswith("postgresql"):
                    c.execute(text(f'DROP TRIGGER IF EXISTS saola_full_{t} ON "{t}"'))
                else:
                    for ev in ("insert", "update", "delete"):
                        c.execute(text(f"DROP TRIGGER IF EXISTS saola_full_{t}_{ev}"))
        eng.dispose()


def _assert_507(r):
    assert r.status_code == 507, r.get_data(as_text=True)[:500]
    err = r.json["error"]
    assert err["code"] == "insufficient_storage" and "disk is full" in err["message"]
    for internal in ("Traceback", "sqlite", "psycopg", "trigger", "SQL"):
        assert internal not in err["message"]


def test_sign_in_on_a_full_disk_answers_507(app, client, world, db_url):
    area = world.area()
    world.user("lan", roles={area.id: "ranger"})
    with full_disk(db_url):
        _assert_507(client.post("/api/v1/auth/token", json={"username": "lan", "password": "password123"}))
        _assert_507(client.post("/api/v1/auth/device", json={"username": "lan", "password": "password123",
                                                              "device_id": "tab-1"}))
        r = sign_in(client, "lan")
        assert r.status_code in (302, 507), r.status_code  # never a bare 500
    assert client.post("/api/v1/auth/token", json={"username": "lan", "password": "password123"}).status_code == 201


def test_sync_push_on_a_full_disk_answers_507_and_rejects_nothing(app, client, world, db_url):
    from sqlmodel import select

    from server.models import SurveyWalk

    area = world.area()
    program = world.program(area.id, "Transects", protocol="line-transect")
    ranger = world.user("lan", roles={area.id: "ranger"})
    h = world.headers(ranger)
    walk = {"protocol": "line_transect@1.0", "record_type": "walk", "program_id": program.id,
            "recorded_at": "2026-03-01T00:00:00Z",
            "data": {"transect_id": "T1", "start_time": "2026-03-01T07:00:00+07:00", "observers": ["Lan"],
                     "weather": "clear"}}
    mutation = {"mutation_id": str(uuid.uuid4()), "entity": "walk", "record_id": str(uuid.uuid4()), "op": "create",
                "base_revision": 0, "data": walk, "device_time": "2026-03-01T00:31:00Z", "gps_time": None}
    body = {"protocol_version": "1.0", "mutations": [mutation]}
    with full_disk(db_url):
        _assert_507(client.post("/api/v1/sync/push", json=body, headers=h))
    with world.session() as s:
        assert s.exec(select(SurveyWalk)).all() == []  # nothing half-written
    r = client.post("/api/v1/sync/push", json=body, headers=h)  # the device retries once space is back
    assert r.status_code == 200 and r.json["results"][0]["status"] == "applied", r.json
    with world.session() as s:
        assert len(s.exec(select(SurveyWalk)).all()) == 1


def test_a_real_sqlite_full_is_recognised(tmp_path):
    """SQLITE_FULL from a database that may not grow (PRAGMA max_page_count), through SQLAlchemy."""
    from sqlalchemy.exc import OperationalError

    eng = create_engine(f"sqlite:///{tmp_path / 'full.db'}")
    with pytest.raises(OperationalError) as info:
        with eng.begin() as c:
            c.execute(text("CREATE TABLE t (x TEXT)"))
            pages = c.execute(text("PRAGMA page_count")).scalar()
            c.execute(text(f"PRAGMA max_page_count = {pages}"))
            for _ in range(200):
                c.execute(text("INSERT INTO t VALUES (:x)"), {"x": "x" * 4000})
    eng.dispose()
    assert is_disk_full(info.value)
    assert is_disk_full(OSError(28, "No space left on device"))
    assert not is_disk_full(OSError(13, "Permission denied"))


# ---- /health -------------------------------------------------------------------------------
def test_health_reports_free_space(client):
    r = client.get("/api/v1/health")
    assert r.status_code == 200 and r.json["status"] == "ok"
    assert r.json["disk"]["data_dir_free_mb"] > 0 and r.json["disk"]["media_dir_free_mb"] > 0


def test_health_degrades_below_the_free_space_threshold(app, client):
    app.config["MIN_FREE_MB"] = 1 << 40  # more than any disk has
    r = client.get("/api/v1/health")
    assert r.status_code == 503 and r.json["status"] == "degraded"
    assert any("DATA_DIR has" in p for p in r.json["problems"])
    assert any("MEDIA_DIR has" in p for p in r.json["problems"])


def test_the_app_keeps_syncing_with_a_degraded_server():
    """A degraded server (low disk) is still reachable for the tablet; a push it cannot store answers 507."""
    from mobile.sync import AutoSync

    class Resp:
        def __init__(self, code, body):
            self.status_code, self._body, self.headers = code, body, {"Content-Type": "application/json"}

        def json(self):
            return self._body

    class Client:
        server = "http://saola"

        class session:
            answer = Resp(503, {"status": "degraded"})

            @classmethod
            def get(cls, url, timeout):
                return cls.answer

    auto = AutoSync(Client())
    assert auto._health() is True
    Client.session.answer = Resp(503, {"error": {"code": "service_unavailable"}})
    assert auto._health() is False
