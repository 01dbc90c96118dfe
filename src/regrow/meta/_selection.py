"""Bias-robust estimation: the Henmi-Copas confidence interval, agreeing with metafor 3.8-1 (``hc``).

The interval is centred on the fixed-effect estimate (robust to small-study effects, which inflate the
random-effects weights of small studies) with a width that accounts for heterogeneity through the
distribution of Q, found by numerical integration and a root search. R's ``uniroot`` (Brent's zeroin as
R implements it) is reproduced in :func:`_zeroin` so that the bound agrees with metafor to its digits, not
only to ``uniroot``'s default tolerance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from regrow.errors import ConvergenceError, InputError, TooFewStudiesError
from regrow.meta._dist import gamma_cdf, norm_pdf
from regrow.meta._rma import RMAResult

__all__ = ["HCResult", "hc"]

#: R's ``uniroot`` default tolerance, ``.Machine$double.eps^0.25``, used by ``hc``.
R_UNIROOT_TOL = float(np.finfo(float).eps) ** 0.25


def _zeroin(
    f: Callable[[float], float],
    lower: float,
    upper: float,
    *,
    tol: float = R_UNIROOT_TOL,
    maxiter: int = 1000,
) -> float:
    """A root of ``f`` in [lower, upper] by Brent's method, step for step as R's ``R_zeroin2``.

    Raises
    ------
    ConvergenceError
        When f has the same sign at both ends or the iteration limit is reached.
    """
    eps = float(np.finfo(float).eps)
    a, b = float(lower), float(upper)
    fa, fb = f(a), f(b)
    if fa * fb > 0:
        raise ConvergenceError(f"No sign change on [{lower}, {upper}]: f = {fa:.6g} and {fb:.6g}.")
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    c, fc = a, fa
    for _ in range(maxiter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * eps * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
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
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    raise ConvergenceError(f"The root search did not converge in {maxiter} iterations.")


@dataclass(frozen=True)
class HCResult:
    """Result of :func:`hc`.

    Attributes
    ----------
    beta, se : float
        Fixed-effect estimate and its standard error under the random-effects model
        ``sqrt((tau2 W2 + 1) / W1)``.
    ci_lb, ci_ub : float
        Henmi-Copas confidence interval.
    tau2 : float
        DerSimonian-Laird tau^2.
    beta_rma, se_rma, ci_lb_rma, ci_ub_rma, tau2_rma : float
        The input model's estimate, SE, CI and tau^2, for comparison.
    level : float
        Confidence level in percent.
    """

    beta: float
    se: float
    ci_lb: float
    ci_ub: float
    tau2: float
    beta_rma: float
    se_rma: float
    ci_lb_rma: float
    ci_ub_rma: float
    tau2_rma: float
    level: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def hc(res: RMAResult) -> HCResult:
    """Henmi and Copas's confidence interval for the pooled effect (metafor's ``hc``).

    With ``w = 1/v``, ``W_r = sum(w^r) / sum(w)`` (``W1 = sum w``), the estimate is the fixed-effect
    ``beta = sum(w y) / W1``, tau^2 the DerSimonian-Laird value, ``Var(beta) = (tau2 W2 + 1) / W1``. The
    half-width ``u0 = sqrt(1 + tau2 W2) t0`` solves ``P(|R| > t0 ...) = alpha/2`` written as
    ``int_{t}^{inf} F_Q(f^{-1}(r / t); shape(r), scale(r)) phi(r) dr = alpha / 2``, with Q approximated by
    a gamma distribution whose mean and variance depend on the standardised estimate (Henmi & Copas 2010).

    Parameters
    ----------
    res : RMAResult
        An intercept-only model (its yi, vi and confidence level are used).

    Returns
    -------
    HCResult

    Raises
    ------
    InputError
        For a model with moderators.
    TooFewStudiesError
        With fewer than 2 studies.
    ConvergenceError
        When the root search fails.

    References
    ----------
    Henmi M, Copas JB (2010). Confidence intervals for random effects meta-analysis and robustness to
    publication bias. Stat Med 29:2969-2983. doi:10.1002/sim.4029.
    """
    if res.p != 1 or not res.intercept:
        raise InputError("The Henmi-Copas method applies to models without moderators.", field="mods")
    yi, vi = np.asarray(res.yi, float), np.asarray(res.vi, float)
    k = yi.size
    if k < 2:
        raise TooFewStudiesError(f"The Henmi-Copas method needs at least 2 studies; got {k}.")
    alpha = res.alpha
    wi = 1.0 / vi
    W1 = float(np.sum(wi))
    W2 = float(np.sum(wi**2)) / W1
    W3 = float(np.sum(wi**3)) / W1
    W4 = float(np.sum(wi**4)) / W1
    beta = float(np.sum(wi * yi)) / W1
    Q = float(np.sum(wi * (yi - beta) ** 2))
    tau2 = max(0.0, (Q - (k - 1)) / (W1 - W2))
    se = float(np.sqrt((tau2 * W2 + 1) / W1))
    VR = 1 + tau2 * W2
    SDR = float(np.sqrt(VR))

    def EQ(r):
        return (k - 1) + tau2 * (W1 - W2) + tau2**2 * ((1 / VR**2) * r**2 - 1 / VR) * (W3 - W2**2)

    def VQ(r):
        rsq, recipvr2 = r**2, 1 / VR**2
        return (
            2 * (k - 1)
            + 4 * tau2 * (W1 - W2)
            + 2 * tau2**2 * (W1 * W2 - 2 * W3 + W2**2)
            + 4 * tau2**2 * (recipvr2 * rsq - 1 / VR) * (W3 - W2**2)
            + 4 * tau2**3 * (recipvr2 * rsq - 1 / VR) * (W4 - 2 * W2 * W3 + W2**3)
            + 2 * tau2**4 * (recipvr2 - 2 * (1 / VR**3) * rsq) * (W3 - W2**2) ** 2
        )

    def finv(f):
        return (W1 / W2 - 1) * (f**2 - 1) + (k - 1)

    def integrand(r, x):
        sr = SDR * r
        eq, vq = EQ(sr), VQ(sr)
        ratio = r / x if x > 0 else np.inf  # R: r / 0 = Inf (quadrature nodes have r > 0)
        return gamma_cdf(finv(ratio) / (vq / eq), eq**2 / vq) * norm_pdf(r)

    def eqn(x):
        from scipy import integrate  # only for hc(): scipy.integrate is slow to import

        value, _ = integrate.quad(
            integrand, x, np.inf, args=(x,), epsabs=1.220703e-4, epsrel=1.220703e-4, limit=100
        )
        return value - alpha / 2

    t0 = _zeroin(eqn, 0.0, 2.0)
    u0 = SDR * t0
    return HCResult(
        beta=beta,
        se=se,
        ci_lb=beta - u0 * se,
        ci_ub=beta + u0 * se,
        tau2=tau2,
        beta_rma=float(res.beta[0]),
        se_rma=float(res.se[0]),
        ci_lb_rma=float(res.ci_lb[0]),
        ci_ub_rma=float(res.ci_ub[0]),
        tau2_rma=float(res.tau2),
        level=float(res.level),
    )
