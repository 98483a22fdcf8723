"""Crash safety: a process killed mid-walk loses nothing, and the walk resumes.

SIGKILL gives the process no chance to flush or close anything, like Android
killing the app or the battery dying (for the OS; power loss is covered by
synchronous=FULL, which this test cannot simulate).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from mobile_runner import HERE, REPO, run_scenario, scenario_env


def _kill_when(proc, predicate, timeout=90):
    """Read the child's PROGRESS lines until ``predicate(fields)``; SIGKILL it; return the last fields."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("PROGRESS "):
            last = line.split()[1:]
            if predicate(last):
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
                proc.stdout.close()
                return last
    proc.kill()
    out, err = proc.communicate(timeout=10)
    pytest.fail(f"child never reached the kill point (last {last}); stderr:\n{err[-4000:]}")


@pytest.mark.slow
def test_app_killed_mid_walk_resumes_with_everything(tmp_path, artifacts):
    proc = subprocess.Popen([sys.executable, str(HERE / "scenario_crash.py"), "record", str(tmp_path)],
                            cwd=REPO, env=scenario_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    points, n_obs, walk_id = _kill_when(proc, lambda f: int(f[0]) >= 8)
    assert proc.returncode == -signal.SIGKILL
    r = run_scenario(tmp_path, "scenario_crash.py", "resume", str(tmp_path), str(artifacts))
    assert r["screen"] == "walk"
    assert r["message"] == "Đã tiếp tục lượt đi tuyến sau khi khởi động lại"
    assert r["walk"]["id"] == walk_id and r["walk"]["status"] == "active"
    # Every point the killed process reported committed is there (it may have written one more).
    assert r["walk"]["point_count"] >= int(points)
    assert r["walk"]["segment"] == 1  # a new segment: the gap is not walked distance
    assert sorted(r["observations"]) == ["Muntiacus vuquangensis", "Nomascus leucogenys"] and int(n_obs) == 2
    assert r["recording"] is True
    assert r["points_after_resume"] > r["walk"]["point_count"]
    assert r["status_after_stop"] == "done"
    assert r["outbox_ops"] == [["walk", "create"], ["observation", "create"], ["observation", "create"],
                               ["walk", "update"]]
    assert r["integrity"] == "ok"


WRITER = textwrap.dedent("""
    import sys, time
    from mobile.store import Store
    s = Store(sys.argv[1])
    walk = s.start_walk("line_transect@1.0", {"transect_id": "T9", "observers": ["A"], "weather": "fog"})
    print("WALK", walk, flush=True)
    i = 0
    while True:
        s.add_track_point(walk, 16.0 + i * 1e-4, 107.0, time.time(), 5.0)
        if i % 5 == 0:
            rid = s.save_record("observation", "line_transect@1.0", "observation",
                                {"sign_type": "dung", "count": 1, "unidentified": True}, walk_id=walk)
            print("OBS", rid, flush=True)
        print("PROGRESS", i + 1, flush=True)
        i += 1
""")


def test_store_killed_while_writing_loses_no_acknowledged_write(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    walk_id, obs_ids, acked = None, [], 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        kind, value = line.split()
        if kind == "WALK":
            walk_id = value
        elif kind == "OBS":
            obs_ids.append(value)
        elif kind == "PROGRESS":
            acked = int(value)
            if acked >= 300:
                os.kill(proc.pid, signal.SIGKILL)
                break
    proc.wait(timeout=10)
    stderr = proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, stderr[-2000:]

    sys.path.insert(0, str(REPO))
    from mobile.store import Store

    s = Store(tmp_path)
    assert s._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    walk = s.active_walk()
    assert walk["id"] == walk_id and walk["status"] == "active"
    assert walk["point_count"] >= acked and len(s.track(walk_id)) == walk["point_count"]
    stored = {o["id"] for o in s.records("observation")}
    assert set(obs_ids) <= stored
    # Each saved record has exactly its mutation in the outbox (row and mutation share a transaction).
    outbox = s.outbox()
    assert [m["record_id"] for m in outbox if m["entity"] == "observation"] == [
        o["id"] for o in s.records("observation")]
    assert len(outbox) == 1 + len(stored)
    s.close()
