"""Small-study and publication-bias diagnostics, agreeing with metafor 3.8-1.

* :func:`regtest`: Egger's regression test for funnel-plot asymmetry (metafor's ``regtest``), as a
  meta-regression on a precision predictor (``model="rma"``) or the classic weighted least-squares
  regression with a multiplicative dispersion term (``model="lm"``), with the limit estimate.
* :func:`ranktest`: Begg and Mazumdar's rank correlation test.

Trim-and-fill is in :mod:`regrow.meta._trimfill`, fail-safe N in :mod:`regrow.meta._fsn`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from regrow.errors import InputError, TooFewStudiesError
from regrow.meta._dist import t_ppf, t_sf
from regrow.meta._linalg import wls
from regrow.meta._rma import RMAResult, fit_arrays

__all__ = [
    "REGTEST_MODELS",
    "REGTEST_PREDICTORS",
    "RanktestResult",
    "RegtestResult",
    "ranktest",
    "regtest",
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
    pvals = 2 * t_sf(np.abs(tval), df)
    est = ci_lb = ci_ub = None
    if has_limit:
        crit = float(t_ppf(1 - res.alpha / 2, df))
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
    from scipy import stats  # Kendall's tau only here: scipy.stats is slow to import

    result = stats.kendalltau(ystar, vi, method="exact" if exact else "asymptotic")
    return RanktestResult(
        tau=float(result.statistic), pval=float(result.pvalue), exact=exact, k=k, warnings=warnings
    )
