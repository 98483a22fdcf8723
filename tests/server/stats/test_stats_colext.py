"""Multi-season occupancy (server/stats/colext.py) against unmarked's published colext fits,
hand-computed likelihoods, simulated recovery, trajectories and bad input."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from server.stats import colext as cx, optim
from server.stats.design import FormulaError
from server.stats.occupancy import OccupancyError

# y of unmarked's tests/testthat/test_colext.R: 6 sites, 4 seasons of 2 occasions.
Y = np.array([
    1, 0, 1, 1, 0, 0, 0, 0,
    1, 1, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 1, 1, 0, 0, 0, 0,
    1, 1, 1, 0, 0, 1, 0, 0,
    0, 0, 0, 0, 0, 0, 1, 1], float).reshape(6, 8)
SITES = [f"s{i}" for i in range(1, 7)]


def all_equal(target, current) -> float:
    """R's all.equal mean relative difference (testthat's tolerance is compared to it)."""
    t, c = np.asarray(target, float), np.asarray(current, float)
    return float(np.sum(np.abs(t - c)) / np.sum(np.abs(t)))


def r_rnorm(seed: int, n: int) -> np.ndarray:
    """R's set.seed(seed); rnorm(n) (Mersenne-Twister with R's seed scrambling, inversion with
    two uniforms), so unmarked's simulated covariates are rebuilt exactly."""
    s = seed & 0xFFFFFFFF
    for _ in range(50):
        s = (69069 * s + 1) & 0xFFFFFFFF
    key = []
    for _ in range(625):
        s = (69069 * s + 1) & 0xFFFFFFFF
        key.append(s)
    bg = np.random.MT19937()
    bg.state = {"bit_generator": "MT19937", "state": {"key": np.array(key[1:], dtype=np.uint32), "pos": 624}}
    eps = 0.5 * 2.328306437080797e-10

    def unif() -> float:
        return min(max(float(bg.random_raw()) * 2.3283064365386963e-10, eps), 1 - eps)

    big = 134217728
    out = []
    for _ in range(n):
        u = int(big * unif()) + unif()
        out.append(float(norm.ppf(u / big)))
    return np.array(out)


def test_r_rnorm_reproduces_r():
    # R: set.seed(123); round(rnorm(4), 8)
    assert r_rnorm(123, 4) == pytest.approx([-0.56047565, -0.23017749, 1.55870831, 0.07050839], abs=1e-8)


def unmarked_frame(y=Y):
    """umf1 of test_colext.R: set.seed(123); sc1 = rnorm(6); oc, ysc matrices (column-major)."""
    r = r_rnorm(123, 6 + 48 + 24)
    sc, oc, ysc = r[:6], r[6:54].reshape(8, 6).T, r[54:].reshape(4, 6).T
    return cx.ColextData(y, SITES, 4, pd.DataFrame({"sc1": sc}), {"ysc": ysc}, {"oc": oc})


# ---- unmarked's own published numbers ------------------------------------------------------------
def test_constant_model_equals_unmarked():
    f = cx.fit(cx.ColextData(Y, SITES, 4))
    # expect_equivalent(coef(fm1), c(0.14227, -1.49561, 0.210121, 1.200177), tol=1e-5)
    assert all_equal([0.14227, -1.49561, 0.210121, 1.200177], f.estimates) < 1e-5
    assert f.converged and f.n_params == 4
    assert f.aic == pytest.approx(2 * f.nll + 8)
    assert list(f.coefficients("col")) == ["(Intercept)"]


@pytest.mark.parametrize("formulas,target", [
    (("~ sc1", "~ 1", "~ 1", "~ 1"), [1.3473, -6.3828, -1.5830, 0.1416, 1.1643]),
    (("~ 1", "~ 1", "~ 1", "~ oc"), [0.1434, -1.4980, 0.2083, 1.2006, -0.03827]),
    (("~ 1", "~ ysc", "~ ysc", "~ 1"), [0.2677, -2.0574, -1.0604, 0.2156, 0.6871, 1.1025]),
])
def test_covariate_models_equal_unmarked(formulas, target):
    f = cx.fit(unmarked_frame(), *formulas)
    assert all_equal(target, f.estimates) < 1e-4
    assert f.converged


def test_fitted_detection_equals_unmarked_getp():
    f = cx.fit(unmarked_frame(), "~ 1", "~ ysc", "~ ysc", "~ 1")
    assert f.predict("p")["predicted"][0] == pytest.approx(0.7507, abs=1e-4)  # getP(fm4)[1, 1]


@pytest.mark.parametrize("cells,aic", [((0, 2), 50.48498), ((0, slice(None)), 41.87926),
                                       ((0, slice(2, 4)), 47.74454)])
def test_missing_values_equal_unmarked(cells, aic):
    y = Y.copy()
    y[cells] = np.nan
    f = cx.fit(cx.ColextData(y, SITES, 4))
    assert f.aic == pytest.approx(aic, abs=1e-4)
    if cells[1] == slice(None):
        assert [s for s, _ in f.prep.removed] == ["s1"]  # fm2@sitesRemoved == 1
        assert any(w.code == "sites_removed" and "s1" in w.message for w in f.warnings)


def test_missing_covariates_as_unmarked():
    d = unmarked_frame()
    d.site_covs.loc[1, "sc1"] = np.nan  # siteCovs$sc1[2] <- NA
    d.obs_covs["oc"][0, 0] = np.nan  # obsCovs$oc[1] <- NA
    f = cx.fit(d, "~ sc1", "~ 1", "~ 1", "~ oc")
    assert [s for s, _ in f.prep.removed] == ["s2"] and f.prep.discarded == 1
    codes = {w.code for w in f.warnings}
    assert {"sites_removed", "observations_discarded"} <= codes
    p = f.predict("p")["predicted"].reshape(5, 8)
    assert p[0, 1] == pytest.approx(0.8017, abs=1e-4)  # getP(fm4)[1, 2]

    d = unmarked_frame()
    d.yearly_site_covs["ysc"][0, 0] = np.nan  # yearlySiteCovs$ysc[1] <- NA: unmarked stops
    with pytest.raises(OccupancyError, match="s1/1"):
        cx.fit(d, "~ 1", "~ 1", "~ ysc", "~ 1")
    d = unmarked_frame()
    d.yearly_site_covs["ysc"][0, 3] = np.nan  # the last season drives no transition: fine
    assert cx.fit(d, "~ 1", "~ 1", "~ ysc", "~ 1").converged


# ---- the likelihood by hand -----------------------------------------------------------------------
def brute_force_nll(y, psi, col, ext, p, T, J):
    """Sum over every hidden occupancy path z_1..z_T of P(z) P(y | z), site by site."""
    total = 0.0
    for row in y:
        lik = 0.0
        for z in itertools.product((0, 1), repeat=T):
            pz = psi if z[0] else 1 - psi
            for t in range(1, T):
                pz *= ((1 - ext) if z[t - 1] and z[t] else ext if z[t - 1] else col if z[t] else 1 - col)
            py = 1.0
            for t in range(T):
                for j in range(J):
                    v = row[t * J + j]
                    if math.isnan(v):
                        continue
                    py *= (p if v else 1 - p) if z[t] else (0.0 if v else 1.0)
            lik += pz * py
        total -= math.log(lik)
    return total


def test_likelihood_equals_enumeration_of_paths():
    y = Y.copy()
    y[0, 2], y[4, 4:6] = np.nan, np.nan  # an NA occasion and a wholly unsurveyed season
    lik = cx.Likelihood(cx.prepare(cx.ColextData(y, SITES, 4), "~1", "~1", "~1", "~1"))
    theta = np.array([0.3, -1.1, 0.4, 0.9])
    psi, col, ext, p = (1 / (1 + math.exp(-v)) for v in theta)
    assert lik.nll(theta) == pytest.approx(brute_force_nll(y, psi, col, ext, p, 4, 2), rel=1e-12)


def test_exact_gradient_equals_finite_differences():
    lik = cx.Likelihood(cx.prepare(unmarked_frame(), "~ sc1", "~ ysc", "~ ysc", "~ oc + sc1"))
    theta = np.linspace(-0.8, 0.7, 9)
    assert lik.gradient(theta) == pytest.approx(optim.numeric_gradient(lik.nll, 1e-6)(theta), abs=1e-6)


def test_projected_and_smoothed_trajectories():
    f = cx.fit(cx.ColextData(Y, SITES, 4, season_labels=["2021", "2022", "2023", "2024"]))
    c = {k: 1 / (1 + math.exp(-v)) for k, v in zip(("psi", "col", "ext", "p"), f.estimates)}
    want = [c["psi"]]
    for _ in range(3):
        want.append(want[-1] * (1 - c["ext"]) + (1 - want[-1]) * c["col"])
    proj = f.projected()
    assert [r["estimate"] for r in proj] == pytest.approx(want, rel=1e-12)
    assert [r["season"] for r in proj] == ["2021", "2022", "2023", "2024"]
    for r in proj + f.smoothed():
        assert r["lower"] < r["estimate"] < r["upper"]
    # A site with a detection in a season is occupied then: smoothed probability 1.
    sm = f.likelihood().smoothed(f.estimates)
    assert sm[0, 0] == pytest.approx(1.0) and sm[4, 2] == pytest.approx(1.0)
    # Site 3 (never detected) is less likely occupied than the model's projection.
    assert sm[2, 0] < want[0]
    tr = f.trend()
    assert tr["change"] == pytest.approx(want[-1] - want[0])
    assert tr["lower"] < tr["change"] < tr["upper"] and tr["direction"] in ("decline", "no clear change")


# ---- recovery of simulated parameters --------------------------------------------------------------
def test_recovers_simulated_parameters_with_covariates():
    rng = np.random.default_rng(7)
    M, T, J = 600, 4, 5
    elev = rng.normal(size=M)
    forest = rng.normal(size=(M, T))
    effort = rng.normal(size=(M, T * J))
    truth = {"psi": (0.2, 0.8), "col": (-1.0, 0.6), "ext": (-1.5, -0.7), "p": (0.0, 0.9)}
    lg = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    z = np.empty((M, T), bool)
    z[:, 0] = rng.random(M) < lg(truth["psi"][0] + truth["psi"][1] * elev)
    for t in range(1, T):
        gam = lg(truth["col"][0] + truth["col"][1] * forest[:, t - 1])
        eps = lg(truth["ext"][0] + truth["ext"][1] * forest[:, t - 1])
        u = rng.random(M)
        z[:, t] = np.where(z[:, t - 1], u >= eps, u < gam)
    p = lg(truth["p"][0] + truth["p"][1] * effort).reshape(M, T, J)
    y = ((rng.random((M, T, J)) < p) & z[:, :, None]).reshape(M, T * J).astype(float)
    y[rng.random(y.shape) < 0.1] = np.nan  # cameras down on some occasions
    d = cx.ColextData(y, [f"c{i}" for i in range(M)], T, pd.DataFrame({"elev": elev}), {"forest": forest},
                      {"effort": effort})
    f = cx.fit(d, "~ elev", "~ forest", "~ forest", "~ effort")
    assert f.converged and not [w for w in f.warnings if w.code != "sites_removed"]
    est = f.estimates
    se = f.se()
    flat = np.array([v for k in cx.SUBMODELS for v in truth[k]])
    assert np.all(np.abs(est - flat) < 3.5 * se), (est, flat, se)
    # The smoothed yearly mean is close to the true share of occupied sites.
    sm = [r["estimate"] for r in f.smoothed()]
    assert np.abs(np.array(sm) - z.mean(axis=0)).max() < 0.05


def test_bootstrap_trajectory_reproducible_with_seed():
    y = cx.simulate(120, 3, 4, 0.5, 0.2, 0.3, 0.5, seed=3)
    f = cx.fit(cx.ColextData(y, [f"s{i}" for i in range(120)], 3))
    a = f.bootstrap_trajectory(30, seed=11)
    b = f.bootstrap_trajectory(30, seed=11)
    assert a == b and a["failed"] == 0
    for r, p in zip(a["projected"], f.projected()):
        assert r["lower"] <= p["estimate"] <= r["upper"]
    with pytest.raises(OccupancyError, match="at least 20"):
        f.bootstrap_trajectory(5)


def test_model_selection_orders_by_aic():
    fits = {"constant": cx.fit(unmarked_frame()), "ysc": cx.fit(unmarked_frame(), "~1", "~ysc", "~ysc", "~1")}
    rows = cx.model_selection(fits)
    assert [r["aic"] for r in rows] == sorted(f.aic for f in fits.values())
    assert rows[-1]["cum_weight"] == pytest.approx(1.0)


# ---- bad input -------------------------------------------------------------------------------------
def test_all_zero_and_all_one_histories_warn():
    f = cx.fit(cx.ColextData(np.zeros((20, 6)), [f"s{i}" for i in range(20)], 3))
    assert "no_detections" in {w.code for w in f.warnings}
    f = cx.fit(cx.ColextData(np.ones((20, 6)), [f"s{i}" for i in range(20)], 3))
    codes = {w.code for w in f.warnings}
    assert "all_detected" in codes and ("boundary" in codes or "hessian_singular" in codes or "large_se" in codes)


def test_structural_errors():
    with pytest.raises(OccupancyError, match="at least 2 seasons"):
        cx.ColextData(Y, SITES, 1)
    with pytest.raises(OccupancyError, match="do not divide into 3 seasons"):
        cx.ColextData(Y, SITES, 3)
    with pytest.raises(OccupancyError, match="yearly site covariate 'x' is 6x3"):
        cx.ColextData(Y, SITES, 4, yearly_site_covs={"x": np.zeros((6, 3))})
    with pytest.raises(OccupancyError, match="no operating occasion|nothing to fit"):
        cx.fit(cx.ColextData(np.full((3, 4), np.nan), ["a", "b", "c"], 2))
    with pytest.raises(FormulaError, match="collinear"):
        d = unmarked_frame()
        d.yearly_site_covs["ysc2"] = 2 * d.yearly_site_covs["ysc"]
        cx.fit(d, "~ 1", "~ ysc + ysc2", "~ 1", "~ 1")
    with pytest.raises(FormulaError, match="elevation"):
        cx.fit(unmarked_frame(), "~ elevation")


def test_non_convergence_is_reported():
    f = cx.fit(unmarked_frame(), "~ sc1", "~ ysc", "~ ysc", "~ oc", maxit=2)
    assert not f.converged and "not_converged" in {w.code for w in f.warnings}
