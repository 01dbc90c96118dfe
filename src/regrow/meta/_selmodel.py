"""Step-function selection models (Vevea & Hedges 1995), agreeing with metafor 3.8-1 ``selmodel``.

A selection model explains publication bias by a weight function of each study's one- or two-sided p-value:
a study whose p-value falls in interval ``j`` of ``(0, a_1], (a_1, a_2], ..., (a_{J-1}, 1]`` is published with
relative probability ``delta_j`` (``delta_1 = 1``). With ``yi ~ N(x_i'beta, vi + tau2)`` before selection the
log-likelihood of the published studies is::

    ll = sum_i [ log delta_{j(i)} + log phi(yi; x_i'beta, vi + tau2) - log A_i ],
    A_i = sum_j delta_j * P(p_i in interval j | beta, tau2),

where ``P`` follows from the normal distribution of ``yi`` and the cut points in the yi scale,
``sqrt(vi) * z_{1 - a_j}`` (``alternative="greater"``). One cut at ``a_1 = .025`` gives the
three-parameter selection model (3PSM; McShane, Boeckenholt & Hansen 2016).

Agreement with R: metafor maximises this likelihood with ``optim(method="BFGS")`` on
``(beta, log tau2, logit(delta / 100))`` from the ML estimates, with optim's finite-difference gradient,
and takes standard errors from ``numDeriv::hessian`` (Richardson extrapolation) on the untransformed
scale. When the likelihood is flat (all studies in one interval, ``delta`` running to its bound 100) the
reported optimum is wherever BFGS stops, so both algorithms are reproduced step for step here
(:func:`_vmmin`, :func:`_hessian`) rather than replaced by scipy's optimisers.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special

from regrow.errors import ConvergenceError, EstimationError, InputError, TooFewStudiesError
from regrow.meta._dist import chi2_sf, norm_isf, norm_sf
from regrow.meta._rma import RMAResult

__all__ = ["SELMODEL_ALTERNATIVES", "SELMODEL_TYPES", "SelectionModel", "selmodel"]

SELMODEL_TYPES = ("stepfun",)
SELMODEL_ALTERNATIVES = ("greater", "less", "two.sided")

#: metafor's bounds on each ``delta`` of the step function (``delta.min``/``delta.max`` defaults): the
#: optimiser works on ``logit((delta - DELTA_MIN) / (DELTA_MAX - DELTA_MIN))``.
DELTA_MIN = 0.0
DELTA_MAX = 100.0
#: R ``optim`` defaults for BFGS: finite-difference step ``ndeps``, ``reltol = sqrt(eps)``, ``maxit``.
OPTIM_NDEPS = 1e-3
OPTIM_RELTOL = float(np.sqrt(np.finfo(float).eps))
OPTIM_MAXIT = 100
#: ``numDeriv::hessian`` settings used by metafor (``hessianCtrl = list(r = 6)``, other numDeriv defaults).
HESS_D = 0.1
HESS_EPS = 1e-4
HESS_ZERO_TOL = float(np.sqrt(np.finfo(float).eps / 7e-7))
HESS_R = 6
_TAU2_ZERO = 10 * float(np.finfo(float).eps)  # metafor: tau2 below 10 * eps is set to 0
_BOUND_WARN = (float(np.finfo(float).eps) ** 0.25, 100 * float(np.finfo(float).eps) ** 0.25)


@dataclass(frozen=True)
class SelectionModel:
    """A fitted step-function selection model; fields named as metafor names them (dots -> underscores).

    ``delta[0]`` is fixed at 1, so ``se_delta[0]``, ``zval_delta[0]``, ``pval_delta[0]`` and its interval
    are NaN (``None`` in :meth:`to_dict`); so are the standard errors when the Hessian cannot be inverted,
    which is then said in ``warnings``.
    """

    type: str
    alternative: str
    steps: tuple[float, ...]
    k: int
    coef_names: list[str]
    beta: np.ndarray
    se: np.ndarray
    zval: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    vb: np.ndarray
    tau2: float
    se_tau2: float
    delta: np.ndarray
    se_delta: np.ndarray
    zval_delta: np.ndarray
    pval_delta: np.ndarray
    ci_lb_delta: np.ndarray
    ci_ub_delta: np.ndarray
    QM: float
    QMp: float
    QMdf: int
    ll: float
    ll0: float
    LRT: float
    LRTdf: int
    LRTp: float
    pvals: np.ndarray
    ptable_labels: tuple[str, ...]
    ptable_k: np.ndarray
    level: float
    fn_count: int
    gr_count: int
    warnings: list[str] = field(default_factory=list)

    def to_frame(self):
        """The coefficient table (estimate, se, zval, pval, ci_lb, ci_ub) as a DataFrame."""
        import pandas as pd

        return pd.DataFrame(
            {
                "estimate": self.beta,
                "se": self.se,
                "zval": self.zval,
                "pval": self.pval,
                "ci_lb": self.ci_lb,
                "ci_ub": self.ci_ub,
            },
            index=self.coef_names,
        )

    def to_dict(self) -> dict[str, Any]:
        def num(x):
            x = float(x)
            return x if np.isfinite(x) else None

        return {
            "type": self.type,
            "alternative": self.alternative,
            "steps": list(self.steps),
            "k": self.k,
            "coefficients": [
                {
                    "name": n,
                    "estimate": num(self.beta[j]),
                    "se": num(self.se[j]),
                    "zval": num(self.zval[j]),
                    "pval": num(self.pval[j]),
                    "ci_lb": num(self.ci_lb[j]),
                    "ci_ub": num(self.ci_ub[j]),
                }
                for j, n in enumerate(self.coef_names)
            ],
            "tau2": num(self.tau2),
            "se_tau2": num(self.se_tau2),
            "delta": [
                {
                    "interval": lab,
                    "k": int(kk),
                    "estimate": num(self.delta[j]),
                    "se": num(self.se_delta[j]),
                    "zval": num(self.zval_delta[j]),
                    "pval": num(self.pval_delta[j]),
                    "ci_lb": num(self.ci_lb_delta[j]),
                    "ci_ub": num(self.ci_ub_delta[j]),
                }
                for j, (lab, kk) in enumerate(zip(self.ptable_labels, self.ptable_k, strict=True))
            ],
            "QM": num(self.QM),
            "QMp": num(self.QMp),
            "QMdf": self.QMdf,
            "ll": num(self.ll),
            "ll0": num(self.ll0),
            "LRT": num(self.LRT),
            "LRTdf": self.LRTdf,
            "LRTp": num(self.LRTp),
            "level": self.level,
            "warnings": list(self.warnings),
        }


# --------------------------------------------------------------------------------------------------------
# The likelihood


def selection_pvalues(yi: np.ndarray, vi: np.ndarray, alternative: str) -> np.ndarray:
    """One- or two-sided p-values of the Wald tests ``yi / sqrt(vi)`` (metafor ``.selmodel.pval``)."""
    z = np.asarray(yi, float) / np.sqrt(np.asarray(vi, float))
    if alternative == "two.sided":
        return 2.0 * special.ndtr(-np.abs(z))
    return special.ndtr(z) if alternative == "less" else special.ndtr(-z)


@dataclass(frozen=True)
class _Problem:
    yi: np.ndarray
    vi: np.ndarray
    X: np.ndarray
    steps: np.ndarray  # ends with 1
    alternative: str
    pgrp: np.ndarray  # 0-based interval of each study
    delta_val: np.ndarray  # fixed values, NaN where estimated
    tau2_val: float | None  # fixed tau2 (0 for FE), None where estimated

    @property
    def p(self) -> int:
        return self.X.shape[1]

    def interval_probs(self, yhat: np.ndarray, tau2: float) -> np.ndarray:
        """``P(p_i in interval j)`` (k x J) for ``yi ~ N(yhat, vi + tau2)``, in metafor's arithmetic."""
        sei = np.sqrt(self.vi + tau2)[:, None]
        sdv = np.sqrt(self.vi)[:, None]
        mu = yhat[:, None]
        cuts = self.steps[:-1][None, :]
        J = self.steps.size
        out = np.empty((self.yi.size, J))
        if self.alternative == "two.sided":
            hi = (sdv * -special.ndtri(cuts / 2) - mu) / sei  # upper cut points, standardised
            lo = (sdv * special.ndtri(cuts / 2) - mu) / sei
            up_tail = special.ndtr(-hi)
            lo_tail = special.ndtr(lo)
            out[:, 0] = up_tail[:, 0] + lo_tail[:, 0]
            out[:, 1:-1] = (up_tail[:, 1:] - up_tail[:, :-1]) + (lo_tail[:, 1:] - lo_tail[:, :-1])
            out[:, -1] = special.ndtr(hi[:, -1]) - special.ndtr(lo[:, -1])
            return out
        if self.alternative == "greater":
            u = (sdv * -special.ndtri(cuts) - mu) / sei
            tail, last = special.ndtr(-u), special.ndtr(u[:, -1])
        else:
            u = (sdv * special.ndtri(cuts) - mu) / sei
            tail, last = special.ndtr(u), special.ndtr(-u[:, -1])
        out[:, 0] = tail[:, 0]
        out[:, 1:-1] = tail[:, 1:] - tail[:, :-1]
        out[:, -1] = last
        return out

    def unpack(self, par: np.ndarray, *, transf: bool) -> tuple[np.ndarray, float, np.ndarray]:
        """``(beta, tau2, delta)`` from the optimiser's vector, as metafor's ``.selmodel.ll.stepfun``."""
        p = self.p
        beta = par[:p]
        tau2 = float(np.exp(par[p])) if transf else float(par[p])
        if self.tau2_val is not None:
            tau2 = self.tau2_val
        if tau2 < _TAU2_ZERO:
            tau2 = 0.0
        delta = par[p + 1 :]
        if transf:
            delta = DELTA_MIN + (DELTA_MAX - DELTA_MIN) / (1.0 + np.exp(-delta))
        delta = np.where(np.isnan(self.delta_val), delta, self.delta_val)
        return beta, tau2, delta

    def loglik(self, beta: np.ndarray, tau2: float, delta: np.ndarray) -> float:
        """The selection-model log-likelihood at ``(beta, tau2, delta)`` (``delta[0]`` enters A_i as 1)."""
        yhat = self.X @ beta
        probs = self.interval_probs(yhat, tau2)
        Ai = probs[:, 0] + probs[:, 1:] @ delta[1:]
        sd = np.sqrt(self.vi + tau2)
        logphi = -0.5 * np.log(2 * np.pi) - np.log(sd) - 0.5 * ((self.yi - yhat) / sd) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.sum(np.log(delta[self.pgrp]) + logphi - np.log(Ai)))

    def negll(self, par: np.ndarray, *, transf: bool) -> float:
        beta, tau2, delta = self.unpack(np.asarray(par, float), transf=transf)
        value = -self.loglik(beta, tau2, delta)
        return value if not np.isnan(value) else np.inf


# --------------------------------------------------------------------------------------------------------
# R's optimiser and numDeriv's Hessian


def _optim_gradient(fn: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
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


def _vmmin(
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
    g = _optim_gradient(fn, b)
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
                g = _optim_gradient(fn, b)
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


def _hessian(fn: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    """Hessian by Richardson extrapolation, as ``numDeriv::hessian(method.args = list(r = 6))`` (genD)."""
    x = np.asarray(x, float)
    n, r, v = x.size, HESS_R, 2.0
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


def _is_dummy(col: np.ndarray) -> bool:
    return bool(np.all((np.abs(col) < 1e-8) | (np.abs(col - 1) < 1e-8)))


def _fmt_step(x: float) -> str:
    return format(float(x), ".15g")


def selmodel(
    res: RMAResult,
    *,
    type: str = "stepfun",  # metafor's argument name
    steps: Sequence[float] = (0.025,),
    alternative: str = "greater",
    delta: Sequence[float | None] | None = None,
) -> SelectionModel:
    """Fit a step-function selection model to a fitted ``rma`` model (metafor's ``selmodel``).

    The weight of a study is ``delta_j`` for the p-value interval ``j`` it falls in, with cut points
    ``steps`` (and 1) and ``delta_1 = 1``; ``beta``, ``tau2`` and ``delta_2..J`` are estimated by maximum
    likelihood (see the module docstring for the likelihood)::

        ll = sum_i log delta_j(i) + log phi(yi; x_i'beta, vi + tau2) - log sum_j delta_j P_ij(beta, tau2)

    Standard errors come from the inverse Hessian of ``-ll`` on the untransformed scale; ``LRT`` compares
    ``ll`` with the log-likelihood ``ll0`` of the ML ``rma`` fit (all ``delta = 1``), on ``J - 1`` df.

    Parameters
    ----------
    res : RMAResult
        A fitted model (``rma``). Random-effects fits by another estimator are refitted by ML first, as
        metafor does; a fixed-effect (``method="FE"``) fit keeps ``tau2 = 0``. Meta-regressions are supported
        (continuous moderators are standardised during the fit and transformed back, as metafor does).
    type : {"stepfun"}, default "stepfun"
        The selection function; only the step function is implemented.
    steps : sequence of float, default (0.025,)
        Cut points of the p-value intervals, each in [0, 1] (1 is appended). ``(0.025,)`` with
        ``alternative="greater"`` is the 3PSM.
    alternative : {"greater", "less", "two.sided"}, default "greater"
        Direction of the p-values that drive selection.
    delta : sequence of float or None, optional
        One value per interval (``len(steps) + 1`` with the appended 1) fixing that ``delta`` (>= 0);
        ``None`` estimates it. ``delta[0]`` is always 1 (a value given for it is used as given, as metafor
        does). Default: all estimated. ``LRTdf`` counts the estimated deltas; with none, ``LRTp`` is NaN.

    Returns
    -------
    SelectionModel

    Raises
    ------
    InputError
        Unknown type or alternative, steps outside [0, 1] or with nothing below 1, an interval with no
        observed p-value (its delta is not estimable).
    TooFewStudiesError
        Fewer studies than ``p + 1 + (J - 1)`` parameters.
    ConvergenceError
        When BFGS does not converge within optim's 100 iterations.

    References
    ----------
    Vevea JL, Hedges LV (1995). A general linear model for estimating effect size in the presence of
    publication bias. Psychometrika 60:419-435. doi:10.1007/BF02294384.
    McShane BB, Boeckenholt U, Hansen KT (2016). Adjusting for publication bias in meta-analysis: an
    evaluation of selection methods and some cautionary notes. Perspect Psychol Sci 11:730-749.
    doi:10.1177/1745691616662243.
    """
    if type not in SELMODEL_TYPES:
        raise InputError.invalid("type", type, "one of " + ", ".join(SELMODEL_TYPES))
    if alternative not in SELMODEL_ALTERNATIVES:
        raise InputError.invalid("alternative", alternative, "one of " + ", ".join(SELMODEL_ALTERNATIVES))
    try:
        raw = np.atleast_1d(np.asarray(steps, float))
    except (TypeError, ValueError) as exc:
        raise InputError.invalid("steps", steps, "numbers in [0, 1]") from exc
    if raw.size == 0 or not np.all(np.isfinite(raw)) or np.any((raw < 0) | (raw > 1)):
        raise InputError.invalid("steps", list(np.atleast_1d(steps)), "one or more numbers in [0, 1]")
    cuts = np.unique(raw)
    if cuts[-1] != 1:
        cuts = np.append(cuts, 1.0)
    if cuts.size < 2:
        raise InputError.invalid("steps", list(raw), "at least one cut point below 1")
    fixed_effect = res.method == "FE"
    if not fixed_effect and res.method != "ML":
        res = res.refit(res.yi, res.vi, res.X, method="ML")
    yi, vi, X = np.asarray(res.yi, float), np.asarray(res.vi, float), np.asarray(res.X, float)
    k, p = X.shape
    J = cuts.size
    delta_val = np.full(J, np.nan)
    if delta is not None:
        given = list(delta)
        if len(given) != J:
            raise InputError.invalid(
                "delta", given, f"{J} values (one per p-value interval), None to estimate"
            )
        for j, d in enumerate(given):
            if d is None:
                continue
            if not isinstance(d, numbers.Real) or not np.isfinite(d) or d < 0:
                raise InputError.invalid(f"delta[{j}]", d, "a finite number >= 0, or None to estimate it")
            delta_val[j] = float(d)
    if np.isnan(delta_val[0]):
        delta_val[0] = 1.0
    n_free = int(np.sum(np.isnan(delta_val)))
    need = p + (0 if fixed_effect else 1) + n_free
    if k < need:
        raise TooFewStudiesError(
            f"{k} studies are too few for this selection model: it has {need} parameters "
            f"({p} coefficient(s), {'no' if fixed_effect else 'one'} tau2, {n_free} delta(s))."
        )

    pvals = selection_pvalues(yi, vi, alternative)
    pgrp = np.searchsorted(cuts, pvals, side="left")  # first j with p <= steps[j]
    ptable_k = np.bincount(pgrp, minlength=J)
    left = ["0"] + [_fmt_step(s) for s in cuts[:-1]]
    width = max(len(s) for s in left)
    labels = tuple(f"{lo.ljust(width)} < p <= {_fmt_step(hi)}" for lo, hi in zip(left, cuts, strict=True))
    empty = [labels[j] for j in range(J) if ptable_k[j] == 0 and np.isnan(delta_val[j])]
    if empty:
        raise InputError(
            f"No observed p-value falls in the interval(s) {', '.join(empty)}; their delta cannot be "
            f"estimated. Choose steps with at least one study in every interval above the first "
            f"(p-value counts per interval: {ptable_k.tolist()}).",
            field="steps",
            value=list(raw),
            allowed="cut points with at least one study in every interval above the first",
        )

    # Standardise continuous moderators (metafor's scaleX) and rescale the starting values.
    beta_init = np.asarray(res.beta, float).copy()
    mX = None
    if p > 1 and res.intercept:
        is_d = np.array([_is_dummy(X[:, j]) for j in range(p)])
        meanX, sdX = X[:, 1:].mean(axis=0), X[:, 1:].std(axis=0, ddof=1)
        mX = np.zeros((p, p))
        mX[0, 0] = 1.0
        mX[0, 1:] = np.where(is_d[1:], 0.0, -meanX / sdX)
        mX[1:, 1:] = np.diag(np.where(is_d[1:], 1.0, 1.0 / sdX))
        Xs = X.copy()
        Xs[:, ~is_d] = (X[:, ~is_d] - X[:, ~is_d].mean(axis=0)) / X[:, ~is_d].std(axis=0, ddof=1)
        beta_init = np.linalg.solve(mX, beta_init)
    else:
        Xs = X

    prob = _Problem(
        yi=yi,
        vi=vi,
        X=Xs,
        steps=cuts,
        alternative=alternative,
        pgrp=pgrp,
        delta_val=delta_val,
        tau2_val=0.0 if fixed_effect else None,
    )
    # metafor starts every delta at 1 (a fixed one at its value), mapped to the logit scale
    start = np.where(np.isnan(delta_val), 1.0, np.clip(delta_val, DELTA_MIN + 1e-8, DELTA_MAX - 1e-8))
    delta_init = np.log((start - DELTA_MIN) / (DELTA_MAX - start))
    par0 = np.concatenate([beta_init, [np.log(res.tau2 + 0.001)], delta_init])
    warnings: list[str] = []
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        par, _, fn_count, gr_count, converged = _vmmin(lambda q: prob.negll(q, transf=True), par0)
    if not converged:
        raise ConvergenceError(
            f"The selection model did not converge in {OPTIM_MAXIT} BFGS iterations (R optim's limit)."
        )
    beta_s, tau2, delta = prob.unpack(par, transf=True)
    ll = prob.loglik(beta_s, tau2, delta)
    if not np.isfinite(ll):
        raise EstimationError("The selection model's log-likelihood is not finite at its optimum.")
    free_delta = delta[np.isnan(delta_val)]
    if np.any(free_delta <= DELTA_MIN + _BOUND_WARN[0]) or np.any(free_delta >= DELTA_MAX - _BOUND_WARN[1]):
        warnings.append(
            f"One or more delta estimates are (almost) equal to their bound {DELTA_MIN:g} or {DELTA_MAX:g}; "
            "treat the results with caution."
        )

    # Standard errors from the Hessian of -ll on the untransformed scale.
    est = np.concatenate([np.ones(p, bool), [not fixed_effect], np.isnan(delta_val)])
    vb = np.full((p, p), np.nan)
    se_tau2 = float("nan")
    vd = np.full((J, J), np.nan)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        H = _hessian(lambda q: prob.negll(q, transf=False), np.concatenate([beta_s, [tau2], delta]))
    Hh = H[np.ix_(est, est)]
    try:
        if not np.all(np.isfinite(Hh)):
            raise np.linalg.LinAlgError("non-finite Hessian")
        L = np.linalg.cholesky(Hh)
        Linv = np.linalg.inv(L)
        iH = np.zeros((est.size, est.size))
        iH[np.ix_(est, est)] = Linv.T @ Linv
        vb = iH[:p, :p]
        if not fixed_effect:
            se_tau2 = float(np.sqrt(iH[p, p]))
        free = np.flatnonzero(np.isnan(delta_val))
        vd[np.ix_(free, free)] = iH[np.ix_(p + 1 + free, p + 1 + free)]
    except np.linalg.LinAlgError:
        warnings.append("The Hessian could not be inverted; standard errors are not available.")

    beta = beta_s if mX is None else mX @ beta_s
    if mX is not None:
        vb = mX @ vb @ mX.T
    se = np.sqrt(np.diag(vb))
    crit = float(norm_isf(res.alpha / 2))
    zval = beta / se
    pval = 2 * norm_sf(np.abs(zval))
    btt = list(res.btt)
    try:
        sub = vb[np.ix_(btt, btt)]
        QM = float(beta[btt] @ np.linalg.solve(sub, beta[btt])) if np.all(np.isfinite(sub)) else np.nan
    except np.linalg.LinAlgError:
        QM = float("nan")
    QMp = float(chi2_sf(QM, len(btt))) if np.isfinite(QM) else float("nan")

    se_delta = np.sqrt(np.diag(vd))
    zval_delta = (delta - 1.0) / se_delta
    pval_delta = 2 * norm_sf(np.abs(zval_delta))
    ci_lb_delta = np.maximum(delta - crit * se_delta, 0.0)
    ci_ub_delta = delta + crit * se_delta

    ll0 = float(res.fit_stats["ML"]["ll"])
    LRT = max(0.0, -2 * (ll0 - ll))
    return SelectionModel(
        type=type,
        alternative=alternative,
        steps=tuple(float(s) for s in cuts),
        k=k,
        coef_names=list(res.coef_names),
        beta=beta,
        se=se,
        zval=zval,
        pval=pval,
        ci_lb=beta - crit * se,
        ci_ub=beta + crit * se,
        vb=vb,
        tau2=tau2,
        se_tau2=se_tau2,
        delta=delta,
        se_delta=se_delta,
        zval_delta=zval_delta,
        pval_delta=pval_delta,
        ci_lb_delta=ci_lb_delta,
        ci_ub_delta=ci_ub_delta,
        QM=QM,
        QMp=QMp,
        QMdf=len(btt),
        ll=ll,
        ll0=ll0,
        LRT=LRT,
        LRTdf=n_free,
        LRTp=float(chi2_sf(LRT, n_free)) if n_free > 0 else float("nan"),
        pvals=pvals,
        ptable_labels=labels,
        ptable_k=ptable_k,
        level=float(res.level),
        fn_count=fn_count,
        gr_count=gr_count,
        warnings=warnings,
    )
