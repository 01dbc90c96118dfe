"""Estimators of the between-study variance tau^2, as metafor 3.8's ``rma.uni`` computes them.

Each estimator returns ``(tau2, se_tau2, iterations)``. Formulas follow Viechtbauer (2005)
doi:10.3102/10769986030003261 and the metafor source; ``P`` is the hat-residual matrix of a weighted
least-squares fit (see :mod:`regrow.meta._linalg`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from regrow.errors import ConvergenceError, EstimationError, InputError
from regrow.meta._linalg import wls
from regrow.meta._roots import brentq

__all__ = [
    "EQUAL_EFFECTS",
    "METHODS",
    "NEEDS_POSITIVE_VI",
    "Control",
    "canonical_method",
    "estimate_tau2",
    "generalized_q_root",
    "se_tau2",
]

#: Heterogeneity estimators, metafor's names. "EE" (equal effects), "CE" (common effect) and "FE" (fixed
#: effects) all fit the model without tau^2 and keep the name asked for, as metafor does.
METHODS = (
    "EE", "CE", "FE", "DL", "DLIT", "HE", "HS", "HSk", "SJ", "SJIT", "ML", "REML", "EB", "PM", "PMM", "GENQ",
)  # fmt: skip

#: The names of the model without heterogeneity.
EQUAL_EFFECTS = ("EE", "CE", "FE")

#: Estimators that divide by the sampling variances (metafor refuses them when a vi is 0).
NEEDS_POSITIVE_VI = ("DL", "HS", "HSk", "PM", "PMM")

_BY_UPPER = {m.upper(): m for m in METHODS}


def canonical_method(method: str) -> str:
    """metafor's spelling of an estimator name given in any case ("hsk" -> "HSk").

    Raises
    ------
    InputError
        For an unknown estimator.
    """
    name = _BY_UPPER.get(str(method).upper()) if isinstance(method, str) else None
    if name is None:
        raise InputError.invalid("method", method, "one of " + ", ".join(METHODS))
    return name


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
    tau2_init : float, optional
        Starting value of the iterative estimators (ML, REML, EB: the HE estimate; DLIT: 0; SJ, SJIT: the
        variance of the effect sizes), metafor's ``tau2.init``.
    """

    threshold: float = 1e-12
    tol: float = 1e-12
    maxiter: int = 1000
    tau2_init: float | None = None


def _iv(vi: np.ndarray, tau2: float) -> np.ndarray:
    """Inverse-variance weights ``1 / (vi + tau2)``; an error, as in metafor, when one is infinite."""
    total = vi + tau2
    if np.any(total <= 0):
        raise EstimationError(
            "Division by zero when computing the inverse-variance weights: a study has vi = 0 and tau^2 "
            "reached 0; give weights=, fix tau2, or check the vi column."
        )
    return 1.0 / total


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
        root = brentq(
            lambda t: f(t) - target, 0.0, hi, xtol=tol, rtol=4 * np.finfo(float).eps, maxiter=maxiter
        )
    except (RuntimeError, ValueError) as exc:
        raise ConvergenceError(f"The {what} root finder did not converge: {exc}") from exc
    return float(root)


def generalized_q_root(yi, vi, X, target: float, *, control: Control = Control()) -> float:
    """Solve ``Q(tau2) = sum w (y - Xb)^2 = target`` with ``w = 1/(vi + tau2)`` (0 if Q(0) <= target)."""
    return _root_decreasing(
        lambda t: wls(yi, X, _iv(vi, t)).rss,
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
    weights: np.ndarray | None = None,
):
    """Estimate tau^2 and its standard error.

    Parameters
    ----------
    method : str
        One of :data:`METHODS`.
    yi, vi : ndarray of shape (k,)
        Effect sizes and their sampling variances.
    X : ndarray of shape (k, p)
        Model matrix.
    control : Control
    warnings : list of str, optional
        Receives a message when the ML/REML search is reset to tau^2 = 0 (see below).
    weights : ndarray of shape (k,), optional
        The weights of the generalised Q statistic (method "GENQ" only, where they are required).

    Returns
    -------
    tau2 : float
    se_tau2 : float
        NaN for the equal-effects model.
    iterations : int

    Raises
    ------
    ConvergenceError
        When an iterative estimator does not converge within ``control.maxiter`` steps.

    Notes
    -----
    As metafor does, an ML or REML estimate is replaced by 0 when the (restricted) log-likelihood at
    tau^2 = 0 exceeds the one at the Fisher-scoring solution by more than ``control.tol``: scoring can stop
    at a local maximum. HSk is Hunter-Schmidt with the k/(k - p) small-sample correction; DLIT and SJIT
    iterate the DL and SJ estimators to a fixed point; PMM is the median-unbiased Paule-Mandel estimator
    (Q = the median of chi^2_{k-p}); GENQ is the generalised Q estimator with user weights (DerSimonian &
    Kacker 2007).

    References
    ----------
    DerSimonian & Laird (1986) doi:10.1016/0197-2456(86)90046-2; Hedges & Olkin (1985); Hunter & Schmidt
    (2004); Sidik & Jonkman (2005) doi:10.1002/sim.2102; Paule & Mandel (1982) doi:10.6028/jres.087.022;
    Morris (1983) doi:10.1080/01621459.1983.10477920; Viechtbauer (2005) doi:10.3102/10769986030003261;
    DerSimonian & Kacker (2007) doi:10.1016/j.cct.2006.04.004; Viechtbauer et al. (2015)
    doi:10.1002/jrsm.1140 (PMM).
    """
    k, p = X.shape
    df = k - p
    if method in EQUAL_EFFECTS:
        return 0.0, float("nan"), 0
    w0 = 1.0 / vi if method in NEEDS_POSITIVE_VI else None
    if method in ("DL", "HS", "HSk"):
        fit = wls(yi, X, w0)
        trP = fit.trace_pd()
        if method == "DL":
            tau2 = max(0.0, (fit.rss - df) / trP)
            denom = trP
        else:
            factor = 1.0 if method == "HS" else k / df
            denom = float(np.sum(w0))
            tau2 = max(0.0, (factor * fit.rss - k) / denom)
        trPP = fit.trace_pdpd()
        se = np.sqrt((2 * df + 4 * tau2 * trP + 2 * tau2**2 * trPP) / denom**2)
        return tau2, float(se * (k / df if method == "HSk" else 1.0)), 0
    if method == "DLIT":
        return _dl_iterated(yi, vi, X, control)
    if method == "GENQ":
        if weights is None:
            raise InputError(
                "method='GENQ' needs weights (the weights of the generalised Q).", field="weights"
            )
        fit = wls(yi, X, np.asarray(weights, dtype=float))
        trP, trPV = fit.trace_pd(), fit.trace_pd(vi)
        tau2 = max(0.0, (fit.rss - trPV) / trP)
        se = np.sqrt(
            (2 * fit.trace_pdpd(vi, vi) + 4 * tau2 * fit.trace_pdpd(vi, 1.0) + 2 * tau2**2 * fit.trace_pdpd())
            / trP**2
        )
        return tau2, float(se), 0
    if method == "HE":
        fit = wls(yi, X, np.ones(k))
        trPV = fit.trace_pd(vi)
        tau2 = max(0.0, (fit.rss - trPV) / df)
        se = np.sqrt((2 * fit.trace_pdpd(vi, vi) + 4 * tau2 * trPV + 2 * tau2**2 * df) / df**2)
        return tau2, float(se), 0
    if method == "SJ":
        # metafor's default starting value: the (biased) variance of the effect sizes.
        tau2_0 = float(np.var(yi)) if control.tau2_init is None else float(control.tau2_init)
        fit = wls(yi, X, _iv(vi, tau2_0))
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
    if method == "SJIT":
        tau2 = float(np.var(yi)) if control.tau2_init is None else float(control.tau2_init)
        for iteration in range(1, control.maxiter + 1):
            new = tau2 * wls(yi, X, _iv(vi, tau2)).rss / df
            if abs(new - tau2) <= control.threshold:
                tau2 = max(0.0, new)
                return tau2, _se_eb_pm(yi, vi, X, tau2), iteration
            tau2 = new
        raise ConvergenceError(
            f"The iterated Sidik-Jonkman (SJIT) estimator did not converge in {control.maxiter} steps."
        )
    if method in ("PM", "PMM"):
        from regrow.meta._dist import chi2_ppf

        target = float(df) if method == "PM" else float(chi2_ppf(0.5, df))
        tau2 = generalized_q_root(yi, vi, X, target, control=control)
        return tau2, _se_eb_pm(yi, vi, X, tau2), 0
    if method in ("ML", "REML", "EB"):
        if control.tau2_init is None:
            start, _, _ = estimate_tau2("HE", yi, vi, X, control=control)
        else:
            start = float(control.tau2_init)
        tau2, iterations = _fisher_scoring(
            lambda t: scoring_step(method, yi, vi, X, t), start, control, method
        )
        if method in ("ML", "REML") and tau2 > control.threshold and np.all(vi > 0):
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


def _dl_iterated(yi, vi, X, control: Control) -> tuple[float, float, int]:
    """DLIT: the DL estimator recomputed with weights ``1/(vi + tau2)`` until tau^2 stops changing."""
    k, p = X.shape
    tau2 = 0.0 if control.tau2_init is None else float(control.tau2_init)
    for iteration in range(1, control.maxiter + 1):
        fit = wls(yi, X, _iv(vi, tau2))
        trP = fit.trace_pd()
        new = max(0.0, (fit.rss - (k - p)) / trP)
        if abs(new - tau2) <= control.threshold:
            se = np.sqrt((2 * (k - p) + 4 * new * trP + 2 * new**2 * fit.trace_pdpd()) / trP**2)
            return new, float(se), iteration
        tau2 = new
    raise ConvergenceError(
        f"The iterated DerSimonian-Laird (DLIT) estimator did not converge in {control.maxiter} steps."
    )


def se_tau2(
    method: str,
    yi: np.ndarray,
    vi: np.ndarray,
    X: np.ndarray,
    tau2: float,
    *,
    control: Control = Control(),
    weights: np.ndarray | None = None,
) -> float:
    """Standard error of a tau^2 value under an estimator's formula (metafor computes it also when tau^2
    is fixed by the user).

    Parameters
    ----------
    method : str
        One of :data:`METHODS`.
    yi, vi : ndarray of shape (k,)
    X : ndarray of shape (k, p)
    tau2 : float
    control : Control
        Its ``tau2_init`` is the SJ starting value.
    weights : ndarray of shape (k,), optional
        The GENQ weights.

    Returns
    -------
    float
        NaN for the equal-effects model.
    """
    k, p = X.shape
    df = k - p
    t = max(tau2, 0.0)
    if method in EQUAL_EFFECTS:
        return float("nan")
    if method in ("DL", "DLIT", "HS", "HSk", "GENQ", "HE", "SJ"):
        if method in ("DL", "HS", "HSk"):
            fit = wls(yi, X, 1.0 / vi)
        elif method == "DLIT":
            fit = wls(yi, X, _iv(vi, tau2))
        elif method == "GENQ":
            fit = wls(yi, X, np.asarray(weights, dtype=float))
        elif method == "HE":
            fit = wls(yi, X, np.ones(k))
        else:
            tau2_0 = float(np.var(yi)) if control.tau2_init is None else float(control.tau2_init)
            fit = wls(yi, X, _iv(vi, tau2_0))
        trP, trPP = fit.trace_pd(), fit.trace_pdpd()
        if method in ("DL", "DLIT"):
            return float(np.sqrt((2 * df + 4 * t * trP + 2 * t**2 * trPP) / trP**2))
        if method in ("HS", "HSk"):
            se = np.sqrt((2 * df + 4 * t * trP + 2 * t**2 * trPP) / np.sum(1.0 / vi) ** 2)
            return float(se * (k / df if method == "HSk" else 1.0))
        quad = 2 * fit.trace_pdpd(vi, vi) + 4 * t * fit.trace_pdpd(vi, 1.0) + 2 * t**2 * trPP
        if method == "GENQ":
            return float(np.sqrt(quad / trP**2))
        if method == "HE":
            return float(
                np.sqrt((2 * fit.trace_pdpd(vi, vi) + 4 * t * fit.trace_pd(vi) + 2 * t**2 * df) / df**2)
            )
        return float(np.sqrt(tau2_0**2 / df**2 * quad))
    if method in ("ML", "REML"):
        return se_scoring(method, yi, vi, X, tau2)
    return _se_eb_pm(yi, vi, X, tau2)  # EB, PM, PMM, SJIT


def scoring_step(method: str, yi, vi, X, tau2: float) -> float:
    """The Fisher-scoring step of the ML, REML or EB estimator at ``tau2`` (metafor's update)."""
    k, p = X.shape
    fit = wls(yi, X, _iv(vi, tau2))
    if method == "ML":
        return (fit.yPPy - np.sum(fit.w)) / np.sum(fit.w**2)
    if method == "REML":
        return (fit.yPPy - fit.trace_pd()) / fit.trace_pdpd()
    return (fit.rss * k / (k - p) - k) / np.sum(fit.w)


def se_scoring(method: str, yi, vi, X, tau2: float) -> float:
    """Standard error of an ML, REML or EB estimate ``tau2`` (inverse Fisher information; EB as PM)."""
    if method == "EB":
        return _se_eb_pm(yi, vi, X, tau2)
    fit = wls(yi, X, _iv(vi, tau2))
    if method == "ML":
        return float(np.sqrt(2.0 / np.sum(fit.w**2)))
    return float(np.sqrt(2.0 / fit.trace_pdpd()))


def _se_eb_pm(yi, vi, X, tau2: float) -> float:
    """SE of the EB/PM estimate (metafor): ``sqrt(2 k^2 / (k - p)) / sum(w)``, ``w = 1/(vi + tau2)``."""
    k, p = X.shape
    w = _iv(vi, tau2)
    return float(np.sqrt(2.0 * k**2 / (k - p) / np.sum(w) ** 2))


def _profile_ll(yi, vi, X, tau2: float, reml: bool) -> float:
    """(Restricted) log-likelihood up to a constant, coefficients profiled out."""
    fit = wls(yi, X, _iv(vi, tau2))
    ll = -0.5 * np.sum(np.log(vi + tau2)) - 0.5 * fit.rss
    return float(ll - 0.5 * fit.logdet_xwx()) if reml else float(ll)
