"""R's ``optim(method = "BFGS", hessian = TRUE)``, step for step, so fits equal unmarked's.

unmarked fits ``occu`` with ``optim(rep(0, nP), nll, method = "BFGS", hessian = TRUE)``
(no gradient: optim differentiates numerically) and ``colext`` with the same call and
TMB's exact gradient. The estimates it reports are wherever this particular quasi-Newton
run stopped, which matters on flat likelihoods (an occupancy intercept near the boundary
stops near 8.6 rather than at infinity), so instead of a generic minimiser this module
reproduces R's code paths:

* :func:`vmmin` - R's ``vmmin`` (src/appl/optim.c; Nash's variable metric algorithm 21):
  the same line search (step 1, shrink by 0.2, acceptance 1e-4), the same relative
  tolerance test (``reltol`` = sqrt(machine epsilon)), restarts and ``maxit`` = 100;
* :func:`numeric_gradient` - optim's finite differences: central, ``ndeps`` = 1e-3;
* :func:`optim_hessian` - ``optimhess``: central differences of the gradient with the
  same step, then symmetrised, exactly as optim(..., hessian = TRUE) returns it;
* :func:`invert_hessian` - R's ``solve()``: refused (None) when LAPACK finds the matrix
  singular or its reciprocal condition number is below machine epsilon, which unmarked
  turns into NA standard errors with a warning.

Floating-point sums inside the likelihood may round differently from R's compiled code
in the last bit; that moves results far below the digits anyone reports.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

REL_TOL = 1.490116119384765625e-08  # sqrt(.Machine$double.eps), optim's default reltol
MAXIT = 100  # optim's default for BFGS
NDEPS = 1e-3  # optim's default finite-difference step
_STEPREDN, _ACCTOL, _RELTEST = 0.2, 0.0001, 10.0

Objective = Callable[[np.ndarray], float]
Gradient = Callable[[np.ndarray], np.ndarray]


class OptimError(ValueError):
    """The objective could not be evaluated where R would stop with an error."""


@dataclass
class OptimResult:
    """What R's optim returns: par, value, counts, convergence (0 = converged, 1 = maxit reached)."""

    par: np.ndarray
    value: float
    fncount: int
    grcount: int
    convergence: int


def numeric_gradient(fn: Objective, ndeps: float = NDEPS) -> Gradient:
    """optim's numerical gradient: (f(x + h e_i) - f(x - h e_i)) / 2h for each i, h = ``ndeps``."""

    def gr(p: np.ndarray) -> np.ndarray:
        x = np.array(p, dtype=float)
        df = np.empty(len(x))
        for i in range(len(x)):
            xi = x[i]
            x[i] = xi + ndeps
            v1 = fn(x)
            x[i] = xi - ndeps
            v2 = fn(x)
            df[i] = (v1 - v2) / (2 * ndeps)
            if not math.isfinite(df[i]):
                raise OptimError(f"non-finite finite-difference value [{i + 1}]")
            x[i] = xi
        return df

    return gr


def vmmin(fn: Objective, gr: Gradient, start, maxit: int = MAXIT, reltol: float = REL_TOL,
          abstol: float = -math.inf) -> OptimResult:
    """R's BFGS minimiser (``vmmin``), line for line. ``convergence`` is 1 when ``maxit`` was reached."""
    b = [float(v) for v in start]
    n = len(b)
    f = fn(np.array(b))
    if not math.isfinite(f):
        raise OptimError("initial value in 'vmmin' is not finite")
    fmin = f
    funcount = gradcount = 1
    g = [float(v) for v in gr(np.array(b))]
    it = 1
    ilast = gradcount
    B = [[0.0] * n for _ in range(n)]
    t = [0.0] * n
    X = [0.0] * n
    c = [0.0] * n
    count = 0
    while True:
        if ilast == gradcount:
            for i in range(n):
                for j in range(i):
                    B[i][j] = 0.0
                B[i][i] = 1.0
        for i in range(n):
            X[i] = b[i]
            c[i] = g[i]
        gradproj = 0.0
        for i in range(n):
            s = 0.0
            for j in range(i + 1):
                s -= B[i][j] * g[j]
            for j in range(i + 1, n):
                s -= B[j][i] * g[j]
            t[i] = s
            gradproj += s * g[i]
        if gradproj < 0.0:  # downhill
            steplength = 1.0
            accpoint = False
            while True:
                count = 0
                for i in range(n):
                    b[i] = X[i] + steplength * t[i]
                    if _RELTEST + X[i] == _RELTEST + b[i]:
                        count += 1
                if count < n:
                    f = fn(np.array(b))
                    funcount += 1
                    accpoint = math.isfinite(f) and f <= fmin + gradproj * steplength * _ACCTOL
                    if not accpoint:
                        steplength *= _STEPREDN
                if count == n or accpoint:
                    break
            enough = f > abstol and abs(f - fmin) > reltol * (abs(fmin) + reltol)
            if not enough:
                count = n
                fmin = f
            if count < n:  # making progress
                fmin = f
                g = [float(v) for v in gr(np.array(b))]
                gradcount += 1
                it += 1
                D1 = 0.0
                for i in range(n):
                    t[i] = steplength * t[i]
                    c[i] = g[i] - c[i]
                    D1 += t[i] * c[i]
                if D1 > 0:
                    D2 = 0.0
                    for i in range(n):
                        s = 0.0
                        for j in range(i + 1):
                            s += B[i][j] * c[j]
                        for j in range(i + 1, n):
                            s += B[j][i] * c[j]
                        X[i] = s
                        D2 += s * c[i]
                    D2 = 1.0 + D2 / D1
                    for i in range(n):
                        for j in range(i + 1):
                            B[i][j] += (D2 * t[i] * t[j] - X[i] * t[j] - t[i] * X[j]) / D1
                else:
                    ilast = gradcount
            else:  # no progress
                if ilast < gradcount:
                    count = 0
                    ilast = gradcount
        else:  # uphill search direction: reset unless just reset
            count = 0
            if ilast == gradcount:
                count = n
            else:
                ilast = gradcount
        if it >= maxit:
            break
        if gradcount - ilast > 2 * n:
            ilast = gradcount  # periodic restart
        if count == n and ilast == gradcount:
            break
    return OptimResult(np.array(b), fmin, funcount, gradcount, 0 if it < maxit else 1)


def optim_hessian(gr: Gradient, par, ndeps: float = NDEPS) -> np.ndarray:
    """R's ``optimhess``: H[:, i] = (gr(p + h e_i) - gr(p - h e_i)) / 2h, then (H + H') / 2.

    The perturbed coordinate is restored by adding and subtracting h, as R does (so it may
    differ from the original in the last bit, and later columns see that value).
    """
    dpar = [float(v) for v in par]
    n = len(dpar)
    H = np.empty((n, n))
    for i in range(n):
        dpar[i] = dpar[i] + ndeps
        df1 = gr(np.array(dpar))
        dpar[i] = dpar[i] - 2 * ndeps
        df2 = gr(np.array(dpar))
        for j in range(n):
            H[j, i] = (df1[j] - df2[j]) / (2 * ndeps)
        dpar[i] = dpar[i] + ndeps
    for i in range(n):
        for j in range(i):
            tmp = 0.5 * (H[j, i] + H[i, j])
            H[j, i] = H[i, j] = tmp
    return H


def invert_hessian(H: np.ndarray) -> np.ndarray | None:
    """The inverse as R's ``solve()`` gives it, or None where ``solve()`` stops: an exactly
    singular LU factor, or a reciprocal condition number (1-norm) below machine epsilon."""
    from scipy.linalg import lapack

    if not np.all(np.isfinite(H)):
        return None
    lu, piv, info = lapack.dgetrf(H)
    if info != 0:
        return None
    anorm = float(np.max(np.sum(np.abs(H), axis=0)))
    rcond, info = lapack.dgecon(lu, anorm, norm="1")
    if info != 0 or rcond < np.finfo(float).eps:
        return None
    inv, info = lapack.dgetri(lu, piv)
    return None if info != 0 else np.asarray(inv)
