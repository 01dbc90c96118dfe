"""The distribution functions the engine needs (normal, chi-square, t, F), in plain Python.

``scipy.stats`` takes most of a second to import and ``scipy.special`` about a quarter, while
``regrow meta rma`` must start instantly; so the normal distribution comes from :func:`math.erfc` and
:class:`statistics.NormalDist`, and chi-square, t and F from the regularised incomplete gamma and beta
functions (series and Lentz continued fractions, Numerical Recipes 3rd ed. sections 6.2 and 6.4), with
quantiles by Brent's method. A test checks every function against ``scipy.special`` to 1e-12 relative,
tails included. Every function takes scalars (returning ``numpy.float64``) or arrays (elementwise).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from statistics import NormalDist

import numpy as np

from regrow.meta._roots import brentq

__all__ = [
    "chi2_cdf",
    "chi2_ppf",
    "chi2_sf",
    "f_sf",
    "gamma_cdf",
    "norm_cdf",
    "norm_isf",
    "norm_pdf",
    "norm_ppf",
    "norm_sf",
    "t_cdf",
    "t_ppf",
    "t_sf",
]

_SQRT2 = math.sqrt(2.0)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_EPS = 1e-16
_TINY = 1e-300
_MAXIT = 100_000
_STD_NORMAL = NormalDist()


def _elementwise(scalar: Callable[..., float]) -> Callable[..., object]:
    """Apply ``scalar`` to floats, or elementwise (with broadcasting) to arrays."""
    ufunc = np.frompyfunc(lambda *a: scalar(*(float(v) for v in a)), scalar.__code__.co_argcount, 1)

    def apply(*args):
        if all(np.ndim(a) == 0 for a in args):
            return np.float64(scalar(*(float(a) for a in args)))
        return np.asarray(ufunc(*args), dtype=float)

    apply.__name__ = scalar.__name__.lstrip("_")
    apply.__doc__ = scalar.__doc__
    return apply


# ----------------------------------------------------------------------------------------------- normal


def _norm_cdf(x: float) -> float:
    """Standard normal distribution function."""
    return 0.5 * math.erfc(-x / _SQRT2)


def _norm_sf(x: float) -> float:
    """Standard normal upper tail, ``1 - Phi(x)`` without cancellation."""
    return 0.5 * math.erfc(x / _SQRT2)


def _norm_ppf(p: float) -> float:
    """Standard normal quantile (Wichura's AS 241, as in :class:`statistics.NormalDist`)."""
    if math.isnan(p) or p < 0.0 or p > 1.0:
        return math.nan
    if p == 0.0:
        return -math.inf
    if p == 1.0:
        return math.inf
    return _STD_NORMAL.inv_cdf(p)


def _norm_isf(q: float) -> float:
    """Standard normal upper-tail quantile."""
    return -_norm_ppf(q)


def _norm_pdf(x: float) -> float:
    """Standard normal density."""
    return math.exp(-0.5 * x * x) / _SQRT_2PI


# ------------------------------------------------------------------------------------- incomplete gamma


def _gamma_pq(a: float, x: float) -> tuple[float, float]:
    """Regularised incomplete gamma functions ``(P(a, x), Q(a, x))``, the smaller one computed directly."""
    if math.isnan(a) or math.isnan(x) or a <= 0.0:
        return math.nan, math.nan
    if x <= 0.0:
        return 0.0, 1.0
    if math.isinf(x):
        return 1.0, 0.0
    log_prefactor = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1.0:  # series for P
        ap, term = a, 1.0 / a
        total = term
        for _ in range(_MAXIT):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        p = total * math.exp(log_prefactor)
        return p, 1.0 - p
    b = x + 1.0 - a  # continued fraction for Q (modified Lentz)
    c, d = 1.0 / _TINY, 1.0 / b
    h = d
    for i in range(1, _MAXIT):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    q = math.exp(log_prefactor) * h
    return 1.0 - q, q


def _chi2_sf(x: float, df: float) -> float:
    """Chi-square upper tail (1 for x <= 0)."""
    return _gamma_pq(df / 2.0, max(x, 0.0) / 2.0)[1] if not math.isnan(x) else math.nan


def _chi2_cdf(x: float, df: float) -> float:
    """Chi-square distribution function (0 for x <= 0)."""
    return _gamma_pq(df / 2.0, max(x, 0.0) / 2.0)[0] if not math.isnan(x) else math.nan


def _gamma_cdf(x: float, a: float) -> float:
    """Gamma(a, scale 1) distribution function."""
    return _gamma_pq(a, max(x, 0.0))[0] if not math.isnan(x) else math.nan


def _quantile(tail: Callable[[float], float], prob: float, lower: float) -> float:
    """The x >= lower where the decreasing function ``tail`` equals ``prob``."""
    hi = max(1.0, lower + 1.0)
    while tail(hi) > prob:
        hi *= 2.0
        if hi > 1e300:
            return math.inf
    return brentq(lambda v: tail(v) - prob, lower, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500)


def _chi2_ppf(p: float, df: float) -> float:
    """Chi-square quantile."""
    if math.isnan(p) or math.isnan(df) or p < 0.0 or p > 1.0 or df <= 0.0:
        return math.nan
    if p == 0.0:
        return 0.0
    if p == 1.0:
        return math.inf
    if p < 0.5:  # solve on the lower tail, which is then the accurate one
        return _quantile(lambda v: -_chi2_cdf(v, df), -p, 0.0)
    return _quantile(lambda v: _chi2_sf(v, df), 1.0 - p, 0.0)


# -------------------------------------------------------------------------------------- incomplete beta


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (_TINY if abs(d) < _TINY else d)
    h = d
    for m in range(1, _MAXIT):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (_TINY if abs(d) < _TINY else d)
        c = 1.0 + aa / c
        c = _TINY if abs(c) < _TINY else c
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (_TINY if abs(d) < _TINY else d)
        c = 1.0 + aa / c
        c = _TINY if abs(c) < _TINY else c
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h


def _beta_upper(a: float, b: float, x: float, y: float) -> float:
    """``1 - I_x(a, b)`` where ``y = 1 - x`` is given separately (so tails keep their relative accuracy)."""
    if x <= 0.0:
        return 1.0
    if y <= 0.0:
        return 0.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(y)
    if x < (a + 1.0) / (a + b + 2.0):
        return 1.0 - math.exp(log_front) * _betacf(a, b, x) / a
    return math.exp(log_front) * _betacf(b, a, y) / b


def _beta_lower(a: float, b: float, x: float, y: float) -> float:
    """``I_x(a, b)`` with ``y = 1 - x``."""
    return _beta_upper(b, a, y, x)


def _t_sf(x: float, df: float) -> float:
    """Student-t upper tail."""
    if math.isnan(x) or math.isnan(df) or df <= 0.0:
        return math.nan
    if math.isinf(df):
        return _norm_sf(x)
    if math.isinf(x):
        return 0.0 if x > 0 else 1.0
    denom = df + x * x
    half_tail = 0.5 * _beta_lower(df / 2.0, 0.5, df / denom, x * x / denom)
    return half_tail if x > 0 else 1.0 - half_tail


def _t_cdf(x: float, df: float) -> float:
    """Student-t distribution function."""
    return _t_sf(-x, df)


def _t_ppf(p: float, df: float) -> float:
    """Student-t quantile."""
    if math.isnan(p) or math.isnan(df) or p < 0.0 or p > 1.0 or df <= 0.0:
        return math.nan
    if math.isinf(df):
        return _norm_ppf(p)
    if p == 0.5:
        return 0.0
    if p == 0.0 or p == 1.0:
        return -math.inf if p == 0.0 else math.inf
    if p < 0.5:  # the lower tail by symmetry, solved on its own probability (no 1 - p rounding)
        return -_quantile(lambda v: _t_sf(v, df), p, 0.0)
    return _quantile(lambda v: _t_sf(v, df), 1.0 - p, 0.0)


def _f_sf(x: float, dfn: float, dfd: float) -> float:
    """F-distribution upper tail (1 for x <= 0)."""
    if math.isnan(x) or math.isnan(dfn) or math.isnan(dfd) or dfn <= 0.0 or dfd <= 0.0:
        return math.nan
    if x <= 0.0:
        return 1.0
    if math.isinf(x):
        return 0.0
    if math.isinf(dfd):
        return _chi2_sf(x * dfn, dfn)
    denom = dfd + dfn * x
    return _beta_lower(dfd / 2.0, dfn / 2.0, dfd / denom, dfn * x / denom)


norm_cdf = _elementwise(_norm_cdf)
norm_sf = _elementwise(_norm_sf)
norm_ppf = _elementwise(_norm_ppf)
norm_isf = _elementwise(_norm_isf)
norm_pdf = _elementwise(_norm_pdf)
chi2_sf = _elementwise(_chi2_sf)
chi2_cdf = _elementwise(_chi2_cdf)
chi2_ppf = _elementwise(_chi2_ppf)
gamma_cdf = _elementwise(_gamma_cdf)
t_sf = _elementwise(_t_sf)
t_cdf = _elementwise(_t_cdf)
t_ppf = _elementwise(_t_ppf)
f_sf = _elementwise(_f_sf)
