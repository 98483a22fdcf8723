"""Single-season occupancy (MacKenzie et al. 2002) by maximum likelihood, as unmarked's ``occu``.

Model: site i is occupied with probability psi_i = linkinv(X_i beta) (logit, or cloglog:
1 - exp(-exp(eta))); an occupied site is detected on occasion j with probability
p_ij = logit^-1(V_ij alpha). Missing occasions (NA) leave the likelihood alone:

    L_i = psi_i * prod_j p_ij^y_ij (1 - p_ij)^(1 - y_ij) + (1 - psi_i) * [no detection at i]

Equivalence with unmarked (no R here to run it side by side; see tests/server/stats):

* the same negative log-likelihood as unmarked's ``nll_occu`` (C++ engine, the default),
  summed site by site in the same order;
* the same optimiser path: ``optim(rep(0, nP), nll, method = "BFGS", hessian = TRUE)`` with
  optim's numerical gradient, reproduced in :mod:`server.stats.optim`; on a flat likelihood
  (psi near 1) the estimates therefore stop where unmarked's stop;
* standard errors from R's ``solve(hessian)``, NA (with a warning) where R's solve refuses;
* AIC = 2 nll + 2 nP; Wald intervals on the link scale; ``predict`` as unmarked's: the
  link-scale estimate and SE (sqrt of x' V x), the interval computed on the link scale and
  back-transformed, the SE on the probability scale by the delta method;
* missing values handled as unmarked's ``handleNA``: an observation whose detection
  covariates are missing is set to NA, a site whose occupancy covariates are missing (or
  with no occasion left) is removed, each said in a warning naming them.

unmarked's own test suite publishes fits on small matrices defined in its tests; those
numbers are reproduced in tests/server/stats/test_occupancy.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import optim
from .design import Design, FormulaError, build, check_rank

LINKS = ("logit", "cloglog")
SE_LARGE = 5.0  # unmarked's summary warns about |SE| >= 5 on the link scale


class OccupancyError(ValueError):
    """Data or a model that cannot be fitted (the message says what to change)."""


@dataclass
class Warning_:
    """A problem the fit carries with it: a code and a sentence for people."""

    code: str
    message: str

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


def plogis(x):
    """The logistic function 1 / (1 + exp(-x)), as unmarked computes it (exp may overflow to inf: 0)."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def cloglog_inv(x):
    """The complementary log-log inverse link 1 - exp(-exp(x))."""
    with np.errstate(over="ignore"):
        return 1.0 - np.exp(-np.exp(x))


def _inv_link(link: str):
    return plogis if link == "logit" else cloglog_inv


def _inv_link_grad(link: str, x):
    x = np.asarray(x, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        if link == "logit":
            e = np.exp(-np.abs(x))  # symmetric, and no inf / inf far from 0
            return e / (e + 1) ** 2  # unmarked's logistic.grad
        return np.exp(x - np.exp(x))  # d/dx (1 - exp(-exp(x)))


def z_value(level: float) -> float:
    """The standard normal quantile for a two-sided interval of ``level``."""
    from scipy.stats import norm

    if not 0 < level < 1:
        raise OccupancyError(f"confidence level must be between 0 and 1, got {level}")
    return float(norm.ppf(1 - (1 - level) / 2))


# ---- data ------------------------------------------------------------------------------------
@dataclass
class OccuData:
    """Detection histories (sites x occasions; 1, 0 or NaN) with site and observation covariates."""

    y: np.ndarray
    sites: list[str]
    site_covs: Any = None  # pandas DataFrame, one row per site (same order as y)
    obs_covs: dict[str, np.ndarray] = field(default_factory=dict)  # name -> sites x occasions

    def __post_init__(self):
        import pandas as pd

        y = np.array(self.y, dtype=float)
        if y.ndim != 2 or y.shape[0] == 0 or y.shape[1] == 0:
            raise OccupancyError("the detection history must be a non-empty sites x occasions matrix")
        M, J = y.shape
        if len(self.sites) != M:
            raise OccupancyError(f"{len(self.sites)} site names for {M} rows of detections")
        if len(set(self.sites)) != M:
            dup = sorted({s for s in self.sites if self.sites.count(s) > 1})
            raise OccupancyError(f"site names repeat: {', '.join(map(str, dup[:10]))}")
        bad = np.isfinite(y) & ~np.isin(y, (0.0, 1.0)) & (y < 0)
        if bad.any():
            i, j = map(int, np.argwhere(bad)[0])
            raise OccupancyError(f"negative detection value at site {self.sites[i]} occasion {j + 1}")
        self.y = y
        if self.site_covs is None:
            self.site_covs = pd.DataFrame(index=range(M))
        else:
            self.site_covs = pd.DataFrame(self.site_covs).reset_index(drop=True)
            if len(self.site_covs) != M:
                raise OccupancyError(f"site covariates have {len(self.site_covs)} rows for {M} sites")
        covs = {}
        for name, arr in (self.obs_covs or {}).items():
            a = np.asarray(arr)
            if a.shape != (M, J):
                raise OccupancyError(f"observation covariate {name!r} is {a.shape[0]} x {a.shape[1]}, "
                                     f"the detections are {M} x {J}")
            if name in self.site_covs.columns:
                raise OccupancyError(f"{name!r} is both a site and an observation covariate")
            covs[name] = a
        self.obs_covs = covs

    @property
    def shape(self) -> tuple[int, int]:
        return self.y.shape

    def obs_frame(self):
        """Observation-level covariates, site-major (site 1 occasion 1, site 1 occasion 2, ...),
        with the site covariates repeated (they may appear in the detection formula)."""

        M, J = self.shape
        frame = self.site_covs.loc[np.repeat(np.arange(M), J)].reset_index(drop=True)
        for name, a in self.obs_covs.items():
            frame[name] = _column(a.reshape(-1))
        return frame


def _column(a: np.ndarray):
    """A covariate column: numbers as floats, anything else as text with None for missing."""
    import pandas as pd

    if a.dtype.kind in "fiub":
        return a.astype(float)
    return pd.Series([None if (v is None or (isinstance(v, float) and math.isnan(v))) else v for v in a],
                     dtype=object)


# ---- the model -------------------------------------------------------------------------------
@dataclass
class Prepared:
    """What the likelihood needs, after missing values were handled."""

    y: np.ndarray  # kept sites x J, NaN = not surveyed
    X: np.ndarray
    X_offset: np.ndarray
    V: np.ndarray  # kept sites * J rows
    V_offset: np.ndarray
    kept: np.ndarray  # indices of kept sites in the data
    removed: list[tuple[str, str]]  # (site, reason)
    discarded: int  # observations set to NA because a detection covariate is missing
    X_design: Design
    V_design: Design
    warnings: list[Warning_]


def prepare(data: OccuData, psi: str, p: str) -> Prepared:
    """Design matrices and the detection matrix after unmarked's handling of missing values."""
    M, J = data.shape
    site_frame = data.site_covs
    where = {c: "site covariate" for c in site_frame.columns} | {c: "observation covariate" for c in data.obs_covs}
    X = build(psi, site_frame, "occupancy", where)
    V = build(p, data.obs_frame(), "detection", where)
    y = data.y.copy()
    warnings: list[Warning_] = []
    if np.nanmax(np.where(np.isfinite(y), y, 0)) > 1:
        y[np.isfinite(y) & (y > 1)] = 1.0
        warnings.append(Warning_("truncated", "some detections were greater than 1; they count as 1 (detected)"))
    v_missing = V.missing.reshape(M, J)
    newly = v_missing & np.isfinite(y)
    x_site = X.missing
    newly_site = x_site[:, None] & np.isfinite(y)
    discarded = int((newly & ~newly_site).sum())
    if discarded:
        cells = [f"{data.sites[i]}/{j + 1}" for i, j in np.argwhere(newly & ~newly_site)[:10]]
        warnings.append(Warning_("observations_discarded",
                                 f"{discarded} observation(s) discarded because their detection covariates "
                                 f"({', '.join(V.variables)}) are missing: site/occasion "
                                 f"{', '.join(cells)}{' ...' if discarded > 10 else ''}"))
    y[v_missing | x_site[:, None]] = np.nan
    removed: list[tuple[str, str]] = []
    for i in range(M):
        if np.isfinite(y[i]).any():
            continue
        if x_site[i]:
            miss = [v for v in X.variables if _isna(site_frame.iloc[i][v])]
            reason = f"missing occupancy covariate {', '.join(miss)}"
        elif np.isfinite(data.y[i]).any():
            reason = "every surveyed occasion lacks a detection covariate"
        else:
            reason = "no operating occasion (every occasion NA)"
        removed.append((data.sites[i], reason))
    if removed:
        names = "; ".join(f"{s} ({r})" for s, r in removed[:20])
        warnings.append(Warning_("sites_removed", f"{len(removed)} site(s) removed from the fit: {names}"
                                 f"{' ...' if len(removed) > 20 else ''}"))
    kept = np.array([i for i in range(M) if np.isfinite(y[i]).any()], dtype=int)
    if kept.size == 0:
        raise OccupancyError("no site has a surveyed occasion with its covariates: nothing to fit")
    obs_rows = (kept[:, None] * J + np.arange(J)[None, :]).reshape(-1)
    Xk, Vk = X.matrix[kept], V.matrix[obs_rows]
    # A missing covariate only matters where the observation is used: zero the unused NaN rows.
    yk = y[kept]
    Vk = np.where(np.isfinite(yk.reshape(-1))[:, None], Vk, 0.0)
    X_off = X.offset[kept]
    V_off = np.where(np.isfinite(yk.reshape(-1)), V.offset[obs_rows], 0.0)
    for design, rows, what in ((X, Xk, "occupancy"), (V, Vk[np.isfinite(yk.reshape(-1))], "detection")):
        check_rank(Design(design.formula, rows, design.names, design.offset, np.zeros(len(rows), bool),
                          design.variables), what)
    return Prepared(yk, Xk, X_off, Vk, V_off, kept, removed, discarded, X, V, warnings)


def _isna(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


class Likelihood:
    """The negative log-likelihood of the single-season model and its exact gradient."""

    def __init__(self, prep: Prepared, link: str):
        self.y = prep.y
        self.M, self.J = prep.y.shape
        self.X, self.X_offset = prep.X, prep.X_offset
        self.V, self.V_offset = prep.V, prep.V_offset
        self.nOP = prep.X.shape[1]
        self.link = link
        self.na = ~np.isfinite(self.y)
        self.det = np.where(self.na, 0.0, self.y) == 1.0
        self.no_detect = (~self.det).all(axis=1).astype(float)

    def _parts(self, params):
        eta = self.X @ params[:self.nOP] + self.X_offset
        psi = _inv_link(self.link)(eta)
        p = plogis(self.V @ params[self.nOP:] + self.V_offset).reshape(self.M, self.J)
        terms = np.where(self.na, 1.0, np.where(self.det, p, 1 - p))
        cp = np.cumprod(terms, axis=1)[:, -1]  # left to right, as the C++ loop multiplies
        lik = psi * cp + (1 - psi) * self.no_detect
        return eta, psi, p, cp, lik

    def nll(self, params) -> float:
        lik = self._parts(np.asarray(params, dtype=float))[4]
        with np.errstate(divide="ignore"):
            return float(np.cumsum(-np.log(lik))[-1])  # site after site, as unmarked sums

    def gradient(self, params) -> np.ndarray:
        params = np.asarray(params, dtype=float)
        eta, psi, p, cp, lik = self._parts(params)
        dpsi = _inv_link_grad(self.link, eta)
        g_eta = -(cp - self.no_detect) * dpsi / lik
        resid = np.where(self.na, 0.0, np.where(self.det, 1.0, 0.0) - p)
        g_p = -(psi * cp / lik)[:, None] * resid
        return np.concatenate([self.X.T @ g_eta, self.V.T @ g_p.reshape(-1)])

    def site_probabilities(self, params):
        """(psi per kept site, p per kept site x occasion)."""
        _, psi, p, _, _ = self._parts(np.asarray(params, dtype=float))
        return psi, p


# ---- results ---------------------------------------------------------------------------------
@dataclass
class OccuFit:
    """A fitted single-season model (see the module docstring for what equals unmarked)."""

    data: OccuData
    psi_formula: str
    p_formula: str
    psi_link: str
    prep: Prepared
    estimates: np.ndarray
    vcov: np.ndarray  # NaN where the Hessian could not be inverted
    hessian: np.ndarray | None
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
        return {"psi": list(self.prep.X_design.names), "p": list(self.prep.V_design.names)}

    def _slice(self, which: str) -> slice:
        k = len(self.prep.X_design.names)
        return slice(0, k) if which == "psi" else slice(k, self.n_params)

    def coefficients(self, which: str) -> dict[str, float]:
        return dict(zip(self.names[which], map(float, self.estimates[self._slice(which)])))

    def se(self, which: str | None = None):
        se = np.sqrt(np.diag(self.vcov)) if np.isfinite(self.vcov).all() else np.full(self.n_params, np.nan)
        if which is None:
            return se
        return dict(zip(self.names[which], map(_num, se[self._slice(which)])))

    def table(self, level: float = 0.95) -> list[dict]:
        """One row per coefficient: submodel, name, estimate, SE, z, P(>|z|), Wald interval (link scale)."""
        from scipy.stats import norm

        z = z_value(level)
        se = self.se()
        rows = []
        for which in ("psi", "p"):
            for name, est, s in zip(self.names[which], self.estimates[self._slice(which)], se[self._slice(which)]):
                ok = math.isfinite(s)
                rows.append({"submodel": which, "parameter": name, "estimate": float(est), "se": _num(s),
                             "z": _num(est / s) if ok and s > 0 else None,
                             "p_value": _num(2 * norm.sf(abs(est / s))) if ok and s > 0 else None,
                             "lower": _num(est - z * s) if ok else None, "upper": _num(est + z * s) if ok else None})
        return rows

    def linear_comb(self, which: str, coefs) -> tuple[float, float | None]:
        """unmarked's ``linearComb``: (x' beta, sqrt(x' V x)) on the link scale."""
        sl = self._slice(which)
        x = np.asarray(coefs, dtype=float)
        if x.shape != (sl.stop - sl.start,):
            raise OccupancyError(f"{which} has {sl.stop - sl.start} coefficients, got {x.size} weights")
        V = self.vcov[sl, sl]
        return float(x @ self.estimates[sl]), _num(math.sqrt(x @ V @ x)) if np.isfinite(V).all() else None

    def predict(self, which: str = "psi", newdata=None, level: float = 0.95) -> dict[str, np.ndarray]:
        """unmarked's ``predict(type = "state"|"det")``: Predicted, SE (delta method), lower, upper.

        Without ``newdata``: every kept site (psi) or every kept site x occasion (p), including
        unsurveyed occasions whose covariates are known.
        """
        if which not in ("psi", "p"):
            raise OccupancyError(f"predict what: 'psi' or 'p', got {which!r}")
        design = self.prep.X_design if which == "psi" else self.prep.V_design
        if newdata is None:
            if which == "psi":
                X, off = self.prep.X, self.prep.X_offset
            else:
                J = self.data.shape[1]
                rows = (self.prep.kept[:, None] * J + np.arange(J)[None, :]).reshape(-1)
                X, off = design.matrix[rows], design.offset[rows]
        else:
            X, off = design.for_new_data(newdata)
        sl = self._slice(which)
        link = self.psi_link if which == "psi" else "logit"
        eta = X @ self.estimates[sl] + off
        V = self.vcov[sl, sl]
        se_link = np.sqrt(np.einsum("ij,jk,ik->i", X, V, X)) if np.isfinite(V).all() else np.full(len(eta), np.nan)
        z = z_value(level)
        inv = _inv_link(link)
        return {"predicted": inv(eta), "se": se_link * np.abs(_inv_link_grad(link, eta)),
                "lower": inv(eta - z * se_link), "upper": inv(eta + z * se_link),
                "link": eta, "se_link": se_link}

    def fitted(self) -> np.ndarray:
        """Expected detections psi_i * p_ij (sites x occasions of the data; NaN for removed sites
        and observations whose detection covariates are missing)."""
        M, J = self.data.shape
        out = np.full((M, J), np.nan)
        lik = Likelihood(self.prep, self.psi_link)
        psi, p = lik.site_probabilities(self.estimates)
        rows = (self.prep.kept[:, None] * J + np.arange(J)[None, :]).reshape(-1)
        known = ~self.prep.V_design.missing[rows].reshape(-1, J)
        out[self.prep.kept] = np.where(known, psi[:, None] * p, np.nan)
        return out

    def naive_occupancy(self) -> float:
        y = self.prep.y
        return float(np.mean(np.nanmax(np.where(np.isfinite(y), y, 0), axis=1)))

    def mean_occupancy(self, level: float = 0.95) -> dict:
        """Mean predicted occupancy over the kept sites with a delta-method interval on the link
        scale of the mean (logit of the mean, so the interval stays inside 0..1)."""
        sl = self._slice("psi")
        X, off = self.prep.X, self.prep.X_offset
        eta = X @ self.estimates[sl] + off
        psi = _inv_link(self.psi_link)(eta)
        mean = float(psi.mean())
        grad = (_inv_link_grad(self.psi_link, eta)[:, None] * X).mean(axis=0)
        V = self.vcov[sl, sl]
        se = float(math.sqrt(grad @ V @ grad)) if np.isfinite(V).all() else math.nan
        return {"estimate": mean, "se": _num(se), **_logit_interval(mean, se, level)}

    def to_json(self, level: float = 0.95) -> dict:
        """The CLI's JSON: coefficients, se (same shape), aic, n_sites, converged, then the rest."""
        return {
            "coefficients": {w: self.coefficients(w) for w in ("psi", "p")},
            "se": {w: self.se(w) for w in ("psi", "p")},
            "aic": self.aic,
            "n_sites": self.n_sites,
            "converged": self.converged,
            "nll": self.nll,
            "n_params": self.n_params,
            "psi_link": self.psi_link,
            "formulas": {"psi": self.psi_formula, "p": self.p_formula},
            "confint": {w: {r["parameter"]: [r["lower"], r["upper"]] for r in self.table(level) if r["submodel"] == w}
                        for w in ("psi", "p")},
            "level": level,
            "vcov": [[_num(v) for v in row] for row in self.vcov],
            "mean_occupancy": self.mean_occupancy(level),
            "naive_occupancy": self.naive_occupancy(),
            "n_occasions": int(self.data.shape[1]),
            "sites_removed": [{"site": s, "reason": r} for s, r in self.prep.removed],
            "observations_discarded": self.prep.discarded,
            "warnings": [w.as_dict() for w in self.warnings],
            "optimizer": {"method": "BFGS (R optim's vmmin)", "function_evaluations": self.counts[0],
                          "gradient_evaluations": self.counts[1]},
        }


def _num(v) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _logit_interval(est: float, se: float, level: float) -> dict:
    """An interval for a probability from its delta-method SE, computed on the logit scale."""
    if not math.isfinite(se) or not 0 < est < 1:
        return {"lower": None, "upper": None}
    z = z_value(level)
    lo = math.log(est / (1 - est))
    se_l = se / (est * (1 - est))
    return {"lower": float(plogis(lo - z * se_l)), "upper": float(plogis(lo + z * se_l))}


def fit(data: OccuData, psi: str = "~ 1", p: str = "~ 1", psi_link: str = "logit", starts=None,
        se: bool = True, gradient: str = "numeric", maxit: int = optim.MAXIT) -> OccuFit:
    """Fit the model by maximum likelihood (see the module docstring).

    ``gradient="numeric"`` follows unmarked's optim path exactly; ``"exact"`` uses the
    analytic gradient (same optimum, faster: bootstrap refits). OccupancyError / FormulaError
    for data or formulas that cannot be fitted.
    """
    if psi_link not in LINKS:
        raise OccupancyError(f"psi link must be one of {', '.join(LINKS)}, got {psi_link!r}")
    prep = prepare(data, psi, p)
    lik = Likelihood(prep, psi_link)
    nP = prep.X.shape[1] + prep.V.shape[1]
    start = np.zeros(nP) if starts is None else np.asarray(starts, dtype=float)
    if start.shape != (nP,):
        raise OccupancyError(f"the number of starting values should be {nP}")
    gr = optim.numeric_gradient(lik.nll) if gradient == "numeric" else lik.gradient
    try:
        res = optim.vmmin(lik.nll, gr, start, maxit=maxit)
    except optim.OptimError as e:
        raise OccupancyError(f"the likelihood cannot be optimised from these starting values ({e})") from None
    warnings = list(prep.warnings)
    H = None
    vcov = np.full((nP, nP), np.nan)
    if se:
        try:
            H = optim.optim_hessian(gr, res.par)
        except optim.OptimError:
            H = None
        inv = optim.invert_hessian(H) if H is not None else None
        if inv is None:
            warnings.append(Warning_("hessian_singular", "the Hessian is singular: standard errors cannot be "
                                     "computed (try fewer covariates; the data may not inform every parameter)"))
        else:
            vcov = inv
    result = OccuFit(data, psi, p, psi_link, prep, res.par, vcov, H, res.value, res.convergence == 0,
                     (res.fncount, res.grcount), warnings)
    _diagnose(result)
    return result


def _diagnose(f: OccuFit) -> None:
    """Warnings for results that must not be read as plain numbers."""
    w = f.warnings
    y = f.prep.y
    seen = np.where(np.isfinite(y), y, 0)
    if not seen.any():
        w.append(Warning_("no_detections", "the species was never detected at the fitted sites: occupancy and "
                          "detection cannot be told apart (estimates sit on the boundary, near 0)"))
    elif np.all(seen[np.isfinite(y)] == 1):
        w.append(Warning_("all_detected", "every surveyed occasion has a detection: occupancy and detection "
                          "estimates sit on the boundary (near 1)"))
    if not f.converged:
        w.append(Warning_("not_converged", "the model did not converge in 100 iterations of BFGS (as unmarked: "
                          "try starting values or fewer covariates)"))
    se = f.se()
    if np.isfinite(f.vcov).all() and np.any(np.abs(se) >= SE_LARGE):
        big = [n for n, s in zip(f.names["psi"] + f.names["p"], se) if abs(s) >= SE_LARGE]
        w.append(Warning_("large_se", f"large standard errors (>= {SE_LARGE:g} on the link scale) for "
                          f"{', '.join(big)}: be very cautious using these results"))
    boundary = [n for n, e in zip(f.names["psi"] + f.names["p"], f.estimates) if abs(e) > 7]
    psi = f.predict("psi")["predicted"]
    if boundary or (psi.size and (np.all(psi > 0.999) or np.all(psi < 0.001))):
        w.append(Warning_("boundary", "estimates at the boundary of the parameter space (probabilities within "
                          f"0.001 of 0 or 1; {', '.join(boundary) or 'psi'}): the likelihood is flat there and the "
                          "values are where the optimiser stopped, not a precise estimate"))


def model_selection(fits: dict[str, OccuFit]) -> list[dict]:
    """unmarked's ``modSel`` table: models by AIC with delta, Akaike weight and cumulative weight.

    OccupancyError when the models were not fitted to the same detections (sites removed for
    missing covariates differ): their AICs are not comparable.
    """
    if not fits:
        raise OccupancyError("no models to compare")
    items = list(fits.items())
    ref_name, ref = items[0]
    for name, f in items[1:]:
        same = (f.data.y.shape == ref.data.y.shape and np.array_equal(f.prep.kept, ref.prep.kept)
                and np.array_equal(np.isfinite(f.prep.y), np.isfinite(ref.prep.y)))
        if not same:
            raise OccupancyError(f"models {ref_name!r} and {name!r} were fitted to different detections (missing "
                                 "covariate values removed different sites or observations): AIC cannot compare "
                                 "them; remove the sites with missing values first")
    aics = np.array([f.aic for _, f in items])
    delta = aics - aics.min()
    wts = np.exp(-delta / 2)
    wts = wts / wts.sum()
    order = np.argsort(aics, kind="stable")
    rows, cum = [], 0.0
    for k in order:
        cum += float(wts[k])
        name, f = items[k]
        rows.append({"model": name, "n_params": f.n_params, "aic": float(aics[k]), "delta": float(delta[k]),
                     "weight": float(wts[k]), "cum_weight": cum, "converged": f.converged})
    return rows


__all__ = ["FormulaError", "OccuData", "OccuFit", "OccupancyError", "fit", "model_selection", "plogis"]
