"""Profile likelihoods and profile-likelihood confidence intervals of a selection model's tau^2 and delta
parameters (metafor's ``profile.rma.uni.selmodel`` and ``confint.rma.uni.selmodel``).

Each point refits the selection model with the component fixed at a value, started from the fitted
estimates; the interval bounds are where ``-2 (ll(value) - ll) = chi2_{1, level}``, found by R's
``uniroot`` (:func:`regrow.meta._roots.uniroot`) as metafor does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from regrow.errors import InputError, RegrowError
from regrow.meta._dist import chi2_ppf, norm_ppf
from regrow.meta._roots import uniroot

__all__ = ["SelConfint", "SelProfile", "confint_selmodel", "profile_selmodel"]

_EPS = float(np.finfo(float).eps)


@dataclass(frozen=True)
class SelProfile:
    """Profile of one component: the values, the log-likelihoods (NaN where the refit failed) and the
    coefficients at each value."""

    component: str
    values: np.ndarray
    ll: np.ndarray
    beta: np.ndarray
    warnings: list[str]


@dataclass(frozen=True)
class SelConfint:
    """Estimate and profile-likelihood interval of one component (``lb_sign``/``ub_sign`` "<"/">" when the
    bound lies beyond the searched range)."""

    component: str
    estimate: float
    ci_lb: float
    ci_ub: float
    lb_sign: str = ""
    ub_sign: str = ""
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        def num(x):
            return float(x) if np.isfinite(x) else None

        return {"component": self.component, "estimate": num(self.estimate), "ci_lb": num(self.ci_lb),
                "ci_ub": num(self.ci_ub), "lb_sign": self.lb_sign, "ub_sign": self.ub_sign}  # fmt: skip


def _components(sel) -> list[tuple[str, int | None]]:
    comps: list[tuple[str, int | None]] = []
    if not sel.tau2_fix:
        comps.append(("tau2", None))
    comps += [("delta", j) for j in range(len(sel.delta)) if not sel.delta_fix[j]]
    if not comps:
        raise InputError("The selection model has no estimated tau2 or delta to profile.", field="sel")
    return comps


def _name(sel, comp: str, pos: int | None) -> str:
    return "tau2" if comp == "tau2" else sel.delta_names[pos]


def _refit(sel, comp: str, pos: int | None, value: float):
    """The model with the component fixed at ``value`` (its other fixed parts as they were)."""
    if comp == "tau2":
        delta = [float(d) if f else None for d, f in zip(sel.delta, sel.delta_fix, strict=True)]
        return sel.refit(tau2=value, delta=delta)
    delta = [float(d) if f else None for d, f in zip(sel.delta, sel.delta_fix, strict=True)]
    delta[pos] = value
    return sel.refit(delta=delta)


def _pick(sel, tau2: bool, delta: int | None) -> tuple[str, int | None]:
    if tau2 and delta is not None:
        raise InputError("Give only one of tau2= or delta=.", field="delta")
    if tau2:
        if sel.tau2_fix:
            raise InputError("The model has no estimated tau2.", field="tau2")
        return "tau2", None
    if delta is not None:
        if not (0 <= delta < len(sel.delta)) or sel.delta_fix[delta]:
            raise InputError.invalid("delta", delta, "the 0-based position of an estimated delta")
        return "delta", int(delta)
    return _components(sel)[0]


def profile_selmodel(sel, *, tau2: bool = False, delta: int | None = None, xlim=None, steps: int = 20,
                     lltol: float = 1e-3) -> SelProfile | list[SelProfile]:  # fmt: skip
    """Profile log-likelihood over ``steps`` values of tau2 or of one delta (metafor's ``profile()``).

    Parameters
    ----------
    sel : SelectionModel
    tau2 : bool, default False
        Profile tau^2.
    delta : int, optional
        0-based position of the delta to profile. With neither, every estimated component is profiled and
        a list is returned.
    xlim : (float, float), optional
        Range of values (default: estimate -/+ 2.576 SE, within the parameter's bounds, as metafor).
    steps : int, default 20
    lltol : float, default 1e-3
        A profiled log-likelihood above the fitted one by more than this gives a warning.

    Returns
    -------
    SelProfile or list of SelProfile
    """
    if steps < 2:
        raise InputError.invalid("steps", steps, "an integer >= 2")
    if not tau2 and delta is None and len(_components(sel)) > 1:
        return [profile_selmodel(sel, tau2=c == "tau2", delta=p, xlim=xlim, steps=steps, lltol=lltol)
                for c, p in _components(sel)]  # fmt: skip
    comp, pos = _pick(sel, tau2, delta)
    z = float(norm_ppf(0.995))
    if xlim is None:
        if comp == "tau2":
            vc, se = sel.tau2, sel.se_tau2
            lo = max(0.0, vc / 4) if math.isnan(se) else max(0.0, vc - z * se)
            hi = max(0.1, vc * 4) if math.isnan(se) else max(0.1, vc + z * se)
        else:
            vc, se = float(sel.delta[pos]), float(sel.se_delta[pos])
            dmin, dmax = float(sel.delta_min[pos]), float(sel.delta_max[pos])
            lo = max(0.0, vc / 4, dmin) if math.isnan(se) else max(0.0, vc - z * se, dmin)
            hi = min(max(0.1, vc * 4), dmax) if math.isnan(se) else min(max(0.1, vc + z * se), dmax)
        xlim = (lo, hi)
    lo, hi = sorted(float(x) for x in xlim)
    values = np.linspace(lo, hi, steps)
    ll = np.full(steps, np.nan)
    beta = np.full((steps, len(sel.beta)), np.nan)
    for i, v in enumerate(values):
        try:
            fit = _refit(sel, comp, pos, float(v))
        except RegrowError:
            continue
        ll[i], beta[i] = fit.ll, fit.beta
    warnings = []
    if np.any(ll >= sel.ll + lltol):
        warnings.append(
            "At least one profiled log-likelihood value is larger than the log-likelihood of the fit."
        )
    return SelProfile(component=_name(sel, comp, pos), values=values, ll=ll, beta=beta, warnings=warnings)


def confint_selmodel(sel, *, tau2: bool = False, delta: int | None = None, level: float | None = None,
                     tol: float = _EPS**0.25, maxiter: int = 1000, eptries: int = 10,
                     vc_min: float | None = None, vc_max: float | None = None) -> SelConfint | list[SelConfint]:  # fmt: skip
    """Profile-likelihood confidence interval of tau2 or of a delta (metafor's ``confint()``).

    With neither ``tau2`` nor ``delta``, intervals for every estimated component are returned in a list.
    The bounds are searched in ``[vc_min, vc_max]`` (default: 0 or ``delta_min``, and ``max(10, 100 tau2)``
    or ``max(10, 10 delta)``); a bound beyond that range is reported as the range's end with the sign
    "<" or ">", as metafor prints it.

    Returns
    -------
    SelConfint or list of SelConfint
    """
    if not tau2 and delta is None and len(_components(sel)) > 1:
        return [confint_selmodel(sel, tau2=c == "tau2", delta=p, level=level, tol=tol, maxiter=maxiter,
                                 eptries=eptries, vc_min=vc_min, vc_max=vc_max) for c, p in _components(sel)]  # fmt: skip
    comp, pos = _pick(sel, tau2, delta)
    level = sel.level if level is None else float(level)
    alpha = 1 - level / 100 if level > 1 else 1 - level
    objective = float(chi2_ppf(1 - alpha, 1))
    if comp == "tau2":
        vc = float(sel.tau2)
        lo = 0.0 if vc_min is None else vc_min
        hi = (
            min(max(10.0 if vc <= _EPS**0.5 else max(10.0, vc * 100), lo), math.inf)
            if vc_max is None
            else vc_max
        )
    else:
        vc = float(sel.delta[pos])
        lo = max(0.0, float(sel.delta_min[pos])) if vc_min is None else vc_min
        hi = (min(max(10.0 if vc <= _EPS**0.5 else max(10.0, vc * 10), lo), float(sel.delta_max[pos]))
              if vc_max is None else vc_max)  # fmt: skip
    if lo > vc or hi < vc:
        raise InputError("The search range must contain the estimate.", field="vc_min")

    def lrt(value: float) -> float:
        fit = _refit(sel, comp, pos, value)
        return -2 * (fit.ll - sel.ll) - objective

    def bound(end: float, side: str) -> tuple[float, str, bool]:
        diff = abs(end - vc) / eptries
        for _ in range(eptries):
            try:
                at_end = lrt(end)
            except RegrowError:
                at_end = math.nan
            if not math.isnan(at_end):
                if at_end < 0:
                    sign = ("<" if end > 0 else "") if side == "lower" else ">"
                    return end, sign, True
                try:
                    a, b = (end, vc) if side == "lower" else (vc, end)
                    return uniroot(lrt, a, b, tol=tol, maxiter=maxiter), "", True
                except (ValueError, RegrowError):
                    return math.nan, "", False
            end = end + diff if side == "lower" else end - diff
        return math.nan, "", False

    lb, lb_sign, lb_ok = bound(lo, "lower")
    ub, ub_sign, ub_ok = bound(hi, "upper")
    warnings = []
    if not lb_ok:
        warnings.append("Cannot obtain lower bound of profile likelihood CI due to convergence problems.")
    if not ub_ok:
        warnings.append("Cannot obtain upper bound of profile likelihood CI due to convergence problems.")
    return SelConfint(component=_name(sel, comp, pos), estimate=vc, ci_lb=lb, ci_ub=ub, lb_sign=lb_sign,
                      ub_sign=ub_sign, warnings=tuple(warnings))  # fmt: skip
