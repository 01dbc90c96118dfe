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
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special

from regrow.errors import ConvergenceError, EstimationError, InputError, TooFewStudiesError
from regrow.meta._dist import chi2_sf, norm_isf, norm_sf
from regrow.meta._optim_r import HESS_R, OPTIM_MAXIT
from regrow.meta._optim_r import hessian as _hessian
from regrow.meta._optim_r import vmmin as _vmmin
from regrow.meta._rma import RMAResult
from regrow.meta._selmodel_types import (
    SEL_TYPES,
    SelType,
    integrate_weights,
    observed_weights,
    selection_pvalues,
)

__all__ = ["SELMODEL_ALTERNATIVES", "SELMODEL_TYPES", "SelectionModel", "selmodel"]

SELMODEL_TYPES = tuple(SEL_TYPES)
SELMODEL_ALTERNATIVES = ("greater", "less", "two.sided")

#: metafor's bounds on each ``delta`` of the step function (``delta.min``/``delta.max`` defaults): the
#: optimiser works on ``logit((delta - DELTA_MIN) / (DELTA_MAX - DELTA_MIN))``.
DELTA_MIN = 0.0
DELTA_MAX = 100.0
_INT_REL_TOL = float(np.finfo(float).eps) ** 0.25  # R integrate()'s default rel.tol, metafor's intCtrl
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
    H0_delta: tuple[float, ...] = ()
    delta_min: np.ndarray | None = None
    delta_max: np.ndarray | None = None
    pval_min: float = 0.0
    prec: str | None = None
    preci: np.ndarray | None = None
    LRT_tau2: float = float("nan")
    LRTp_tau2: float = float("nan")
    model: Any = None  # the ML rma fit the selection model was fitted to
    settings: dict[str, Any] = field(default_factory=dict)  # the selmodel() arguments, for refits
    delta_fix: np.ndarray | None = None
    tau2_fix: bool = False

    def refit(self, *, tau2: float | None = None, delta=None, hessian: bool = False) -> SelectionModel:
        """The same selection model with ``tau2`` and/or some deltas fixed, started from this fit's estimates
        (what metafor's profile() and confint() do)."""
        args = dict(self.settings)
        if delta is not None:
            args["delta"] = delta
        return selmodel(self.model, **args, _start=(self.beta, self.tau2), _tau2=tau2, _skip_hessian=not hessian,
                        _skip_het=True)  # fmt: skip

    def profile(self, **kwargs):
        """Profile log-likelihood of tau2 or a delta; see :func:`regrow.meta._selmodel_profile.profile_selmodel`."""
        from regrow.meta._selmodel_profile import profile_selmodel

        return profile_selmodel(self, **kwargs)

    def confint(self, **kwargs):
        """Profile-likelihood CIs of tau2 and the deltas; see :func:`regrow.meta._selmodel_profile.confint_selmodel`."""
        from regrow.meta._selmodel_profile import confint_selmodel

        return confint_selmodel(self, **kwargs)

    @property
    def delta_names(self) -> list[str]:
        """metafor's row names of the delta table: ``delta.1``, ... (``delta`` when there is one)."""
        n = len(self.delta)
        return ["delta"] if n == 1 else [f"delta.{j + 1}" for j in range(n)]

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
                    "name": name,
                    **(
                        {"interval": self.ptable_labels[j], "k": int(self.ptable_k[j])}
                        if self.type == "stepfun"
                        else {}
                    ),
                    "estimate": num(self.delta[j]),
                    "se": num(self.se_delta[j]),
                    "zval": num(self.zval_delta[j]),
                    "pval": num(self.pval_delta[j]),
                    "ci_lb": num(self.ci_lb_delta[j]),
                    "ci_ub": num(self.ci_ub_delta[j]),
                }
                for j, name in enumerate(self.delta_names)
            ],
            "QM": num(self.QM),
            "QMp": num(self.QMp),
            "QMdf": self.QMdf,
            "ll": num(self.ll),
            "ll0": num(self.ll0),
            "LRT": num(self.LRT),
            "LRTdf": self.LRTdf,
            "LRTp": num(self.LRTp),
            "LRT_tau2": num(self.LRT_tau2),
            "LRTp_tau2": num(self.LRTp_tau2),
            "prec": self.prec,
            "level": self.level,
            "warnings": list(self.warnings),
        }


# --------------------------------------------------------------------------------------------------------
# The likelihood


@dataclass(frozen=True)
class _Problem:
    yi: np.ndarray
    vi: np.ndarray
    X: np.ndarray
    steps: np.ndarray  # stepfun: ends with 1; other types: (a,) or (a, 1)
    alternative: str
    pgrp: np.ndarray | None  # 0-based interval of each study (stepfun)
    delta_val: np.ndarray  # fixed values, NaN where estimated
    tau2_val: float | None  # fixed tau2 (0 for FE), None where estimated
    sel: SelType = SEL_TYPES["stepfun"]
    preci: np.ndarray | None = None
    pvals: np.ndarray | None = None  # clipped at pval_min
    pval_min: float = 0.0
    delta_min: np.ndarray | None = None
    delta_max: np.ndarray | None = None
    exp_map: bool = False  # map deltas by exp (metafor's defmap) instead of a logistic between the bounds
    int_rel_tol: float = _INT_REL_TOL

    @property
    def p(self) -> int:
        return self.X.shape[1]

    @property
    def prec(self) -> np.ndarray:
        return np.ones(self.yi.size) if self.preci is None else self.preci

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
        """``(beta, tau2, delta)`` from the optimiser's vector, as metafor's ``.selmodel.ll.*``."""
        p = self.p
        beta = par[:p]
        tau2 = float(np.exp(par[p])) if transf else float(par[p])
        if self.tau2_val is not None:
            tau2 = self.tau2_val
        if tau2 < _TAU2_ZERO:
            tau2 = 0.0
        delta = par[p + 1 :]
        if transf:
            lo = DELTA_MIN if self.delta_min is None else self.delta_min
            hi = DELTA_MAX if self.delta_max is None else self.delta_max
            if self.exp_map:
                delta = np.clip(np.exp(delta), lo, hi)
            else:
                delta = lo + (hi - lo) / (1.0 + np.exp(-delta))
        delta = np.where(np.isnan(self.delta_val), delta, self.delta_val)
        return beta, tau2, delta

    def loglik(self, beta: np.ndarray, tau2: float, delta: np.ndarray) -> float:
        """The selection-model log-likelihood at ``(beta, tau2, delta)``."""
        yhat = self.X @ beta
        sd = np.sqrt(self.vi + tau2)
        logphi = -0.5 * np.log(2 * np.pi) - np.log(sd) - 0.5 * ((self.yi - yhat) / sd) ** 2
        prec = self.prec
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if not self.sel.continuous:  # step function: delta_1 enters A_i as 1, as in metafor
                probs = self.interval_probs(yhat, tau2)
                Ai = probs[:, 0] + (probs[:, 1:] @ delta[1:]) / prec
                return float(np.sum(np.log(delta[self.pgrp] / prec) + logphi - np.log(Ai)))
            a = float(self.steps[0])
            Ai = integrate_weights(self.sel.name, delta, prec, a, self.vi, yhat, tau2, self.alternative,
                                   self.pval_min, self.int_rel_tol)  # fmt: skip
            wi = observed_weights(self.sel.name, delta, prec, a, self.pvals)
            return float(np.sum(np.log(wi) + logphi - np.log(Ai)))

    def negll(self, par: np.ndarray, *, transf: bool) -> float:
        beta, tau2, delta = self.unpack(np.asarray(par, float), transf=transf)
        value = -self.loglik(beta, tau2, delta)
        return value if not np.isnan(value) else np.inf


def _is_dummy(col: np.ndarray) -> bool:
    return bool(np.all((np.abs(col) < 1e-8) | (np.abs(col - 1) < 1e-8)))


def _fmt_step(x: float) -> str:
    return format(float(x), ".15g")


def _resolve_type(type: str) -> SelType:
    if type in SEL_TYPES:
        return SEL_TYPES[type]
    match = [name for name in SEL_TYPES if type and type in name]  # R: first option containing the text
    if not match:
        raise InputError.invalid("type", type, "one of " + ", ".join(SEL_TYPES))
    return SEL_TYPES[match[0]]


def _per_delta(name: str, value, n: int) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(value, float))
    if arr.size == 1:
        arr = np.repeat(arr, n)
    if arr.size != n or np.any(np.isnan(arr)):
        raise InputError.invalid(name, list(np.atleast_1d(value)), f"{n} number(s), one per delta")
    return arr


def _check_bounds(name: str, values: np.ndarray, sel: SelType, skip_nan: bool = False) -> None:
    for j, v in enumerate(values):
        if skip_nan and np.isnan(v):
            continue
        if (sel.lb_excl[j] and v <= sel.lb[j]) or (not sel.lb_excl[j] and v < sel.lb[j]):
            raise InputError.invalid(
                f"{name}[{j}]", float(v), f"{'>' if sel.lb_excl[j] else '>='} {sel.lb[j]:g}"
            )
        if v > sel.ub[j]:
            raise InputError.invalid(f"{name}[{j}]", float(v), f"<= {sel.ub[j]:g}")


def _precision(prec: str | None, vi: np.ndarray, ni, scaleprec: bool) -> np.ndarray | None:
    if prec is None:
        return None
    if prec not in ("sei", "vi", "ninv", "sqrtninv"):
        raise InputError.invalid("prec", prec, "sei, vi, ninv or sqrtninv")
    if prec in ("ninv", "sqrtninv"):
        if ni is None:
            raise InputError(f"prec={prec!r} needs the sample sizes: give ni=.", field="ni")
        ni = np.asarray(ni, float).reshape(-1)
        if ni.size != vi.size or not np.all(np.isfinite(ni)) or np.any(ni <= 0):
            raise InputError.invalid("ni", ni.tolist(), f"{vi.size} positive sample sizes")
    preci = {
        "sei": lambda: np.sqrt(vi),
        "vi": lambda: vi,
        "ninv": lambda: 1 / ni,
        "sqrtninv": lambda: 1 / np.sqrt(ni),
    }[prec]()
    return preci / preci.max() if scaleprec else preci


def selmodel(
    res: RMAResult,
    *,
    type: str = "stepfun",  # metafor's argument name
    steps: Sequence[float] | float | None = None,
    alternative: str = "greater",
    delta: Sequence[float | None] | float | None = None,
    prec: str | None = None,
    scaleprec: bool = True,
    ni=None,
    defmap: bool = False,
    delta_init: Sequence[float] | float | None = None,
    delta_min: Sequence[float] | float | None = None,
    delta_max: Sequence[float] | float | None = None,
    pval_min: float | None = None,
    hessian_r: int = HESS_R,
    int_rel_tol: float = _INT_REL_TOL,
    _start: tuple[np.ndarray, float] | None = None,
    _tau2: float | None = None,
    _skip_hessian: bool = False,
    _skip_het: bool = False,
) -> SelectionModel:
    """Fit a selection model to a fitted ``rma`` model (metafor's ``selmodel``).

    The weight of a study is a function of its p-value (see :mod:`regrow.meta._selmodel_types` for the
    types); ``beta``, ``tau2`` and the free ``delta`` parameters are estimated by maximum likelihood::

        ll = sum_i log w(p_i) + log phi(yi; x_i'beta, vi + tau2) - log A_i,   A_i = E[w(p(y_i))]

    For the step function ``A_i`` is a sum of normal probabilities; for the continuous types it is an
    integral (see the types module). Standard errors come from the inverse Hessian of ``-ll`` on the
    untransformed scale; ``LRT`` compares ``ll`` with the log-likelihood of the ML ``rma`` fit, on as many df
    as there are estimated deltas; ``LRT_tau2`` tests tau^2 = 0 within the selection model.

    Parameters
    ----------
    res : RMAResult
        A fitted model (``rma``). Random-effects fits by another estimator are refitted by ML first, as
        metafor does; equal/fixed-effect fits keep ``tau2 = 0`` and a fixed tau^2 stays fixed. Continuous
        moderators are standardised during the fit and transformed back, as metafor does.
    type : str, default "stepfun"
        "stepfun", "beta", "halfnorm", "negexp", "logistic", "power", "negexppow", "halfnorm2",
        "negexp2", "logistic2" or "power2" (a unique part of a name is enough, as in R).
    steps : float or sequence of float, optional
        stepfun: cut points of the p-value intervals, each in [0, 1] (1 is appended); default (0.025,), the
        3PSM. Other types (not beta): one p-value below which studies are not down-weighted.
    alternative : {"greater", "less", "two.sided"}, default "greater"
        Direction of the p-values that drive selection.
    delta : float or sequence of float or None, optional
        Fixed values of the deltas (``None`` entries are estimated); stepfun: one per interval, ``delta[0]``
        is 1 unless given.
    prec : {"sei", "vi", "ninv", "sqrtninv"}, optional
        Let selection depend on the studies' precision as well (divided by its maximum unless
        ``scaleprec=False``); ``ninv``/``sqrtninv`` need ``ni``.
    scaleprec : bool, default True
    ni : array-like, optional
        Sample sizes for ``prec="ninv"`` or ``"sqrtninv"``.
    defmap : bool, default False
        Map the deltas to the optimiser's scale by log instead of a logistic between ``delta_min`` and
        ``delta_max`` (metafor's ``defmap=TRUE``).
    delta_init, delta_min, delta_max : float or sequence of float, optional
        metafor's control settings of the same names (defaults per type, e.g. bounds 0 and 100).
    pval_min : float, optional
        p-values are clipped to ``[pval_min, 1 - pval_min]`` (default 1e-5 for beta and power, else 0).
    hessian_r : int, default 6
        Richardson steps of the Hessian (metafor's ``control = list(hessianCtrl = list(r = ...))``).
    int_rel_tol : float, default eps^0.25
        Tolerance of the integrals of the continuous types (metafor's ``intCtrl = list(rel.tol = ...)``);
        the default reproduces metafor, a smaller one (1e-10) gives more accurate standard errors.

    Returns
    -------
    SelectionModel

    Raises
    ------
    InputError
        Unknown type, alternative or prec; bad steps or deltas; an interval with no observed p-value.
    TooFewStudiesError
        Fewer studies than parameters.
    ConvergenceError
        When BFGS does not converge within optim's 100 iterations.

    References
    ----------
    Vevea JL, Hedges LV (1995). A general linear model for estimating effect size in the presence of
    publication bias. Psychometrika 60:419-435. doi:10.1007/BF02294384.
    Citkowicz M, Vevea JL (2017). A parsimonious weight function for modeling publication bias.
    Psychol Methods 22:28-41. doi:10.1037/met0000119 (the beta model).
    Preston C, Ashby D, Smyth R (2004). Adjusting for publication bias: modelling the selection process.
    J Eval Clin Pract 10:313-322. doi:10.1111/j.1365-2753.2003.00457.x (exponential and power models).
    """
    settings = {
        "type": type, "steps": steps, "alternative": alternative, "delta": delta, "prec": prec,
        "scaleprec": scaleprec, "ni": ni, "defmap": defmap, "delta_init": delta_init, "delta_min": delta_min,
        "delta_max": delta_max, "pval_min": pval_min, "hessian_r": hessian_r, "int_rel_tol": int_rel_tol,
    }  # fmt: skip
    if getattr(res, "alpha_coef", None) is not None:
        raise InputError(
            "Selection models cannot be fitted to location-scale models (as in metafor).", field="res"
        )
    sel = _resolve_type(type)
    if alternative not in SELMODEL_ALTERNATIVES:
        raise InputError.invalid("alternative", alternative, "one of " + ", ".join(SELMODEL_ALTERNATIVES))
    warnings: list[str] = []
    if getattr(res, "user_weights", None) is not None or not getattr(res, "weighted", True):
        raise InputError(
            "Selection models need an inverse-variance weighted model (no custom weights).", field="res"
        )
    if np.any(np.asarray(res.vi) <= 0):
        raise InputError("Selection models need positive sampling variances.", field="vi")
    steps_given = steps is not None
    if sel.name == "stepfun" and not steps_given:
        steps = (0.025,)
    cuts = np.array([0.0])
    if steps is not None:
        try:
            raw = np.atleast_1d(np.asarray(steps, float))
        except (TypeError, ValueError) as exc:
            raise InputError.invalid("steps", steps, "numbers in [0, 1]") from exc
        if raw.size == 0 or not np.all(np.isfinite(raw)) or np.any((raw < 0) | (raw > 1)):
            raise InputError.invalid("steps", list(np.atleast_1d(steps)), "one or more numbers in [0, 1]")
        cuts = np.unique(raw)
        if cuts[-1] != 1:
            cuts = np.append(cuts, 1.0)
        if sel.name == "stepfun" and cuts.size < 2:
            raise InputError.invalid("steps", list(raw), "at least one cut point below 1")
        if sel.name == "beta":
            warnings.append("Argument 'steps' ignored (not applicable to this type of selection model).")
            cuts, steps_given = np.array([0.0]), False
        elif sel.name != "stepfun" and cuts.size != 2:
            raise InputError.invalid("steps", list(raw), f"a single p-value for type={sel.name!r}")
    if prec is not None and sel.name == "beta":
        warnings.append("Argument 'prec' ignored (not applicable to this type of selection model).")
        prec = None
    if prec is not None and sel.name == "stepfun":
        warnings.append(
            "Adding a precision measure to this selection model is undocumented and experimental."
        )

    fixed_effect = res.method in ("FE", "EE", "CE")
    tau2_fixed = bool(getattr(res, "tau2_fixed", False)) or _tau2 is not None
    if not fixed_effect and res.method != "ML":
        # as metafor: refit by ML with the model's own control settings; BFGS starts from this fit, so on a
        # flat likelihood where it stops depends on how tightly that fit converged (metafor's default
        # control stops when tau2 changes by < 1e-5, regrow's default Control by < 1e-12)
        res = res.refit(res.yi, res.vi, res.X, method="ML", **({"tau2": res.tau2} if res.tau2_fixed else {}))
    yi, vi, X = np.asarray(res.yi, float), np.asarray(res.vi, float), np.asarray(res.X, float)
    k, p = X.shape
    preci = _precision(prec, vi, ni, scaleprec)

    n_delta = cuts.size if sel.name == "stepfun" else sel.deltas
    delta_val = np.full(n_delta, np.nan)
    if delta is not None:
        given = [delta] * n_delta if np.isscalar(delta) else list(delta)
        if len(given) != n_delta:
            raise InputError.invalid("delta", given, f"{n_delta} values (one per delta), None to estimate")
        for j, d in enumerate(given):
            if d is None or (isinstance(d, float) and np.isnan(d)):
                continue
            if not isinstance(d, numbers.Real) or not np.isfinite(d) or d < 0:
                raise InputError.invalid(f"delta[{j}]", d, "a finite number >= 0, or None to estimate it")
            delta_val[j] = float(d)
    if sel.name == "stepfun":
        lb, ub = np.zeros(n_delta), np.full(n_delta, np.inf)
        init = np.ones(n_delta)
        dmin, dmax = np.full(n_delta, DELTA_MIN), np.full(n_delta, DELTA_MAX)
        H0 = np.ones(n_delta)
        if np.isnan(delta_val[0]):
            delta_val[0] = 1.0
        pmin = 0.0
    else:
        _check_bounds("delta", delta_val, sel, skip_nan=True)
        lb, ub = np.array(sel.lb), np.array(sel.ub)
        init, dmin, dmax = np.array(sel.init), np.array(sel.dmin), np.array(sel.dmax)
        H0 = np.array(sel.H0)
        pmin = sel.pval_min
    if delta_min is not None:
        dmin = _per_delta("delta_min", delta_min, n_delta)
    if delta_max is not None:
        dmax = _per_delta("delta_max", delta_max, n_delta)
    if np.any(dmax < dmin):
        raise InputError("delta_max must be >= delta_min.", field="delta_max")
    eps02 = float(np.finfo(float).eps) ** 0.2
    dmin = np.where(~np.isnan(delta_val) & (dmin > delta_val), delta_val - eps02, dmin)
    dmax = np.where(~np.isnan(delta_val) & (dmax < delta_val), delta_val + eps02, dmax)
    if delta_init is not None:
        init = _per_delta("delta_init", delta_init, n_delta)
    init = np.where(np.isnan(delta_val), init, delta_val)
    exp_map = defmap or bool(np.any(np.isinf(dmax)))
    with np.errstate(divide="ignore", invalid="ignore"):
        init_t = np.log(init) if exp_map else np.log((init - dmin) / (dmax - init))
    if not np.all(np.isfinite(init_t)):
        bad = int(np.flatnonzero(~np.isfinite(init_t))[0])
        raise ConvergenceError(
            f"delta[{bad}] = {init[bad]:g} lies on a bound of its mapping (delta_min {dmin[bad]:g}, delta_max "
            f"{dmax[bad]:g}); the optimiser cannot start there (metafor fails here too). Move the value or "
            "the bound."
        )
    if pval_min is not None:
        pmin = float(pval_min)

    n_free = int(np.sum(np.isnan(delta_val)))
    need = p + (0 if fixed_effect or tau2_fixed else 1) + n_free
    if k < need:
        raise TooFewStudiesError(
            f"{k} studies are too few for this selection model: it has {need} parameters "
            f"({p} coefficient(s), {'no' if fixed_effect or tau2_fixed else 'one'} tau2, {n_free} delta(s))."
        )

    pvals = np.clip(selection_pvalues(yi, vi, alternative), pmin, 1 - pmin)
    if steps_given or sel.name == "stepfun":
        J = cuts.size
        pgrp = np.searchsorted(cuts, pvals, side="left")  # first j with p <= steps[j]
        ptable_k = np.bincount(pgrp, minlength=J)
        left = ["0"] + [_fmt_step(x) for x in cuts[:-1]]
        width = max(len(x) for x in left)
        labels = tuple(f"{lo.ljust(width)} < p <= {_fmt_step(hi)}" for lo, hi in zip(left, cuts, strict=True))
        if sel.name == "stepfun":
            empty = [labels[j] for j in range(J) if ptable_k[j] == 0 and np.isnan(delta_val[j])]
        else:
            empty = [labels[j] for j in range(J) if ptable_k[j] == 0]
        if empty:
            raise InputError(
                f"No observed p-value falls in the interval(s) {', '.join(empty)}; their delta cannot be "
                f"estimated. Choose steps with at least one study in every interval above the first "
                f"(p-value counts per interval: {ptable_k.tolist()}).",
                field="steps",
                value=[float(x) for x in cuts],
                allowed="cut points with at least one study in every interval above the first",
            )
    else:
        pgrp, ptable_k, labels = None, np.zeros(0, int), ()

    # Standardise continuous moderators (metafor's scaleX) and rescale the starting values.
    beta_init = np.asarray(res.beta if _start is None else _start[0], float).copy()
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

    if fixed_effect:
        tau2_val = 0.0
    elif _tau2 is not None:
        tau2_val = float(_tau2)
    else:
        tau2_val = float(res.tau2) if tau2_fixed else None
    tau2_start = float(res.tau2 if _start is None else _start[1])
    prob = _Problem(yi=yi, vi=vi, X=Xs, steps=cuts, alternative=alternative, pgrp=pgrp, delta_val=delta_val,
                    tau2_val=tau2_val, sel=sel, preci=preci, pvals=pvals, pval_min=pmin, delta_min=dmin,
                    delta_max=dmax, exp_map=exp_map, int_rel_tol=float(int_rel_tol))  # fmt: skip
    par0 = np.concatenate([beta_init, [np.log(tau2_start + 0.001)], init_t])
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        par, _, fn_count, gr_count, converged = _vmmin(lambda q: prob.negll(q, transf=True), par0)
    if not converged:
        raise ConvergenceError(
            f"The selection model did not converge in {OPTIM_MAXIT} BFGS iterations (R optim's limit)."
        )
    beta_s, tau2, delta_hat = prob.unpack(par, transf=True)
    ll = prob.loglik(beta_s, tau2, delta_hat)
    if not np.isfinite(ll):
        raise EstimationError("The selection model's log-likelihood is not finite at its optimum.")
    if np.any(delta_hat <= dmin + _BOUND_WARN[0]) or np.any(delta_hat >= dmax - _BOUND_WARN[1]):
        warnings.append(
            "One or more delta estimates are (almost) equal to their lower or upper bound; treat the results "
            "with caution (or adjust delta_min and/or delta_max)."
        )

    # Standard errors from the Hessian of -ll on the untransformed scale.
    est = np.concatenate([np.ones(p, bool), [tau2_val is None], np.isnan(delta_val)])
    vb = np.full((p, p), np.nan)
    se_tau2 = float("nan")
    vd = np.full((n_delta, n_delta), np.nan)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        H = (
            np.full((est.size, est.size), np.nan)
            if _skip_hessian
            else _hessian(
                lambda q: prob.negll(q, transf=False), np.concatenate([beta_s, [tau2], delta_hat]), hessian_r
            )
        )
    Hh = H[np.ix_(est, est)]
    try:
        if not np.all(np.isfinite(Hh)):
            raise np.linalg.LinAlgError("non-finite Hessian")
        L = np.linalg.cholesky(Hh)
        Linv = np.linalg.inv(L)
        iH = np.zeros((est.size, est.size))
        iH[np.ix_(est, est)] = Linv.T @ Linv
        vb = iH[:p, :p]
        if tau2_val is None:
            se_tau2 = float(np.sqrt(iH[p, p]))
        free = np.flatnonzero(np.isnan(delta_val))
        vd[np.ix_(free, free)] = iH[np.ix_(p + 1 + free, p + 1 + free)]
    except np.linalg.LinAlgError:
        if not _skip_hessian:
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
    zval_delta = (delta_hat - H0) / se_delta
    pval_delta = 2 * norm_sf(np.abs(zval_delta))
    ci_lb_delta = np.maximum(delta_hat - crit * se_delta, lb)
    ci_ub_delta = np.minimum(delta_hat + crit * se_delta, ub)

    LRT_tau2 = LRTp_tau2 = float("nan")
    if tau2_val is None and not _skip_het:  # the heterogeneity test: the same model with tau2 = 0
        prob0 = _Problem(**{**prob.__dict__, "tau2_val": 0.0})
        try:
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                par_0 = _vmmin(lambda q: prob0.negll(q, transf=True), par0)[0]
            ll_0 = prob0.loglik(*prob0.unpack(par_0, transf=True))
            LRT_tau2 = max(0.0, -2 * (ll_0 - ll))
            LRTp_tau2 = float(chi2_sf(LRT_tau2, 1))
        except ConvergenceError:
            pass

    ll0 = float(res.fit_stats["ML"]["ll"])
    LRT = max(0.0, -2 * (ll0 - ll))
    return SelectionModel(
        type=sel.name,
        alternative=alternative,
        steps=tuple(float(x) for x in cuts),
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
        delta=delta_hat,
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
        H0_delta=tuple(float(h) for h in H0),
        delta_min=dmin,
        delta_max=dmax,
        pval_min=pmin,
        prec=prec,
        preci=preci,
        LRT_tau2=LRT_tau2,
        LRTp_tau2=LRTp_tau2,
        model=res,
        settings=settings,
        delta_fix=~np.isnan(delta_val),
        tau2_fix=tau2_val is not None,
    )
