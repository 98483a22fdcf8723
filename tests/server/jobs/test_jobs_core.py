"""The job system without a broker: drain, retries, permanent failures, cancel, leases, reaper, workers."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlmodel import select


@pytest.fixture
def jobs(app, monkeypatch):
    """Helpers around the app's database, with test job kinds registered for this test only."""
    from server.db import session_scope
    from server.jobs import core

    calls: dict[str, int] = {}
    published: list[str] = []
    monkeypatch.setattr(core, "_dispatchers", [published.append])

    def flaky(ctx):
        calls[ctx.job_id] = calls.get(ctx.job_id, 0) + 1
        if calls[ctx.job_id] <= ctx.params.get("fail_times", 0):
            raise RuntimeError(f"boom {calls[ctx.job_id]}")
        for i, item in enumerate(ctx.params.get("items", [])):
            if item.startswith("bad"):
                ctx.fail_item(item, f"{item}: unreadable")
            ctx.progress(i + 1, len(ctx.params["items"]))
        return {"calls": calls[ctx.job_id]}

    def permanent(ctx):
        raise core.JobFailed("model file md.onnx no longer matches its recorded SHA-256")

    def interrupted(ctx):
        # Something else changes the job while it runs: cancelled by a user, or handed to another worker.
        with ctx.session() as s:
            job = s.get(core.Job, ctx.job_id)
            if ctx.params["how"] == "cancel":
                job.status = "cancelled"
            else:
                job.lease_owner = "other-host:1:1"
            s.add(job)
        ctx.progress(1, 2)
        raise AssertionError("progress() should have stopped the handler")

    for kind, fn in (("test.flaky", flaky), ("test.permanent", permanent), ("test.interrupted", interrupted)):
        monkeypatch.setitem(core.HANDLERS, kind, fn)

    class J:
        config = app.config

        def add(self, kind, params=None, **kw):
            with session_scope(app.config["DATABASE_URL"]) as s:
                return core.enqueue(s, kind, params or {}, **kw).id

        def get(self, job_id):
            with session_scope(app.config["DATABASE_URL"]) as s:
                return s.get(core.Job, job_id)

        def set(self, job_id, **fields):
            with session_scope(app.config["DATABASE_URL"]) as s:
                job = s.get(core.Job, job_id)
                for k, v in fields.items():
                    setattr(job, k, v)
                s.add(job)

    j = J()
    j.calls, j.published = calls, published
    return j


def test_handlers_load_at_the_first_job_not_with_the_app(tmp_path):
    """Commands start without every feature's handler modules (detector, sound analysis, numpy...);
    the first job of a kind nobody imported yet loads them all, so queueing and running still work."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys\nfrom server import create_app\nfrom server.db import session_scope\n"
            "from server.jobs import core\n"
            f"app = create_app({{'DATA_DIR': {str(tmp_path)!r}, 'WORKER': 'external'}}, web=False)\n"
            "from server.migrate import upgrade\nupgrade(app.config['DATABASE_URL'])\n"
            "print('BEFORE', sorted(m for m in ('server.jobs.handlers', 'server.detect.jobs', 'numpy') "
            "if m in sys.modules))\n"
            "with session_scope(app.config['DATABASE_URL']) as s:\n"
            "    job = core.enqueue(s, 'diagnostic.sleep', {'steps': 1, 'step_s': 0}, commit=False)\n"
            "    s.flush()\n    jid = job.id\n"
            "print('AFTER', 'server.detect.jobs' in sys.modules, core.run_job(jid, app.config))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[3], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "BEFORE []" in out.stdout and "AFTER True done" in out.stdout, out.stdout


def test_enqueue_unknown_kind(app):
    from server.db import session_scope
    from server.jobs import enqueue

    with session_scope(app.config["DATABASE_URL"]) as s, pytest.raises(ValueError, match="unknown job kind 'nope'"):
        enqueue(s, "nope", {})


def test_drain_runs_jobs_in_order_and_records_progress(jobs):
    from server.jobs import drain

    first = jobs.add("diagnostic.sleep", {"steps": 3, "step_s": 0.01})
    second = jobs.add("test.flaky", {"items": ["a", "bad1", "c"]})
    assert jobs.published == [first, second]  # dispatched when committed
    assert drain(jobs.config) == 2
    j1, j2 = jobs.get(first), jobs.get(second)
    assert (j1.status, j1.progress_done, j1.progress_total, j1.result) == ("done", 3, 3, {"slept_steps": 3})
    assert j1.started_at <= j1.finished_at and j1.lease_owner is None and j1.attempts == 1
    assert j2.status == "done" and j2.failures == [{"item": "bad1", "error": "bad1: unreadable"}]
    assert drain(jobs.config) == 0


def test_failed_jobs_are_retried_then_fail_with_the_error(jobs):
    from server.jobs import drain

    retried = jobs.add("test.flaky", {"fail_times": 1})
    hopeless = jobs.add("test.flaky", {"fail_times": 99}, max_attempts=2)
    drain(jobs.config)
    ok = jobs.get(retried)
    assert (ok.status, ok.attempts, ok.result, ok.error) == ("done", 2, {"calls": 2}, None)
    bad = jobs.get(hopeless)
    assert (bad.status, bad.attempts, bad.error) == ("failed", 2, "RuntimeError: boom 2")
    assert bad.finished_at is not None
    assert jobs.published.count(retried) == 2  # published again when requeued for its retry


def test_permanent_failure_is_not_retried(jobs):
    from server.jobs import drain

    job_id = jobs.add("test.permanent")
    assert drain(jobs.config) == 1
    job = jobs.get(job_id)
    assert (job.status, job.attempts) == ("failed", 1)
    assert job.error == "model file md.onnx no longer matches its recorded SHA-256"


@pytest.mark.parametrize("how, final", [("cancel", "cancelled"), ("steal", "running")])
def test_cancelled_or_stolen_job_stops_quietly(jobs, how, final):
    from server.jobs import drain

    job_id = jobs.add("test.interrupted", {"how": how})
    drain(jobs.config)
    job = jobs.get(job_id)
    assert job.status == final and job.error is None and job.result == {}
    if how == "steal":  # the other worker's claim is left alone
        assert job.lease_owner == "other-host:1:1"


def test_reaper_requeues_jobs_of_dead_workers_and_gives_up_after_max_attempts(jobs):
    from server.jobs import core
    from server.models import utcnow

    past, future = utcnow() - timedelta(seconds=5), utcnow() + timedelta(seconds=60)
    dead = jobs.add("diagnostic.sleep", {"steps": 1, "step_s": 0})
    exhausted = jobs.add("diagnostic.sleep", {"steps": 1, "step_s": 0})
    alive = jobs.add("diagnostic.sleep", {"steps": 1, "step_s": 0})
    jobs.published.clear()
    jobs.set(dead, status="running", attempts=1, lease_owner="gone:1:1", lease_expires_at=past)
    jobs.set(exhausted, status="running", attempts=3, lease_owner="gone:1:1", lease_expires_at=past)
    jobs.set(alive, status="running", attempts=1, lease_owner="busy:1:1", lease_expires_at=future)
    assert core.reap(jobs.config["DATABASE_URL"], 30) == [dead]
    assert jobs.published == [dead]
    j = jobs.get(dead)
    assert j.status == "queued" and j.lease_owner is None
    e = jobs.get(exhausted)
    assert e.status == "failed" and "lease expired" in e.error
    assert jobs.get(alive).status == "running"
    assert core.drain(jobs.config) == 1
    assert (jobs.get(dead).status, jobs.get(dead).attempts) == ("done", 2)


def test_jobs_whose_message_was_lost_are_published_again(jobs):
    from server.jobs import core
    from server.models import utcnow

    url = jobs.config["DATABASE_URL"]
    old = jobs.add("diagnostic.sleep")
    fresh = jobs.add("diagnostic.sleep")
    jobs.set(old, created_at=utcnow() - timedelta(hours=1))
    jobs.published.clear()
    assert core.republish_stale(url, 60) == [old] and jobs.published == [old]
    assert core.republish_stale(url, 60) == []  # not again within a lease
    jobs.set(old, lease_expires_at=utcnow() - timedelta(seconds=1))
    assert core.republish_stale(url, 60) == [old]
    assert jobs.get(fresh).lease_expires_at is None


def test_saola_worker_once_reaps_then_drains(runner, jobs):
    from server.models import utcnow

    stuck = jobs.add("diagnostic.sleep", {"steps": 1, "step_s": 0})
    jobs.set(stuck, status="running", attempts=1, lease_owner="gone:1:1",
             lease_expires_at=utcnow() - timedelta(seconds=1))
    jobs.add("diagnostic.sleep", {"steps": 2, "step_s": 0})
    res = runner.invoke(["worker", "--once"])
    assert res.exit_code == 0 and "ran 2 job(s)" in res.output
    assert jobs.get(stuck).status == "done"
    listing = runner.invoke(["jobs", "list", "--status", "done"]).output
    assert listing.count("diagnostic.sleep") == 2 and "1/1" in listing and "2/2" in listing


def test_polling_worker_threads_are_woken_by_new_jobs(jobs):
    from server.db import session_scope
    from server.jobs import core
    from server.jobs.worker import PollingWorker

    w = PollingWorker(jobs.config, threads=2, poll_s=30).start()  # long poll: only a wake-up runs them fast
    try:
        core._dispatchers[:] = [w.wake]
        ids = [jobs.add("diagnostic.sleep", {"steps": 2, "step_s": 0.05}) for _ in range(3)]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(jobs.get(i).status != "done" for i in ids):
            time.sleep(0.05)
        assert [jobs.get(i).status for i in ids] == ["done"] * 3
    finally:
        w.stop(5)
    assert not any(t.is_alive() for t in w._threads)
    with session_scope(jobs.config["DATABASE_URL"]) as s:
        assert len({j.attempts for j in s.exec(select(core.Job))}) == 1  # each ran exactly once


def test_concurrent_claims_never_run_a_job_twice(jobs):
    from server.jobs import core

    ids = [jobs.add("test.flaky") for _ in range(6)]
    ran: list[str] = []
    lock = threading.Lock()

    def work():
        while (job_id := core.run_next(jobs.config)) is not None:
            with lock:
                ran.append(job_id)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(ran) == sorted(ids)
    assert all(jobs.calls[i] == 1 for i in ids)


def test_job_api_cancel_needs_biologist(client, world, jobs):
    area = world.area()
    viewer = world.user("v", roles={area.id: "viewer"})
    bio = world.user("b", roles={area.id: "biologist"})
    job_id = jobs.add("diagnostic.sleep", area_id=area.id)
    assert client.post(f"/api/v1/jobs/{job_id}/cancel", headers=world.headers(viewer)).status_code == 403
    r = client.post(f"/api/v1/jobs/{job_id}/cancel", headers=world.headers(bio))
    assert r.status_code == 200 and r.json["status"] == "cancelled"
    from server.jobs import drain

    assert drain(jobs.config) == 0  # a cancelled job is never claimed
    r = client.get(f"/api/v1/jobs?area_id={area.id}&status=cancelled", headers=world.headers(viewer))
    assert [j["id"] for j in r.json["items"]] == [job_id]


def test_max_attempts_default_comes_from_the_setting(app, monkeypatch):
    from server.db import session_scope
    from server.jobs import enqueue

    app.config["JOB_MAX_ATTEMPTS"] = 5
    with app.app_context(), session_scope(app.config["DATABASE_URL"]) as s:
        assert enqueue(s, "diagnostic.sleep").max_attempts == 5
        assert enqueue(s, "diagnostic.sleep", max_attempts=1).max_attempts == 1
    monkeypatch.setenv("SAOLA_JOB_MAX_ATTEMPTS", "2")
    with session_scope(app.config["DATABASE_URL"]) as s:  # outside an app: the environment
        assert enqueue(s, "diagnostic.sleep").max_attempts == 2
