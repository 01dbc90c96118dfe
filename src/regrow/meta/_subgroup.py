"""Subgroup analysis: pooled effects per level of a categorical study characteristic and the test for subgroup
differences, both ways reviewers report it.

* Separate tau^2 (Cochrane Handbook / RevMan, R ``meta``): the model is fitted within each subgroup, and the
  subgroup estimates are compared with a fixed-effect Q-between test on ``k_levels - 1`` df.
* Common tau^2 (metafor): a meta-regression on the factor, whose omnibus QM test is the test for subgroup
  differences; the level estimates come from the same model without an intercept (``mods = ~ factor - 1``).

References: Borenstein M, Higgins JPT (2013). Meta-analysis and subgroups. Prev Sci 14:134-143.
doi:10.1007/s11121-013-0377-7. Deeks JJ, Higgins JPT, Altman DG (2022). Cochrane Handbook chapter 10.11.
Viechtbauer W (2010) doi:10.18637/jss.v036.i03.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from regrow.errors import InputError
from regrow.meta._design import design_matrix
from regrow.meta._dist import chi2_sf
from regrow.meta._influence import single_study_fit
from regrow.meta._linalg import wls
from regrow.meta._rma import Prediction, RMAResult, effect_arrays, fit_arrays
from regrow.meta._tau2 import Control

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CommonTau2",
    "LevelFit",
    "SubgroupAnalysis",
    "SubgroupDifferences",
    "SubgroupTest",
    "subgroup",
    "subgroup_difference_test",
]


@dataclass(frozen=True)
class LevelFit:
    """The model fitted within one subgroup (separate tau^2); ``prediction`` is its pooled effect with CI
    and, for random effects, prediction interval."""

    level: str
    k: int
    estimate: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float
    tau2: float
    I2: float
    H2: float
    QE: float
    QEp: float
    prediction: Prediction
    model: RMAResult = field(repr=False)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = {
            name: getattr(self, name)
            for name in (
                "k",
                "estimate",
                "se",
                "zval",
                "pval",
                "ci_lb",
                "ci_ub",
                "tau2",
                "I2",
                "H2",
                "QE",
                "QEp",
            )
        }
        out["predict"] = self.prediction.to_dict()
        out["warnings"] = list(self.warnings)
        return out


@dataclass(frozen=True)
class SubgroupDifferences:
    """Fixed-effect test of equal subgroup means on the separate-tau^2 estimates:
    ``Q_between = sum (theta_j - theta_FE)^2 / se_j^2`` ~ chi^2 with ``df = levels - 1``;
    ``I2_between = 100 max(0, (Q - df) / Q)``."""

    Q_between: float
    df: int
    pval: float
    I2_between: float

    def to_dict(self) -> dict[str, Any]:
        return {"Q_between": self.Q_between, "df": self.df, "pval": self.pval, "I2_between": self.I2_between}


@dataclass(frozen=True)
class CommonTau2:
    """Meta-regression on the factor (one tau^2 for all subgroups).

    ``QM``/``QMp`` test the subgroup differences (an F test with ``QMdf = (m, k - p)`` for knha/adhoc);
    ``beta``, ``se``, ... are the level estimates of the no-intercept model, keyed by level.
    """

    QM: float
    QMdf: tuple[int, int | None]
    QMp: float
    tau2: float
    I2: float
    R2: float | None
    QE: float
    QEp: float
    levels: list[str]
    beta: np.ndarray
    se: np.ndarray
    zval: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    tau2_levels: float
    model: RMAResult = field(repr=False)
    model_levels: RMAResult = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        by_level = {
            name: dict(zip(self.levels, map(float, getattr(self, name)), strict=True))
            for name in ("beta", "se", "zval", "pval", "ci_lb", "ci_ub")
        }
        by_level["tau2"] = self.tau2_levels
        return {
            "moderator_test": {
                "QM": self.QM,
                "QMdf": list(self.QMdf),
                "QMp": self.QMp,
                "tau2": self.tau2,
                "I2": self.I2,
                "R2": self.R2,
                "QE": self.QE,
                "QEp": self.QEp,
            },
            "level_estimates": by_level,
        }


@dataclass(frozen=True)
class SubgroupAnalysis:
    """Result of :func:`subgroup`."""

    variable: str
    method: str
    test: str
    levels: list[str]
    n_per_level: dict[str, int]
    group_per_study: list[str]
    separate: dict[str, LevelFit]
    differences: SubgroupDifferences
    common: CommonTau2

    def to_dict(self) -> dict[str, Any]:
        return {
            "variable": self.variable,
            "method": self.method,
            "test": self.test,
            "levels": list(self.levels),
            "n_per_level": dict(self.n_per_level),
            "group_per_study": list(self.group_per_study),
            "separate_tau2": {
                "per_level": {name: fit.to_dict() for name, fit in self.separate.items()},
                "test_for_subgroup_differences": self.differences.to_dict(),
            },
            "common_tau2": self.common.to_dict(),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per level: the separate-tau^2 fit and the common-tau^2 level estimate side by side."""
        import pandas as pd

        rows = []
        for j, name in enumerate(self.levels):
            fit = self.separate[name]
            rows.append(
                {
                    "level": name,
                    "k": fit.k,
                    "estimate": fit.estimate,
                    "se": fit.se,
                    "ci_lb": fit.ci_lb,
                    "ci_ub": fit.ci_ub,
                    "pval": fit.pval,
                    "tau2": fit.tau2,
                    "I2": fit.I2,
                    "common_estimate": self.common.beta[j],
                    "common_se": self.common.se[j],
                    "common_ci_lb": self.common.ci_lb[j],
                    "common_ci_ub": self.common.ci_ub[j],
                }
            )
        return pd.DataFrame(rows).set_index("level")


def _levels(groups, k: int) -> tuple[pd.Categorical, list[str]]:
    """Level labels in R's factor order: categorical order if given, numbers numerically, text sorted."""
    import pandas as pd

    series = groups if isinstance(groups, pd.Series) else pd.Series(list(groups))
    if len(series) != k:
        raise InputError(
            f"groups has {len(series)} values but there are {k} studies.", field="groups", value=len(series)
        )
    missing = series.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0]) + 1
        raise InputError(f"groups is missing in row {row}.", field="groups")
    if isinstance(series.dtype, pd.CategoricalDtype):
        present = set(series.astype(str))
        levels = [str(c) for c in series.cat.categories if str(c) in present]
    elif pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        levels = [str(v) for v in sorted(series.unique())]
    else:
        levels = sorted({str(v) for v in series})
    labels = series.astype(str).to_numpy()
    return pd.Categorical(labels, categories=levels), levels


def _fe_r2(yi: np.ndarray, vi: np.ndarray, X: np.ndarray) -> float:
    """metafor's R^2 for fixed-effect meta-regression: ``max(0, 100 * adjusted R^2)`` of the weighted least
    squares regression ``lm(yi ~ X, weights = 1/vi)``."""
    w = 1.0 / vi
    k, p = X.shape
    rss = wls(yi, X, w).rss
    tss = wls(yi, np.ones((k, 1)), w).rss
    if tss <= 0:
        return 0.0
    adj = 1.0 - (rss / (k - p)) / (tss / (k - 1))
    return float(max(0.0, 100.0 * adj))


def subgroup(
    yi,
    vi,
    groups: Sequence[Any] | pd.Series,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
    control: Control | None = None,
    variable: str = "group",
) -> SubgroupAnalysis:
    """Subgroup analysis with separate and with common tau^2, and the test for subgroup differences.

    Separate tau^2: within each level j the model gives ``theta_j`` and ``se_j``; subgroup differences are
    tested by ``Q_between = sum w_j (theta_j - theta_bar)^2``, ``w_j = 1/se_j^2``, ``theta_bar`` the
    w-weighted mean, against chi^2 with L - 1 df (L levels). A one-study subgroup is metafor's k = 1 model
    (tau^2 = 0, z test). Common tau^2: ``rma(yi, vi, mods = ~ factor)``, the omnibus QM test of the level
    contrasts, with level estimates from ``mods = ~ factor - 1``.

    Parameters
    ----------
    yi, vi : array-like of shape (k,)
        Effect sizes and sampling variances (vi > 0).
    groups : sequence of length k
        Subgroup label per study. Levels are ordered like R's ``factor``: the categories of a pandas
        Categorical, numbers numerically, text alphabetically.
    method : str, default "REML"
        tau^2 estimator (or "FE"), for the per-level fits and the meta-regression.
    test : {"z", "knha", "adhoc"}, default "z"
        Coefficient test of the per-level fits and the meta-regression (the Q-between test is always the
        chi^2 test).
    level : float, default 95
        Confidence level in percent.
    control : Control, optional
    variable : str, default "group"
        Name of the grouping variable (names the meta-regression coefficients, e.g. ``allocrandom``).

    Returns
    -------
    SubgroupAnalysis

    Raises
    ------
    InputError
        For missing labels, fewer than two levels, or bad yi/vi.
    TooFewStudiesError
        When the meta-regression has no residual degrees of freedom (as many levels as studies).

    References
    ----------
    Borenstein & Higgins (2013) doi:10.1007/s11121-013-0377-7; Viechtbauer (2010) doi:10.18637/jss.v036.i03.
    """
    import pandas as pd

    yi, vi = effect_arrays(yi, vi)
    k = yi.shape[0]
    factor, levels = _levels(groups, k)
    if len(levels) < 2:
        raise InputError.invalid("groups", levels, "labels with at least two different subgroups")
    labels = np.asarray(factor.astype(str))
    control = control or Control()

    separate: dict[str, LevelFit] = {}
    for name in levels:
        rows = np.flatnonzero(labels == name)
        if rows.size == 1:
            fit = single_study_fit(yi[rows[0]], vi[rows[0]], method=method, level=level, control=control)
        else:
            fit = fit_arrays(
                yi[rows],
                vi[rows],
                np.ones((rows.size, 1)),
                ["intrcpt"],
                method=method,
                test=test,
                level=level,
                control=control,
                with_r2=False,
            )
        separate[name] = LevelFit(
            level=name,
            k=int(rows.size),
            estimate=float(fit.beta[0]),
            se=float(fit.se[0]),
            zval=float(fit.zval[0]),
            pval=float(fit.pval[0]),
            ci_lb=float(fit.ci_lb[0]),
            ci_ub=float(fit.ci_ub[0]),
            tau2=fit.tau2,
            I2=fit.I2,
            H2=fit.H2,
            QE=fit.QE,
            QEp=fit.QEp,
            prediction=fit.predict(),
            model=fit,
            warnings=list(fit.warnings),
        )

    est = np.array([separate[n].estimate for n in levels])
    se = np.array([separate[n].se for n in levels])
    Qb = wls(est, np.ones((len(levels), 1)), 1.0 / se**2).rss
    dfb = len(levels) - 1
    differences = SubgroupDifferences(
        Q_between=float(Qb),
        df=dfb,
        pval=float(chi2_sf(Qb, dfb)),
        I2_between=float(max(0.0, (Qb - dfb) / Qb) * 100.0) if Qb > 0 else 0.0,
    )

    mods = pd.DataFrame({variable: factor})
    X, names = design_matrix(mods, k, intercept=True)
    model = fit_arrays(yi, vi, X, names, method=method, test=test, level=level, control=control)
    X0, names0 = design_matrix(mods, k, intercept=False)
    model0 = fit_arrays(
        yi,
        vi,
        X0,
        names0,
        method=method,
        test=test,
        level=level,
        control=control,
        intercept=False,
        with_r2=False,
    )
    R2 = _fe_r2(yi, vi, X) if method.upper() == "FE" else model.R2
    common = CommonTau2(
        QM=model.QM,
        QMdf=model.QMdf,
        QMp=model.QMp,
        tau2=model.tau2,
        I2=model.I2,
        R2=R2,
        QE=model.QE,
        QEp=model.QEp,
        levels=list(levels),
        beta=model0.beta,
        se=model0.se,
        zval=model0.zval,
        pval=model0.pval,
        ci_lb=model0.ci_lb,
        ci_ub=model0.ci_ub,
        tau2_levels=model0.tau2,
        model=model,
        model_levels=model0,
    )
    return SubgroupAnalysis(
        variable=variable,
        method=model.method,
        test=test,
        levels=list(levels),
        n_per_level={n: separate[n].k for n in levels},
        group_per_study=list(labels),
        separate=separate,
        differences=differences,
        common=common,
    )


@dataclass(frozen=True)
class SubgroupTest:
    """Test for subgroup differences: Q between the subgroup estimates (fixed-effect weights)."""

    Q: float
    df: int
    pval: float

    def to_dict(self) -> dict[str, float]:
        return {"Q": self.Q, "df": self.df, "pval": self.pval}


def subgroup_difference_test(estimates: Sequence[float], ses: Sequence[float]) -> SubgroupTest:
    """Cochran's Q across subgroup estimates: ``Q = sum w_g (b_g - b_w)^2``, ``w_g = 1 / se_g^2``.

    With ``G`` subgroups, ``Q ~ chi^2_{G-1}`` under no difference (the "separate tau^2" test that RevMan
    and R's meta report).

    Parameters
    ----------
    estimates, ses : sequence of float
        The subgroup pooled estimates and their standard errors (at least two subgroups).

    Returns
    -------
    SubgroupTest

    Raises
    ------
    InputError
        With fewer than two subgroups or non-positive standard errors.

    References
    ----------
    Borenstein M, Higgins JPT (2013). Meta-analysis and subgroups. Prev Sci 14:134-143.
    doi:10.1007/s11121-013-0377-7
    """
    b = np.asarray(estimates, dtype=float)
    se = np.asarray(ses, dtype=float)
    if b.size < 2 or b.shape != se.shape:
        raise InputError.invalid(
            "subgroups", int(b.size), "at least two subgroups with an estimate and an SE"
        )
    if np.any(~np.isfinite(se)) or np.any(se <= 0):
        raise InputError.invalid("ses", se.tolist(), "positive finite standard errors")
    w = 1.0 / se**2
    pooled = np.sum(w * b) / np.sum(w)
    Q = float(np.sum(w * (b - pooled) ** 2))
    df = int(b.size - 1)
    return SubgroupTest(Q=Q, df=df, pval=float(chi2_sf(Q, df)))
