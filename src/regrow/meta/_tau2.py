"""Estimators of the between-study variance tau^2, as metafor 3.8's ``rma.uni`` computes them.

Each estimator returns ``(tau2, se_tau2, iterations)``. Formulas follow Viechtbauer (2005)
doi:10.3102/10769986030003261 and the metafor source; ``P`` is the hat-residual matrix of a weighted
least-squares fit (see :mod:`regrow.meta._linalg`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from regrow.errors import ConvergenceError
from regrow.meta._linalg import wls

__all__ = ["METHODS", "Control", "estimate_tau2", "generalized_q_root"]

#: Heterogeneity estimators, metafor's names.
METHODS = ("FE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")


@dataclass(frozen=True)
class Control:
    """Iteration settings (metafor's ``control=``).

    Attributes
    ----------
    threshold : float
        Convergence threshold on the change in tau^2 between Fisher-scoring steps (ML, REML, EB).
        Tighter than metafor's default 1e-5 so results agree with tightly converged references.
    tol : float
        Absolute root-finding tolerance for PM and Q-profile intervals (metafor: ``uniroot`` tol).
    maxiter : int
        Iteration limit; exceeding it raises :class:`~regrow.errors.ConvergenceError`.
    """

    threshold: float = 1e-12
    tol: float = 1e-12
    maxiter: int = 1000


def _root_decreasing(f, target: float, *, tol: float, maxiter: int, what: str) -> float:
    """Smallest tau2 >= 0 with f(tau2) = target for a decreasing f; 0 when f(0) <= target."""
    if f(0.0) <= target:
        return 0.0
    hi = 1.0
    for _ in range(200):
        if f(hi) < target:
            break
        hi *= 10.0
    else:
        raise ConvergenceError(f"Could not bracket the {what} root: Q stays above {target:.6g}.")
    try:
        root = optimize.brentq(
            lambda t: f(t) - target, 0.0, hi, xtol=tol, rtol=4 * np.finfo(float).eps, maxiter=maxiter
        )
    except (RuntimeError, ValueError) as exc:
        raise ConvergenceError(f"The {what} root finder did not converge: {exc}") from exc
    return float(root)


def generalized_q_root(yi, vi, X, target: float, *, control: Control = Control()) -> float:
    """Solve ``Q(tau2) = sum w (y - Xb)^2 = target`` with ``w = 1/(vi + tau2)`` (0 if Q(0) <= target)."""
    return _root_decreasing(
        lambda t: wls(yi, X, 1.0 / (vi + t)).rss,
        target,
        tol=control.tol,
        maxiter=control.maxiter,
        what="generalised Q",
    )


def _fisher_scoring(step, tau2_start: float, control: Control, method: str) -> tuple[float, int]:
    tau2 = max(0.0, tau2_start)
    for iteration in range(1, control.maxiter + 1):
        new = max(0.0, tau2 + step(tau2))
        if abs(new - tau2) <= control.threshold:
            return new, iteration
        tau2 = new
    raise ConvergenceError(
        f"The {method} estimator did not converge in {control.maxiter} iterations "
        f"(last tau2 = {tau2:.6g}); raise maxiter or try method='PM' or 'DL'."
    )


def estimate_tau2(
    method: str,
    yi: np.ndarray,
    vi: np.ndarray,
    X: np.ndarray,
    *,
    control: Control = Control(),
    warnings: list[str] | None = None,
):
    """Estimate tau^2 and its standard error.

    Parameters
    ----------
    method : {"FE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM"}
    yi, vi : ndarray of shape (k,)
        Effect sizes and their sampling variances.
    X : ndarray of shape (k, p)
        Model matrix.
    control : Control
    warnings : list of str, optional
        Receives a message when the ML/REML search is reset to tau^2 = 0 (see below).

    Returns
    -------
    tau2 : float
    se_tau2 : float
        NaN for FE and PM-style estimators without a closed-form SE.
    iterations : int

    Notes
    -----
    As metafor does, an ML or REML estimate is replaced by 0 when the (restricted) log-likelihood at
    tau^2 = 0 exceeds the one at the Fisher-scoring solution by more than ``control.tol``: scoring can stop
    at a local maximum.

    References
    ----------
    DerSimonian & Laird (1986) doi:10.1016/0197-2456(86)90046-2; Hedges & Olkin (1985); Hunter & Schmidt
    (2004); Sidik & Jonkman (2005) doi:10.1002/sim.2102; Paule & Mandel (1982) doi:10.6028/jres.087.022;
    Morris (1983) doi:10.1080/01621459.1983.10477920; Viechtbauer (2005) doi:10.3102/10769986030003261.
    """
    k, p = X.shape
    df = k - p
    if method == "FE":
        return 0.0, float("nan"), 0
    w0 = 1.0 / vi
    if method in ("DL", "HS"):
        fit = wls(yi, X, w0)
        trP = fit.trace_pd()
        denom = trP if method == "DL" else float(np.sum(w0))
        numer = fit.rss - (df if method == "DL" else k)
        tau2 = max(0.0, numer / denom)
        trPP = fit.trace_pdpd()
        se = np.sqrt((2 * df + 4 * tau2 * trP + 2 * tau2**2 * trPP) / denom**2)
        return tau2, float(se), 0
    if method == "HE":
        fit = wls(yi, X, np.ones(k))
        trPV = fit.trace_pd(vi)
        tau2 = max(0.0, (fit.rss - trPV) / df)
        se = np.sqrt((2 * fit.trace_pdpd(vi, vi) + 4 * tau2 * trPV + 2 * tau2**2 * df) / df**2)
        return tau2, float(se), 0
    if method == "SJ":
        # metafor's default starting value: the (biased) variance of the effect sizes.
        tau2_0 = float(np.var(yi))
        fit = wls(yi, X, 1.0 / (vi + tau2_0))
        tau2 = max(0.0, tau2_0 * fit.rss / df)
        se = np.sqrt(
            tau2_0**2
            / df**2
            * (
                2 * fit.trace_pdpd(vi, vi)
                + 4 * tau2 * fit.trace_pdpd(vi, 1.0)
                + 2 * tau2**2 * fit.trace_pdpd()
            )
        )
        return tau2, float(se), 0
    if method == "PM":
        tau2 = generalized_q_root(yi, vi, X, float(df), control=control)
        return tau2, _se_eb_pm(yi, vi, X, tau2), 0
    if method in ("ML", "REML", "EB"):
        start, _, _ = estimate_tau2("HE", yi, vi, X, control=control)
        tau2, iterations = _fisher_scoring(
            lambda t: scoring_step(method, yi, vi, X, t), start, control, method
        )
        if method in ("ML", "REML") and tau2 > control.threshold:
            reml = method == "REML"
            if _profile_ll(yi, vi, X, 0.0, reml) - _profile_ll(yi, vi, X, tau2, reml) > control.tol:
                tau2 = 0.0
                if warnings is not None:
                    warnings.append(
                        "Fisher scoring may have stopped at a local maximum; tau^2 set to 0, where the "
                        "likelihood is higher."
                    )
        return tau2, se_scoring(method, yi, vi, X, tau2), iterations
    raise ValueError(method)  # pragma: no cover - validated by the caller


def scoring_step(method: str, yi, vi, X, tau2: float) -> float:
    """The Fisher-scoring step of the ML, REML or EB estimator at ``tau2`` (metafor's update)."""
    k, p = X.shape
    fit = wls(yi, X, 1.0 / (vi + tau2))
    if method == "ML":
        return (fit.yPPy - np.sum(fit.w)) / np.sum(fit.w**2)
    if method == "REML":
        return (fit.yPPy - fit.trace_pd()) / fit.trace_pdpd()
    return (fit.rss * k / (k - p) - k) / np.sum(fit.w)


def se_scoring(method: str, yi, vi, X, tau2: float) -> float:
    """Standard error of an ML, REML or EB estimate ``tau2`` (inverse Fisher information; EB as PM)."""
    if method == "EB":
        return _se_eb_pm(yi, vi, X, tau2)
    fit = wls(yi, X, 1.0 / (vi + tau2))
    if method == "ML":
        return float(np.sqrt(2.0 / np.sum(fit.w**2)))
    return float(np.sqrt(2.0 / fit.trace_pdpd()))


def _se_eb_pm(yi, vi, X, tau2: float) -> float:
    """SE of the EB/PM estimate (metafor): ``sqrt(2 k^2 / (k - p)) / sum(w)``, ``w = 1/(vi + tau2)``."""
    k, p = X.shape
    w = 1.0 / (vi + tau2)
    return float(np.sqrt(2.0 * k**2 / (k - p) / np.sum(w) ** 2))


def _profile_ll(yi, vi, X, tau2: float, reml: bool) -> float:
    """(Restricted) log-likelihood up to a constant, coefficients profiled out."""
    fit = wls(yi, X, 1.0 / (vi + tau2))
    ll = -0.5 * np.sum(np.log(vi + tau2)) - 0.5 * fit.rss
    return float(ll - 0.5 * fit.logdet_xwx()) if reml else float(ll)
