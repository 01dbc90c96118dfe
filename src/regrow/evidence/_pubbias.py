"""Small-study and publication-bias diagnostics, agreeing with metafor 3.8-1.

* :func:`regtest`: Egger's regression test for funnel-plot asymmetry (metafor's ``regtest``), as a
  meta-regression on a precision predictor (``model="rma"``) or the classic weighted least-squares
  regression with a multiplicative dispersion term (``model="lm"``), with the limit estimate.
* :func:`ranktest`: Begg and Mazumdar's rank correlation test.
* :func:`trimfill`: Duval and Tweedie's trim-and-fill (estimators L0 and R0), returning the filled studies
  for a funnel plot and the model refitted to the augmented data.
* :func:`fsn`: fail-safe N after Rosenthal, Orwin and Rosenberg.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from regrow.errors import InputError, TooFewStudiesError
from regrow.evidence._linalg import wls
from regrow.evidence._rma import RMAResult, fit_arrays
from regrow.evidence._tau2 import Control, estimate_tau2

__all__ = [
    "REGTEST_MODELS",
    "REGTEST_PREDICTORS",
    "FsnResult",
    "RanktestResult",
    "RegtestResult",
    "TrimfillResult",
    "fsn",
    "ranktest",
    "regtest",
    "trimfill",
]

#: ``model=`` choices of :func:`regtest`.
REGTEST_MODELS = ("rma", "lm")
#: ``predictor=`` choices of :func:`regtest` (metafor's names).
REGTEST_PREDICTORS = ("sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv")
#: Predictors whose value tends to 0 for an infinitely precise study: the intercept is then the
#: "limit estimate" (metafor reports ``est`` only for these).
_LIMIT_PREDICTORS = ("sei", "vi", "ninv", "sqrtninv")
#: metafor's column names for the added predictor (``sqrtni`` and ``sqrtninv`` are both named ``ni``).
_PREDICTOR_COLUMN = {"sei": "sei", "vi": "vi", "ni": "ni", "ninv": "ninv", "sqrtni": "ni", "sqrtninv": "ni"}

#: metafor's out-of-the-box iteration settings (``rma.uni`` default ``control``). ``trimfill`` fits the
#: trimmed and the filled data without passing the user's control, so the references carry these.
METAFOR_DEFAULT_CONTROL = Control(threshold=1e-5, tol=float(np.finfo(float).eps) ** 0.25, maxiter=100)


def _f(value) -> float | None:
    return None if value is None else float(value)


def _yi_vi(data, vi=None) -> tuple[np.ndarray, np.ndarray]:
    """Effect sizes and variances from a fitted model or from arrays, validated."""
    if isinstance(data, RMAResult):
        return np.asarray(data.yi, float), np.asarray(data.vi, float)
    if vi is None:
        raise InputError("Give a fitted model, or both yi and vi.", field="vi")
    try:
        yi = np.asarray(data, dtype=float).reshape(-1)
        vi = np.asarray(vi, dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InputError("yi and vi must be numeric.", field="yi") from exc
    if yi.shape != vi.shape:
        raise InputError(f"yi has {yi.size} values but vi has {vi.size}.", field="vi", value=vi.size)
    for name, arr in (("yi", yi), ("vi", vi)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise InputError(
                f"{name} is missing or not finite in row {bad[0] + 1} (value {arr[bad[0]]!r}).", field=name
            )
    bad = np.flatnonzero(vi <= 0)
    if bad.size:
        raise InputError.invalid("vi", float(vi[bad[0]]), f"sampling variances > 0 (row {bad[0] + 1})")
    return yi, vi


# ----------------------------------------------------------------------------------------------------------
# Egger's regression test
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegtestResult:
    """Result of :func:`regtest`.

    Attributes
    ----------
    model, predictor : str
    stat : float
        Test statistic of the predictor's coefficient (z for ``model="rma"`` with ``test="z"``, t otherwise).
    stat_type : {"z", "t"}
    pval : float
        Two-sided p-value of the asymmetry test.
    dfs : int or None
        Degrees of freedom of a t statistic.
    est, ci_lb, ci_ub : float or None
        Limit estimate (the intercept: the effect of a study with zero standard error / infinite size)
        and its confidence interval; None for predictors ``ni`` and ``sqrtni`` or models with moderators.
    coef_names : list of str
        Coefficients of the regression (the model's, then the predictor).
    beta, se : numpy.ndarray
        Coefficients of the regression and their standard errors.
    tau2, QE : float or None
        Residual heterogeneity and Q statistic of the ``rma`` regression.
    sigma : float or None
        Residual standard error of the ``lm`` regression (the multiplicative dispersion is sigma^2).
    fit : RMAResult or None
        The fitted ``rma`` meta-regression.
    """

    model: str
    predictor: str
    stat: float
    stat_type: str
    pval: float
    dfs: int | None
    est: float | None
    ci_lb: float | None
    ci_ub: float | None
    coef_names: list[str]
    beta: np.ndarray
    se: np.ndarray
    tau2: float | None = None
    QE: float | None = None
    sigma: float | None = None
    fit: RMAResult | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the fitted model object)."""
        return {
            "model": self.model,
            "predictor": self.predictor,
            "stat": self.stat,
            "stat_type": self.stat_type,
            "pval": self.pval,
            "dfs": self.dfs,
            "est": self.est,
            "ci_lb": self.ci_lb,
            "ci_ub": self.ci_ub,
            "fit": {
                "coef_names": list(self.coef_names),
                "beta": [float(b) for b in self.beta],
                "se": [float(s) for s in self.se],
                "tau2": self.tau2,
                "QE": self.QE,
                "sigma": self.sigma,
            },
        }


def _predictor_column(predictor: str, vi: np.ndarray, ni) -> np.ndarray:
    if predictor == "sei":
        return np.sqrt(vi)
    if predictor == "vi":
        return vi.copy()
    if ni is None:
        raise InputError(
            f"predictor={predictor!r} needs the study sample sizes: pass ni.",
            field="ni",
            allowed="k sample sizes > 0",
        )
    ni = np.asarray(ni, dtype=float).reshape(-1)
    if ni.size != vi.size:
        raise InputError(f"ni has {ni.size} values for {vi.size} studies.", field="ni", value=ni.size)
    bad = np.flatnonzero(~np.isfinite(ni) | (ni <= 0))
    if bad.size:
        raise InputError.invalid("ni", float(ni[bad[0]]), f"sample sizes > 0 (row {bad[0] + 1})")
    return {"ni": ni, "ninv": 1.0 / ni, "sqrtni": np.sqrt(ni), "sqrtninv": 1.0 / np.sqrt(ni)}[predictor]


def regtest(res: RMAResult, *, model: str = "rma", predictor: str = "sei", ni=None) -> RegtestResult:
    """Egger's regression test for funnel-plot asymmetry (metafor's ``regtest``).

    The fitted model's design is extended by a precision predictor ``g(i)`` and the test is the one for its
    coefficient:

    * ``model="rma"``: the meta-regression ``y_i = X_i b + b_g g(i) + u_i + e_i`` refitted with the model's
      own tau^2 estimator, coefficient test (z or Knapp-Hartung t) and confidence level;
    * ``model="lm"``: Egger's original weighted regression ``y_i = X_i b + b_g g(i) + e_i`` with weights
      ``1/v_i`` and a multiplicative dispersion ``sigma^2`` (``Var e_i = sigma^2 v_i``), tested with t on
      ``k - p - 1`` df.

    With ``g(i)`` in {``sei``, ``vi``, ``ninv``, ``sqrtninv``} and an intercept-only model, the intercept is
    the *limit estimate* (the predicted effect of an infinitely precise study), reported with its CI.

    Parameters
    ----------
    res : RMAResult
        The fitted model (``rma``).
    model : {"rma", "lm"}, default "rma"
    predictor : {"sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv"}, default "sei"
        Standard error, sampling variance, sample size, 1/n, sqrt(n) or 1/sqrt(n).
    ni : array-like of shape (k,), optional
        Total sample size per study; needed for the ``ni`` predictors.

    Returns
    -------
    RegtestResult

    Raises
    ------
    InputError
        Unknown model or predictor; missing or bad ``ni``; a predictor collinear with the moderators.
    TooFewStudiesError
        With fewer than ``p + 2`` studies.

    References
    ----------
    Egger M, Davey Smith G, Schneider M, Minder C (1997). Bias in meta-analysis detected by a simple,
    graphical test. BMJ 315:629-634. doi:10.1136/bmj.315.7109.629.
    Sterne JAC, Egger M (2005). Regression methods to detect publication and other bias in meta-analysis.
    In: Publication Bias in Meta-Analysis, Wiley. doi:10.1002/0470870168.ch6.
    """
    if model not in REGTEST_MODELS:
        raise InputError.invalid("model", model, "one of " + ", ".join(REGTEST_MODELS))
    if predictor not in REGTEST_PREDICTORS:
        raise InputError.invalid("predictor", predictor, "one of " + ", ".join(REGTEST_PREDICTORS))
    yi, vi = np.asarray(res.yi, float), np.asarray(res.vi, float)
    k, p = res.X.shape
    if k < p + 2:
        raise TooFewStudiesError(
            f"Egger's test needs at least {p + 2} studies for a model with {p} coefficient(s); got {k}."
        )
    column = _predictor_column(predictor, vi, ni)
    X = np.column_stack([res.X, column])
    names = [*res.coef_names, _PREDICTOR_COLUMN[predictor]]
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise InputError(
            "The model matrix is no longer of full rank after adding the predictor "
            f"{predictor!r}; Egger's test cannot be fitted.",
            field="predictor",
            value=predictor,
        )
    has_limit = predictor in _LIMIT_PREDICTORS and p == 1 and bool(np.all(res.X[:, 0] == 1.0))
    if model == "rma":
        fit = fit_arrays(
            yi,
            vi,
            X,
            names,
            method=res.method,
            test=res.test,
            level=res.level,
            intercept=res.intercept,
            control=res.control,
            with_r2=False,
        )
        stat, pval = float(fit.zval[p]), float(fit.pval[p])
        return RegtestResult(
            model=model,
            predictor=predictor,
            stat=stat,
            stat_type="z" if fit.ddf is None else "t",
            pval=pval,
            dfs=fit.ddf,
            est=float(fit.beta[0]) if has_limit else None,
            ci_lb=float(fit.ci_lb[0]) if has_limit else None,
            ci_ub=float(fit.ci_ub[0]) if has_limit else None,
            coef_names=names,
            beta=fit.beta,
            se=fit.se,
            tau2=fit.tau2,
            QE=fit.QE,
            fit=fit,
        )
    ols = wls(yi, X, 1.0 / vi)
    df = k - X.shape[1]
    sigma2 = ols.rss / df
    se = np.sqrt(np.diag(ols.A_inv) * sigma2)
    tval = ols.beta / se
    pvals = 2 * stats.t.sf(np.abs(tval), df)
    est = ci_lb = ci_ub = None
    if has_limit:
        crit = float(stats.t.ppf(1 - res.alpha / 2, df))
        est = float(ols.beta[0])
        ci_lb, ci_ub = est - crit * float(se[0]), est + crit * float(se[0])
    return RegtestResult(
        model=model,
        predictor=predictor,
        stat=float(tval[p]),
        stat_type="t",
        pval=float(pvals[p]),
        dfs=df,
        est=est,
        ci_lb=ci_lb,
        ci_ub=ci_ub,
        coef_names=names,
        beta=ols.beta,
        se=se,
        sigma=float(np.sqrt(sigma2)),
    )


# ----------------------------------------------------------------------------------------------------------
# Begg & Mazumdar rank correlation
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RanktestResult:
    """Result of :func:`ranktest`: Kendall's tau (tau-b) and its two-sided p-value."""

    tau: float
    pval: float
    exact: bool
    k: int
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tau": self.tau,
            "pval": self.pval,
            "exact": self.exact,
            "k": self.k,
            "warnings": list(self.warnings),
        }


def ranktest(data, vi=None) -> RanktestResult:
    """Begg and Mazumdar's rank correlation test for funnel-plot asymmetry (metafor's ``ranktest``).

    Each effect is standardised against the fixed-effect estimate ``theta = sum(w y) / sum(w)``
    (``w = 1/v``): ``y*_i = (y_i - theta) / sqrt(v_i - 1/sum(w))``, and Kendall's tau-b between ``y*`` and
    ``v`` is tested. As R's ``cor.test(method="kendall")``: exact p-value when k < 50 and neither variable
    has ties, otherwise the normal approximation with the tie-corrected variance of S (no continuity
    correction).

    Parameters
    ----------
    data : RMAResult or array-like
        A fitted model (its yi and vi are used), or the effect sizes.
    vi : array-like, optional
        Sampling variances when ``data`` holds effect sizes.

    Returns
    -------
    RanktestResult

    Raises
    ------
    InputError
        Bad or mismatched arrays.
    TooFewStudiesError
        With fewer than 3 studies.

    References
    ----------
    Begg CB, Mazumdar M (1994). Operating characteristics of a rank correlation test for publication bias.
    Biometrics 50:1088-1101. doi:10.2307/2533446.
    """
    yi, vi = _yi_vi(data, vi)
    k = yi.size
    if k < 3:
        raise TooFewStudiesError(f"The rank correlation test needs at least 3 studies; got {k}.")
    wi = 1.0 / vi
    theta = float(np.sum(wi * yi) / np.sum(wi))
    vstar = vi - 1.0 / np.sum(wi)
    ystar = (yi - theta) / np.sqrt(vstar)
    ties = np.unique(ystar).size < k or np.unique(vi).size < k
    exact = k < 50 and not ties
    warnings = ["Cannot compute exact p-value with ties"] if (k < 50 and ties) else []
    result = stats.kendalltau(ystar, vi, method="exact" if exact else "asymptotic")
    return RanktestResult(
        tau=float(result.statistic), pval=float(result.pvalue), exact=exact, k=k, warnings=warnings
    )


# ----------------------------------------------------------------------------------------------------------
# Trim and fill
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrimfillResult:
    """Result of :func:`trimfill`.

    Attributes
    ----------
    k0 : int
        Estimated number of missing studies (filled in).
    se_k0 : float
        Standard error of the k0 estimate.
    side : {"left", "right"}
        Side of the funnel plot on which studies were estimated missing.
    estimator : {"L0", "R0"}
    p_k0 : float or None
        For R0: the p-value of the test of k0 = 0.
    yi, vi : numpy.ndarray
        Observed studies followed by the ``k0`` filled ones (mirror images about the trimmed estimate).
    fill : numpy.ndarray of bool
        True for the filled studies.
    slab : list of str
        Study labels, ``"Filled 1"``... for the filled studies.
    fit : RMAResult
        The model refitted to the augmented data (the original model when ``k0 == 0``).
    original : RMAResult
    """

    k0: int
    se_k0: float
    side: str
    estimator: str
    p_k0: float | None
    yi: np.ndarray
    vi: np.ndarray
    fill: np.ndarray
    slab: list[str]
    fit: RMAResult = field(repr=False)
    original: RMAResult = field(repr=False)

    @property
    def sei(self) -> np.ndarray:
        return np.sqrt(self.vi)

    def to_frame(self) -> pd.DataFrame:
        """One row per study (observed, then filled): ``slab``, ``yi``, ``vi``, ``sei``, ``fill``."""
        return pd.DataFrame(
            {"slab": self.slab, "yi": self.yi, "vi": self.vi, "sei": self.sei, "fill": self.fill}
        )

    def to_dict(self) -> dict[str, Any]:
        pred = self.fit.predict()
        return {
            "k0": self.k0,
            "se_k0": self.se_k0,
            "side": self.side,
            "estimator": self.estimator,
            "p_k0": self.p_k0,
            "studies": {
                "slab": list(self.slab),
                "yi": self.yi.tolist(),
                "vi": self.vi.tolist(),
                "fill": [bool(f) for f in self.fill],
            },
            "fit": self.fit.to_dict(),
            "pred": {
                key: (None if value is None else float(np.asarray(value)[0]))
                for key, value in pred.to_dict().items()
            },
        }


def _fisher_halving(
    yi: np.ndarray, vi: np.ndarray, X: np.ndarray, method: str, control: Control
) -> tuple[float, int]:
    """metafor's own Fisher-scoring loop for ML/REML/EB: a step that would make tau^2 negative is halved
    (not truncated), from the Hedges (HE) start, stopping when the change is <= ``threshold``; then metafor's
    check that the likelihood at tau^2 = 0 is not higher."""
    from regrow.errors import ConvergenceError

    k, p = X.shape
    tau2, _, _ = estimate_tau2("HE", yi, vi, X, control=control)
    change, iteration = control.threshold + 1.0, 0
    while change > control.threshold:
        iteration += 1
        old = tau2
        fit = wls(yi, X, 1.0 / (vi + tau2))
        if method == "ML":
            adj = (fit.yPPy - np.sum(fit.w)) / np.sum(fit.w**2)
        elif method == "REML":
            adj = (fit.yPPy - fit.trace_pd()) / fit.trace_pdpd()
        else:  # EB
            adj = (fit.rss * k / (k - p) - k) / np.sum(fit.w)
        adj = 0.0 if not np.isfinite(adj) else float(adj)
        while tau2 + adj < 0:
            adj /= 2.0
        tau2 = tau2 + adj
        change = abs(old - tau2)
        if iteration > control.maxiter:
            raise ConvergenceError(
                f"The {method} estimator did not converge in {control.maxiter} iterations "
                "(trim-and-fill refit)."
            )
    if method in ("ML", "REML") and tau2 > control.threshold:
        ll0, ll = (_loglik(yi, vi, X, t, method) for t in (0.0, tau2))
        if ll0 - ll > control.tol:
            tau2 = 0.0
    return max(0.0, float(tau2)), iteration


def _loglik(yi, vi, X, tau2: float, method: str) -> float:
    fit = wls(yi, X, 1.0 / (vi + tau2))
    k, p = X.shape
    if method == "ML":
        return float(-0.5 * k * np.log(2 * np.pi) - 0.5 * np.sum(np.log(vi + tau2)) - 0.5 * fit.rss)
    return float(
        -0.5 * (k - p) * np.log(2 * np.pi)
        - 0.5 * np.sum(np.log(vi + tau2))
        - 0.5 * fit.logdet_xwx()
        - 0.5 * fit.rss
    )


def _fit_int_only(yi, vi, res: RMAResult, control: Control) -> RMAResult:
    """Intercept-only fit as ``rma.uni(yi, vi, method = res$method)`` with the given control.

    For ML/REML/EB the tau^2 iteration follows metafor's own loop (see :func:`_fisher_halving`), which can
    stop at a slightly different point than a fully converged fit; the rest of the model is then computed
    at that tau^2 exactly as :func:`regrow.evidence._rma.fit_arrays` does.
    """
    X = np.ones((yi.size, 1))
    fit = fit_arrays(
        yi, vi, X, ["intrcpt"], method=res.method, test="z", level=95.0, control=control, with_r2=False
    )
    if res.method not in ("ML", "REML", "EB"):
        return fit
    tau2, iterations = _fisher_halving(yi, vi, X, res.method, control)
    if tau2 == fit.tau2:
        return fit
    return _at_tau2(fit, tau2, iterations)


def _at_tau2(fit: RMAResult, tau2: float, iterations: int) -> RMAResult:
    """The intercept-only z-test model ``fit`` recomputed at another tau^2 (same formulas as fit_arrays)."""
    from regrow.evidence._rma import _fit_stats
    from regrow.evidence._tau2 import _se_eb_pm

    yi, vi, X = fit.yi, fit.vi, fit.X
    w = wls(yi, X, 1.0 / (vi + tau2))
    if fit.method == "ML":
        se_tau2 = float(np.sqrt(2.0 / np.sum(w.w**2)))
    elif fit.method == "REML":
        se_tau2 = float(np.sqrt(2.0 / w.trace_pdpd()))
    else:
        se_tau2 = _se_eb_pm(yi, vi, X, tau2)
    se = np.sqrt(np.diag(w.A_inv))
    zval = w.beta / se
    crit = fit.crit()
    QM = float(w.beta[0] ** 2 / w.A_inv[0, 0])
    return replace(
        fit,
        beta=w.beta,
        se=se,
        zval=zval,
        pval=2 * stats.norm.sf(np.abs(zval)),
        ci_lb=w.beta - crit * se,
        ci_ub=w.beta + crit * se,
        vb=w.A_inv,
        tau2=tau2,
        se_tau2=se_tau2,
        I2=float(100.0 * tau2 / (tau2 + fit.vt)),
        H2=float((tau2 + fit.vt) / fit.vt),
        QM=QM,
        QMp=float(stats.chi2.sf(QM, 1)),
        weights=w.w,
        fit_stats=_fit_stats(yi, vi, X, tau2, w, fit.method),
        iterations=iterations,
    )


def trimfill(
    res: RMAResult,
    *,
    side: str | None = None,
    estimator: str = "L0",
    maxiter: int = 100,
    control: Control | None = None,
) -> TrimfillResult:
    """Duval and Tweedie's trim-and-fill method (metafor's ``trimfill``).

    Unless given, the side with missing studies is taken from the sign of the slope of the meta-regression
    of ``yi`` on ``sqrt(vi)`` with the model's estimator (a negative slope: missing on the right). The
    effects are flipped so that missing studies sit on the left, then iteratively: fit the model to the
    ``k - k0`` smallest effects, centre all effects at that estimate, rank their absolute values, and
    estimate k0 from the signed ranks:

    * L0: ``k0 = (4 S_r - k (k + 1)) / (2 k - 1)`` with ``S_r`` the sum of the positive signed ranks;
    * R0: ``k0 = k - h - 1`` with ``h`` the rightmost run of positive ranks (the largest rank of a
      negative centred effect).

    k0 is rounded and truncated at 0 each round until it stops changing. The ``k0`` largest effects are then
    mirrored about the last estimate and the model refitted to the augmented data.

    Parameters
    ----------
    res : RMAResult
        An intercept-only model.
    side : {"left", "right"}, optional
        Side of the funnel plot where studies are missing (default: estimated as metafor does).
    estimator : {"L0", "R0"}, default "L0"
    maxiter : int, default 100
        Iteration limit of the trim-and-fill loop.
    control : Control, optional
        Iteration settings of the trimmed and refitted models. Default: metafor's out-of-the-box control
        (``trimfill`` does not pass the model's own), so results agree with ``trimfill`` in R.

    Returns
    -------
    TrimfillResult

    Raises
    ------
    InputError
        A model with moderators, an unknown side or estimator.
    TooFewStudiesError
        With fewer than 3 studies.
    ConvergenceError
        When k0 does not settle within ``maxiter`` rounds.

    References
    ----------
    Duval S, Tweedie R (2000). Trim and fill: a simple funnel-plot-based method of testing and adjusting for
    publication bias in meta-analysis. Biometrics 56:455-463. doi:10.1111/j.0006-341X.2000.00455.x.
    Duval S, Tweedie R (2000). A nonparametric "trim and fill" method of accounting for publication bias in
    meta-analysis. JASA 95:89-98. doi:10.1080/01621459.2000.10473905.
    """
    from regrow.errors import ConvergenceError

    if res.p != 1 or not res.intercept:
        raise InputError(
            "Trim-and-fill applies to models without moderators; refit without mods.", field="mods"
        )
    if estimator not in ("L0", "R0"):
        raise InputError.invalid("estimator", estimator, "'L0' or 'R0'")
    if side is not None and side not in ("left", "right"):
        raise InputError.invalid("side", side, "'left', 'right' or None (estimated)")
    if res.k < 3:
        raise TooFewStudiesError(f"Trim-and-fill needs at least 3 studies; got {res.k}.")
    control = control or METAFOR_DEFAULT_CONTROL
    yi0, vi0 = np.asarray(res.yi, float), np.asarray(res.vi, float)
    if side is None:
        Xs = np.column_stack([np.ones(res.k), np.sqrt(vi0)])
        slope_fit = fit_arrays(
            yi0, vi0, Xs, ["intrcpt", "sei"], method=res.method, test="z", control=control, with_r2=False
        )
        side = "right" if slope_fit.beta[1] < 0 else "left"
    yi = -yi0 if side == "right" else yi0.copy()
    order = np.argsort(yi, kind="stable")
    yi, vi = yi[order], vi0[order]
    k = yi.size
    k0, k0_prev, iteration = 0, -1, 0
    beta = 0.0
    se_k0 = float("nan")
    while k0 != k0_prev:
        k0_prev = k0
        iteration += 1
        if iteration > maxiter:
            raise ConvergenceError(
                f"Trim-and-fill did not converge in {maxiter} iterations (last k0 = {k0})."
            )
        trimmed = _fit_int_only(yi[: k - k0], vi[: k - k0], res, control)
        beta = float(trimmed.beta[0])
        centred = yi - beta
        # rank(abs(.), ties.method = "first"): ties broken by position
        ranks = np.empty(k)
        ranks[np.argsort(np.abs(centred), kind="stable")] = np.arange(1, k + 1)
        signed = np.sign(centred) * ranks
        if estimator == "R0":
            negative = -signed[signed < 0]
            # no negative centred effect cannot happen for a weighted mean of the trimmed effects
            k0_raw = float(k - negative.max() - 1) if negative.size else -1.0
            se_k0 = float(np.sqrt(2 * max(0.0, k0_raw) + 2))
        else:
            Sr = float(np.sum(signed[signed > 0]))
            k0_raw = (4 * Sr - k * (k + 1)) / (2 * k - 1)
            var_sr = (
                k * (k + 1) * (2 * k + 1)
                + 10 * k0_raw**3
                + 27 * k0_raw**2
                + 17 * k0_raw
                - 18 * k * k0_raw**2
                - 18 * k * k0_raw
                + 6 * k**2 * k0_raw
            ) / 24
            se_k0 = float(4 * np.sqrt(var_sr) / (2 * k - 1)) if var_sr >= 0 else float("nan")
        k0 = int(max(0, _r_round(k0_raw)))
        se_k0 = max(0.0, se_k0)
    p_k0 = None
    if estimator == "R0":
        m = np.arange(-1, k0)
        from scipy.special import comb

        p_k0 = float(1 - np.sum(comb(m + 1, m + 1) * 0.5 ** (m + 2)))
    slab = list(res.slab)
    if k0 > 0:
        # mirror the k0 largest (flipped) effects about the last trimmed estimate, on the original scale
        tail = yi[k - k0 :]
        yi_fill = tail - 2 * beta if side == "right" else 2 * beta - tail
        yi_all = np.concatenate([yi0, yi_fill])
        vi_all = np.concatenate([vi0, vi[k - k0 :]])
        fill = np.concatenate([np.zeros(k, bool), np.ones(k0, bool)])
        fit = _fit_int_only(yi_all, vi_all, res, control)
        slab = slab + [f"Filled {i + 1}" for i in range(k0)]
    else:
        yi_all, vi_all, fill, fit = yi0.copy(), vi0.copy(), np.zeros(k, bool), res
    return TrimfillResult(
        k0=k0,
        se_k0=float(se_k0),
        side=side,
        estimator=estimator,
        p_k0=p_k0,
        yi=yi_all,
        vi=vi_all,
        fill=fill,
        slab=slab,
        fit=fit,
        original=res,
    )


def _r_round(x: float) -> float:
    """R's ``round`` (half to even, like numpy)."""
    return float(np.round(x))


# ----------------------------------------------------------------------------------------------------------
# Fail-safe N
# ----------------------------------------------------------------------------------------------------------


FSN_TYPES = ("Rosenthal", "Orwin", "Rosenberg")


@dataclass(frozen=True)
class FsnResult:
    """Result of :func:`fsn`: the fail-safe number and what it was computed from."""

    type: str
    fsnum: int | float
    alpha: float
    pval: float | None
    meanes: float | None
    target: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "fsnum": self.fsnum,
            "alpha": self.alpha,
            "pval": self.pval,
            "meanes": self.meanes,
            "target": self.target,
        }


def fsn(
    data,
    vi=None,
    *,
    type: str = "Rosenthal",
    alpha: float = 0.05,
    target: float | None = None,
    weighted: bool = False,
) -> FsnResult:
    """Fail-safe N: how many unpublished null studies would overturn the result (metafor's ``fsn``).

    * Rosenthal (Stouffer): ``z = |sum(y_i / sqrt(v_i))| / sqrt(k)``, p = one-sided normal tail of z,
      ``N = max(0, k (z / z_{1-alpha})^2 - k)``.
    * Orwin: ``N = max(0, k (mean - target) / target)`` with the (unweighted, or 1/v-weighted) mean effect;
      ``target`` defaults to half the mean.
    * Rosenberg: with the fixed-effect estimate, ``w.p = (sum w y / z_{1-alpha/2})^2 - sum w`` and
      ``N = max(0, k w.p / sum w)``; p is the two-sided p-value of the fixed-effect estimate.

    Non-integer N are rounded up (metafor's ``ceiling``).

    Parameters
    ----------
    data : RMAResult or array-like
        A fitted model (its yi and vi) or the effect sizes.
    vi : array-like, optional
        Sampling variances.
    type : {"Rosenthal", "Orwin", "Rosenberg"}, default "Rosenthal"
    alpha : float, default 0.05
        Significance level (one-sided for Rosenthal, two-sided for Rosenberg).
    target : float, optional
        Orwin's target effect (default half the mean effect).
    weighted : bool, default False
        Orwin with the inverse-variance weighted mean.

    Returns
    -------
    FsnResult

    Raises
    ------
    InputError
        Unknown type, alpha outside (0, 1), bad arrays.

    References
    ----------
    Rosenthal R (1979). The file drawer problem and tolerance for null results. Psychol Bull 86:638-641.
    doi:10.1037/0033-2909.86.3.638. Orwin RG (1983). A fail-safe N for effect size in meta-analysis.
    J Educ Stat 8:157-159. doi:10.3102/10769986008002157. Rosenberg MS (2005). The file-drawer problem
    revisited. Evolution 59:464-468. doi:10.1111/j.0014-3820.2005.tb01004.x.
    """
    if type not in FSN_TYPES:
        raise InputError.invalid("type", type, "one of " + ", ".join(FSN_TYPES))
    if not (0 < alpha < 1):
        raise InputError.invalid("alpha", alpha, "a significance level in (0, 1)")
    yi, vi = _yi_vi(data, vi)
    k = yi.size
    if k < 1:
        raise TooFewStudiesError("Fail-safe N needs at least one study.")
    pval = meanes = None
    if type == "Rosenthal":
        z_avg = abs(float(np.sum(yi / np.sqrt(vi))) / np.sqrt(k))
        pval = float(stats.norm.sf(z_avg))
        fsnum = max(0.0, k * (z_avg / stats.norm.isf(alpha)) ** 2 - k)
        target = None
    elif type == "Orwin":
        meanes = float(np.sum(yi / vi) / np.sum(1 / vi)) if weighted else float(np.mean(yi))
        if target is None:
            target = meanes / 2
        target = float(target)
        if target == 0:
            fsnum = float("inf")
        else:
            if np.sign(target) != np.sign(meanes):
                target = -target
            fsnum = max(0.0, k * (meanes - target) / target)
    else:
        wi = 1.0 / vi
        meanes = float(np.sum(wi * yi) / np.sum(wi))
        zval = meanes / np.sqrt(1.0 / np.sum(wi))
        wp = (np.sum(wi * yi) / stats.norm.isf(alpha / 2)) ** 2 - np.sum(wi)
        pval = float(2 * stats.norm.sf(abs(zval)))
        fsnum = max(0.0, k * float(wp) / float(np.sum(wi)))
        target = None
    if np.isfinite(fsnum):
        fsnum = (
            int(np.ceil(fsnum)) if abs(fsnum - round(fsnum)) >= np.sqrt(np.finfo(float).eps) else round(fsnum)
        )
    return FsnResult(type=type, fsnum=fsnum, alpha=float(alpha), pval=pval, meanes=meanes, target=target)
