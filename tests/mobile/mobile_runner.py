"""Run a UI scenario in its own headless Kivy process (helpers for the mobile tests)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ARTIFACTS = REPO / "test-artifacts" / "mobile"


def scenario_env(tmp_path: Path) -> dict:
    """The environment a scenario process runs in: headless Kivy, a private KIVY_HOME."""
    sys.path.insert(0, str(HERE))
    from mobile_harness import headless_env

    env = dict(os.environ)
    env.update(headless_env(str(tmp_path / "kivy-home")))
    env["PYTHONPATH"] = str(REPO)
    return env


def run_scenario(tmp_path: Path, script: str, *args: str, timeout: float = 240) -> dict:
    """Run tests/mobile/<script> in a subprocess; return its RESULT JSON (fail with its output otherwise)."""
    proc = subprocess.run([sys.executable, str(HERE / script), *args], cwd=REPO, env=scenario_env(tmp_path),
                          capture_output=True, text=True, timeout=timeout)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    pytest.fail(f"{script} gave no RESULT (exit {proc.returncode})\n--- stdout\n{proc.stdout[-3000:]}"
                f"\n--- stderr\n{proc.stderr[-6000:]}")
