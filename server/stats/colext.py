"""Multi-season (dynamic) occupancy (MacKenzie et al. 2003) by maximum likelihood, as unmarked's ``colext``.

Model: site i is occupied in the first season with probability psi_i; between seasons t and
t + 1 an empty site is colonised with probability gamma_it and an occupied site goes extinct
with probability epsilon_it; within season t an occupied site is detected on occasion j with
probability p_itj. All four are logit-linear in covariates (R-style formulas, ``design.py``):
psi in site covariates, gamma and epsilon in yearly site covariates (the row of season t
drives the transition t -> t + 1, so the last season's row is not used), p in observation
covariates (site and yearly covariates may appear too).

The likelihood of a site is the hidden-Markov forward recursion

    L_i = pi' D_1 Phi_1 D_2 Phi_2 ... Phi_{T-1} D_T 1,

pi = (1 - psi, psi), Phi_t = [[1 - gamma, gamma], [epsilon, 1 - epsilon]], D_t the diagonal
of P(season t's detections | unoccupied) (1 without a detection, else 0) and
P(... | occupied) = prod p^y (1 - p)^(1 - y); a season with no surveyed occasion has D = I.

Equivalence with unmarked (current versions: TMB's ``tmb_colext`` with
``optim(rep(0, nP), fn, gr, method = "BFGS", hessian = TRUE)``): the same likelihood and
parameter order (psi, col, ext, p), the same optimiser (:func:`server.stats.optim.vmmin`)
with the exact gradient (forward-backward, as TMB's automatic derivative), AIC = 2 nll + 2 nP,
``projected`` and ``smoothed`` occupancy as unmarked computes them (smoothed: the posterior
P(z_it = 1 | data) of Weir, Fiske and Royle 2009). unmarked's published test numbers are
reproduced in tests/server/stats/test_stats_colext.py. Beyond unmarked: delta-method
intervals for the yearly mean trajectories (unmarked offers only bootstrap SEs) and a
site-resampling bootstrap, and the change between first and last season with its interval -
the trend the annual report shows.

Missing values follow unmarked: a site whose occupancy covariates are missing, or with no
surveyed occasion at all, is removed (warning naming it); an occasion whose detection
covariates are missing is set to NA (warning); a missing yearly covariate used by a
transition is an error naming the site and season (unmarked stops too).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import optim
from .design import Design, build, check_rank
from .occupancy import OccupancyError, Warning_, _logit_interval, _num, plogis, z_value

SUBMODELS = ("psi", "col", "ext", "p")
LABELS = {"psi": "initial occupancy", "col": "colonisation", "ext": "extinction", "p": "detection"}
SE_LARGE = 5.0


@dataclass
class ColextData:
    """Detections of T seasons (primary periods) x J occasions per site, with covariates.

    ``y`` is sites x (T * J), season-major within a row (season 1's J occasions first), 1, 0
    or NaN; ``yearly_site_covs`` maps a name to a sites x T array; ``obs_covs`` a name to a
    sites x (T * J) array; ``site_covs`` is a table with one row per site.
    """

    y: np.ndarray
    sites: list[str]
    n_seasons: int
    site_covs: Any = None
    yearly_site_covs: dict[str, np.ndarray] = field(default_factory=dict)
    obs_covs: dict[str, np.ndarray] = field(default_factory=dict)
    season_labels: list[str] | None = None

    def __post_init__(self):
        import pandas as pd

        y = np.array(self.y, dtype=float)
        if y.ndim != 2 or y.shape[0] == 0 or y.shape[1] == 0:
            raise OccupancyError("the detection history must be a non-empty sites x occasions matrix")
        M, TJ = y.shape
        T = int(self.n_seasons)
        if T < 2:
            raise OccupancyError(f"a multi-season model needs at least 2 seasons, got {T} (fit a single-season "
                                 "model instead)")
        if TJ % T:
            raise OccupancyError(f"{TJ} occasion columns do not divide into {T} seasons of equal length (pad the "
                                 "shorter seasons with empty occasions)")
        if len(self.sites) != M:
            raise OccupancyError(f"{len(self.sites)} site names for {M} rows of detections")
        if len(set(self.sites)) != M:
            dup = sorted({s for s in self.sites if self.sites.count(s) > 1})
            raise OccupancyError(f"site names repeat: {', '.join(map(str, dup[:10]))}")
        if (np.isfinite(y) & (y < 0)).any():
            i, j = map(int, np.argwhere(np.isfinite(y) & (y < 0))[0])
            raise OccupancyError(f"negative detection value at site {self.sites[i]} occasion {j + 1}")
        self.y = y
        self.n_seasons = T
        if self.season_labels is None:
            self.season_labels = [str(t + 1) for t in range(T)]
        elif len(self.season_labels) != T:
            raise OccupancyError(f"{len(self.season_labels)} season labels for {T} seasons")
        self.site_covs = (pd.DataFrame(index=range(M)) if self.site_covs is None
                          else pd.DataFrame(self.site_covs).reset_index(drop=True))
        if len(self.site_covs) != M:
            raise OccupancyError(f"site covariates have {len(self.site_covs)} rows for {M} sites")
        seen = set(self.site_covs.columns)
        ycovs = {}
        for name, arr in (self.yearly_site_covs or {}).items():
            a = np.asarray(arr)
            if a.shape != (M, T):
                raise OccupancyError(f"yearly site covariate {name!r} is {'x'.join(map(str, a.shape))}, "
                                     f"expected {M} sites x {T} seasons")
            if name in seen:
                raise OccupancyError(f"covariate {name!r} is given twice (site and yearly)")
            seen.add(name)
            ycovs[name] = a
        self.yearly_site_covs = ycovs
        ocovs = {}
        for name, arr in (self.obs_covs or {}).items():
            a = np.asarray(arr)
            if a.shape != (M, TJ):
                raise OccupancyError(f"observation covariate {name!r} is {'x'.join(map(str, a.shape))}, the "
                                     f"detections are {M} x {TJ}")
            if name in seen:
                raise OccupancyError(f"covariate {name!r} is given twice")
            seen.add(name)
            ocovs[name] = a
        self.obs_covs = ocovs

    @property
    def shape(self) -> tuple[int, int, int]:
        M, TJ = self.y.shape
        return M, self.n_seasons, TJ // self.n_seasons

    def yearly_frame(self):
        """Site x season rows (site-major), site covariates repeated, plus the yearly covariates."""
        from .occupancy import _column

        M, T, _ = self.shape
        frame = self.site_covs.loc[np.repeat(np.arange(M), T)].reset_index(drop=True)
        for name, a in self.yearly_site_covs.items():
            frame[name] = _column(a.reshape(-1))
        return frame

    def obs_frame(self):
        """Site x season x occasion rows (site-major), with site and yearly covariates repeated."""
        from .occupancy import _column

        M, T, J = self.shape
        frame = self.yearly_frame().loc[np.repeat(np.arange(M * T), J)].reset_index(drop=True)
        for name, a in self.obs_covs.items():
            frame[name] = _column(a.reshape(-1))
        return frame


@dataclass
class Prepared:
    y: np.ndarray  # kept sites x T x J
    designs: dict[str, Design]
    mats: dict[str, np.ndarray]  # psi: kept x k; col/ext: kept*(T-1) x k; p: kept*T*J x k
    offsets: dict[str, np.ndarray]
    kept: np.ndarray
    removed: list[tuple[str, str]]
    discarded: int
    warnings: list[Warning_]


def prepare(data: ColextData, psi: str, gamma: str, epsilon: str, p: str) -> Prepared:
    """Design matrices and detections after unmarked's handling of missing values."""
    M, T, J = data.shape
    labels = list(data.season_labels or [])
    where = ({c: "site covariate" for c in data.site_covs.columns}
             | {c: "yearly site covariate" for c in data.yearly_site_covs}
             | {c: "observation covariate" for c in data.obs_covs})
    yearly = data.yearly_frame()
    X = build(psi, data.site_covs, "initial occupancy", where)
    G = build(gamma, yearly, "colonisation", where)
    E = build(epsilon, yearly, "extinction", where)
    V = build(p, data.obs_frame(), "detection", where)
    warnings: list[Warning_] = []
    y = data.y.copy()
    if (np.isfinite(y) & (y > 1)).any():
        y[np.isfinite(y) & (y > 1)] = 1.0
        warnings.append(Warning_("truncated", "some detections were greater than 1; they count as 1 (detected)"))
    transition = np.ones((M, T), bool)
    transition[:, -1] = False
    for design, what in ((G, "colonisation"), (E, "extinction")):
        bad = design.missing.reshape(M, T) & transition
        if bad.any():
            cells = [f"{data.sites[i]}/{labels[t]}" for i, t in np.argwhere(bad)[:10]]
            raise OccupancyError(f"the {what} formula {design.formula!r} needs {', '.join(design.variables)} for "
                                 f"every season but the last; missing at site/season {', '.join(cells)}"
                                 f"{' ...' if bad.sum() > 10 else ''} (unmarked refuses these too)")
    v_missing = V.missing.reshape(M, T * J)
    newly = v_missing & np.isfinite(y) & ~X.missing[:, None]
    discarded = int(newly.sum())
    if discarded:
        cells = [f"{data.sites[i]}/{labels[j // J]}#{j % J + 1}" for i, j in np.argwhere(newly)[:10]]
        warnings.append(Warning_("observations_discarded",
                                 f"{discarded} observation(s) discarded because their detection covariates "
                                 f"({', '.join(V.variables)}) are missing: site/season#occasion {', '.join(cells)}"
                                 f"{' ...' if discarded > 10 else ''}"))
    y[v_missing] = np.nan
    removed: list[tuple[str, str]] = []
    keep = []
    for i in range(M):
        if X.missing[i]:
            miss = [v for v in X.variables if _isna(data.site_covs.iloc[i][v])]
            removed.append((data.sites[i], f"missing initial-occupancy covariate {', '.join(miss)}"))
        elif not np.isfinite(y[i]).any():
            reason = ("every surveyed occasion lacks a detection covariate" if np.isfinite(data.y[i]).any()
                      else "no operating occasion in any season")
            removed.append((data.sites[i], reason))
        else:
            keep.append(i)
    if removed:
        names = "; ".join(f"{s} ({r})" for s, r in removed[:20])
        warnings.append(Warning_("sites_removed", f"{len(removed)} site(s) removed from the fit: {names}"
                                 f"{' ...' if len(removed) > 20 else ''}"))
    kept = np.array(keep, dtype=int)
    if kept.size == 0:
        raise OccupancyError("no site has a surveyed occasion with its covariates: nothing to fit")
    tr_rows = (kept[:, None] * T + np.arange(T - 1)[None, :]).reshape(-1)
    obs_rows = (kept[:, None] * T * J + np.arange(T * J)[None, :]).reshape(-1)
    yk = y[kept]
    used = np.isfinite(yk.reshape(-1))
    Vk = np.where(used[:, None], V.matrix[obs_rows], 0.0)
    mats = {"psi": X.matrix[kept], "col": G.matrix[tr_rows], "ext": E.matrix[tr_rows], "p": Vk}
    offsets = {"psi": X.offset[kept], "col": G.offset[tr_rows], "ext": E.offset[tr_rows],
               "p": np.where(used, V.offset[obs_rows], 0.0)}
    designs = {"psi": X, "col": G, "ext": E, "p": V}
    for key, what in (("psi", "initial occupancy"), ("col", "colonisation"), ("ext", "extinction"), ("p", "detection")):
        rows = mats[key][used] if key == "p" else mats[key]
        d = designs[key]
        check_rank(Design(d.formula, rows, d.names, np.zeros(len(rows)), np.zeros(len(rows), bool), d.variables),
                   what)
    return Prepared(yk.reshape(len(kept), T, J), designs, mats, offsets, kept, removed, discarded, warnings)


def _isna(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


class Likelihood:
    """The negative log-likelihood of the dynamic model and its exact gradient (scaled forward-backward)."""

    def __init__(self, prep: Prepared):
        self.y = prep.y
        self.M, self.T, self.J = prep.y.shape
        self.mats, self.offsets = prep.mats, prep.offsets
        self.sizes = [prep.mats[k].shape[1] for k in SUBMODELS]
        self.na = ~np.isfinite(self.y)
        self.det = np.where(self.na, 0.0, self.y) == 1.0
        self.d0 = np.where(self.det.any(axis=2), 0.0, 1.0)  # P(season's data | unoccupied)

    def split(self, params) -> dict[str, np.ndarray]:
        out, k = {}, 0
        for name, n in zip(SUBMODELS, self.sizes):
            out[name] = np.asarray(params[k:k + n], dtype=float)
            k += n
        return out

    def probabilities(self, params) -> dict[str, np.ndarray]:
        """psi (M), col and ext (M x T-1), p (M x T x J) at ``params``."""
        b = self.split(params)
        M, T, J = self.M, self.T, self.J
        return {"psi": plogis(self.mats["psi"] @ b["psi"] + self.offsets["psi"]),
                "col": plogis(self.mats["col"] @ b["col"] + self.offsets["col"]).reshape(M, T - 1),
                "ext": plogis(self.mats["ext"] @ b["ext"] + self.offsets["ext"]).reshape(M, T - 1),
                "p": plogis(self.mats["p"] @ b["p"] + self.offsets["p"]).reshape(M, T, J)}

    def _forward_backward(self, pr, backward: bool = True):
        M, T = self.M, self.T
        psi, col, ext, p = pr["psi"], pr["col"], pr["ext"], pr["p"]
        d1 = np.prod(np.where(self.na, 1.0, np.where(self.det, p, 1 - p)), axis=2)
        d = np.stack([self.d0, d1], axis=2)  # M x T x 2
        f = np.empty((M, T, 2))
        c = np.empty((M, T))
        cur = np.stack([1 - psi, psi], axis=1) * d[:, 0]
        for t in range(T):
            if t:
                prev = f[:, t - 1]
                cur = np.stack([prev[:, 0] * (1 - col[:, t - 1]) + prev[:, 1] * ext[:, t - 1],
                                prev[:, 0] * col[:, t - 1] + prev[:, 1] * (1 - ext[:, t - 1])], axis=1) * d[:, t]
            c[:, t] = cur.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                f[:, t] = cur / c[:, t, None]
        if not backward:
            return d, f, c, None
        b = np.empty((M, T, 2))
        b[:, T - 1] = 1.0
        for t in range(T - 2, -1, -1):
            w = d[:, t + 1] * b[:, t + 1]
            with np.errstate(invalid="ignore", divide="ignore"):
                b[:, t] = np.stack([(1 - col[:, t]) * w[:, 0] + col[:, t] * w[:, 1],
                                    ext[:, t] * w[:, 0] + (1 - ext[:, t]) * w[:, 1]], axis=1) / c[:, t + 1, None]
        return d, f, c, b

    def site_loglik(self, params) -> np.ndarray:
        _, _, c, _ = self._forward_backward(self.probabilities(params), backward=False)
        with np.errstate(divide="ignore"):
            return np.log(c).sum(axis=1)

    def nll(self, params) -> float:
        ll = self.site_loglik(np.asarray(params, dtype=float))
        return float(-np.cumsum(ll)[-1])  # site after site, as the C++ loop sums

    def gradient(self, params) -> np.ndarray:
        pr = self.probabilities(np.asarray(params, dtype=float))
        d, f, c, b = self._forward_backward(pr)
        assert b is not None
        psi, col, ext, p = pr["psi"], pr["col"], pr["ext"], pr["p"]
        with np.errstate(invalid="ignore", divide="ignore"):
            g_psi = ((d[:, 0, 1] * b[:, 0, 1] - d[:, 0, 0] * b[:, 0, 0]) / c[:, 0]) * psi * (1 - psi)
            w = d[:, 1:] * b[:, 1:]  # M x T-1 x 2
            g_col = f[:, :-1, 0] * (w[..., 1] - w[..., 0]) / c[:, 1:] * col * (1 - col)
            g_ext = f[:, :-1, 1] * (w[..., 0] - w[..., 1]) / c[:, 1:] * ext * (1 - ext)
        post1 = f[..., 1] * b[..., 1]  # P(z_t = 1 | data) for each season
        resid = np.where(self.na, 0.0, np.where(self.det, 1.0, 0.0) - p)
        g_p = post1[..., None] * resid
        return -np.concatenate([self.mats["psi"].T @ g_psi, self.mats["col"].T @ g_col.reshape(-1),
                                self.mats["ext"].T @ g_ext.reshape(-1), self.mats["p"].T @ g_p.reshape(-1)])

    def smoothed(self, params) -> np.ndarray:
        """P(z_it = 1 | data) per kept site and season (unmarked's ``smoothed``)."""
        _, f, _, b = self._forward_backward(self.probabilities(params))
        assert b is not None
        return f[..., 1] * b[..., 1]

    def projected(self, params) -> np.ndarray:
        """Occupancy per kept site and season from psi, gamma and epsilon alone (unmarked's ``projected``)."""
        pr = self.probabilities(params)
        out = np.empty((self.M, self.T))
        out[:, 0] = pr["psi"]
        for t in range(1, self.T):
            out[:, t] = out[:, t - 1] * (1 - pr["ext"][:, t - 1]) + (1 - out[:, t - 1]) * pr["col"][:, t - 1]
        return out


@dataclass
class ColextFit:
    """A fitted dynamic occupancy model."""

    data: ColextData
    formulas: dict[str, str]
    prep: Prepared
    estimates: np.ndarray
    vcov: np.ndarray
    nll: float
    converged: bool
    counts: tuple[int, int]
    warnings: list[Warning_]

    @property
    def n_params(self) -> int:
        return len(self.estimates)

    @property
    def aic(self) -> float:
        return 2 * self.nll + 2 * self.n_params

    @property
    def n_sites(self) -> int:
        return int(self.prep.kept.size)

    @property
    def names(self) -> dict[str, list[str]]:
        return {k: list(self.prep.designs[k].names) for k in SUBMODELS}

    def _slice(self, which: str) -> slice:
        if which not in SUBMODELS:
            raise OccupancyError(f"submodel must be one of {', '.join(SUBMODELS)}, got {which!r}")
        start = 0
        for k in SUBMODELS:
            n = len(self.prep.designs[k].names)
            if k == which:
                return slice(start, start + n)
            start += n
        raise AssertionError

    def likelihood(self) -> Likelihood:
        return Likelihood(self.prep)

    def coefficients(self, which: str) -> dict[str, float]:
        return dict(zip(self.names[which], map(float, self.estimates[self._slice(which)])))

    def se(self, which: str | None = None):
        se = np.sqrt(np.diag(self.vcov)) if np.isfinite(self.vcov).all() else np.full(self.n_params, np.nan)
        if which is None:
            return se
        return dict(zip(self.names[which], map(_num, se[self._slice(which)])))

    def table(self, level: float = 0.95) -> list[dict]:
        """One row per coefficient: submodel, name, estimate, SE, z, P(>|z|), Wald interval (logit scale)."""
        from scipy.stats import norm

        z = z_value(level)
        se = self.se()
        rows = []
        for which in SUBMODELS:
            sl = self._slice(which)
            for name, est, s in zip(self.names[which], self.estimates[sl], se[sl]):
                ok = math.isfinite(s) and s > 0
                rows.append({"submodel": which, "parameter": name, "estimate": float(est), "se": _num(s),
                             "z": _num(est / s) if ok else None,
                             "p_value": _num(2 * norm.sf(abs(est / s))) if ok else None,
                             "lower": _num(est - z * s) if ok else None, "upper": _num(est + z * s) if ok else None})
        return rows

    def predict(self, which: str, newdata=None, level: float = 0.95) -> dict[str, np.ndarray]:
        """unmarked's ``predict(type = "psi"|"col"|"ext"|"det")``: Predicted, SE (delta method), lower, upper.

        Without ``newdata``: the kept sites (psi), kept site x season transitions (col, ext: the
        last season has none) or kept site x season x occasion (p).
        """
        sl = self._slice(which)
        if newdata is None:
            X, off = self.prep.mats[which], self.prep.offsets[which]
        else:
            X, off = self.prep.designs[which].for_new_data(newdata)
        eta = X @ self.estimates[sl] + off
        V = self.vcov[sl, sl]
        se_link = np.sqrt(np.einsum("ij,jk,ik->i", X, V, X)) if np.isfinite(V).all() else np.full(len(eta), np.nan)
        z = z_value(level)
        pr = plogis(eta)
        return {"predicted": pr, "se": se_link * pr * (1 - pr), "lower": plogis(eta - z * se_link),
                "upper": plogis(eta + z * se_link), "link": eta, "se_link": se_link}

    def _trajectory(self, fn, level: float) -> list[dict]:
        """Yearly mean of ``fn(params)`` (kept sites x seasons) with a delta-method interval on the logit scale."""
        est = fn(self.estimates).mean(axis=0)
        jac = _jacobian(lambda th: fn(th).mean(axis=0), self.estimates)
        V = self.vcov
        ok = np.isfinite(V).all()
        rows = []
        for t, label in enumerate(self.data.season_labels or []):
            se = float(math.sqrt(max(jac[t] @ V @ jac[t], 0.0))) if ok else math.nan
            rows.append({"season": label, "estimate": float(est[t]), "se": _num(se),
                         **_logit_interval(float(est[t]), se, level)})
        return rows

    def projected(self, level: float = 0.95) -> list[dict]:
        """Mean projected occupancy per season (psi_1, then psi_t (1 - eps) + (1 - psi_t) gamma), with an interval."""
        lik = self.likelihood()
        return self._trajectory(lik.projected, level)

    def smoothed(self, level: float = 0.95) -> list[dict]:
        """Mean smoothed occupancy per season (posterior given each site's detections), with an interval.

        The interval reflects the uncertainty of the estimates (delta method); the sites
        themselves are held fixed (a finite-sample quantity, as unmarked's smoothed).
        """
        lik = self.likelihood()
        return self._trajectory(lik.smoothed, level)

    def trend(self, level: float = 0.95) -> dict:
        """Change in projected mean occupancy from the first to the last season, with a Wald interval,
        and the mean yearly growth rate (psi_T / psi_1)^(1 / (T - 1))."""
        lik = self.likelihood()

        def change(th):
            m = lik.projected(th).mean(axis=0)
            return np.array([m[-1] - m[0]])

        est = float(change(self.estimates)[0])
        jac = _jacobian(change, self.estimates)[0]
        ok = np.isfinite(self.vcov).all()
        se = float(math.sqrt(max(jac @ self.vcov @ jac, 0.0))) if ok else math.nan
        z = z_value(level)
        m = lik.projected(self.estimates).mean(axis=0)
        T = len(m)
        rate = float((m[-1] / m[0]) ** (1 / (T - 1))) if m[0] > 0 else None
        lo, hi = (est - z * se, est + z * se) if math.isfinite(se) else (None, None)
        if lo is None or hi is None:
            direction = "unknown"
        else:
            direction = "decline" if hi < 0 else "increase" if lo > 0 else "no clear change"
        return {"from": self.data.season_labels[0] if self.data.season_labels else "1",
                "to": self.data.season_labels[-1] if self.data.season_labels else str(T),
                "change": est, "se": _num(se), "lower": lo, "upper": hi, "level": level,
                "growth_rate": rate, "direction": direction}

    def to_json(self, level: float = 0.95) -> dict:
        """Coefficients, SEs, AIC and the yearly trajectories, JSON-ready."""
        return {
            "model": "colext",
            "coefficients": {w: self.coefficients(w) for w in SUBMODELS},
            "se": {w: self.se(w) for w in SUBMODELS},
            "aic": self.aic, "nll": self.nll, "n_params": self.n_params,
            "n_sites": self.n_sites, "n_seasons": self.data.n_seasons, "n_occasions": self.data.shape[2],
            "converged": self.converged,
            "formulas": dict(self.formulas),
            "confint": {w: {r["parameter"]: [r["lower"], r["upper"]] for r in self.table(level)
                            if r["submodel"] == w} for w in SUBMODELS},
            "level": level,
            "projected": self.projected(level),
            "smoothed": self.smoothed(level),
            "trend": self.trend(level),
            "naive_occupancy": self.naive_occupancy(),
            "sites_removed": [{"site": s, "reason": r} for s, r in self.prep.removed],
            "observations_discarded": self.prep.discarded,
            "warnings": [w.as_dict() for w in self.warnings],
            "optimizer": {"method": "BFGS (R optim's vmmin), exact gradient", "function_evaluations": self.counts[0],
                          "gradient_evaluations": self.counts[1]},
        }

    def naive_occupancy(self) -> list[dict]:
        """Per season: the share of surveyed sites with a detection (no correction for detection)."""
        y = self.prep.y
        out = []
        for t, label in enumerate(self.data.season_labels or []):
            surveyed = np.isfinite(y[:, t]).any(axis=1)
            det = (np.where(np.isfinite(y[:, t]), y[:, t], 0) == 1).any(axis=1)
            n = int(surveyed.sum())
            out.append({"season": label, "surveyed_sites": n,
                        "naive": float(det[surveyed].mean()) if n else None})
        return out

    def bootstrap_trajectory(self, B: int = 200, seed: int | None = None, level: float = 0.95) -> dict:
        """Site-resampling (nonparametric) bootstrap of the yearly projected and smoothed means, as
        unmarked's ``nonparboot``: percentile intervals and SDs; refits that fail are counted."""
        if B < 20:
            raise OccupancyError(f"a bootstrap needs at least 20 resamples, got {B}")
        rng = np.random.default_rng(seed)
        n = self.n_sites
        proj, smooth, failed = [], [], 0
        for _ in range(B):
            idx = rng.integers(0, n, n)
            sub = _resampled(self.prep, idx)
            try:
                lik = Likelihood(sub)
                res = optim.vmmin(lik.nll, lik.gradient, self.estimates)
            except (optim.OptimError, OccupancyError, FloatingPointError):
                failed += 1
                continue
            if not math.isfinite(res.value):
                failed += 1
                continue
            proj.append(lik.projected(res.par).mean(axis=0))
            smooth.append(lik.smoothed(res.par).mean(axis=0))
        if len(proj) < B // 2:
            raise OccupancyError(f"{failed} of {B} bootstrap refits failed: the model is too unstable to bootstrap")
        a = (1 - level) / 2
        out: dict[str, Any] = {"resamples": B, "failed": failed, "level": level}
        for key, arr in (("projected", np.array(proj)), ("smoothed", np.array(smooth))):
            out[key] = [{"season": label, "sd": float(arr[:, t].std(ddof=1)),
                         "lower": float(np.quantile(arr[:, t], a)), "upper": float(np.quantile(arr[:, t], 1 - a))}
                        for t, label in enumerate(self.data.season_labels or [])]
        return out


def _resampled(prep: Prepared, idx: np.ndarray) -> Prepared:
    M, T, J = prep.y.shape
    tr = (idx[:, None] * (T - 1) + np.arange(T - 1)[None, :]).reshape(-1)
    ob = (idx[:, None] * T * J + np.arange(T * J)[None, :]).reshape(-1)
    rows = {"psi": idx, "col": tr, "ext": tr, "p": ob}
    return Prepared(prep.y[idx], prep.designs, {k: prep.mats[k][r] for k, r in rows.items()},
                    {k: prep.offsets[k][r] for k, r in rows.items()}, prep.kept[idx], [], 0, [])


def _jacobian(fn, theta: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central-difference Jacobian of a vector function (rows: outputs)."""
    theta = np.asarray(theta, dtype=float)
    cols = []
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h * max(1.0, abs(theta[i]))
        cols.append((np.asarray(fn(theta + e)) - np.asarray(fn(theta - e))) / (2 * e[i]))
    return np.array(cols).T


def fit(data: ColextData, psi: str = "~ 1", gamma: str = "~ 1", epsilon: str = "~ 1", p: str = "~ 1",
        starts=None, se: bool = True, maxit: int = optim.MAXIT) -> ColextFit:
    """Fit the dynamic occupancy model by maximum likelihood (see the module docstring).

    OccupancyError / FormulaError for data or formulas that cannot be fitted; problems that
    leave numbers but limit their meaning are in ``warnings``.
    """
    prep = prepare(data, psi, gamma, epsilon, p)
    lik = Likelihood(prep)
    nP = sum(lik.sizes)
    start = np.zeros(nP) if starts is None else np.asarray(starts, dtype=float)
    if start.shape != (nP,):
        raise OccupancyError(f"the number of starting values should be {nP}")
    try:
        res = optim.vmmin(lik.nll, lik.gradient, start, maxit=maxit)
    except optim.OptimError as e:
        raise OccupancyError(f"the likelihood cannot be optimised from these starting values ({e})") from None
    warnings = list(prep.warnings)
    vcov = np.full((nP, nP), np.nan)
    if se:
        H = optim.optim_hessian(lik.gradient, res.par)
        inv = optim.invert_hessian(H)
        if inv is None:
            warnings.append(Warning_("hessian_singular", "the Hessian is singular: standard errors cannot be "
                                     "computed (try fewer covariates; the data may not inform every parameter)"))
        elif np.any(np.diag(inv) < 0):
            warnings.append(Warning_("hessian_not_positive_definite", "the Hessian is not positive definite at the "
                                     "estimates (a saddle or flat likelihood): standard errors cannot be computed"))
        else:
            vcov = inv
    formulas = {"psi": psi, "col": gamma, "ext": epsilon, "p": p}
    result = ColextFit(data, formulas, prep, res.par, vcov, res.value, res.convergence == 0,
                       (res.fncount, res.grcount), warnings)
    _diagnose(result)
    return result


def _diagnose(f: ColextFit) -> None:
    """Warnings for results that must not be read as plain numbers."""
    w = f.warnings
    y = f.prep.y
    seen = np.where(np.isfinite(y), y, 0)
    if not seen.any():
        w.append(Warning_("no_detections", "the species was never detected at the fitted sites: occupancy, "
                          "colonisation, extinction and detection cannot be estimated (values sit on the boundary)"))
    elif np.all(seen[np.isfinite(y)] == 1):
        w.append(Warning_("all_detected", "every surveyed occasion has a detection: estimates sit on the boundary"))
    det_seasons = (seen == 1).any(axis=2).any(axis=0)
    if seen.any() and det_seasons.sum() < 2:
        w.append(Warning_("few_detection_seasons", "detections in only one season: colonisation and extinction "
                          "are hardly informed by the data"))
    if not f.converged:
        w.append(Warning_("not_converged", "the model did not converge in 100 iterations of BFGS (as unmarked: "
                          "try starting values or fewer covariates)"))
    se = f.se()
    labels = [f"{k}:{n}" for k in SUBMODELS for n in f.names[k]]
    if np.isfinite(f.vcov).all() and np.any(np.abs(se) >= SE_LARGE):
        big = [n for n, s in zip(labels, se) if abs(s) >= SE_LARGE]
        w.append(Warning_("large_se", f"large standard errors (>= {SE_LARGE:g} on the logit scale) for "
                          f"{', '.join(big)}: be very cautious using these results"))
    boundary = [n for n, e in zip(labels, f.estimates) if abs(e) > 7]
    if boundary:
        w.append(Warning_("boundary", f"estimates at the boundary of the parameter space ({', '.join(boundary)}: "
                          "probabilities within 0.001 of 0 or 1): the likelihood is flat there and the values are "
                          "where the optimiser stopped, not a precise estimate"))
    if f.n_sites < 10 * f.n_params:
        w.append(Warning_("small_sample", f"{f.n_sites} sites for {f.n_params} parameters: estimates and intervals "
                          "from so few sites are unreliable (aim for at least 10 sites per parameter)"))


def model_selection(fits: dict[str, ColextFit]) -> list[dict]:
    """unmarked's ``modSel`` for colext fits: AIC, delta, Akaike weight, cumulative weight.

    OccupancyError when the models were not fitted to the same detections.
    """
    if not fits:
        raise OccupancyError("no models to compare")
    items = list(fits.items())
    ref_name, ref = items[0]
    for name, f in items[1:]:
        if not (np.array_equal(f.prep.kept, ref.prep.kept)
                and np.array_equal(np.isfinite(f.prep.y), np.isfinite(ref.prep.y))):
            raise OccupancyError(f"models {ref_name!r} and {name!r} were fitted to different detections (missing "
                                 "covariate values removed different sites or observations): AIC cannot compare them")
    aics = np.array([f.aic for _, f in items])
    delta = aics - aics.min()
    wts = np.exp(-delta / 2)
    wts = wts / wts.sum()
    rows, cum = [], 0.0
    for k in np.argsort(aics, kind="stable"):
        cum += float(wts[k])
        name, f = items[k]
        rows.append({"model": name, "n_params": f.n_params, "aic": float(aics[k]), "delta": float(delta[k]),
                     "weight": float(wts[k]), "cum_weight": cum, "converged": f.converged})
    return rows


def simulate(M: int, T: int, J: int, psi: float, col: float, ext: float, p: float, seed: int | None = None):
    """Detections of the constant model (tests, benchmarks): sites x (T * J)."""
    rng = np.random.default_rng(seed)
    z = np.empty((M, T), bool)
    z[:, 0] = rng.random(M) < psi
    for t in range(1, T):
        u = rng.random(M)
        z[:, t] = np.where(z[:, t - 1], u >= ext, u < col)
    y = (rng.random((M, T, J)) < p) & z[:, :, None]
    return y.reshape(M, T * J).astype(float)


__all__ = ["ColextData", "ColextFit", "fit", "model_selection", "simulate"]
