"""Profile likelihoods and profile-likelihood confidence intervals of variance components (metafor's
``profile.rma.mv`` and ``confint.rma.mv``).

A component is fixed at a value and every other free component re-estimated; the (restricted)
log-likelihood of that refit traces the profile. The confidence interval holds the values whose
likelihood-ratio statistic ``2 (ll_max - ll(value))`` stays below the chi-square(1) quantile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from regrow.errors import ConvergenceError, EstimationError, InputError
from regrow.meta._mv import MVResult, _build_model, with_fixed
from regrow.meta._mv_dist import level_alpha
from regrow.meta._mv_optim import maximise

__all__ = ["MVConfint", "MVProfile", "confint_mv", "profile_loglik", "profile_mv"]

_COMPONENTS = ("sigma2", "tau2", "rho", "gamma2", "phi")


@dataclass(frozen=True)
class MVProfile:
    """Profile of one component: the log-likelihood at each of ``values``."""

    component: str
    index: int
    estimate: float
    values: np.ndarray
    ll: np.ndarray
    ll_max: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class MVConfint:
    """Profile-likelihood interval of one component (and of its square root for variances).

    ``lb_sign``/``ub_sign`` are ``"<"``/``">"`` when the bound is the end of the searched range.
    """

    component: str
    index: int
    estimate: float
    ci_lb: float
    ci_ub: float
    level: float
    lb_sign: str = ""
    ub_sign: str = ""

    @property
    def sqrt(self) -> tuple[float, float, float]:
        """``(sigma, lb, ub)`` for a variance component."""
        return float(np.sqrt(self.estimate)), float(np.sqrt(self.ci_lb)), float(np.sqrt(self.ci_ub))

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _free_components(res: MVResult) -> list[tuple[str, int]]:
    out = []
    for comp in _COMPONENTS:
        fixed = res.vc_fixed[comp]
        out.extend((comp, int(i)) for i in np.flatnonzero(~fixed))
    return out


def _estimate(res: MVResult, component: str, index: int) -> float:
    values = getattr(res, component)
    return float(values[index])


def _check(res: MVResult, component: str, index: int) -> None:
    if component not in _COMPONENTS:
        raise InputError.invalid("component", component, "one of " + ", ".join(_COMPONENTS))
    fixed = res.vc_fixed[component]
    if index < 0 or index >= fixed.size:
        raise InputError(
            f"The model has no {component} component number {index}.", field="index", value=index
        )
    if fixed[index]:
        raise InputError(f"{component}[{index}] was fixed, so it has no profile.", field="component")


def _targets(res: MVResult, component: str | None, index: int) -> list[tuple[str, int]]:
    """The one component asked for, or every estimated one."""
    if component is not None:
        _check(res, component, index)
        return [(component, index)]
    targets = _free_components(res)
    if not targets:
        raise InputError("The model has no estimated variance components.", field="component")
    return targets


def profile_loglik(res: MVResult, component: str, index: int, value: float) -> float:
    """The model's (restricted) log-likelihood maximised with ``component[index]`` fixed at ``value``."""
    setup = with_fixed(res._setup, component, index, value)
    model = _build_model(setup)
    start = _start(res, model)
    psi = maximise(model, start, what=f"the model with {component}[{index}] = {value:g}")
    ev = model.evaluate(psi, gradient=False)
    if ev is None:
        raise EstimationError(f"The model with {component}[{index}] = {value:g} cannot be fitted.")
    return ev.ll


def _start(res: MVResult, model) -> np.ndarray:
    """Starting values for a refit: the full fit's estimates (variances at 0 start slightly above it)."""
    floor = 1e-4 * float(np.mean(res._setup["V_diag"])) + 1e-12
    parts = [np.log(np.maximum(res.sigma2[np.isnan(model.sigma2_fixed)], floor))]
    for struct, v, r in ((model.g_struct, res.tau2, res.rho), (model.h_struct, res.gamma2, res.phi)):
        if struct is not None:
            parts.append(struct.psi_from(v, r, floor))
    return np.concatenate(parts)


def _struct_of(res: MVResult, component: str) -> str | None:
    return res.g_struct if component in ("tau2", "rho") else res.h_struct


def profile_mv(
    res: MVResult,
    *,
    component: str | None = None,
    index: int = 0,
    values=None,
    steps: int = 20,
) -> list[MVProfile]:
    """Profile log-likelihood of one or (by default) every estimated variance component.

    Parameters
    ----------
    res : MVResult
    component : {"sigma2", "tau2", "rho", "gamma2", "phi"}, optional
        The component; all estimated ones when omitted.
    index : int, default 0
        Which one (0-based) when there are several.
    values : array-like, optional
        Where to evaluate; by default ``steps`` points on metafor's range: ``[max(0, est/4), max(0.1, 4 est)]``
        for variances, ``est -/+ 0.5`` clipped to ``(-1, 1)`` (``[0, 1)`` for CAR) for correlations.
    steps : int, default 20

    Returns
    -------
    list of MVProfile
        The log-likelihood is NaN where the refit fails (as metafor's NA).
    """
    if steps < 2:
        raise InputError.invalid("steps", steps, "a whole number >= 2")
    targets = _targets(res, component, index)
    method = "REML" if res.method == "REML" else "ML"
    out = []
    for comp, idx in targets:
        est = _estimate(res, comp, idx)
        if values is None or component is None:
            if comp in ("sigma2", "tau2", "gamma2"):
                lo, hi = max(0.0, est / 4), max(0.1, est * 4)
            elif _struct_of(res, comp) == "CAR":
                lo, hi = max(0.0, est - 0.5), min(0.99999, est + 0.5)
            else:
                lo, hi = max(-0.99999, est - 0.5), min(0.99999, est + 0.5)
            grid = np.linspace(lo, hi, steps)
        else:
            grid = np.asarray(values, dtype=float).reshape(-1)
        lls = np.empty(grid.size)
        for i, v in enumerate(grid):
            try:
                lls[i] = profile_loglik(res, comp, idx, float(v))
            except (ConvergenceError, EstimationError):
                lls[i] = np.nan
        out.append(MVProfile(comp, idx, est, grid, lls, res.fit_stats[method]["ll"]))
    return out


def confint_mv(
    res: MVResult,
    *,
    component: str | None = None,
    index: int = 0,
    level: float | None = None,
    tol: float = 1e-10,
) -> list[MVConfint]:
    """Profile-likelihood confidence intervals of variance components (``confint(res)`` for ``rma.mv``).

    The bounds solve ``2 (ll_max - ll(value)) = chi2_{1, level}``, searched in ``[0, max(10, 100 est)]`` for
    variances and ``[-1, 1]`` for correlations (``[min(0, est), 1]`` for AR-type structures), as metafor
    does; a bound at the end of that range is flagged with ``"<"`` / ``">"``.

    Parameters
    ----------
    tol : float, default 1e-10
        Tolerance of the root finder (metafor's default is ``eps^0.25``, about 1e-4).

    Returns
    -------
    list of MVConfint
        One per component, in the order sigma2, tau2, rho, gamma2, phi.
    """
    from scipy import optimize

    alpha = level_alpha(level if level is not None else res.level)
    from scipy.special import chdtri

    crit = float(chdtri(1, alpha))
    method = "REML" if res.method == "REML" else "ML"
    ll_max = res.fit_stats[method]["ll"]
    targets = _targets(res, component, index)
    out = []
    for comp, idx in targets:
        est = _estimate(res, comp, idx)
        if comp in ("sigma2", "tau2", "gamma2"):
            lo = 0.0
            hi = 10.0 if est <= np.sqrt(np.finfo(float).eps) else max(10.0, est * 100)
        else:
            struct = _struct_of(res, comp)
            lo = min(0.0, est) if struct in ("AR", "HAR", "CAR") else -1.0
            hi = 1.0

        def excess(v: float, comp=comp, idx=idx) -> float:
            return -2.0 * (profile_loglik(res, comp, idx, v) - ll_max) - crit

        lb, lb_sign = _bound(excess, lo, est, tol, optimize)
        ub, ub_sign = _bound(excess, hi, est, tol, optimize)
        if lb_sign and comp in ("sigma2", "tau2", "gamma2") and lo == 0.0:
            lb_sign = ""
        if lb_sign and comp in ("rho", "phi") and lo == -1.0:
            lb_sign = ""
        out.append(
            MVConfint(comp, idx, est, lb, ub, res.level, "<" if lb_sign else "", ">" if ub_sign else "")
        )
    return out


def _bound(excess, end: float, est: float, tol: float, optimize) -> tuple[float, bool]:
    """Root of ``excess`` between the estimate and ``end``; ``end`` itself when it never crosses."""
    if end == est:
        return end, True
    try:
        at_end = excess(end)
    except (ConvergenceError, EstimationError):
        at_end = np.nan
    if not np.isfinite(at_end) or at_end < 0:
        return end, True
    root = optimize.brentq(
        excess, min(end, est), max(end, est), xtol=tol, rtol=4 * np.finfo(float).eps, maxiter=1000
    )
    return float(root), False
