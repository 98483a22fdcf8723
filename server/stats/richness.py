"""Species richness from incidence data, as vegan's ``specpool`` and ``specaccum``.

Input: a sampling units x species table (camera stations, station-days, ...; counts or 0/1;
only presence matters). Estimators of the total number of species, including those never
recorded (incidence-based, Chao 1987; Burnham and Overton 1978; Smith and van Belle 1984):

* ``S`` observed; ``a1`` uniques (species in exactly one unit), ``a2`` duplicates (two units),
  ``n`` units; ``ssc = (n - 1) / n`` (vegan's ``smallsample = TRUE``);
* Chao2 (bias-corrected when there are no duplicates) ``S + ssc a1^2 / (2 a2)``, or
  ``S + ssc a1 (a1 - 1) / 2`` when ``a2 = 0``, with vegan's variance (Chao's, EstimateS's);
* first-order jackknife ``S + a1 (n - 1) / n`` and its variance (vegan's, from the number of
  uniques per unit); second-order jackknife ``S + a1 (2n - 3) / n - a2 (n - 2)^2 / (n (n - 1))``;
* bootstrap ``S + sum (1 - p_k)^n`` and its variance (vegan's).

vegan gives no standard error for the second-order jackknife; :func:`specpool` adds one from
resampling units (bootstrap, seeded) and says so. Intervals: Chao2 has Chao's (1987)
log-normal interval (lower bound never below S, as EstimateS and SpadeR report it); the
jackknives and bootstrap have Wald intervals from their SE, floored at S.

Accumulation (:func:`specaccum`): ``exact`` - the expected richness of k units drawn without
replacement (Ugland et al. 2003; Kindt's "exact") with vegan's conditioned SD (Colwell et al.
2004), and ``random`` - mean and SD over random orders of the units (seeded; the same
estimator as vegan's, not R's random stream).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np


class RichnessError(ValueError):
    """Data that cannot give a richness estimate (the message says why)."""


def incidence(table) -> np.ndarray:
    """A units x species 0/1 matrix from counts or presences; RichnessError for bad values."""
    x = np.asarray(table, dtype=float)
    if x.ndim != 2:
        raise RichnessError("richness needs a sampling units x species table")
    if x.shape[0] == 0:
        raise RichnessError("no sampling units (no station or occasion with records)")
    if not np.isfinite(x).all():
        raise RichnessError("the table has missing values; richness needs every unit's record (0 when absent)")
    if (x < 0).any():
        raise RichnessError("the table has negative counts")
    return (x > 0).astype(float)


@dataclass
class Pool:
    """vegan's ``specpool`` row plus intervals and notes."""

    n: int
    species: int
    a1: int
    a2: int
    chao: float
    chao_se: float
    jack1: float
    jack1_se: float
    jack2: float
    jack2_se: float | None
    boot: float
    boot_se: float
    intervals: dict[str, tuple[float, float]]
    level: float
    notes: list[str]

    def as_dict(self) -> dict:
        return {"n": self.n, "species": self.species, "uniques": self.a1, "duplicates": self.a2,
                "chao": self.chao, "chao_se": self.chao_se, "jack1": self.jack1, "jack1_se": self.jack1_se,
                "jack2": self.jack2, "jack2_se": self.jack2_se, "boot": self.boot, "boot_se": self.boot_se,
                "intervals": {k: list(v) for k, v in self.intervals.items()}, "level": self.level,
                "notes": list(self.notes)}


def _pool_point(x: np.ndarray) -> dict:
    """The estimators of vegan's specpool (smallsample = TRUE) for one 0/1 matrix."""
    n = x.shape[0]
    ssc = (n - 1) / n
    freq = x.sum(axis=0)
    S = int((freq > 0).sum())
    p = freq[freq > 0] / n
    a1 = int((freq == 1).sum())
    a2 = int((freq == 2).sum()) if n >= 2 else 0
    chao = S + (ssc * a1 * a1 / 2 / a2 if a2 > 0 else ssc * a1 * (a1 - 1) / 2)
    jack1 = S + a1 * (n - 1) / n
    jack2 = S + a1 * (2 * n - 3) / n - a2 * (n - 2) ** 2 / n / (n - 1) if n > 1 else jack1
    boot = S + float(np.sum((1 - p) ** n))
    return {"n": n, "S": S, "a1": a1, "a2": a2, "chao": chao, "jack1": jack1, "jack2": jack2, "boot": boot,
            "ssc": ssc, "freq": freq, "p": p}


def specpool(table, level: float = 0.95, jack2_resamples: int = 200, seed: int | None = 0) -> Pool:
    """Chao2, first- and second-order jackknife and bootstrap richness with SEs and intervals.

    Numbers as vegan's ``specpool(x)``; ``jack2_se`` from ``jack2_resamples`` bootstrap
    resamples of the units (0 to skip). RichnessError for an empty or malformed table.
    """
    from scipy.stats import norm

    x = incidence(table)
    pt = _pool_point(x)
    n, S, a1, a2, ssc = pt["n"], pt["S"], pt["a1"], pt["a2"], pt["ssc"]
    notes: list[str] = []
    if S == 0:
        raise RichnessError("no species recorded in any sampling unit: nothing to estimate")
    chao = pt["chao"]
    if a2 > 0:
        aa = a1 / a2
        var_chao = a2 * ssc * (0.5 + ssc * (1 + aa / 4) * aa) * aa * aa
    else:
        var_chao = ssc * (ssc * (a1 * (2 * a1 - 1) ** 2 / 4 - a1 ** 4 / chao / 4) + a1 * (a1 - 1) / 2)
        if a1 > 0:
            notes.append("no species was recorded in exactly two units: Chao2 uses its bias-corrected form")
    var_jack1 = math.nan
    if a1 > 0:
        per_unit = x[:, pt["freq"] == 1].sum(axis=1)
        vals, counts = np.unique(per_unit, return_counts=True)
        var_jack1 = (float(np.sum(vals ** 2 * counts)) - a1 / n) * (n - 1) / n
    else:
        var_jack1 = 0.0
    p = pt["p"]
    pn = (1 - p) ** n
    X = x[:, pt["freq"] > 0]
    Z = (X == 0).astype(float)
    Zp = (Z.T @ Z / n) ** n - np.outer(pn, pn)
    var_boot = float(np.sum(pn * (1 - pn)) + 2 * np.sum(Zp[np.tril_indices_from(Zp, -1)]))
    jack2_se = None
    if jack2_resamples and n > 1:
        rng = np.random.default_rng(seed)
        draws = [_pool_point(x[rng.integers(0, n, n)])["jack2"] for _ in range(jack2_resamples)]
        jack2_se = float(np.std(draws, ddof=1))
        notes.append(f"the second-order jackknife SE is from {jack2_resamples} bootstrap resamples of the units "
                     "(vegan gives none)")
    if n < 2:
        notes.append("one sampling unit: uniques and duplicates cannot be told apart; estimates equal the "
                     "observed count")
    elif n < 10:
        notes.append(f"only {n} sampling units: richness estimators are unreliable with so few (aim for 10 or more)")
    if a1 > 0 and a1 == S:
        notes.append("every species was recorded in one unit only: the inventory is far from complete and the "
                     "estimates are lower bounds")
    z = float(norm.ppf(1 - (1 - level) / 2))
    chao_se = math.sqrt(max(var_chao, 0.0))
    intervals = {"chao": chao_interval(S, chao, var_chao, level)}
    for name, est, se in (("jack1", pt["jack1"], math.sqrt(max(var_jack1, 0.0))),
                          ("jack2", pt["jack2"], jack2_se), ("boot", pt["boot"], math.sqrt(max(var_boot, 0.0)))):
        if se is not None:
            intervals[name] = (max(float(S), est - z * se), est + z * se)
    return Pool(n, S, a1, a2, float(chao), chao_se, float(pt["jack1"]), math.sqrt(max(var_jack1, 0.0)),
                float(pt["jack2"]), jack2_se, float(pt["boot"]), math.sqrt(max(var_boot, 0.0)), intervals, level,
                notes)


def chao_interval(S: int, chao: float, var: float, level: float = 0.95) -> tuple[float, float]:
    """Chao's (1987) log-normal interval for Chao2: S + T / K .. S + T K, T = chao - S,
    K = exp(z sqrt(log(1 + var / T^2))); (S, S) when nothing is missing."""
    from scipy.stats import norm

    T = chao - S
    if T <= 0 or var <= 0:
        return (float(chao), float(chao))
    z = float(norm.ppf(1 - (1 - level) / 2))
    K = math.exp(z * math.sqrt(math.log(1 + var / T ** 2)))
    return (S + T / K, S + T * K)


@dataclass
class Accumulation:
    """vegan's ``specaccum`` result: units 1..n, richness, sd, interval."""

    method: str
    sites: list[int]
    richness: list[float]
    sd: list[float]
    lower: list[float]
    upper: list[float]
    permutations: int | None = None

    def as_dict(self) -> dict:
        return {"method": self.method, "sites": self.sites, "richness": self.richness, "sd": self.sd,
                "lower": self.lower, "upper": self.upper, "permutations": self.permutations}


def specaccum(table, method: str = "exact", permutations: int = 100, seed: int | None = 0,
              level: float = 0.95) -> Accumulation:
    """Sample-based species accumulation as vegan's ``specaccum`` (``exact`` or ``random``)."""
    from scipy.special import gammaln
    from scipy.stats import norm

    x = incidence(table)
    x = x[:, x.sum(axis=0) > 0]
    n, f = x.shape
    if f == 0:
        raise RichnessError("no species recorded in any sampling unit: nothing to accumulate")
    z = float(norm.ppf(1 - (1 - level) / 2))
    if method == "exact":
        freq = x.sum(axis=0)
        k = np.arange(1, n + 1)[:, None]

        def lchoose(a, b):
            return gammaln(a + 1) - gammaln(b + 1) - gammaln(a - b + 1)

        with np.errstate(invalid="ignore"):
            result = np.where(n - freq[None, :] < k, 0.0,
                              np.exp(lchoose(n - freq[None, :], k) - lchoose(np.full_like(k, n), k)))
        richness = (1 - result).sum(axis=1)
        V = result * (1 - result)
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            # One sampling unit: no correlation exists (numpy warns "degrees of freedom <= 0"); taken as 0 below.
            warnings.simplefilter("ignore", RuntimeWarning)
            cor = np.corrcoef(x.T) if f > 1 and n > 1 else np.ones((1, 1)) if f == 1 else np.eye(f)
        cor = np.nan_to_num(np.atleast_2d(cor), nan=0.0)
        lower_tri = np.tril(cor, -1)
        sq = np.sqrt(V)
        cv = 2 * np.einsum("ij,jk,ik->i", sq, lower_tri, sq)
        sd = np.sqrt(np.maximum(V.sum(axis=1) + cv, 0.0))
        lo, hi = richness - z * sd, richness + z * sd
        return Accumulation("exact", list(range(1, n + 1)), richness.tolist(), sd.tolist(),
                            np.maximum(lo, 0).tolist(), hi.tolist())
    if method == "random":
        if permutations < 2:
            raise RichnessError("random accumulation needs at least 2 permutations")
        rng = np.random.default_rng(seed)
        perm = np.empty((n, permutations))
        for i in range(permutations):
            order = rng.permutation(n)
            perm[:, i] = (np.cumsum(x[order], axis=0) > 0).sum(axis=1)
        a = (1 - level) / 2
        return Accumulation("random", list(range(1, n + 1)), perm.mean(axis=1).tolist(),
                            perm.std(axis=1, ddof=1).tolist(), np.quantile(perm, a, axis=1).tolist(),
                            np.quantile(perm, 1 - a, axis=1).tolist(), permutations)
    raise RichnessError(f"accumulation method must be 'exact' or 'random', got {method!r}")


__all__ = ["Accumulation", "Pool", "RichnessError", "chao_interval", "incidence", "specaccum", "specpool"]
