"""Single-season occupancy (server/stats/occupancy.py) against unmarked's published fits, closed
forms, hand-computed likelihoods and simulated data; its bad-input warnings and errors."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq

from server.stats import gof, occupancy as oc, optim
from server.stats.design import FormulaError


def all_equal(target, current) -> float:
    """R's all.equal mean relative difference (what testthat's tolerance is compared to)."""
    t, c = np.asarray(target, float), np.asarray(current, float)
    return float(np.sum(np.abs(t - c)) / np.sum(np.abs(t)))


def unmarked_test_data(site_x=(0, 2, 3, 4, 1), o2_na=False):
    """The 5-site, 2-occasion frame of unmarked's tests/testthat/test_occu.R, rebuilt from its
    definition: y <- matrix(rep(0:1,10)[1:10],5,2) (column-major), siteCovs x, obsCovs o1 = 1:10,
    o2 = exp(-5:4)/10 (site-major rows)."""
    y = np.array([0, 1] * 5, float).reshape(2, 5).T
    o1 = np.arange(1, 11, dtype=float).reshape(5, 2)
    o2 = (np.exp(np.arange(-5, 5)) / 10).reshape(5, 2)
    if o2_na:
        o2[4, 1] = np.nan  # obsCovs[10, 2] <- NA
    return oc.OccuData(y, [f"s{i + 1}" for i in range(5)], pd.DataFrame({"x": list(site_x)}), {"o1": o1, "o2": o2})


# ---- (d) unmarked's own published numbers ------------------------------------------------------
def test_covariate_fit_equals_unmarked_test_suite():
    f = oc.fit(unmarked_test_data(), "~ x", "~ o1 + o2")
    # expect_equivalent(coef(occ), c(8.590737, 2.472220), tolerance = 1e-4) and det c(0.44457, -0.14706, 0.44103)
    assert all_equal([8.590737, 2.472220], f.estimates[:2]) < 1e-6
    assert all_equal([0.44457, -0.14706, 0.44103], f.estimates[2:]) < 1e-5
    assert f.coefficients("psi") == pytest.approx({"(Intercept)": 8.590737, "x": 2.472220}, abs=1e-6)
    # linearComb(fm, 'state', c(1, 0.5)) = 9.826848; det c(1, 0.3, -0.3) = 0.2681477, back-transformed 0.5666381
    assert f.linear_comb("psi", [1, 0.5])[0] == pytest.approx(9.826848, abs=1e-6)
    est, _ = f.linear_comb("p", [1, 0.3, -0.3])
    assert est == pytest.approx(0.2681477, abs=1e-7)
    assert oc.plogis(est) == pytest.approx(0.5666381, abs=1e-7)
    fitted = np.array([0.5738, 0.5014, 0.4318, 0.38581, 0.50171, 0.53764, 0.46563, 0.40283, 0.39986,
                       0.79928]).reshape(2, 5).T
    assert all_equal(fitted, f.fitted()) < 1e-4
    p = f.predict("p")["predicted"].reshape(5, 2)
    assert p[:2, :2].T.reshape(-1) == pytest.approx([0.5739, 0.5014, 0.5377, 0.4656], abs=1e-4)  # getP
    assert f.aic == pytest.approx(2 * f.nll + 2 * 5)
    codes = {w.code for w in f.warnings}
    assert {"large_se", "boundary"} <= codes  # unmarked's summary warns too (psi near 1)


def test_missing_values_equal_unmarked_test_suite():
    f = oc.fit(unmarked_test_data(site_x=(0, 2, None, 4, 1)), "~ x", "~ o1 + o2")
    assert [s for s, _ in f.prep.removed] == ["s3"]  # fm@sitesRemoved == 3
    assert all_equal([8.70123, 4.58255, 0.66243, -0.22862, 0.58192], f.estimates) < 1e-5
    assert any(w.code == "sites_removed" and "s3" in w.message and "x" in w.message for w in f.warnings)

    f = oc.fit(unmarked_test_data(site_x=(0, 2, None, 4, 1), o2_na=True), "~ x", "~ o1 + o2")
    assert all_equal([8.91289, 1.89291, -1.42471, 0.67011, -8.44608], f.estimates) < 1e-5
    assert f.prep.discarded == 1
    ft = f.fitted()
    assert np.isnan(ft[2]).all() and np.isnan(ft[4, 1]) and np.isfinite(ft[4, 0])


def test_offsets_equal_unmarked_test_suite():
    d = unmarked_test_data()
    f = oc.fit(d, "~ offset(x)", "~ o1 + o2")
    assert all_equal([9.74361, 0.44327, -0.14683, 0.44085], f.estimates) < 1e-5
    f = oc.fit(d, "~ offset(x)", "~ o1 + offset(o2)")
    assert all_equal([8.59459, 0.97574, -0.3096], f.estimates) < 1e-5


# ---- (a) closed forms ----------------------------------------------------------------------------
def simulate(M, J, seed, psi=0.6, p=0.3, na=0.0):
    rng = np.random.default_rng(seed)
    z = rng.random(M) < psi
    y = ((rng.random((M, J)) < p) & z[:, None]).astype(float)
    if na:
        y[rng.random((M, J)) < na] = np.nan
    return y


def test_no_covariates_equals_the_closed_form_mle():
    """All sites surveyed J times: p_hat solves p / (1 - (1-p)^J) = d / (s_D J) and
    psi_hat = s_D / (n (1 - (1-p_hat)^J)) (MacKenzie et al. 2002)."""
    M, J = 200, 5
    y = simulate(M, J, seed=7)
    s_d = int((y.sum(axis=1) > 0).sum())
    d = y.sum()
    p_hat = brentq(lambda p: p / (1 - (1 - p) ** J) - d / (s_d * J), 1e-9, 1 - 1e-9, xtol=1e-14)
    psi_hat = s_d / (M * (1 - (1 - p_hat) ** J))
    f = oc.fit(oc.OccuData(y, [str(i) for i in range(M)]))
    assert oc.plogis(f.estimates[0]) == pytest.approx(psi_hat, rel=1e-5)
    assert oc.plogis(f.estimates[1]) == pytest.approx(p_hat, rel=1e-5)
    # the exact-gradient path reaches the same optimum
    g = oc.fit(oc.OccuData(y, [str(i) for i in range(M)]), gradient="exact")
    assert g.estimates == pytest.approx(f.estimates, abs=1e-4)
    assert f.to_json()["naive_occupancy"] == pytest.approx(s_d / M)


# ---- (b) likelihoods by hand ---------------------------------------------------------------------
def test_likelihood_by_hand_on_a_tiny_matrix():
    y = np.array([[1, 0, np.nan], [0, 0, 0], [np.nan, np.nan, 1]])
    data = oc.OccuData(y, ["a", "b", "c"], pd.DataFrame({"x": [0.0, 1.0, -1.0]}))
    prep = oc.prepare(data, "~ x", "~ 1")
    lik = oc.Likelihood(prep, "logit")
    b0, b1, a0 = 0.2, -0.5, 0.4
    psi = [1 / (1 + math.exp(-(b0 + b1 * x))) for x in (0.0, 1.0, -1.0)]
    p = 1 / (1 + math.exp(-a0))
    L = [psi[0] * p * (1 - p), psi[1] * (1 - p) ** 3 + (1 - psi[1]), psi[2] * p]
    assert lik.nll([b0, b1, a0]) == pytest.approx(-sum(math.log(v) for v in L), rel=1e-14)
    # cloglog: psi = 1 - exp(-exp(eta))
    lik_c = oc.Likelihood(prep, "cloglog")
    psi = [1 - math.exp(-math.exp(b0 + b1 * x)) for x in (0.0, 1.0, -1.0)]
    L = [psi[0] * p * (1 - p), psi[1] * (1 - p) ** 3 + (1 - psi[1]), psi[2] * p]
    assert lik_c.nll([b0, b1, a0]) == pytest.approx(-sum(math.log(v) for v in L), rel=1e-14)


def test_exact_gradient_matches_finite_differences():
    y = simulate(60, 4, seed=2, na=0.2)
    rng = np.random.default_rng(5)
    data = oc.OccuData(y, [str(i) for i in range(60)], pd.DataFrame({"x": rng.normal(size=60)}),
                       {"w": rng.normal(size=(60, 4))})
    for link in oc.LINKS:
        lik = oc.Likelihood(oc.prepare(data, "~ x", "~ w + x"), link)
        theta = np.array([0.3, -0.4, 0.1, 0.5, -0.2])
        num = optim.numeric_gradient(lik.nll, 1e-6)(theta)
        assert lik.gradient(theta) == pytest.approx(num, rel=1e-5, abs=1e-6)


# ---- (c) recovery of known parameters ------------------------------------------------------------
def covariate_data(M=600, J=8, seed=11, link="logit", beta=(0.2, 0.8, -0.6, 0.4), alpha=(-0.3, 0.7, -0.5, 0.3)):
    rng = np.random.default_rng(seed)
    sc = pd.DataFrame({"elev": rng.normal(size=M), "forest": rng.normal(size=M), "road": rng.normal(size=M)})
    effort = rng.uniform(0.2, 1.0, size=(M, J))
    wind = rng.normal(size=(M, J))
    eta = beta[0] + beta[1] * sc.elev + beta[2] * sc.forest + beta[3] * sc.road
    psi = oc.plogis(eta.to_numpy()) if link == "logit" else oc.cloglog_inv(eta.to_numpy())
    p = oc.plogis(alpha[0] + alpha[1] * effort + alpha[2] * wind + alpha[3] * sc.elev.to_numpy()[:, None])
    z = rng.random(M) < psi
    y = ((rng.random((M, J)) < p) & z[:, None]).astype(float)
    y[rng.random((M, J)) < 0.05] = np.nan
    return oc.OccuData(y, [f"s{i}" for i in range(M)], sc, {"effort": effort, "wind": wind})


@pytest.mark.parametrize("link", oc.LINKS)
def test_recovers_known_parameters_within_their_standard_errors(link):
    beta, alpha = (0.2, 0.8, -0.6, 0.4), (-0.3, 0.7, -0.5, 0.3)
    f = oc.fit(covariate_data(link=link, beta=beta, alpha=alpha), "~ elev + forest + road", "~ effort + wind + elev",
               psi_link=link)
    assert f.converged and not {w.code for w in f.warnings} & {"large_se", "boundary", "hessian_singular"}
    z = (f.estimates - np.array(beta + alpha)) / f.se()
    assert np.all(np.abs(z) < 3), z
    assert f.names == {"psi": ["(Intercept)", "elev", "forest", "road"], "p": ["(Intercept)", "effort", "wind", "elev"]}


def test_standard_errors_equal_the_inverse_of_a_numerical_hessian():
    f = oc.fit(covariate_data(M=300), "~ elev + forest", "~ effort + wind")
    lik = oc.Likelihood(f.prep, "logit")
    h = 1e-5
    n = f.n_params
    H = np.empty((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = h
        H[:, i] = (lik.gradient(f.estimates + e) - lik.gradient(f.estimates - e)) / (2 * h)
    se_fine = np.sqrt(np.diag(np.linalg.inv((H + H.T) / 2)))
    assert f.se() == pytest.approx(se_fine, rel=1e-4)
    rows = f.table()
    assert rows[0]["lower"] == pytest.approx(f.estimates[0] - 1.959964 * f.se()[0], rel=1e-6)


def test_predict_is_back_transformed_link_interval_with_delta_se():
    f = oc.fit(covariate_data(M=300), "~ elev + forest", "~ effort + wind")
    pr = f.predict("psi", newdata={"elev": [0.0, 1.0], "forest": [0.5, -1.0]}, level=0.9)
    x = np.array([1.0, 1.0, -1.0])
    est, se = f.linear_comb("psi", x)
    z = 1.6448536269514722
    assert pr["predicted"][1] == pytest.approx(oc.plogis(est))
    assert pr["lower"][1] == pytest.approx(oc.plogis(est - z * se))
    assert pr["upper"][1] == pytest.approx(oc.plogis(est + z * se))
    assert pr["se"][1] == pytest.approx(se * oc.plogis(est) * (1 - oc.plogis(est)))
    mean = f.mean_occupancy()
    assert mean["lower"] < mean["estimate"] < mean["upper"]


def test_model_selection_table():
    d = covariate_data(M=300)
    fits = {"null": oc.fit(d), "elev": oc.fit(d, "~ elev", "~ effort"), "full": oc.fit(d, "~ elev + forest", "~ effort")}
    table = oc.model_selection(fits)
    assert [r["aic"] for r in table] == sorted(f.aic for f in fits.values())
    assert table[0]["delta"] == 0 and sum(r["weight"] for r in table) == pytest.approx(1)
    assert table[-1]["cum_weight"] == pytest.approx(1)
    w = np.exp(-np.array([r["delta"] for r in table]) / 2)
    assert [r["weight"] for r in table] == pytest.approx(list(w / w.sum()))
    assert {r["model"]: r["n_params"] for r in table} == {"null": 2, "elev": 4, "full": 5}
    # Models fitted to different sites (a missing covariate) cannot be compared by AIC
    sc = d.site_covs.copy()
    sc.loc[3, "forest"] = np.nan
    d2 = oc.OccuData(d.y, d.sites, sc, d.obs_covs)
    with pytest.raises(oc.OccupancyError, match="different detections"):
        oc.model_selection({"a": oc.fit(d2), "b": oc.fit(d2, "~ forest")})


# ---- goodness of fit -------------------------------------------------------------------------------
def test_mackenzie_bailey_statistic_by_hand():
    y = np.array([[1, 0], [0, 0], [1, 1], [0, 0], [np.nan, 1]])
    psi = np.full(5, 0.6)
    p = np.full((5, 2), 0.5)
    stat, table = gof.chi_square(y, psi, p)
    # cohort 1 (4 sites, both occasions): P(10)=P(01)=P(11)=.6*.25=.15, P(00)=.15+.4=.55
    e = {"10": 0.6, "00": 2.2, "11": 0.6}
    expect = (1 - 0.6) ** 2 / 0.6 + (2 - 2.2) ** 2 / 2.2 + (1 - 0.6) ** 2 / 0.6 + (4 - 3.4)
    # cohort 2 (1 site, occasion 2 only): P(1)=.3, P(0)=.7
    expect += (1 - 0.3) ** 2 / 0.3 + (1 - 0.3)
    assert stat == pytest.approx(expect)
    assert {r["history"]: r["expected"] for r in table if r["cohort"] == 1 and r["observed"]} == pytest.approx(e)


def test_gof_bootstrap_is_reproducible_with_a_seed():
    f = oc.fit(covariate_data(M=150, J=4), "~ elev", "~ effort")
    a = gof.mb_test(f, nsim=20, seed=42)
    b = gof.mb_test(f, nsim=20, seed=42)
    c = gof.mb_test(f, nsim=20, seed=43)
    assert a["t_star"] == b["t_star"] and a["p_value"] == b["p_value"] and a["c_hat"] == b["c_hat"]
    assert a["t_star"] != c["t_star"]
    assert a["c_hat"] == pytest.approx(a["chi_square"] / np.mean(a["t_star"]))
    assert a["p_value"] == pytest.approx(np.mean(np.array(a["t_star"]) >= a["chi_square"]))
    assert any("rough" in n for n in a["notes"])
    with pytest.raises(oc.OccupancyError):
        gof.mb_test(f, nsim=0)


# ---- bad input ----------------------------------------------------------------------------------
def test_all_zero_histories_warn_and_give_no_standard_errors():
    """unmarked: expect_warning(occu(...)) with NA covariance matrices."""
    y = np.zeros((5, 2))
    d = unmarked_test_data()
    f = oc.fit(oc.OccuData(y, d.sites, d.site_covs, d.obs_covs), "~ x", "~ o1 + o2")
    codes = {w.code for w in f.warnings}
    assert {"no_detections", "hessian_singular"} <= codes
    assert np.isnan(f.vcov).all() and all(v is None for v in f.to_json()["se"]["psi"].values())


def test_all_one_histories_warn_about_the_boundary():
    f = oc.fit(oc.OccuData(np.ones((5, 2)), [str(i) for i in range(5)]))
    assert oc.plogis(f.estimates) == pytest.approx([1, 1], abs=1e-3)  # unmarked: backTransform == 1
    assert {"all_detected", "boundary", "large_se"} <= {w.code for w in f.warnings}


def test_collinear_covariates_are_an_error_naming_them():
    d = covariate_data(M=100)
    sc = d.site_covs.assign(elev2=2 * d.site_covs.elev + 1)
    with pytest.raises(FormulaError, match="collinear covariates - elev2 is a linear combination"):
        oc.fit(oc.OccuData(d.y, d.sites, sc, d.obs_covs), "~ elev + elev2")
    with pytest.raises(FormulaError, match="collinear"):
        oc.fit(oc.OccuData(d.y, d.sites, sc.assign(const=3.0), d.obs_covs), "~ const")


def test_unknown_covariates_and_bad_formulas_are_errors():
    d = unmarked_test_data()
    with pytest.raises(FormulaError, match="uses fake, which is not a covariate here"):
        oc.fit(d, "~ fake")
    with pytest.raises(FormulaError, match="one-sided"):
        oc.fit(d, "y ~ x")
    with pytest.raises(oc.OccupancyError, match="link"):
        oc.fit(d, psi_link="probit")


def test_sites_with_no_operating_occasion_are_removed_and_named():
    y = simulate(30, 4, seed=1)
    y[[3, 7]] = np.nan
    f = oc.fit(oc.OccuData(y, [f"cam{i}" for i in range(30)]))
    assert f.n_sites == 28
    assert [s for s, _ in f.prep.removed] == ["cam3", "cam7"]
    msg = next(w.message for w in f.warnings if w.code == "sites_removed")
    assert "cam3 (no operating occasion" in msg
    with pytest.raises(oc.OccupancyError, match="nothing to fit"):
        oc.fit(oc.OccuData(np.full((3, 2), np.nan), ["a", "b", "c"]))


def test_a_model_that_does_not_converge_says_so():
    f = oc.fit(covariate_data(M=200), "~ elev + forest", "~ effort + wind", maxit=3)
    assert not f.converged and "not_converged" in {w.code for w in f.warnings}
    assert f.to_json()["converged"] is False


def test_bad_shapes_and_values():
    with pytest.raises(oc.OccupancyError, match="negative"):
        oc.OccuData(np.array([[1, -1]]), ["a"])
    with pytest.raises(oc.OccupancyError, match="3 x 2"):
        oc.OccuData(np.zeros((2, 2)), ["a", "b"], obs_covs={"w": np.zeros((3, 2))})
    with pytest.raises(oc.OccupancyError, match="repeat"):
        oc.OccuData(np.zeros((2, 2)), ["a", "a"])
    f = oc.fit(oc.OccuData(np.array([[2, 0], [0, 1], [0, 0]]), ["a", "b", "c"]))
    assert "truncated" in {w.code for w in f.warnings}


def test_categorical_covariates_get_r_names():
    d = covariate_data(M=200)
    hab = np.where(d.site_covs.elev > 0, "forest", np.where(d.site_covs.forest > 0, "grass", "bamboo"))
    f = oc.fit(oc.OccuData(d.y, d.sites, d.site_covs.assign(habitat=hab), d.obs_covs), "~ habitat", "~ 1")
    assert f.names["psi"] == ["(Intercept)", "habitatforest", "habitatgrass"]
