"""Brent's root finder, as ``scipy.optimize.brentq`` runs it (same steps and stopping rule), without
importing ``scipy.optimize`` (a third of a second at start-up)."""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["brentq", "uniroot", "zeroin"]


def brentq(
    f: Callable[[float], float], a: float, b: float, *, xtol: float, rtol: float, maxiter: int
) -> float:
    """A root of ``f`` in ``[a, b]`` (``f(a)`` and ``f(b)`` of opposite signs), by Brent's method.

    Parameters
    ----------
    f : callable
        A continuous function of one float.
    a, b : float
        The bracket.
    xtol, rtol : float
        Stop when the bracket is shorter than ``xtol + rtol * |x|``.
    maxiter : int
        Most function evaluations after the first two.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        When ``f(a)`` and ``f(b)`` have the same sign.
    RuntimeError
        When ``maxiter`` steps do not reach the tolerance.

    References
    ----------
    Brent RP (1973). Algorithms for Minimization without Derivatives, ch. 4. Prentice-Hall.
    """
    xpre, xcur = float(a), float(b)
    xblk = fblk = spre = scur = 0.0
    fpre, fcur = float(f(xpre)), float(f(xcur))
    if fpre == 0.0:
        return xpre
    if fcur == 0.0:
        return xcur
    if math.copysign(1.0, fpre) == math.copysign(1.0, fcur):
        raise ValueError("f(a) and f(b) must have different signs")
    for _ in range(maxiter):
        if fpre != 0.0 and fcur != 0.0 and math.copysign(1.0, fpre) != math.copysign(1.0, fcur):
            xblk, fblk = xpre, fpre
            spre = scur = xcur - xpre
        if abs(fblk) < abs(fcur):
            xpre, xcur, xblk = xcur, xblk, xcur
            fpre, fcur, fblk = fcur, fblk, fcur
        delta = (xtol + rtol * abs(xcur)) / 2.0
        sbis = (xblk - xcur) / 2.0
        if fcur == 0.0 or abs(sbis) < delta:
            return xcur
        if abs(spre) > delta and abs(fcur) < abs(fpre):
            if xpre == xblk:
                stry = -fcur * (xcur - xpre) / (fcur - fpre)  # secant
            else:
                dpre = (fpre - fcur) / (xpre - xcur)  # inverse quadratic interpolation
                dblk = (fblk - fcur) / (xblk - xcur)
                stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
            if 2.0 * abs(stry) < min(abs(spre), 3.0 * abs(sbis) - delta):
                spre, scur = scur, stry
            else:
                spre = scur = sbis
        else:
            spre = scur = sbis
        xpre, fpre = xcur, fcur
        xcur += scur if abs(scur) > delta else (delta if sbis > 0 else -delta)
        fcur = float(f(xcur))
    raise RuntimeError(f"Failed to converge after {maxiter} iterations, value is {xcur}.")


_EPS = 2.220446049250313e-16


def zeroin(
    f: Callable[[float], float], a: float, b: float, fa: float, fb: float, *, tol: float, maxiter: int
):
    """R's ``R_zeroin2`` (stats/src/zeroin.c) step for step: ``(root, iterations, precision)``.

    ``iterations`` is -1 (and precision -1) when ``maxiter`` steps do not reach ``tol``.
    """
    c, fc = a, fa
    if fa == 0.0:
        return a, 0, 0.0
    if fb == 0.0:
        return b, 0, 0.0
    left = maxiter + 1
    while left:
        left -= 1
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * _EPS * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b, maxiter + 1 - left - 1, abs(c - b)
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q, t1, t2 = fa / fc, fb / fc, fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = float(f(b))
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b, -1, -1.0


def uniroot(
    f: Callable[[float], float],
    lower: float,
    upper: float,
    *,
    extend: str = "no",
    tol: float = _EPS**0.25,
    maxiter: int = 1000,
) -> float:
    """A root of ``f`` as R's ``uniroot`` finds it, including ``extendInt`` ("no", "upX", "downX").

    Raises
    ------
    ValueError
        When no sign change is found (after extending the interval, if asked).
    """
    f_lower, f_upper = float(f(lower)), float(f(upper))
    sig = {"no": 0, "upX": 1, "downX": -1}[extend]
    if sig and (sig * f_lower > 0 or sig * f_upper < 0):
        it = 0
        delta = 0.01 * max(1e-4, abs(lower))
        while sig * f_lower > 0:
            it += 1
            if it > maxiter:
                raise ValueError(f"no sign change found in {it - 1} iterations")
            lower -= delta
            f_lower = float(f(lower))
            delta *= 2
        delta = 0.01 * max(1e-4, abs(upper))
        while sig * f_upper < 0:
            it += 1
            if it > maxiter:
                raise ValueError(f"no sign change found in {it - 1} iterations")
            upper += delta
            f_upper = float(f(upper))
            delta *= 2
    if not (math.copysign(1.0, f_lower) * math.copysign(1.0, f_upper) <= 0 or f_lower == 0 or f_upper == 0):
        raise ValueError("f() values at end points not of opposite sign")
    root, _, _ = zeroin(f, lower, upper, f_lower, f_upper, tol=tol, maxiter=maxiter)
    return root
