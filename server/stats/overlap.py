"""Activity overlap of two species: von Mises kernel densities and the coefficients of overlapping
Dhat1, Dhat4 and Dhat5 (Ridout and Linkie 2009), as the R package ``overlap`` (Meredith and
Ridout) computes them, with its smoothed bootstrap and confidence intervals.

Times are in radians (0 and 2*pi are midnight), as ``overlap`` takes them. Every formula below
is that of the package's documented algorithm; the function names say which R function each
one stands for.

Kernel density (``densityFit``; von Mises kernel with concentration ``bw``)::

    f(t) = 1 / (n 2 pi I0(bw)) * sum_j exp(bw cos(t - x_j))

computed as ``exp(bw (cos d - 1)) / (2 pi I0(bw) e^-bw)`` (exponentially scaled Bessel
function), so large concentrations do not overflow.

Bandwidth (``getBandWidth``, Ridout and Linkie 2009, after Taylor 2008): for k = 1..kmax the
k-th trigonometric moment about the circular mean, ``rho_k = |mean(exp(i k (x - mean)))|``, gives
a concentration ``kappa_k`` solving ``I_k(kappa)/I_0(kappa) = rho_k`` on [0.0001, 345]
(R's ``uniroot``: Brent's zeroin with tolerance ``.Machine$double.eps^0.25``, emulated step by
step in :func:`_zeroin` so the root is the one R returns, not a more precise one); where the
function has the same sign at both ends that k gives 0. With ``kappa = max_k kappa_k``::

    bw = (3 n kappa^2 I2(2 kappa) / (4 sqrt(pi) I0(kappa)^2)) ^ (2/5)

A concentration of 0 (every k failed: e.g. all times identical) gives no bandwidth (NaN).

Estimators (``overlapEst``), each with its own smoothing ``adjust`` (the bandwidth is divided
by it; defaults 0.8, 1 and 4 as R&L 2009 recommend), f and g the densities of samples A (n1
times x) and B (n2 times y):

* Dhat1 = sum over a grid of 128 points from 0 to 2 pi, first point dropped, of min(f, g) with
  f and g each scaled to sum to 1 on those points;
* Dhat4 = (mean_i min(1, g(x_i)/f(x_i)) + mean_j min(1, f(y_j)/g(y_j))) / 2;
* Dhat5 = mean_i [f(x_i) < g(x_i)] + mean_j [g(y_j) <= f(y_j)].

For Dhat4 and Dhat5 the densities are evaluated at the observations directly, or, when there
are more than 1.1 x 128 observations in all, linearly interpolated from the grid, as R does.

Smoothed bootstrap (``resample(smooth=TRUE)`` / ``bootstrap``): each resample draws n times from
the 511 points of a 512-point grid with probabilities proportional to the fitted density (the
package's rejection sampler draws from exactly this distribution). ``bootEst`` is overlapEst on
each pair of resamples. ``bootCI`` gives five intervals from the bootstrap values ``bt`` and the
estimate ``t0``, with ``bias = mean(bt) - t0`` and ``z`` the normal quantile:
norm ``t0 - bias -+ z sd(bt)``, norm0 ``t0 -+ z sd(bt)``, perc (normal-interpolated quantiles,
boot's ``norm.inter``), basic ``2 t0 - perc`` reversed, basic0 ``perc - bias``. The package's
advice: Dhat1 when the smaller sample is under 50 (strictly: Dhat4 only above 75), at least
1,000 and preferably 10,000 resamples, and the basic0 interval.

Random numbers come from numpy, not R's Mersenne Twister: bootstrap values match R's in
distribution, not draw for draw; a seed makes them reproducible here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Sequence

import numpy as np
from scipy.special import ive

TWO_PI = 2 * math.pi
ADJUST = (0.8, 1.0, 4.0)  # Dhat1, Dhat4, Dhat5 (R&L 2009; overlap's default)
KMAX = 3
N_GRID = 128
RESAMPLE_GRID = 512
ESTIMATORS = ("dhat1", "dhat4", "dhat5")
CI_TYPES = ("norm", "norm0", "basic", "basic0", "perc")
# overlap's vignette: Dhat1 below 50 observations in the smaller sample, Dhat4 above 75
DHAT1_BELOW = 50
DHAT4_ABOVE = 75
MIN_BOOTSTRAP = 40  # fewer finite values cannot give a 95 % percentile interval (bootCI's note)
RECOMMENDED_BOOTSTRAP = 1000
_EPS = np.finfo(float).eps
_UNIROOT_TOL = _EPS ** 0.25
_KAPPA_LO, _KAPPA_HI = 0.0001, 345.0  # getBandWidth's search interval (upper 345 since overlap 0.3.2)


class OverlapInputError(ValueError):
    """Times that cannot be analysed (missing, outside 0..2 pi, fewer than two distinct values)."""


def check_times(x: Sequence[float] | np.ndarray, what: str = "times") -> np.ndarray:
    """The times as a float array, or OverlapInputError saying what is wrong (overlap's checkInput)."""
    a = np.asarray(x, dtype=float).ravel()
    if a.size and not np.all(np.isfinite(a)):
        raise OverlapInputError(f"{what}: missing or non-numeric values")
    if a.size and (a.min() < 0 or a.max() > TWO_PI):
        raise OverlapInputError(f"{what}: times must be radians from 0 to 2*pi (got {a.min():.4g} to {a.max():.4g})")
    distinct = np.unique(a).size
    if distinct < 2:
        raise OverlapInputError(f"{what}: {distinct} different observation(s); a density needs at least 2")
    return a


# ---- kernel density ----------------------------------------------------------------------------
def density_fit(x: np.ndarray, grid: np.ndarray, bw: float | np.ndarray, fast: bool = False) -> np.ndarray:
    """von Mises kernel density of ``x`` at ``grid`` with concentration ``bw`` (overlap's densityFit).

    Batched: ``x`` of shape (m, n), ``bw`` of shape (m,) and ``grid`` (m, g) or (g,) give (m, g).
    ``fast`` (the bootstrap's resamples) takes cos(t - x) as cos t cos x + sin t sin x, one small
    matrix product instead of a cosine per pair: densities within 1e-12 (relative) of the direct form.
    """
    x = np.asarray(x, dtype=float)
    grid = np.asarray(grid, dtype=float)
    if x.ndim == 1:
        return density_fit(x[None, :], grid, np.atleast_1d(bw), fast)[0]
    bw = np.broadcast_to(np.asarray(bw, dtype=float), (x.shape[0],))
    out = np.empty((x.shape[0], grid.shape[-1]))
    step = 16  # resamples at a time: the (step, g, n) block stays in cache
    for i in range(0, x.shape[0], step):
        xs, hs = x[i:i + step], bw[i:i + step, None, None]
        gs = grid if grid.ndim == 1 else grid[i:i + step]
        if fast:
            g2 = np.stack(np.broadcast_arrays(np.cos(gs), np.sin(gs)), axis=-1)
            if g2.ndim == 2:
                g2 = np.broadcast_to(g2, (xs.shape[0],) + g2.shape)
            d = g2 @ np.stack([np.cos(xs), np.sin(xs)], axis=1)
        else:
            d = (gs[None, :, None] if gs.ndim == 1 else gs[:, :, None]) - xs[:, None, :]
            np.cos(d, out=d)
        d -= 1.0
        d *= hs
        np.exp(d, out=d)
        d.sum(axis=2, out=out[i:i + step])
    return out / x.shape[1] / (TWO_PI * ive(0, bw))[:, None]


# ---- bandwidth -----------------------------------------------------------------------------------
def trig_moment(x: np.ndarray, p: int) -> np.ndarray:
    """Length of the p-th trigonometric moment about the circular mean (overlap's TrigMomRad); rows of ``x``."""
    x = np.atleast_2d(x)
    mean = np.arctan2(np.sin(x).sum(axis=1), np.cos(x).sum(axis=1))[:, None]
    d = p * (x - mean)
    return np.hypot(np.sin(d).mean(axis=1), np.cos(d).mean(axis=1))


def _afun(kappa: np.ndarray, rho: np.ndarray, k: int) -> np.ndarray:
    """I_k(kappa)/I_0(kappa) - rho (overlap's Afun; the scaled Bessel functions give the same ratio)."""
    return ive(k, kappa) / ive(0, kappa) - rho


def _zeroin(f, a: np.ndarray, b: np.ndarray, fa: np.ndarray, fb: np.ndarray, tol: float = _UNIROOT_TOL,
            maxit: int = 1000) -> np.ndarray:
    """Brent's zeroin as R's ``uniroot`` runs it (R_zeroin2), element by element over arrays.

    ``f(x)`` evaluates all elements at once. Follows the published algorithm step for step
    (inverse quadratic or linear interpolation accepted only inside the bracket, else bisection;
    steps no smaller than ``2 eps |b| + tol/2``) so that the root has R's error, not less.
    """
    a, b, fa, fb = (np.array(v, dtype=float) for v in (a, b, fa, fb))
    c, fc = a.copy(), fa.copy()
    out = np.full(a.shape, np.nan)
    at_a, at_b = fa == 0, (fb == 0) & (fa != 0)
    out[at_a], out[at_b] = a[at_a], b[at_b]
    active = ~(at_a | at_b)
    with np.errstate(all="ignore"):
        for _ in range(maxit + 1):
            if not active.any():
                break
            prev_step = b - a
            swap = active & (np.abs(fc) < np.abs(fb))
            a = np.where(swap, b, a)
            b = np.where(swap, c, b)
            c = np.where(swap, a, c)
            fa = np.where(swap, fb, fa)
            fb = np.where(swap, fc, fb)
            fc = np.where(swap, fa, fc)
            tol_act = 2 * _EPS * np.abs(b) + tol / 2
            new_step = (c - b) / 2
            done = active & ((np.abs(new_step) <= tol_act) | (fb == 0))
            out[done] = b[done]
            active &= ~done
            cb = c - b
            linear = a == c
            t1 = np.where(linear, fb / fa, fb / fc)
            q0 = fa / fc
            t2 = fb / fa
            p = np.where(linear, cb * t1, t2 * (cb * q0 * (q0 - t1) - (b - a) * (t1 - 1.0)))
            q = np.where(linear, 1.0 - t1, (q0 - 1.0) * (t1 - 1.0) * (t2 - 1.0))
            q = np.where(p > 0, -q, q)
            p = np.abs(p)
            interpolate = (active & (np.abs(prev_step) >= tol_act) & (np.abs(fa) > np.abs(fb))
                           & (p < 0.75 * cb * q - np.abs(tol_act * q) / 2) & (p < np.abs(prev_step * q / 2)))
            new_step = np.where(interpolate, p / q, new_step)
            new_step = np.where(np.abs(new_step) < tol_act, np.where(new_step > 0, tol_act, -tol_act), new_step)
            a = np.where(active, b, a)
            fa = np.where(active, fb, fa)
            b = np.where(active, b + new_step, b)
            fb = np.where(active, f(b), fb)
            flip = active & (((fb > 0) & (fc > 0)) | ((fb < 0) & (fc < 0)))
            c = np.where(flip, a, c)
            fc = np.where(flip, fa, fc)
    out[active] = b[active]  # not converged in maxit steps: R returns the last approximation too
    return out


def concentration(x: np.ndarray, kmax: int = KMAX) -> np.ndarray:
    """The von Mises concentration kappa-hat of each row of ``x``: the largest kappa_k, k = 1..kmax."""
    x = np.atleast_2d(np.asarray(x, dtype=float))
    best = np.zeros(x.shape[0])
    for k in range(1, kmax + 1):
        rho = trig_moment(x, k)
        lo = _afun(np.full_like(rho, _KAPPA_LO), rho, k)
        hi = _afun(np.full_like(rho, _KAPPA_HI), rho, k)
        ok = lo * hi <= 0
        if ok.any():
            idx = np.flatnonzero(ok)
            root = _zeroin(lambda kap, r=rho[idx], k=k: _afun(kap, r, k), np.full(idx.size, _KAPPA_LO),
                           np.full(idx.size, _KAPPA_HI), lo[idx], hi[idx])
            best[idx] = np.maximum(best[idx], root)
    return best


def bandwidths(x: np.ndarray, kmax: int = KMAX) -> np.ndarray:
    """overlap's getBandWidth for each row of ``x`` (NaN where no concentration could be estimated)."""
    x = np.atleast_2d(np.asarray(x, dtype=float))
    kappa = concentration(x, kmax)
    n = x.shape[1]
    with np.errstate(all="ignore"):
        # I2(2k)/I0(k)^2 with both Bessel functions scaled by exp(-2k): the exponentials cancel.
        bw = (3 * n * kappa ** 2 * ive(2, 2 * kappa) / (4 * math.sqrt(math.pi) * ive(0, kappa) ** 2)) ** 0.4
    return np.where(kappa > 0, bw, np.nan)


def bandwidth(x: Sequence[float] | np.ndarray, kmax: int = KMAX) -> float:
    """overlap's getBandWidth(x, kmax): the von Mises concentration of the kernel (NaN when it fails)."""
    return float(bandwidths(np.asarray(x, dtype=float)[None, :], kmax)[0])


# ---- estimators ---------------------------------------------------------------------------------
def overlap_true(d1: Sequence[float] | np.ndarray, d2: Sequence[float] | np.ndarray) -> float:
    """overlap's overlapTrue: the coefficient of overlapping of two densities on equidistant points
    of the circle (the first point dropped when both repeat it at the end), each scaled to sum to 1."""
    a, b = np.asarray(d1, dtype=float), np.asarray(d2, dtype=float)
    if math.isclose(a[0], a[-1], rel_tol=1.5e-8) and math.isclose(b[0], b[-1], rel_tol=1.5e-8):
        a, b = a[1:], b[1:]
    return float(np.minimum(a / a.sum(), b / b.sum()).sum())


def _at_obs(x: np.ndarray, obs: np.ndarray, bw: np.ndarray, grid: np.ndarray, interpolate: bool,
            fast: bool) -> np.ndarray:
    """Densities of rows of ``x`` at the rows of ``obs``: directly, or interpolated from the grid."""
    if not interpolate:
        return density_fit(x, obs, bw, fast)
    dens = density_fit(x, grid, bw, fast)
    return np.stack([np.interp(o, grid, d) for o, d in zip(obs, dens)])


def overlap_batch(a: np.ndarray, b: np.ndarray, kmax: int = KMAX,
                  adjust: Sequence[float | None] = ADJUST, n_grid: int = N_GRID,
                  bw: tuple[np.ndarray, np.ndarray] | None = None, fast: bool = False) -> np.ndarray:
    """overlapEst for each pair of rows of ``a`` (m, n1) and ``b`` (m, n2): an (m, 3) array of
    Dhat1, Dhat4, Dhat5 (NaN for an estimator whose ``adjust`` is None, or where a bandwidth failed).
    ``fast``: see :func:`density_fit` (for bootstrap resamples)."""
    a, b = np.atleast_2d(np.asarray(a, dtype=float)), np.atleast_2d(np.asarray(b, dtype=float))
    m, n1 = a.shape
    out = np.full((m, 3), np.nan)
    bw_a, bw_b = bw if bw is not None else (bandwidths(a, kmax), bandwidths(b, kmax))
    ok = np.isfinite(bw_a) & np.isfinite(bw_b)
    if not ok.any():
        return out
    a, b, bw_a, bw_b = a[ok], b[ok], bw_a[ok], bw_b[ok]
    grid = np.linspace(0, TWO_PI, n_grid)
    if adjust[0] is not None:
        da = density_fit(a, grid, bw_a / adjust[0], fast)[:, 1:]
        db = density_fit(b, grid, bw_b / adjust[0], fast)[:, 1:]
        out[ok, 0] = np.minimum(da / da.sum(axis=1, keepdims=True), db / db.sum(axis=1, keepdims=True)).sum(axis=1)
    both = np.concatenate([a, b], axis=1)
    interpolate = both.shape[1] > n_grid * 1.1
    with np.errstate(divide="ignore", invalid="ignore"):
        for col, adj in ((1, adjust[1]), (2, adjust[2])):
            if adj is None:
                continue
            fa = _at_obs(a, both, bw_a / adj, grid, interpolate, fast)
            fb = _at_obs(b, both, bw_b / adj, grid, interpolate, fast)
            if col == 1:
                out[ok, 1] = (np.minimum(1, fb[:, :n1] / fa[:, :n1]).mean(axis=1)
                              + np.minimum(1, fa[:, n1:] / fb[:, n1:]).mean(axis=1)) / 2
            else:
                out[ok, 2] = (fb[:, :n1] > fa[:, :n1]).mean(axis=1) + (fa[:, n1:] >= fb[:, n1:]).mean(axis=1)
    return out


def overlap_est(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, kmax: int = KMAX,
                adjust: Sequence[float | None] = ADJUST, n_grid: int = N_GRID) -> dict[str, float | None]:
    """overlap's overlapEst(A, B): {"dhat1", "dhat4", "dhat5"} (None where not estimated)."""
    a, b = check_times(a, "sample A"), check_times(b, "sample B")
    row = overlap_batch(a[None, :], b[None, :], kmax, adjust, n_grid)[0]
    return {k: (None if math.isnan(v) else float(v)) for k, v in zip(ESTIMATORS, row)}


# ---- bootstrap ------------------------------------------------------------------------------------
def resample(x: Sequence[float] | np.ndarray, nb: int, smooth: bool = True, kmax: int = KMAX, adjust: float = 1.0,
             n_grid: int = RESAMPLE_GRID, rng: np.random.Generator | None = None) -> np.ndarray:
    """overlap's resample: ``nb`` bootstrap samples of ``x`` as rows of an (nb, n) array.

    ``smooth=True`` draws from the fitted kernel density (bandwidth / adjust) on a grid of
    ``n_grid`` points (the last, 2 pi, is midnight again and left out); otherwise from ``x``.
    """
    rng = rng if rng is not None else np.random.default_rng()
    x = check_times(x)
    if not smooth:
        return rng.choice(x, size=(nb, x.size), replace=True)
    bw = bandwidth(x, kmax)
    if math.isnan(bw):
        raise OverlapInputError("no bandwidth could be estimated for a smoothed bootstrap")
    grid = np.linspace(0, TWO_PI, n_grid)
    dens = density_fit(x, grid, bw / adjust)[:-1]
    return grid[rng.choice(n_grid - 1, size=(nb, x.size), replace=True, p=dens / dens.sum())]


def boot_est(amat: np.ndarray, bmat: np.ndarray, kmax: int = KMAX, adjust: Sequence[float | None] = ADJUST,
             n_grid: int = N_GRID, chunk: int = 250) -> np.ndarray:
    """overlap's bootEst: overlapEst of each pair of resamples (rows), an (nb, 3) array.

    Computed in chunks of resamples so memory stays bounded (chunk x n x (n1 + n2) floats).
    """
    nb = min(len(amat), len(bmat))
    out = np.empty((nb, 3))
    for i in range(0, nb, chunk):
        out[i:i + chunk] = overlap_batch(amat[i:i + chunk], bmat[i:i + chunk], kmax, adjust, n_grid, fast=True)
    return out


def quantile_inter(bt: np.ndarray, conf: float = 0.95) -> tuple[float, float] | None:
    """Normal-interpolated quantiles of ``bt`` at (1 -+ conf)/2 (boot's norm.inter, overlap's
    quantileInter); None when there are too few values for this confidence."""
    bt = np.sort(np.asarray(bt, dtype=float))
    r = bt.size
    alpha = np.array([(1 - conf) / 2, (1 + conf) / 2])
    rk = (r + 1) * alpha
    if not np.all((rk > 1) & (rk < r)):
        return None
    k = np.trunc(rk).astype(int)
    lo, hi = bt[k - 1], bt[k]
    if np.all(k == rk):
        return float(lo[0]), float(lo[1])
    nd = NormalDist()
    wanted = np.array([nd.inv_cdf(p) for p in alpha])
    too_lo = np.array([nd.inv_cdf(v / (r + 1)) for v in k])
    too_hi = np.array([nd.inv_cdf((v + 1) / (r + 1)) for v in k])
    out = lo + (wanted - too_lo) / (too_hi - too_lo) * (hi - lo)
    return float(out[0]), float(out[1])


def boot_ci(t0: float, bt: Sequence[float] | np.ndarray, conf: float = 0.95) -> dict[str, tuple[float, float] | None]:
    """overlap's bootCI: the norm, norm0, basic, basic0 and perc intervals (None when too few values)."""
    arr = np.asarray(bt, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size < 2:
        return dict.fromkeys(CI_TYPES)
    bias = float(arr.mean()) - t0
    merr = float(arr.std(ddof=1)) * NormalDist().inv_cdf((1 + conf) / 2)
    perc = quantile_inter(arr, conf)
    return {"norm": (t0 - bias - merr, t0 - bias + merr), "norm0": (t0 - merr, t0 + merr),
            "basic": (2 * t0 - perc[1], 2 * t0 - perc[0]) if perc else None,
            "basic0": (perc[0] - bias, perc[1] - bias) if perc else None, "perc": perc}


def _logit(p: np.ndarray | float):
    with np.errstate(divide="ignore"):
        return np.log(p) - np.log1p(-np.asarray(p))


def _expit(x: float) -> float:
    return float(1 / (1 + np.exp(-x)))


def boot_ci_logit(t0: float, bt: Sequence[float] | np.ndarray, conf: float = 0.95):
    """overlap's bootCIlogit: the same intervals computed on the logit scale and back-transformed."""
    ci = boot_ci(float(_logit(t0)), _logit(np.asarray(bt, dtype=float)), conf)
    return {k: (None if v is None else (_expit(v[0]), _expit(v[1]))) for k, v in ci.items()}


# ---- the whole analysis ---------------------------------------------------------------------------
def recommended_estimator(n_a: int, n_b: int) -> str:
    """Dhat4 when the smaller sample is above 75, else Dhat1 (overlap's vignette)."""
    return "dhat4" if min(n_a, n_b) > DHAT4_ABOVE else "dhat1"


def sample_notes(n_a: int, n_b: int, n_boot: int = 0, finite_boot: int | None = None) -> list[dict[str, Any]]:
    """Warnings about sample sizes: too small for Dhat4, between 50 and 75, too few resamples."""
    notes = []
    small = min(n_a, n_b)
    if small < DHAT1_BELOW:
        notes.append({"code": "small_sample_dhat1",
                      "message": f"the smaller sample has {small} records (< {DHAT1_BELOW}): too small for Dhat4; "
                                 "use Dhat1"})
    elif small <= DHAT4_ABOVE:
        notes.append({"code": "intermediate_sample",
                      "message": f"the smaller sample has {small} records ({DHAT1_BELOW}-{DHAT4_ABOVE}): neither "
                                 "estimator is clearly better; Dhat1 is reported as the estimate"})
    if n_boot:
        if n_boot < RECOMMENDED_BOOTSTRAP:
            notes.append({"code": "few_resamples",
                          "message": f"{n_boot} resamples: use at least {RECOMMENDED_BOOTSTRAP} (10,000 preferably)"})
        if finite_boot is not None and finite_boot < MIN_BOOTSTRAP:
            notes.append({"code": "bootstrap_too_small",
                          "message": f"only {finite_boot} usable resamples: a 95% interval needs at least "
                                     f"{MIN_BOOTSTRAP}; no interval given"})
    return notes


@dataclass
class OverlapResult:
    """Dhat1, Dhat4, Dhat5 of two samples, their bandwidths, sample sizes, the recommended estimate
    and, after a bootstrap, the bootstrap means and intervals of each estimator."""

    n_a: int
    n_b: int
    bandwidth_a: float
    bandwidth_b: float
    estimates: dict[str, float | None]
    recommended: str
    adjust: tuple[float | None, ...] = ADJUST
    bootstrap: int = 0
    seed: int | None = None
    conf: float = 0.95
    boot_mean: dict[str, float | None] = field(default_factory=dict)
    ci: dict[str, dict[str, tuple[float, float] | None]] = field(default_factory=dict)
    notes: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Flat keys for the CLI and API: dhat1, dhat4, dhat5, bandwidth_a/b, and ``ci`` after a bootstrap."""
        out: dict[str, Any] = {**self.estimates, "bandwidth_a": self.bandwidth_a, "bandwidth_b": self.bandwidth_b,
                               "n_a": self.n_a, "n_b": self.n_b, "recommended": self.recommended,
                               "estimate": self.estimates[self.recommended], "adjust": list(self.adjust),
                               "kmax": KMAX, "n_grid": N_GRID, "notes": self.notes}
        if self.bootstrap:
            out.update({"bootstrap": self.bootstrap, "seed": self.seed, "conf": self.conf,
                        "boot_mean": self.boot_mean,
                        "ci": {e: {t: (list(v) if v else None) for t, v in cis.items()} for e, cis in self.ci.items()},
                        "recommended_ci": "basic0"})
        return out


def analyse(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, bootstrap: int = 0,
            seed: int | None = None, conf: float = 0.95, adjust: Sequence[float | None] = ADJUST,
            chunk: int = 250) -> OverlapResult:
    """Overlap of samples ``a`` and ``b`` (radians) with, when ``bootstrap`` > 0, that many smoothed
    resamples of each and overlap's five intervals for each estimator. OverlapInputError for bad times."""
    if bootstrap < 0:
        raise OverlapInputError("the number of bootstrap resamples must be 0 or more")
    a, b = check_times(a, "sample A"), check_times(b, "sample B")
    bw_a, bw_b = bandwidth(a), bandwidth(b)
    for bw, what in ((bw_a, "sample A"), (bw_b, "sample B")):
        if math.isnan(bw):
            raise OverlapInputError(f"{what}: no bandwidth could be estimated (the times are too concentrated)")
    row = overlap_batch(a[None, :], b[None, :], adjust=adjust, bw=(np.array([bw_a]), np.array([bw_b])))[0]
    est = {k: (None if math.isnan(v) else float(v)) for k, v in zip(ESTIMATORS, row)}
    res = OverlapResult(a.size, b.size, bw_a, bw_b, est, recommended_estimator(a.size, b.size), tuple(adjust),
                        bootstrap, seed, conf)
    finite = None
    if bootstrap:
        rng = np.random.default_rng(seed)
        bt = boot_est(resample(a, bootstrap, rng=rng), resample(b, bootstrap, rng=rng), adjust=adjust, chunk=chunk)
        finite = int(np.isfinite(bt).all(axis=1).sum())
        for j, name in enumerate(ESTIMATORS):
            col = bt[:, j]
            t0 = est[name]
            ok = col[np.isfinite(col)]
            res.boot_mean[name] = float(ok.mean()) if ok.size else None
            res.ci[name] = boot_ci(t0, col, conf) if t0 is not None and ok.size >= MIN_BOOTSTRAP else dict.fromkeys(
                CI_TYPES)
    res.notes = sample_notes(a.size, b.size, bootstrap, finite)
    return res
