"""The app's core imports without Kivy, pydantic, SQLModel or numpy (none has an Android recipe here)."""
from __future__ import annotations

import subprocess
import sys
import textwrap

from mobile_runner import REPO

BLOCKER = textwrap.dedent("""
    import sys
    BLOCKED = {"kivy", "pydantic", "sqlmodel", "numpy", "sqlalchemy", "requests", "plyer"}

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is blocked: the core must not need it")
            return None

    sys.meta_path.insert(0, Block())
    import protocols, protocols.species, protocols.effort
    import mobile.store, mobile.location, mobile.api_client, mobile.i18n, mobile.recorder
    import mobile.reference, mobile.demo
    import mobile.entry, mobile.programs, mobile.walksummary, mobile.numbers  # fast entry, D12, summary, D6
    try:
        import mobile.sync  # the sync client (another issue) must obey the same rule once it exists
    except ModuleNotFoundError as exc:
        if exc.name != "mobile.sync":
            raise
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    print("LOADED", loaded)
    # The block itself works: importing kivy here must fail.
    try:
        import kivy
    except ImportError:
        print("BLOCK-OK")
""")


def test_core_imports_without_kivy_pydantic_sqlmodel_numpy():
    proc = subprocess.run([sys.executable, "-c", BLOCKER], cwd=REPO, capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stdout
    assert "BLOCK-OK" in proc.stdout


def test_core_works_with_blocked_imports(tmp_path):
    # Not just importable: a walk with a replayed track and a validated observation run too.
    code = BLOCKER + textwrap.dedent(f"""
        from mobile.store import Store
        from mobile.location import ReplayProvider, TrackFilter
        from mobile.recorder import WalkRecorder
        from mobile.demo import demo_fixes
        s = Store({str(tmp_path)!r})
        proto = protocols.load("line_transect")
        w = s.start_walk(proto.key, {{"transect_id": "T1", "observers": ["A"], "weather": "clear"}})
        p = ReplayProvider(demo_fixes(120), speed=0)
        r = WalkRecorder(s, p, TrackFilter.from_protocol(proto))
        r.start(w)
        p.step(120)
        rec = protocols.complete(proto, {{"observed_at": "2026-03-01T07:00:00+07:00", "unidentified": True,
                                          "sign_type": "dung", "count": 1}}, "observation")
        assert protocols.validate(proto, rec, "observation") == []
        s.save_record("observation", proto.key, "observation", rec, walk_id=w)
        print("POINTS", s.get_walk(w)["point_count"])
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stdout
    points = int(proc.stdout.split("POINTS")[1].split()[0])
    assert 5 <= points <= 12  # 120 s at 0.6 m/s = 72 m: a point per 10 m after warm-up
