"""The selection functions of metafor 3.8-1's ``selmodel`` and the integral of the continuous ones.

Each type is a weight function ``w(p)`` of a study's p-value (``preci`` its precision, ``a = steps[0]`` the
p-value below which studies are not down-weighted), with metafor's bounds, starting values and null values
of ``delta``:

=============  ========================================================================  ==========
type           ``w(p)`` for ``p > a`` (1 for ``p <= a``; divided by its value at ``a``)    H0 delta
=============  ========================================================================  ==========
beta           ``p^(d1-1) (1-p)^(d2-1)`` (no ``a``)                                      (1, 1)
halfnorm       ``exp(-d preci p^2)``                                                     0
negexp         ``exp(-d preci p)``                                                       0
logistic       ``2 exp(-d preci p) / (1 + exp(-d preci p))``                             0
power          ``(1-p)^(preci d)``                                                       0
negexppow      ``exp(-d1 preci p^(1/d2))``                                               (0, 0)
halfnorm2 ...  ``(d1 + w_type(p; d2)) / (1 + d1)`` for halfnorm, negexp, logistic, power  (0, 0)
stepfun        ``delta_j / preci`` for ``p`` in interval ``j``                           1
=============  ========================================================================  ==========

For the continuous types the normalising constant ``A_i = int w(p(y)) phi(y; x_i'beta, vi + tau2) dy``
has no closed form. metafor integrates with R's ``integrate`` (QUADPACK's dqagi, relative tolerance
``eps^0.25`` = 1.2e-4); the same QUADPACK routine with the same tolerances is used here, because the
integration error at that tolerance visibly moves numerically differentiated quantities (the standard
errors of the deltas can change by half when the tolerance is tightened, in R as here). ``int_rel_tol``
of :func:`regrow.meta.selmodel` tightens it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special

from regrow.errors import ConvergenceError

__all__ = [
    "SEL_TYPES",
    "SelType",
    "integrate_weights",
    "observed_weights",
    "scalar_weight",
    "selection_pvalues",
]

_SQRT2 = math.sqrt(2.0)
_SQRT_2PI = math.sqrt(2 * math.pi)


def selection_pvalues(yi: np.ndarray, vi: np.ndarray, alternative: str) -> np.ndarray:
    """One- or two-sided p-values of the Wald tests ``yi / sqrt(vi)`` (metafor ``.selmodel.pval``)."""
    z = np.asarray(yi, float) / np.sqrt(np.asarray(vi, float))
    if alternative == "two.sided":
        return 2.0 * special.ndtr(-np.abs(z))
    return special.ndtr(z) if alternative == "less" else special.ndtr(-z)


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _pow(x: float, e: float) -> float:
    try:
        return x**e
    except ZeroDivisionError:
        return math.inf
    except OverflowError:
        return math.inf


def _halfnorm(u, d, pr):
    return _exp(-d * pr * u * u)


def _negexp(u, d, pr):
    return _exp(-d * pr * u)


def _logistic(u, d, pr):
    e = _exp(-d * pr * u)
    return 2 * e / (1 + e) if math.isfinite(e) else 2.0


def _power(u, d, pr):
    return _pow(1 - u, pr * d)


_CORES = {"halfnorm": _halfnorm, "negexp": _negexp, "logistic": _logistic, "power": _power}


def scalar_weight(name: str, d, pr: float, a: float) -> Callable[[float], float]:
    """The weight function ``w(p)`` of one study (precision ``pr``) as a fast scalar function."""
    d = [float(v) for v in d]
    if name == "beta":
        d0, d1 = d[0] - 1, d[1] - 1
        return lambda x: _pow(x, d0) * _pow(1 - x, d1)
    if name == "negexppow":
        inv = 1 / d[1] if d[1] != 0 else math.inf
        at_a = _exp(-d[0] * pr * _pow(a, inv))
        return lambda x: 1.0 if x <= a else _exp(-d[0] * pr * _pow(x, inv)) / at_a
    core = _CORES[name.rstrip("2")]
    if name.endswith("2"):
        mix, dd = d[0], d[1]
        at_a = core(a, dd, pr)
        return lambda x: 1.0 if x <= a else (mix + core(x, dd, pr) / at_a) / (1 + mix)
    dd = d[0]
    at_a = core(a, dd, pr)
    return lambda x: 1.0 if x <= a else core(x, dd, pr) / at_a


@dataclass(frozen=True)
class SelType:
    """One selection function with metafor's settings for its ``delta`` parameters."""

    name: str
    deltas: int
    lb: tuple[float, ...]
    ub: tuple[float, ...]
    lb_excl: tuple[bool, ...]
    init: tuple[float, ...]
    dmin: tuple[float, ...]
    dmax: tuple[float, ...]
    H0: tuple[float, ...]
    pval_min: float
    continuous: bool = True  # False: the step function (closed form)


def _one(name, pval_min=0.0):
    return SelType(name, 1, (0.0,), (np.inf,), (False,), (1.0,), (0.0,), (100.0,), (0.0,), pval_min)


def _pair(name, init=(1.0, 0.25)):
    return SelType(name, 2, (0.0, 0.0), (np.inf,) * 2, (False,) * 2, init, (0.0, 0.0), (100.0, 100.0), (0.0, 0.0),
                   0.0)  # fmt: skip


SEL_TYPES: dict[str, SelType] = {
    "beta": SelType(
        "beta",
        2,
        (0.0, 0.0),
        (np.inf,) * 2,
        (True, True),
        (1.0, 1.0),
        (1e-5, 1e-5),
        (100.0, 100.0),
        (1.0, 1.0),
        1e-5,
    ),
    "halfnorm": _one("halfnorm"),
    "negexp": _one("negexp"),
    "logistic": _one("logistic"),
    "power": _one("power", pval_min=1e-5),
    "negexppow": _pair("negexppow", init=(1.0, 1.0)),
    "halfnorm2": _pair("halfnorm2"),
    "negexp2": _pair("negexp2"),
    "logistic2": _pair("logistic2"),
    "power2": _pair("power2"),
    "stepfun": SelType("stepfun", 0, (), (), (), (), (), (), (), 0.0, continuous=False),
}


def integrate_weights(
    name: str,
    delta,
    preci,
    a: float,
    vi,
    yhat,
    tau2: float,
    alternative: str,
    pval_min: float,
    rel_tol: float,
) -> np.ndarray:
    """``A_i = E[w(p(y_i))]`` for ``y_i ~ N(yhat_i, vi_i + tau2)``, by QUADPACK's dqagi over the real line
    (what R's ``integrate`` runs), with relative and absolute tolerance ``rel_tol`` and 100 subdivisions.

    Raises
    ------
    ConvergenceError
        When the integral cannot be computed to the tolerance (R's ``integrate`` stops there too).
    """
    from scipy.integrate import quad

    out = np.empty(len(vi))
    hi = 1 - pval_min
    for i, (v, mu, pr) in enumerate(zip(vi, yhat, preci, strict=True)):
        w = scalar_weight(name, delta, float(pr), a)
        sei_r2 = math.sqrt(v) * _SQRT2
        sd = math.sqrt(v + tau2)
        norm = 1 / (sd * _SQRT_2PI)
        sign = -1.0 if alternative == "less" else 1.0
        two = alternative == "two.sided"

        def f(y, w=w, sei_r2=sei_r2, sd=sd, mu=float(mu), norm=norm, sign=sign, two=two):
            p = math.erfc(abs(y) / sei_r2) if two else 0.5 * math.erfc(sign * y / sei_r2)
            p = pval_min if p < pval_min else (hi if p > hi else p)
            z = (y - mu) / sd
            return w(p) * math.exp(-0.5 * z * z) * norm

        result = quad(f, -math.inf, math.inf, epsabs=rel_tol, epsrel=rel_tol, limit=100, full_output=1)
        if len(result) > 3:  # QUADPACK's ier > 0: R's integrate() stops with an error there too
            raise ConvergenceError(f"Could not integrate over the density in study {i + 1} ({result[3]}).")
        out[i] = result[0]
    return out


def observed_weights(name: str, delta, preci, a: float, pvals) -> np.ndarray:
    """``w(p_i)`` at the studies' own (clipped) p-values."""
    return np.array(
        [scalar_weight(name, delta, float(pr), a)(float(x)) for x, pr in zip(pvals, preci, strict=True)]
    )
