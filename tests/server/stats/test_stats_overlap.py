"""Activity overlap (server/stats/overlap.py): properties of the R package overlap's estimators,
the bandwidth, bootstrap intervals (hand-computed cases) and reproducible resampling."""
from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
from scipy.special import ive

from server.stats import overlap as ov

TWO_PI = 2 * math.pi


def vonmises(rng, mu: float, kappa: float, n: int) -> np.ndarray:
    return rng.vonmises(mu, kappa, n) % TWO_PI


def vm_density(t: np.ndarray, mu: float, kappa: float) -> np.ndarray:
    return np.exp(kappa * (np.cos(t - mu) - 1)) / (TWO_PI * ive(0, kappa))


@pytest.fixture
def rng():
    return np.random.default_rng(20260302)


def test_identical_samples_overlap_completely(rng):
    a = vonmises(rng, 1.0, 2.0, 60)
    est = ov.overlap_est(a, a.copy())
    assert est["dhat1"] == pytest.approx(1.0, abs=1e-12)
    assert est["dhat4"] == 1.0
    assert est["dhat5"] == 1.0


def test_estimators_are_symmetric(rng):
    a, b = vonmises(rng, 1.0, 2.0, 90), vonmises(rng, 2.5, 1.0, 70)
    ab, ba = ov.overlap_est(a, b), ov.overlap_est(b, a)
    assert ab["dhat1"] == pytest.approx(ba["dhat1"], abs=1e-12)
    assert ab["dhat4"] == pytest.approx(ba["dhat4"], abs=1e-12)
    assert ab["dhat5"] == pytest.approx(ba["dhat5"], abs=1e-12)  # no tied densities in continuous data
    assert 0 < ab["dhat1"] < 1 and 0 < ab["dhat4"] < 1


def test_concentrated_activity_at_opposite_times_does_not_overlap(rng):
    dawn, dusk = vonmises(rng, math.pi / 2, 60.0, 100), vonmises(rng, 3 * math.pi / 2, 60.0, 100)
    est = ov.overlap_est(dawn, dusk)
    assert est["dhat1"] < 1e-6 and est["dhat4"] < 1e-6 and est["dhat5"] == 0.0


def test_estimates_approach_the_true_overlap_of_large_samples(rng):
    grid = np.linspace(0, TWO_PI, 4097)
    truth = ov.overlap_true(vm_density(grid, 1.0, 3.0), vm_density(grid, 2.2, 1.5))
    est = ov.overlap_est(vonmises(rng, 1.0, 3.0, 2000), vonmises(rng, 2.2, 1.5, 2000))
    assert 0.3 < truth < 0.8
    assert est["dhat1"] == pytest.approx(truth, abs=0.03)
    assert est["dhat4"] == pytest.approx(truth, abs=0.03)


def test_overlap_true_is_the_area_under_both_densities():
    grid = np.linspace(0, TWO_PI, 513)
    f = vm_density(grid, 0.0, 2.0)
    assert ov.overlap_true(f, f) == pytest.approx(1.0)
    # two halves of the circle: no overlap
    step = (grid > 0) & (grid <= math.pi)
    assert ov.overlap_true(step.astype(float), (~step).astype(float)) == 0.0
    # the same density shifted half a turn: the min integrates to 2*P(|X - mu| > pi/2)
    g = vm_density(grid, math.pi, 2.0)
    one_side = np.linspace(math.pi / 2, math.pi, 100001)
    tail = 2 * np.trapezoid(vm_density(one_side, 0.0, 2.0), one_side)  # both tails, by symmetry
    assert ov.overlap_true(f, g) == pytest.approx(2 * tail, abs=1e-3)


def test_density_fit_integrates_to_one_and_is_circular(rng):
    x = vonmises(rng, 0.3, 4.0, 50)
    grid = np.linspace(0, TWO_PI, 1025)
    d = ov.density_fit(x, grid, 12.0)
    assert np.trapezoid(d, grid) == pytest.approx(1.0, abs=1e-9)
    assert d[0] == pytest.approx(d[-1])
    # the batched, matrix-product form the bootstrap uses agrees with the direct one
    fast = ov.density_fit(np.stack([x, x]), grid, np.array([12.0, 12.0]), fast=True)
    assert np.allclose(fast, d, rtol=1e-11, atol=0)


def test_bandwidth_scales_with_sample_size_and_concentration(rng):
    x = vonmises(rng, 1.0, 2.0, 40)
    # the same trigonometric moments with twice the observations: bandwidth x 2^(2/5) exactly
    assert ov.bandwidth(np.concatenate([x, x])) == pytest.approx(ov.bandwidth(x) * 2 ** 0.4, rel=1e-12)
    wide, narrow = vonmises(rng, 1.0, 1.0, 200), vonmises(rng, 1.0, 20.0, 200)
    assert ov.bandwidth(narrow) > ov.bandwidth(wide) > 0


def test_bandwidth_from_the_kappa_formula(rng):
    """bw = (3 n k^2 I2(2k) / (4 sqrt(pi) I0(k)^2))^(2/5) with k the largest moment-matching kappa."""
    x = vonmises(rng, 2.0, 3.0, 120)
    kappa = ov.concentration(x)[0]
    ks = []
    for k in (1, 2, 3):
        rho = ov.trig_moment(x, k)[0]
        fine = np.linspace(1e-4, 345, 2_000_001)
        vals = ive(k, fine) / ive(0, fine) - rho
        ks.append(fine[np.argmin(np.abs(vals))])
    assert kappa == pytest.approx(max(ks), abs=2e-4)  # uniroot's tolerance, eps^0.25 = 1.2e-4
    expect = (3 * 120 * kappa ** 2 * ive(2, 2 * kappa) / (4 * math.sqrt(math.pi) * ive(0, kappa) ** 2)) ** 0.4
    assert ov.bandwidth(x) == pytest.approx(expect, rel=1e-12)


def test_zeroin_stops_at_r_uniroot_tolerance():
    """The emulated uniroot is within its tolerance of the root, and steps like Brent's zeroin."""
    root = ov._zeroin(lambda x: x - 1.0, np.array([0.0]), np.array([3.0]), np.array([-1.0]), np.array([2.0]))
    assert root[0] == 1.0  # one secant step lands on the root of a line
    f = lambda x: np.cos(x) - x  # noqa: E731
    r = ov._zeroin(f, np.array([0.0]), np.array([1.0]), f(np.array([0.0])), f(np.array([1.0])))[0]
    assert abs(r - 0.7390851332151607) <= ov._UNIROOT_TOL


def test_all_identical_times_have_no_bandwidth():
    assert math.isnan(ov.bandwidth([1.0, 1.0, 1.0, 1.0 + 1e-12]))
    with pytest.raises(ov.OverlapInputError, match="at least 2"):
        ov.overlap_est([2.0] * 10, [1.0, 2.0, 3.0])
    with pytest.raises(ov.OverlapInputError, match="no bandwidth"):
        ov.analyse([1.0, 1.0 + 1e-13] * 5, [1.0, 2.0, 3.0])


@pytest.mark.parametrize("bad, message", [([1.0, float("nan"), 2.0], "missing"), ([1.0, 7.0], "radians"),
                                          ([-0.1, 1.0], "radians"), ([], "0 different")])
def test_bad_times_are_refused(bad, message):
    with pytest.raises(ov.OverlapInputError, match=message):
        ov.check_times(bad)


def test_interpolated_densities_for_large_samples_agree_with_direct_ones(rng):
    a, b = vonmises(rng, 1.0, 2.0, 160), vonmises(rng, 2.0, 2.0, 140)
    interpolated = ov.overlap_batch(a[None], b[None], n_grid=128)[0]  # 300 > 1.1 x 128: from the grid
    direct = ov.overlap_batch(a[None], b[None], n_grid=512)[0]  # 300 < 1.1 x 512: at the observations
    assert interpolated[1] == pytest.approx(direct[1], abs=0.005)


def test_adjust_none_skips_an_estimator(rng):
    a, b = vonmises(rng, 1.0, 2.0, 30), vonmises(rng, 2.0, 2.0, 30)
    est = ov.overlap_est(a, b, adjust=(None, 1.0, None))
    assert est["dhat1"] is None and est["dhat5"] is None
    assert est["dhat4"] == pytest.approx(ov.overlap_est(a, b)["dhat4"])


def test_boot_ci_on_hand_computed_values():
    # 199 values: (R + 1) x 0.025 = 5 and x 0.975 = 195 fall on values (up to rounding: (1 - 0.95)/2 is
    # 0.025000000000000022 in floating point, in R too, so the interpolation moves 5 by 4e-15)
    bt = np.arange(1.0, 200.0)
    z = NormalDist().inv_cdf(0.975)
    sd = math.sqrt(199 * 200 / 12)  # standard deviation of 1..199 (n - 1 denominator)
    ci = ov.boot_ci(100.0, bt)
    assert ci["perc"] == pytest.approx((5.0, 195.0))
    assert ci["basic"] == pytest.approx((5.0, 195.0)) and ci["basic0"] == pytest.approx((5.0, 195.0))  # no bias
    assert ci["norm"] == pytest.approx((100 - z * sd, 100 + z * sd))
    ci = ov.boot_ci(90.0, bt)  # bias = mean(bt) - t0 = 10
    assert ci["perc"] == pytest.approx((5.0, 195.0))
    assert ci["basic"] == pytest.approx((-15.0, 175.0))
    assert ci["basic0"] == pytest.approx((-5.0, 185.0))
    assert ci["norm"] == pytest.approx((80 - z * sd, 80 + z * sd))
    assert ci["norm0"] == pytest.approx((90 - z * sd, 90 + z * sd))


def test_percentile_interval_interpolates_on_the_normal_scale():
    bt = np.arange(1.0, 100.0)  # 99 values: (R + 1) x 0.025 = 2.5, between the 2nd and 3rd
    nd = NormalDist()
    w = (nd.inv_cdf(0.025) - nd.inv_cdf(2 / 100)) / (nd.inv_cdf(3 / 100) - nd.inv_cdf(2 / 100))
    lo, hi = ov.quantile_inter(bt)
    assert lo == pytest.approx(2 + w)
    assert hi == pytest.approx(97 + (nd.inv_cdf(0.975) - nd.inv_cdf(97 / 100)) /
                               (nd.inv_cdf(98 / 100) - nd.inv_cdf(97 / 100)))
    assert 2 < lo < 3
    assert ov.quantile_inter(np.arange(30.0)) is None  # too few values for a 95 % interval


def test_logit_intervals_stay_inside_zero_one():
    bt = np.clip(np.random.default_rng(1).normal(0.95, 0.05, 999), 0.01, 0.999)
    for v in ov.boot_ci_logit(0.97, bt).values():
        assert v is not None and 0 < v[0] < v[1] < 1


def test_bootstrap_is_reproducible_with_a_seed(rng):
    a, b = vonmises(rng, 1.0, 2.0, 80), vonmises(rng, 2.0, 1.0, 80)
    r1 = ov.analyse(a, b, bootstrap=200, seed=7).to_json()
    r2 = ov.analyse(a, b, bootstrap=200, seed=7).to_json()
    r3 = ov.analyse(a, b, bootstrap=200, seed=8).to_json()
    assert r1 == r2
    assert r1["ci"] != r3["ci"]
    for est in ("dhat1", "dhat4"):
        lo, hi = r1["ci"][est]["basic0"]
        assert lo < r1[est] < hi
        assert abs(r1["boot_mean"][est] - r1[est]) < 0.1


def test_smoothed_resamples_come_from_the_fitted_density(rng):
    x = vonmises(rng, 1.0, 4.0, 100)
    res = ov.resample(x, 400, rng=np.random.default_rng(3))
    grid = np.linspace(0, TWO_PI, 512)
    assert res.shape == (400, 100)
    assert np.isin(res, grid[:-1]).all()  # grid points, 2*pi (midnight again) left out
    # the mean direction of the resamples is that of the data
    mean = math.atan2(np.sin(res).mean(), np.cos(res).mean())
    assert mean == pytest.approx(math.atan2(np.sin(x).mean(), np.cos(x).mean()), abs=0.05)
    plain = ov.resample(x, 5, smooth=False, rng=np.random.default_rng(3))
    assert np.isin(plain, x).all()


def test_sample_size_notes_and_recommended_estimator(rng):
    small = ov.analyse(vonmises(rng, 1, 2, 30), vonmises(rng, 2, 2, 200), bootstrap=20, seed=1)
    assert small.recommended == "dhat1"
    codes = {n["code"] for n in small.notes}
    assert {"small_sample_dhat1", "few_resamples", "bootstrap_too_small"} <= codes
    assert all(v is None for v in small.ci["dhat1"].values())  # 20 resamples cannot give a 95 % interval
    mid = ov.analyse(vonmises(rng, 1, 2, 60), vonmises(rng, 2, 2, 200))
    assert mid.recommended == "dhat1" and [n["code"] for n in mid.notes] == ["intermediate_sample"]
    big = ov.analyse(vonmises(rng, 1, 2, 80), vonmises(rng, 2, 2, 90))
    assert big.recommended == "dhat4" and big.notes == []
