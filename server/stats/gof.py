"""MacKenzie-Bailey goodness of fit for single-season occupancy (MacKenzie & Bailey 2004).

Sites are grouped in cohorts by which occasions were surveyed (their NA pattern). Within a
cohort every possible detection history h has an expected count

    E_h = sum over the cohort's sites of  psi_i prod_j p_ij^h_j (1 - p_ij)^(1 - h_j)
                                          + (1 - psi_i) [h has no detection]

and the statistic is sum (O_h - E_h)^2 / E_h over all 2^J' histories. Histories nobody
showed contribute E_h each, which sum to N_cohort - sum of E over the observed histories, so
the statistic needs only the observed histories (as ubms and AICcmodavg compute it).

Its distribution comes from a parametric bootstrap: detections simulated from the fitted
model with the same survey pattern, the model refitted from the estimates, the statistic
recomputed. c-hat = observed / mean of the bootstrap statistics; p = share of bootstrap
statistics at least as large as the observed one (AICcmodavg's ``mb.gof.test``). The
simulations use numpy's generator seeded with ``seed``: the same seed gives the same
numbers (not R's random numbers, so not R's bootstrap draws).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from . import optim
from .occupancy import Likelihood, OccuFit, OccupancyError

MAX_BOOTSTRAP = 10_000


def chi_square(y: np.ndarray, psi: np.ndarray, p: np.ndarray) -> tuple[float, list[dict]]:
    """The MacKenzie-Bailey statistic and its table (cohort, history, observed, expected, term).

    ``y`` sites x occasions (NaN = not surveyed), ``psi`` per site, ``p`` sites x occasions.
    """
    surveyed = np.isfinite(y)
    patterns: dict[bytes, list[int]] = {}
    for i in range(y.shape[0]):
        patterns.setdefault(surveyed[i].tobytes(), []).append(i)
    total = 0.0
    table: list[dict] = []
    for c, (_key, sites) in enumerate(sorted(patterns.items(), key=lambda kv: kv[1][0])):
        rows = np.asarray(sites, dtype=np.intp)
        cols = np.flatnonzero(surveyed[sites[0]])
        ys = y[np.ix_(rows, cols)].astype(int)
        ps = p[np.ix_(rows, cols)]
        ps_i = psi[rows]
        histories: dict[tuple, int] = {}
        for row in map(tuple, ys):
            histories[row] = histories.get(row, 0) + 1
        expected_sum = 0.0
        for h, observed in sorted(histories.items()):
            hv = np.array(h)
            prob = ps_i * np.prod(np.where(hv == 1, ps, 1 - ps), axis=1) + (1 - ps_i) * (hv.sum() == 0)
            expected = float(prob.sum())
            expected_sum += expected
            term = (observed - expected) ** 2 / expected if expected > 0 else math.inf
            total += term
            table.append({"cohort": c + 1, "history": "".join(map(str, h)), "observed": observed,
                          "expected": expected, "chi_square": term})
        rest = max(0.0, len(sites) - expected_sum)
        if rest > 0:
            total += rest
            table.append({"cohort": c + 1, "history": "(not observed)", "observed": 0, "expected": rest,
                          "chi_square": rest})
    return total, table


def mb_test(fit: OccuFit, nsim: int = 100, seed: int | None = None) -> dict:
    """The statistic, its parametric bootstrap, c-hat and p-value (see the module docstring)."""
    if nsim < 1 or nsim > MAX_BOOTSTRAP:
        raise OccupancyError(f"the bootstrap needs between 1 and {MAX_BOOTSTRAP} simulations, got {nsim}")
    lik = Likelihood(fit.prep, fit.psi_link)
    psi, p = lik.site_probabilities(fit.estimates)
    y = fit.prep.y
    t0, table = chi_square(y, psi, p)
    rng = np.random.default_rng(seed)
    surveyed = np.isfinite(y)
    t_star = np.full(nsim, np.nan)
    for b in range(nsim):
        z = rng.random(psi.shape) < psi
        det = (rng.random(p.shape) < p) & z[:, None]
        ys = np.where(surveyed, det.astype(float), np.nan)
        prep_b = dataclasses.replace(fit.prep, y=ys)
        lik_b = Likelihood(prep_b, fit.psi_link)
        try:
            res = optim.vmmin(lik_b.nll, lik_b.gradient, fit.estimates)
        except (optim.OptimError, FloatingPointError):
            continue
        psi_b, p_b = lik_b.site_probabilities(res.par)
        t_star[b] = chi_square(ys, psi_b, p_b)[0]
    ok = t_star[np.isfinite(t_star)]
    notes = []
    if ok.size < nsim:
        notes.append(f"{nsim - ok.size} bootstrap refit(s) failed and are left out")
    if ok.size < 100:
        notes.append(f"only {ok.size} bootstrap statistics: the p-value and c-hat are rough (use 1,000 or more)")
    mean_t = float(ok.mean()) if ok.size else math.nan
    return {"chi_square": t0, "table": table, "nsim": nsim, "n_ok": int(ok.size), "seed": seed,
            "t_star": [float(v) for v in t_star],
            "p_value": float(np.mean(ok >= t0)) if ok.size else None,
            "c_hat": t0 / mean_t if ok.size and mean_t > 0 else None,
            "t_star_mean": mean_t if ok.size else None,
            "t_star_quantiles": ({q: float(np.quantile(ok, q)) for q in (0.025, 0.5, 0.975)} if ok.size else None),
            "notes": notes}
