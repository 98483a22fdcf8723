"""The export benchmark cleans up after itself: a 1M run used to leave ~440 MB of CSV in TMPDIR."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_export_benchmark_leaves_nothing_in_tmpdir(tmp_path):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir), "PYTHONPATH": str(REPO)}
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "export.py"), "--quick", "--observations", "2000"],
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "BENCH export_2k_s" in run.stdout
    assert list(tmpdir.iterdir()) == []
