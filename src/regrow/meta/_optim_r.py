"""R's ``optim(method = "BFGS")`` (``vmmin`` in R's optim.c, with optim's finite-difference gradient) and
``numDeriv::hessian`` (Richardson extrapolation), step for step, for the likelihoods metafor maximises
with them (selection models)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from regrow.errors import ConvergenceError

__all__ = ["HESS_R", "OPTIM_MAXIT", "hessian", "vmmin"]

#: R ``optim`` defaults for BFGS: finite-difference step ``ndeps``, ``reltol = sqrt(eps)``, ``maxit``.
OPTIM_NDEPS = 1e-3
OPTIM_RELTOL = float(np.sqrt(np.finfo(float).eps))
OPTIM_MAXIT = 100
#: ``numDeriv::hessian`` settings used by metafor (``hessianCtrl = list(r = 6)``, other numDeriv defaults).
HESS_D = 0.1
HESS_EPS = 1e-4
HESS_ZERO_TOL = float(np.sqrt(np.finfo(float).eps / 7e-7))
HESS_R = 6


def optim_gradient(fn: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    """optim's central-difference gradient with ``ndeps = 1e-3`` (``fmingr`` in R's optim.c)."""
    g = np.empty(x.size)
    for i in range(x.size):
        xp, xm = x.copy(), x.copy()
        xp[i] = x[i] + OPTIM_NDEPS
        xm[i] = x[i] - OPTIM_NDEPS
        g[i] = (fn(xp) - fn(xm)) / (2 * OPTIM_NDEPS)
        if not np.isfinite(g[i]):
            raise ConvergenceError(
                f"The selection model's likelihood is not finite near parameter {i + 1} "
                f"(value {x[i]!r}); the optimiser cannot continue."
            )
    return g


def vmmin(
    fn: Callable[[np.ndarray], float],
    x0: np.ndarray,
    *,
    maxit: int = OPTIM_MAXIT,
    reltol: float = OPTIM_RELTOL,
    abstol: float = -np.inf,
) -> tuple[np.ndarray, float, int, int, bool]:
    """Minimise ``fn`` by R's ``optim(method = "BFGS")``: the variable-metric ``vmmin`` of R's optim.c.

    Nash (1990) Compact Numerical Methods for Computers, Algorithm 21; returns
    ``(x, fmin, fn_count, gr_count, converged)``.
    """
    stepredn, acctol, reltest = 0.2, 0.0001, 10.0
    b = np.asarray(x0, float).copy()
    n = b.size
    f = fn(b)
    if not np.isfinite(f):
        raise ConvergenceError("The selection model's likelihood is not finite at the starting values.")
    fmin = f
    funcount = gradcount = 1
    g = optim_gradient(fn, b)
    it = 1
    ilast = gradcount
    B = np.eye(n)
    while True:
        if ilast == gradcount:
            B = np.eye(n)
        X = b.copy()
        c = g.copy()
        t = -(B @ g)
        gradproj = float(t @ g)
        if gradproj < 0.0:
            steplength = 1.0
            accpoint = False
            while True:
                b = X + steplength * t
                count = int(np.sum(reltest + X == reltest + b))
                if count < n:
                    f = fn(b)
                    funcount += 1
                    accpoint = bool(np.isfinite(f) and f <= fmin + gradproj * steplength * acctol)
                    if not accpoint:
                        steplength *= stepredn
                if count == n or accpoint:
                    break
            enough = f > abstol and abs(f - fmin) > reltol * (abs(fmin) + reltol)
            if not enough:
                count = n
                fmin = f
            if count < n:
                fmin = f
                g = optim_gradient(fn, b)
                gradcount += 1
                it += 1
                t = steplength * t
                c = g - c
                D1 = float(t @ c)
                if D1 > 0:
                    Xv = B @ c
                    D2 = 1.0 + float(Xv @ c) / D1
                    B = B + (D2 * np.outer(t, t) - np.outer(Xv, t) - np.outer(t, Xv)) / D1
                else:
                    ilast = gradcount
            else:
                if ilast < gradcount:
                    count = 0
                    ilast = gradcount
        else:
            count = 0
            if ilast == gradcount:
                count = n
            else:
                ilast = gradcount
        if it >= maxit:
            break
        if gradcount - ilast > 2 * n:
            ilast = gradcount
        if count == n and ilast == gradcount:
            break
    return b, fmin, funcount, gradcount, it < maxit


def hessian(fn: Callable[[np.ndarray], float], x: np.ndarray, r: int = HESS_R) -> np.ndarray:
    """Hessian by Richardson extrapolation, as ``numDeriv::hessian(method.args = list(r = 6))`` (genD)."""
    x = np.asarray(x, float)
    n, v = x.size, 2.0
    f0 = fn(x)
    h0 = np.abs(HESS_D * x) + HESS_EPS * (np.abs(x) < HESS_ZERO_TOL)
    eye = np.eye(n)

    def extrapolate(a: np.ndarray) -> float:
        a = a.copy()
        for m in range(1, r):
            for kk in range(r - m):
                a[kk] = (a[kk + 1] * 4.0**m - a[kk]) / (4.0**m - 1)
        return float(a[0])

    hdiag = np.empty(n)
    for i in range(n):
        h = h0.copy()
        approx = np.empty(r)
        for kk in range(r):
            f1, f2 = fn(x + eye[i] * h), fn(x - eye[i] * h)
            approx[kk] = (f1 - 2 * f0 + f2) / h[i] ** 2
            h = h / v
        hdiag[i] = extrapolate(approx)
    H = np.diag(hdiag)
    for i in range(n):
        for j in range(i):
            h = h0.copy()
            approx = np.empty(r)
            for kk in range(r):
                step = eye[i] * h + eye[j] * h
                f1, f2 = fn(x + step), fn(x - step)
                approx[kk] = (f1 - 2 * f0 + f2 - hdiag[i] * h[i] ** 2 - hdiag[j] * h[j] ** 2) / (
                    2 * h[i] * h[j]
                )
                h = h / v
            H[i, j] = H[j, i] = extrapolate(approx)
    return H


# --------------------------------------------------------------------------------------------------------
# The public function
