"""The Celery path against the real Redis on 127.0.0.1:6379, with real worker processes.

Each test session takes a Redis database of its own (a lock key set with NX
in databases 15, 14, ...), so parallel runs never share a queue, and empties
it at the end. Workers are ``saola worker --celery`` subprocesses in their own
process group, killed in ``finally`` whatever happens.
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.redis, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
LEASE_S = 2
LOCK = "saola-test-lock"


@pytest.fixture(scope="session")
def broker_url():
    import redis

    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    try:
        redis.Redis(host="127.0.0.1", port=6379).ping()
    except redis.RedisError as e:
        pytest.fail(f"Redis at 127.0.0.1:6379 is not usable: {e}")
    for n in range(15, 0, -1):
        conn = redis.Redis(host="127.0.0.1", port=6379, db=n)
        if conn.set(LOCK, token, nx=True, ex=3600):
            break
        conn.close()
    else:
        pytest.fail("no free Redis database (1-15) for the Celery tests")
    try:
        for key in conn.scan_iter():  # leftovers of a crashed run
            if key != LOCK.encode():
                conn.delete(key)
        yield f"redis://127.0.0.1:6379/{n}"
    finally:
        conn.flushdb()
        conn.close()


@pytest.fixture
def workers(app, broker_url, tmp_path, monkeypatch):
    """Start ``saola worker --celery`` processes on the test database; all killed at the end."""
    from server.jobs import celery_app

    monkeypatch.setattr(celery_app, "_cfg", dict(celery_app._cfg))
    celery_app.configure({"BROKER_URL": broker_url})  # this process publishes to the test broker
    env = {**os.environ, "SAOLA_WORKER": "celery", "SAOLA_BROKER_URL": broker_url,
           "SAOLA_DATABASE_URL": app.config["DATABASE_URL"], "SAOLA_DATA_DIR": app.config["DATA_DIR"],
           "SAOLA_SECRET_KEY": "test-secret", "SAOLA_JOB_LEASE_S": str(LEASE_S), "SAOLA_LOG_LEVEL": "INFO",
           "PYTHONPATH": str(REPO)}
    started: list[tuple[subprocess.Popen, Path]] = []

    def start() -> subprocess.Popen:
        log = tmp_path / f"worker{len(started)}.log"
        with open(log, "wb") as out:
            p = subprocess.Popen([sys.executable, "-m", "server.cli", "worker", "--celery", "--threads", "1"],
                                 cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        started.append((p, log))
        deadline = time.monotonic() + 90
        while b" ready." not in log.read_bytes():
            if p.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Celery worker did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)
        return p

    def kill(p: subprocess.Popen) -> None:
        try:
            os.killpg(p.pid, signal.SIGKILL)  # the worker and its pool process, like a machine dying
        except ProcessLookupError:
            pass
        p.wait(30)

    start.kill = kill
    start.logs = lambda: "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-2000:]}"
                                   for _, log in started)
    try:
        yield start
    finally:
        for p, _ in started:
            kill(p)


def _job(app, job_id):
    from server.db import session_scope
    from server.models import Job

    with session_scope(app.config["DATABASE_URL"]) as s:
        return s.get(Job, job_id)


def _wait(app, job_id, until, workers, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = _job(app, job_id)
        if until(job):
            return job
        time.sleep(0.1)
    job = _job(app, job_id)
    pytest.fail(f"job {job_id} stuck at {job.status} {job.progress_done}/{job.progress_total} "
                f"attempts {job.attempts} error {job.error}\n{workers.logs()}")


def _enqueue(app, kind, params):
    from server.db import session_scope
    from server.jobs import enqueue

    with session_scope(app.config["DATABASE_URL"]) as s:
        return enqueue(s, kind, params).id  # the test app has no dispatcher: nothing is published yet


def test_killed_worker_job_is_finished_by_another_worker(app, workers):
    from server.jobs.celery_app import publish

    job_id = _enqueue(app, "diagnostic.sleep", {"steps": 10, "step_s": 0.4})
    publish(job_id)
    first = workers()
    _wait(app, job_id, lambda j: j.status == "running" and j.progress_done >= 1, workers)
    workers.kill(first)  # SIGKILL mid-job: no clean-up, the message stays unacknowledged
    killed_at = _job(app, job_id)
    assert killed_at.status == "running" and killed_at.progress_done < 10
    workers()
    job = _wait(app, job_id, lambda j: j.status in ("done", "failed"), workers)
    assert job.status == "done", job.error
    assert job.attempts == 2 and job.result == {"slept_steps": 10}
    assert (job.progress_done, job.progress_total) == (10, 10) and job.lease_owner is None


def test_detect_job_on_celery_with_lost_message_and_bad_image(app, world, workers, tmp_path):
    sys.path.insert(0, str(REPO / "tests" / "server" / "detect"))
    try:
        from detect_helpers import add_media, constant_detector, jpeg_bytes, register_model, setup_deployment
    finally:
        sys.path.pop(0)
    from server.db import session_scope
    from server.models import Detection
    from sqlmodel import select

    area, _program, dep = setup_deployment(world)
    register_model(app, constant_detector(tmp_path / "md.onnx"), "md_test", "1.0")
    good = add_media(app, dep, "IMG_0001.JPG", jpeg_bytes(seed=1))
    bad = add_media(app, dep, "IMG_0002.JPG", b"\xff\xd8 not really a jpeg")
    # Queued but never published (as if the broker was down): the workers' reaper sends it again.
    job_id = _enqueue(app, "detect", {"deployment_id": dep, "model": "md_test"})
    workers()
    job = _wait(app, job_id, lambda j: j.status in ("done", "failed"), workers)
    assert job.status == "done", job.error
    assert job.result["processed"] == 1 and job.result["failed"] == 1
    assert [f["item"] for f in job.failures] == [bad] and "Failure image access" in job.failures[0]["error"]
    with session_scope(app.config["DATABASE_URL"]) as s:
        cats = sorted(d.category for d in s.exec(select(Detection).where(Detection.media_id == good)))
    assert cats == ["animal", "person"]
