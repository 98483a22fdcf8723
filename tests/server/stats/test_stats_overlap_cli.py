"""``saola stats overlap A.csv B.csv``: CSV input (radians or HH:MM[:SS]), JSON keys, text, bad input."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from server.cli import main
from server.stats.cli_overlap import clock_to_radians


def _write(path, header, values):
    path.write_text(header + "\n" + "\n".join(str(v) for v in values) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture
def samples(tmp_path):
    rng = np.random.default_rng(5)
    a = rng.vonmises(1.0, 2.0, 90) % (2 * math.pi)
    b = rng.vonmises(2.5, 1.5, 80) % (2 * math.pi)
    return a, b, _write(tmp_path / "a.csv", "radians", a), _write(tmp_path / "b.csv", "radians", b)


def run(*args):
    return CliRunner().invoke(main, ["stats", "overlap", *args])


def test_json_output_has_the_estimates_and_bandwidths(samples):
    from server.stats import overlap as ov

    a, b, fa, fb = samples
    res = run(fa, fb, "--format", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert {"dhat1", "dhat4", "dhat5", "bandwidth_a", "bandwidth_b", "n_a", "n_b", "recommended"} <= set(out)
    assert "ci" not in out
    est = ov.overlap_est(a, b)
    assert out["dhat4"] == pytest.approx(est["dhat4"], abs=1e-12)  # CSV text round-trips the floats
    assert out["bandwidth_a"] == pytest.approx(ov.bandwidth(a))
    assert (out["n_a"], out["n_b"], out["recommended"]) == (90, 80, "dhat4")


def test_bootstrap_adds_intervals_reproducibly(samples):
    _, _, fa, fb = samples
    one = json.loads(run(fa, fb, "--format", "json", "--bootstrap", "100", "--seed", "3").output)
    two = json.loads(run(fa, fb, "--format", "json", "--bootstrap", "100", "--seed", "3").output)
    assert one == two
    assert one["bootstrap"] == 100 and set(one["ci"]) == {"dhat1", "dhat4", "dhat5"}
    assert set(one["ci"]["dhat4"]) == {"norm", "norm0", "basic", "basic0", "perc"}
    assert one["recommended_ci"] == "basic0"
    assert "few_resamples" in {n["code"] for n in one["notes"]}


def test_clock_times_and_text_output(tmp_path):
    fa = _write(tmp_path / "dawn.csv", "time", ["05:30", "06:00", "06:15:30", "05:45", "07:00", "06:40"])
    fb = _write(tmp_path / "dusk.csv", "Time", ["18:00", "18:30", "19:10:05", "17:45", "20:00"])
    res = run(fa, fb)
    assert res.exit_code == 0, res.output
    assert "Dhat1 = " in res.output and "dawn.csv  n = 6" in res.output
    assert "too small for Dhat4" in res.output
    assert clock_to_radians("12:00") == pytest.approx(math.pi)
    assert clock_to_radians("06:00:00") == pytest.approx(math.pi / 2)


@pytest.mark.parametrize("header, rows, message", [
    ("hour", ["1", "2"], "needs a column 'radians' or 'time'"),
    ("time", ["06:00", "25:10"], "line 3: '25:10' is not a time of day"),
    ("time", ["6h30"], "'6h30' is not a time HH:MM"),
    ("radians", ["1.0", "7.5"], "line 3: 7.5 is not a time in radians"),
    ("radians", ["1.0", "abc"], "line 3: 'abc' is not a number"),
    ("radians", ["", "NA"], "no times"),
    ("radians", ["2.0", "2.0", "2.0"], "1 different observation"),
])
def test_bad_files_fail_with_a_clear_message(tmp_path, samples, header, rows, message):
    _, _, fa, _ = samples
    bad = _write(tmp_path / "bad.csv", header, rows)
    res = run(fa, bad)
    assert res.exit_code == 1
    assert message in res.output
    assert "bad.csv" in res.output


def test_missing_file_is_a_usage_error(samples):
    res = run(samples[2], "/nonexistent/b.csv")
    assert res.exit_code == 2 and "does not exist" in res.output
