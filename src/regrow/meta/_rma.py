"""Fixed- and random-effects models and meta-regression, agreeing with metafor 3.8's ``rma.uni``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from regrow.errors import EstimationError, InputError, TooFewStudiesError
from regrow.meta._design import INTERCEPT_NAME, design_matrix, drop_redundant
from regrow.meta._linalg import wls
from regrow.meta._tau2 import METHODS, Control, estimate_tau2, generalized_q_root

__all__ = [
    "INTERCEPT_NAME",
    "TESTS",
    "Control",
    "Interval",
    "Prediction",
    "RMAResult",
    "TauConfint",
    "fit_arrays",
    "rma",
]

#: Tests for the model coefficients, metafor's names.
TESTS = ("z", "knha", "adhoc")


def _alpha(level: float) -> float:
    """metafor's rule: level >= 1 is a percentage, below 1 a proportion."""
    if not np.isfinite(level) or level <= 0 or level >= 100:
        raise InputError.invalid("level", level, "a confidence level in (0, 100), e.g. 95")
    return (100.0 - level) / 100.0 if level >= 1 else (1.0 - level if level > 0.5 else level)


@dataclass(frozen=True)
class Prediction:
    """Predicted (pooled) effects with confidence and prediction intervals (arrays of equal length)."""

    pred: np.ndarray
    se: np.ndarray | None
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    pi_lb: np.ndarray | None = None
    pi_ub: np.ndarray | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"pred": self.pred, "se": self.se, "ci_lb": self.ci_lb, "ci_ub": self.ci_ub}
        if self.pi_lb is not None:
            out.update(pi_lb=self.pi_lb, pi_ub=self.pi_ub)
        return out


@dataclass(frozen=True)
class Interval:
    """An estimate with its confidence interval."""

    estimate: float
    ci_lb: float
    ci_ub: float

    def to_dict(self) -> dict[str, float]:
        return {"estimate": self.estimate, "ci_lb": self.ci_lb, "ci_ub": self.ci_ub}


@dataclass(frozen=True)
class TauConfint:
    """Q-profile intervals for tau^2, tau, I^2 (%) and H^2 (Viechtbauer 2007, doi:10.1002/sim.2514)."""

    tau2: Interval
    tau: Interval
    I2: Interval
    H2: Interval
    level: float
    lb_sign: str = ""
    ub_sign: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: getattr(self, name).to_dict() for name in ("tau2", "tau", "I2", "H2")}
        out.update(lb_sign=self.lb_sign, ub_sign=self.ub_sign)
        return out


@dataclass(frozen=True)
class RMAResult:
    """A fitted ``rma`` model; plain fields named as metafor names them (dots become underscores)."""

    k: int
    p: int
    method: str
    test: str
    level: float
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
    I2: float
    H2: float
    R2: float | None
    QE: float
    QEp: float
    QM: float
    QMp: float
    QMdf: tuple[int, int | None]
    btt: tuple[int, ...]
    s2w: float
    vt: float
    ddf: int | None
    yi: np.ndarray
    vi: np.ndarray
    X: np.ndarray
    weights: np.ndarray
    fit_stats: dict[str, dict[str, float]]
    iterations: int
    intercept: bool
    control: Control
    slab: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def tau(self) -> float:
        return float(np.sqrt(self.tau2))

    @property
    def weights_pct(self) -> np.ndarray:
        return 100.0 * self.weights / self.weights.sum()

    @property
    def alpha(self) -> float:
        return _alpha(self.level)

    @property
    def is_random(self) -> bool:
        return self.method != "FE"

    def crit(self) -> float:
        """Critical value of the coefficient tests (z, or t with k - p df for knha/adhoc)."""
        if self.ddf is None:
            return float(stats.norm.ppf(1 - self.alpha / 2))
        return float(stats.t.ppf(1 - self.alpha / 2, self.ddf))

    def refit(self, yi, vi, X=None, **changes: Any) -> RMAResult:
        """Fit the same kind of model (method, test, level, control) to other data."""
        X = self.X if X is None else X
        options = {"method": self.method, "test": self.test, "level": self.level, "control": self.control}
        options.update(changes)
        return fit_arrays(
            np.asarray(yi, float),
            np.asarray(vi, float),
            np.asarray(X, float),
            list(self.coef_names),
            intercept=self.intercept,
            **options,
        )

    def predict(
        self,
        newmods: np.ndarray | Sequence[float] | float | None = None,
        *,
        transf: Callable[[np.ndarray], np.ndarray] | None = None,
        pi_method: str = "metafor",
    ) -> Prediction:
        """Predicted effects, with CI and (random-effects) prediction interval, like ``predict.rma``.

        Parameters
        ----------
        newmods : array-like, optional
            Moderator values (without the intercept) for each prediction; shape (n, p - 1) or (p - 1,).
            Omitted for an intercept-only model (the pooled effect).
        transf : callable, optional
            Back-transformation applied to the estimate and bounds (e.g. ``np.exp`` for log ratios);
            the SE is then not reported.
        pi_method : {"metafor", "higgins2009"}, default "metafor"
            ``"metafor"``: ``pred +/- crit * sqrt(tau2 + se^2)`` with the model's critical value (z, or t with
            k - p df under knha/adhoc). ``"higgins2009"``: t with k - 2 df (Higgins, Thompson & Spiegelhalter
            2009, doi:10.1111/j.1467-985X.2008.00552.x), as RevMan and R's meta report it.
        """
        if pi_method not in ("metafor", "higgins2009"):
            raise InputError.invalid("pi_method", pi_method, "'metafor' or 'higgins2009'")
        if newmods is None:
            if self.p != int(self.intercept):
                raise InputError("This model has moderators: give newmods to predict at.", field="newmods")
            Xnew = np.ones((1, 1))
        else:
            Xnew = np.atleast_2d(np.asarray(newmods, dtype=float))
            if Xnew.shape[0] == 1 and Xnew.shape[1] != self.p - int(self.intercept):
                Xnew = Xnew.T
            if self.intercept:
                Xnew = np.column_stack([np.ones(Xnew.shape[0]), Xnew])
            if Xnew.shape[1] != self.p:
                raise InputError(
                    f"newmods has {Xnew.shape[1] - int(self.intercept)} columns; the model has "
                    f"{self.p - int(self.intercept)} moderators.",
                    field="newmods",
                )
        pred = Xnew @ self.beta
        se = np.sqrt(np.einsum("ij,jk,ik->i", Xnew, self.vb, Xnew))
        crit = self.crit()
        out = {"pred": pred, "se": se, "ci_lb": pred - crit * se, "ci_ub": pred + crit * se}
        if self.is_random:
            spread = np.sqrt(se**2 + self.tau2)
            pi_crit = crit
            if pi_method == "higgins2009":
                if self.k < 3:
                    raise TooFewStudiesError("A Higgins (2009) prediction interval needs at least 3 studies.")
                pi_crit = float(stats.t.ppf(1 - self.alpha / 2, self.k - 2))
            out["pi_lb"], out["pi_ub"] = pred - pi_crit * spread, pred + pi_crit * spread
        if transf is not None:
            out = {key: transf(value) for key, value in out.items() if key != "se"}
            out["se"] = None
        return Prediction(**out)

    def confint(self, *, tau2_max: float | None = None) -> TauConfint:
        """Q-profile confidence intervals for tau^2, tau, I^2 and H^2 (``confint(res, type = "QP")``).

        Parameters
        ----------
        tau2_max : float, optional
            Upper end of the search. By default there is none and the bounds are exact. metafor searches
            only up to ``max(100, 10 * tau2)`` and reports that cap, marked ``">"``; pass the same cap to
            reproduce it (the bound is then flagged in ``ub_sign``).

        Raises
        ------
        InputError
            For a fixed-effects model, which has no tau^2.
        TooFewStudiesError
            With no residual degrees of freedom (k = 1).
        """
        if not self.is_random:
            raise InputError(
                "A fixed-effects model has no tau^2 to bound; fit a random-effects model.",
                field="method",
                value="FE",
            )
        df = self.k - self.p
        if df < 1:
            raise TooFewStudiesError(
                f"A confidence interval for tau^2 needs more studies than coefficients (k = {self.k}, "
                f"p = {self.p}); metafor stops too."
            )
        q_lo = float(stats.chi2.ppf(1 - self.alpha / 2, df))  # Q at the lower bound of tau^2
        q_hi = float(stats.chi2.ppf(self.alpha / 2, df))
        lb = generalized_q_root(self.yi, self.vi, self.X, q_lo, control=self.control)
        ub = generalized_q_root(self.yi, self.vi, self.X, q_hi, control=self.control)
        lb_sign = ub_sign = ""
        if tau2_max is not None:
            if lb > tau2_max:
                lb, lb_sign = tau2_max, ">"
            if ub > tau2_max:
                ub, ub_sign = tau2_max, ">"
        return tau_intervals(self, lb, ub, lb_sign=lb_sign, ub_sign=ub_sign)

    def to_dict(self) -> dict[str, Any]:
        """Everything a report needs, JSON-ready once numpy values are converted."""
        coefficients = [
            {
                "name": name,
                "estimate": float(self.beta[j]),
                "se": float(self.se[j]),
                "stat": float(self.zval[j]),
                "pval": float(self.pval[j]),
                "ci_lb": float(self.ci_lb[j]),
                "ci_ub": float(self.ci_ub[j]),
            }
            for j, name in enumerate(self.coef_names)
        ]
        return {
            "k": self.k,
            "p": self.p,
            "method": self.method,
            "test": self.test,
            "level": self.level,
            "coefficients": coefficients,
            "tau2": self.tau2,
            "se_tau2": self.se_tau2 if self.is_random else None,
            "I2": self.I2,
            "H2": self.H2,
            "R2": self.R2,
            "QE": self.QE,
            "QEp": self.QEp,
            "QM": self.QM,
            "QMp": self.QMp,
            "QMdf": list(self.QMdf),
            "fit_stats": self.fit_stats,
            "warnings": list(self.warnings),
        }


def tau_intervals(
    res: RMAResult, lb: float, ub: float, *, lb_sign: str = "", ub_sign: str = ""
) -> TauConfint:
    """A tau^2 interval ``[lb, ub]`` around ``res.tau2`` with the tau, I^2 (%) and H^2 intervals it implies
    (``I2 = 100 tau2 / (vt + tau2)``, ``H2 = (vt + tau2) / vt``, ``vt`` the typical sampling variance)."""

    def triple(f):
        return Interval(float(f(res.tau2)), float(f(lb)), float(f(ub)))

    return TauConfint(
        tau2=triple(lambda t: t),
        tau=triple(np.sqrt),
        I2=triple(lambda t: 100.0 * t / (res.vt + t)),
        H2=triple(lambda t: (res.vt + t) / res.vt),
        level=res.level,
        lb_sign=lb_sign,
        ub_sign=ub_sign,
    )


def _as_vector(name: str, values, k: int | None = None) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numeric.", field=name) from exc
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    if k is not None and arr.shape[0] != k:
        raise InputError(f"{name} has {arr.shape[0]} values but yi has {k}.", field=name, value=arr.shape[0])
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise InputError(
            f"{name} is missing or not finite in row {bad[0] + 1} (value {float(arr[bad[0]])!r}).", field=name
        )
    return arr


def effect_arrays(yi, vi) -> tuple[np.ndarray, np.ndarray]:
    """Effect sizes and sampling variances as finite float vectors of equal length, with ``vi > 0``."""
    yi = _as_vector("yi", yi)
    vi = _as_vector("vi", vi, yi.shape[0])
    neg = np.flatnonzero(vi <= 0)
    if neg.size:
        raise InputError(
            f"vi must be positive; row {neg[0] + 1} has {float(vi[neg[0]])!r}.",
            field="vi",
            value=float(vi[neg[0]]),
            allowed="sampling variances > 0",
        )
    return yi, vi


def rma(
    yi,
    vi,
    *,
    mods: pd.DataFrame | np.ndarray | None = None,
    mod_names: Sequence[str] | None = None,
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
    intercept: bool = True,
    slab: Sequence[str] | None = None,
    btt: Sequence[int] | None = None,
    tau2: float | None = None,
    control: Control | None = None,
) -> RMAResult:
    """Fit a fixed- or random-effects meta-analysis or meta-regression (metafor's ``rma.uni``).

    Parameters
    ----------
    yi, vi : array-like of shape (k,)
        Observed effect sizes and their sampling variances (vi > 0).
    mods : DataFrame or array of shape (k, m), optional
        Moderators; text or categorical columns are dummy-coded like R (``allocrandom``).
    mod_names : sequence of str, optional
        Column names for an array ``mods``.
    method : {"FE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM"}, default "REML"
        Estimator of tau^2 ("FE" fits the fixed-effect model).
    test : {"z", "knha", "adhoc"}, default "z"
        Standard-normal tests, the Knapp-Hartung adjustment (t and F with k - p df), or Knapp-Hartung
        with the scale factor truncated below at 1.
    level : float, default 95
        Confidence level in percent.
    intercept : bool, default True
    slab : sequence of str, optional
        Study labels.
    btt : sequence of int, optional
        0-based coefficients tested by the omnibus QM test (default: all but the intercept).
    tau2 : float, optional
        Fix tau^2 at this value instead of estimating it (inverse-variance pooling with weights
        ``1/(vi + tau2)``); ``se_tau2`` is then NaN.
    control : Control, optional

    Returns
    -------
    RMAResult

    Raises
    ------
    InputError
        Unknown method or test, non-finite values, non-positive variances, bad moderators.
    TooFewStudiesError
        When there are not more studies than model coefficients.

    References
    ----------
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw 36(3).
    doi:10.18637/jss.v036.i03. Knapp & Hartung (2003) doi:10.1002/sim.1482.

    Examples
    --------
    >>> res = rma([0.1, 0.3, 0.35, 0.6], [0.01, 0.02, 0.015, 0.03], method="DL")
    >>> round(res.beta[0], 4)
    0.2937
    """
    yi, vi = effect_arrays(yi, vi)
    k = yi.shape[0]
    X, names = design_matrix(mods, k, intercept=intercept, mod_names=mod_names)
    X, names, redundant = drop_redundant(X, names)
    if k == 1 and intercept and X.shape[1] == 1 and tau2 is None:
        # metafor fits one study (warning "Setting argument test='z' since k=1"): tau^2 = 0, a z test.
        method = method.upper() if isinstance(method, str) else method
        if method not in METHODS:
            raise InputError.invalid("method", method, "one of " + ", ".join(METHODS))
        labels = None if slab is None else list(slab)
        if labels is not None and len(labels) != 1:
            raise InputError(f"slab has {len(labels)} labels for 1 study.", field="slab")
        label = None if labels is None else labels[0]
        res = single_study_fit(
            yi[0], vi[0], method=method, level=level, control=control or Control(), slab=label
        )
    else:
        res = fit_arrays(
            yi,
            vi,
            X,
            names,
            method=method,
            test=test,
            level=level,
            intercept=intercept,
            slab=slab,
            btt=btt,
            tau2=tau2,
            control=control,
        )
    if redundant:
        res.warnings.append(f"Redundant predictors dropped from the model: {', '.join(redundant)}.")
    return res


def fit_arrays(
    yi: np.ndarray,
    vi: np.ndarray,
    X: np.ndarray,
    names: list[str],
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
    intercept: bool = True,
    slab: Sequence[str] | None = None,
    btt: Sequence[int] | None = None,
    tau2: float | None = None,
    control: Control | None = None,
    with_r2: bool = True,
) -> RMAResult:
    """Fit on validated arrays (the fast path behind :func:`rma`, used by the diagnostics)."""
    method = method.upper() if isinstance(method, str) else method
    if method not in METHODS:
        raise InputError.invalid("method", method, "one of " + ", ".join(METHODS))
    if test not in TESTS:
        raise InputError.invalid("test", test, "one of " + ", ".join(TESTS))
    alpha = _alpha(level)
    control = control or Control()
    k, p = X.shape
    if k <= p:
        raise TooFewStudiesError(
            f"{k} studies cannot support a model with {p} coefficient(s): need at least {p + 1}."
        )
    warnings: list[str] = []
    df = k - p

    # Heterogeneity measured under the fixed-effect weights, as metafor does.
    fe_fit = wls(yi, X, 1.0 / vi)
    QE = fe_fit.rss
    QEp = float(stats.chi2.sf(QE, df))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        trP = fe_fit.trace_pd()
        vt = df / trP if trP != 0 else float("inf")
    if not (np.isfinite(QE) and np.isfinite(vt) and vt > 0):
        # Weights 1/vi overflow in floating point (vi near 0, or vi spanning ~600 orders of magnitude):
        # I2, H2 and every test would be 0/0, so say so instead of dividing by zero.
        raise EstimationError(
            f"The sampling variances (from {float(vi.min()):.3g} to {float(vi.max()):.3g}) are too small or "
            "span too wide a range for the weights 1/vi to be computed in floating point; check the vi column "
            "or rescale the effect sizes."
        )

    if tau2 is None:
        tau2, se_tau2, iterations = estimate_tau2(method, yi, vi, X, control=control, warnings=warnings)
    else:
        if method == "FE":
            raise InputError("A fixed tau2 needs a random-effects method, not FE.", field="tau2", value=tau2)
        if not np.isfinite(tau2) or tau2 < 0:
            raise InputError.invalid("tau2", tau2, "a finite number >= 0")
        tau2, se_tau2, iterations = float(tau2), float("nan"), 0
    fit = fe_fit if method == "FE" else wls(yi, X, 1.0 / (vi + tau2))
    beta, vb = fit.beta, fit.A_inv

    if method == "FE":
        I2 = 100.0 * max(0.0, (QE - df) / QE) if QE > 0 else 0.0
        H2 = QE / df
    else:
        I2 = 100.0 * tau2 / (tau2 + vt)
        H2 = (tau2 + vt) / vt

    s2w = 1.0
    ddf: int | None = None
    if test in ("knha", "adhoc"):
        s2w = fit.rss / df
        if test == "adhoc":  # Knapp-Hartung scale factor truncated below at 1 (metafor stores the used one)
            s2w = max(1.0, s2w)
        vb = vb * s2w
        ddf = df
    se = np.sqrt(np.diag(vb))
    if np.any(se <= 0):
        # Knapp-Hartung scales by the residual dispersion, which is 0 when the model fits every study
        # exactly (e.g. identical effect sizes): the tests are then undefined, not silently infinite.
        warnings.append(
            "The Knapp-Hartung scale factor is 0 (the model reproduces every effect size exactly), so "
            "standard errors are 0 and the tests are undefined; use test='z' or test='adhoc'."
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = beta / se
    if ddf is None:
        pval = 2 * stats.norm.sf(np.abs(zval))
        crit = stats.norm.ppf(1 - alpha / 2)
    else:
        pval = 2 * stats.t.sf(np.abs(zval), ddf)
        crit = stats.t.ppf(1 - alpha / 2, ddf)

    if btt is None:
        btt = tuple(range(1, p)) if (intercept and p > 1) else tuple(range(p))
    btt = tuple(int(j) for j in btt)
    if not btt or any(j < 0 or j >= p for j in btt):
        raise InputError.invalid("btt", btt, f"0-based coefficient indices in [0, {p - 1}]")
    b = beta[list(btt)]
    try:
        QM = float(b @ np.linalg.solve(vb[np.ix_(btt, btt)], b))
    except np.linalg.LinAlgError:
        QM = float("nan")  # only with a zero Knapp-Hartung scale (warned above); metafor reports NA too
    m = len(btt)
    if ddf is None:
        QMp = float(stats.chi2.sf(QM, m))
    else:
        QM /= m
        QMp = float(stats.f.sf(QM, m, ddf))

    R2 = None
    if with_r2 and intercept and p > 1:
        R2 = _pseudo_r2(yi, vi, X, method, tau2, QE, control)

    fit_stats = _fit_stats(yi, vi, X, tau2, fit, method)
    labels = list(slab) if slab is not None else [f"Study {i + 1}" for i in range(k)]
    if len(labels) != k:
        raise InputError(f"slab has {len(labels)} labels for {k} studies.", field="slab")
    return RMAResult(
        k=k,
        p=p,
        method=method,
        test=test,
        level=level if level >= 1 else 100 * (1 - alpha),
        coef_names=list(names),
        beta=beta,
        se=se,
        zval=zval,
        pval=pval,
        ci_lb=beta - crit * se,
        ci_ub=beta + crit * se,
        vb=vb,
        tau2=float(tau2),
        se_tau2=float(se_tau2),
        I2=float(I2),
        H2=float(H2),
        R2=R2,
        QE=float(QE),
        QEp=QEp,
        QM=QM,
        QMp=QMp,
        QMdf=(m, ddf),
        btt=btt,
        s2w=float(s2w),
        vt=float(vt),
        ddf=ddf,
        yi=yi,
        vi=vi,
        X=X,
        weights=fit.w,
        fit_stats=fit_stats,
        iterations=iterations,
        intercept=intercept,
        control=control,
        slab=labels,
        warnings=warnings,
    )


def single_study_fit(
    yi: float,
    vi: float,
    *,
    method: str,
    level: float,
    control: Control,
    slab: str | None = None,
) -> RMAResult:
    """The model metafor fits to one study (k = 1): tau^2 = 0, QE = 0, I^2 = 0, H^2 = 1, and a z test.

    metafor allows ``rma(yi, vi)`` with k = 1 (warning "Setting argument test='z' since k=1"); the
    leave-one-out, cumulative and subgroup analyses reach it for k = 2 data, first studies and one-study
    subgroups.

    Parameters
    ----------
    yi, vi : float
        The study's effect size and sampling variance.
    method : str
        The estimator named in the result (tau^2 is 0 whatever it is).
    level : float
        Confidence level in percent.
    control : Control
    slab : str, optional
        The study label.

    Returns
    -------
    RMAResult
        With ``warnings`` saying that tau^2 is fixed at 0 and the test set to z.
    """
    yi_a, vi_a = np.array([float(yi)]), np.array([float(vi)])
    X = np.ones((1, 1))
    se = float(np.sqrt(vi))
    z = float(yi) / se
    alpha = _alpha(level)
    crit = float(stats.norm.ppf(1 - alpha / 2))
    pval = float(2 * stats.norm.sf(abs(z)))
    warnings = ["k = 1: tau2 is 0 and the test is z (metafor: Setting argument test='z' since k=1)."]
    return RMAResult(
        k=1,
        p=1,
        method=method,
        test="z",
        level=level if level >= 1 else 100 * (1 - alpha),
        coef_names=[INTERCEPT_NAME],
        beta=np.array([float(yi)]),
        se=np.array([se]),
        zval=np.array([z]),
        pval=np.array([pval]),
        ci_lb=np.array([yi - crit * se]),
        ci_ub=np.array([yi + crit * se]),
        vb=np.array([[float(vi)]]),
        tau2=0.0,
        se_tau2=float("nan"),
        I2=0.0,
        H2=1.0,
        R2=None,
        QE=0.0,
        QEp=1.0,
        QM=z * z,
        QMp=pval,
        QMdf=(1, None),
        btt=(0,),
        s2w=1.0,
        vt=float(vi),
        ddf=None,
        yi=yi_a,
        vi=vi_a,
        X=X,
        weights=1.0 / vi_a,
        fit_stats=_fit_stats(yi_a, vi_a, X, 0.0, wls(yi_a, X, 1.0 / vi_a), method),
        iterations=0,
        intercept=True,
        control=control,
        slab=[slab if slab is not None else "Study 1"],
        warnings=warnings,
    )


def _pseudo_r2(yi, vi, X, method, tau2, QE, control) -> float:
    """Proportion of heterogeneity accounted for by the moderators (Raudenbush 2009), in percent.

    Random effects: ``100 * (tau2_RE - tau2_ME) / tau2_RE`` against the intercept-only fit of the same
    estimator; fixed effect: the same with Q statistics in place of tau^2, as metafor reports it.
    """
    k, p = X.shape
    X0 = np.ones((k, 1))
    if method == "FE":
        # metafor: the adjusted R^2 of the weighted least-squares regression, weights 1/vi.
        tss = wls(yi, X0, 1.0 / vi).rss
        if tss <= 0:
            return 0.0
        r2 = 1.0 - QE / tss
        return float(max(0.0, 100.0 * (1.0 - (1.0 - r2) * (k - 1) / (k - p))))
    tau2_0, _, _ = estimate_tau2(method, yi, vi, X0, control=control)
    if tau2_0 <= 0:
        return 0.0
    return float(max(0.0, 100.0 * (tau2_0 - tau2) / tau2_0))


def _fit_stats(yi, vi, X, tau2, fit, method) -> dict[str, dict[str, float]]:
    """Log-likelihood, deviance, AIC, BIC and AICc under ML and REML, as ``fitstats.rma``."""
    k, p = X.shape
    total = vi + tau2
    rss = fit.rss
    ll_ml = -0.5 * k * np.log(2 * np.pi) - 0.5 * np.sum(np.log(total)) - 0.5 * rss
    _, logdet_xx = np.linalg.slogdet(X.T @ X)
    ll_reml = (
        -0.5 * (k - p) * np.log(2 * np.pi)
        + 0.5 * logdet_xx
        - 0.5 * np.sum(np.log(total))
        - 0.5 * fit.logdet_xwx()
        - 0.5 * rss
    )
    ll_saturated = -0.5 * np.sum(np.log(2 * np.pi * vi))
    parms = p + (0 if method == "FE" else 1)
    out = {}
    for name, ll, n, dev in (
        ("ML", ll_ml, k, -2 * (ll_ml - ll_saturated)),
        ("REML", ll_reml, k - p, -2 * ll_reml),
    ):
        big = max(n, parms + 2)
        out[name] = {
            "ll": float(ll),
            "dev": float(dev),
            "AIC": float(-2 * ll + 2 * parms),
            "BIC": float(-2 * ll + parms * (np.log(n) if n > 0 else -np.inf)),
            "AICc": float(-2 * ll + 2 * parms * big / (big - parms - 1)),
        }
    return out
