"""``saola stats occupancy``: the exact command form of issue 15 (item 9), its JSON keys, the
numbers of unmarked's published test fit, text output and clear errors for bad files."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from server.cli import main


@pytest.fixture
def files(tmp_path):
    """unmarked's tests/testthat/test_occu.R frame as the three kinds of CSV file."""
    y = np.array([0, 1] * 5).reshape(2, 5).T
    (tmp_path / "Y.csv").write_text("site,1,2\n" + "".join(f"s{i + 1},{a},{b}\n" for i, (a, b) in enumerate(y)))
    (tmp_path / "S.csv").write_text("site,x,habitat\n" + "".join(
        f"s{i + 1},{x},{h}\n" for i, (x, h) in enumerate(zip([0, 2, 3, 4, 1], "abab" "a"))))
    o1 = np.arange(1, 11).reshape(5, 2)
    o2 = (np.exp(np.arange(-5, 5)) / 10).reshape(5, 2)
    (tmp_path / "o1.csv").write_text("site,1,2\n" + "".join(f"s{i + 1},{a},{b}\n" for i, (a, b) in enumerate(o1)))
    (tmp_path / "o2.csv").write_text("site,1,2\n" + "".join(f"s{i + 1},{float(a)!r},{float(b)!r}\n" for i, (a, b) in enumerate(o2)))
    return tmp_path


def run(*args):
    return CliRunner().invoke(main, ["stats", "occupancy", *args])


def test_json_has_the_exact_keys_and_unmarked_numbers(files):
    r = run("--y", str(files / "Y.csv"), "--site-covs", str(files / "S.csv"),
            "--obs-covs", f"o1={files / 'o1.csv'}", "--obs-covs", f"o2={files / 'o2.csv'}",
            "--psi", "~ x", "--p", "~ o1 + o2", "--psi-link", "logit", "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert list(out)[:5] == ["coefficients", "se", "aic", "n_sites", "converged"]
    assert set(out["coefficients"]) == {"psi", "p"} and set(out["se"]) == {"psi", "p"}
    assert list(out["coefficients"]["psi"]) == ["(Intercept)", "x"] == list(out["se"]["psi"])
    assert list(out["coefficients"]["p"]) == ["(Intercept)", "o1", "o2"] == list(out["se"]["p"])
    assert out["coefficients"]["psi"]["(Intercept)"] == pytest.approx(8.590737, abs=1e-5)
    assert out["coefficients"]["psi"]["x"] == pytest.approx(2.472220, abs=1e-5)
    assert [out["coefficients"]["p"][k] for k in ("(Intercept)", "o1", "o2")] == pytest.approx(
        [0.44457, -0.14706, 0.44103], abs=1e-5)
    assert out["n_sites"] == 5 and out["converged"] is True
    assert out["aic"] == pytest.approx(2 * out["nll"] + 10)
    assert "large standard errors" in r.stderr  # psi at the boundary is not a silent number


def test_text_output_site_covariates_in_detection_and_categorical(files):
    r = run("--y", str(files / "Y.csv"), "--site-covs", str(files / "S.csv"), "--psi", "~ 1",
            "--p", "~ x + habitat", "--psi-link", "cloglog")
    assert r.exit_code == 0, r.output
    assert "Occupancy (cloglog-scale):" in r.stdout and "habitatb" in r.stdout and "AIC:" in r.stdout
    r = run("--y", str(files / "Y.csv"), "--format", "json", "--gof", "5", "--seed", "1")
    out = json.loads(r.stdout)
    assert out["gof"]["nsim"] == 5 and out["gof"]["seed"] == 1 and "chi_square" in out["gof"]


def test_empty_and_na_cells_are_missing_occasions(files, tmp_path):
    (tmp_path / "Y2.csv").write_text("site,1,2,3\na,1,,0\nb,0,NA,0\nc,,,\nd,1,1,0\n")
    r = run("--y", str(tmp_path / "Y2.csv"), "--format", "json")
    out = json.loads(r.stdout)
    assert out["n_sites"] == 3 and out["sites_removed"] == [{"site": "c",
                                                           "reason": "no operating occasion (every occasion NA)"}]
    assert "1 site(s) removed" in r.stderr


@pytest.mark.parametrize("content, args, message", [
    ("site,1,2\na,1,x\n", [], "line 2, occasion '2': 'x' is not 1, 0 or empty"),
    ("site,1,2\na,1\n", [], "line 2: 2 values for 3 columns"),
    ("site,1,2\na,1,0\na,0,0\n", [], "listed twice"),
    ("site,1,2\na,1,0\nb,0,0\n", ["--psi", "~ elevation"], "uses elevation, which is not a covariate"),
    ("site,1,2\na,1,0\nb,0,0\n", ["--obs-covs", "effort"], "give NAME=FILE.csv"),
    ("site,1,2\na,1,0\nz,0,0\n", ["--site-covs", "S.csv"], "no row for site(s) a, z"),
    ("site,1,2\na,0.5,0\n", [], "is not 1, 0 or empty"),
])
def test_bad_input_is_a_clear_error(files, content, args, message):
    (files / "bad.csv").write_text(content)
    args = [str(files / a) if a.endswith(".csv") else a for a in args]
    r = run("--y", str(files / "bad.csv"), *args)
    assert r.exit_code == 1
    assert message in r.output


def test_collinear_covariates_fail(files, tmp_path):
    (tmp_path / "S2.csv").write_text("site,x,x2\n" + "".join(f"s{i + 1},{v},{2 * v}\n" for i, v in
                                                            enumerate([0, 2, 3, 4, 1])))
    r = run("--y", str(files / "Y.csv"), "--site-covs", str(tmp_path / "S2.csv"), "--psi", "~ x + x2")
    assert r.exit_code == 1 and "collinear covariates - x2" in r.output
