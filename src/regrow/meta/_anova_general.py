"""``anova`` for ``rma`` fits, as metafor 3.8-1's ``anova.rma``: Wald tests of coefficient subsets
(``btt`` by position or by name), of linear combinations of the coefficients (``X``, with ``rhs``), and the
comparison of a full and a reduced model (likelihood-ratio test, fit statistics, pseudo R^2).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from regrow.errors import InputError
from regrow.meta._dist import chi2_sf, f_sf, norm_sf, t_sf
from regrow.meta._rma_result import RMAResult
from regrow.meta._tau2 import EQUAL_EFFECTS

__all__ = ["AnovaResult", "anova", "resolve_btt"]


@dataclass(frozen=True)
class AnovaResult:
    """One test of :func:`anova`: ``type`` is "Wald.btt", "Wald.Xb" or "LRT" (metafor's names)."""

    type: str
    QM: float = float("nan")
    QMdf: tuple[int, int | None] = (0, None)
    QMp: float = float("nan")
    btt: tuple[int, ...] = ()
    hyp: list[str] = field(default_factory=list)
    Xb: np.ndarray | None = None
    se: np.ndarray | None = None
    zval: np.ndarray | None = None
    pval: np.ndarray | float | None = None
    LRT: float = float("nan")
    df: int = 0
    parms_f: int = 0
    parms_r: int = 0
    fit_stats_f: dict[str, float] = field(default_factory=dict)
    fit_stats_r: dict[str, float] = field(default_factory=dict)
    QE_f: float = float("nan")
    QE_r: float = float("nan")
    tau2_f: float = float("nan")
    tau2_r: float = float("nan")
    R2: float | None = None
    test: str = "z"
    warnings: list[str] = field(default_factory=list)
    ddf: Any = None  # degrees of freedom of each Xb test (robust fits)

    @property
    def QS(self) -> float:
        """metafor's name of QM for tests of the scale coefficients of a location-scale model."""
        return self.QM

    @property
    def QSp(self) -> float:
        return self.QMp

    @property
    def Za(self) -> np.ndarray | None:
        return self.Xb

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def resolve_btt(btt: Any, res: RMAResult) -> tuple[int, ...]:
    """0-based coefficient positions from positions, a name pattern (regular expression, as R's ``grep``),
    or None (all but the intercept)."""
    p = res.p
    if btt is None:
        return tuple(range(1, p)) if (res.intercept and p > 1) else tuple(range(p))
    if isinstance(btt, str):
        found = tuple(j for j, name in enumerate(res.coef_names) if re.search(btt, name))
        if not found:
            raise InputError.invalid(
                "btt", btt, "a pattern matching a coefficient name: " + ", ".join(res.coef_names)
            )
        return found
    idx = sorted({int(np.round(j)) for j in np.atleast_1d(btt)})
    if not idx or idx[0] < 0 or idx[-1] >= p:
        raise InputError.invalid(
            "btt", list(np.atleast_1d(btt)), f"0-based coefficient positions in [0, {p - 1}]"
        )
    return tuple(idx)


def _wald(res: RMAResult, btt, rhs) -> AnovaResult:
    idx = resolve_btt(btt, res)
    m = len(idx)
    b = res.beta[list(idx)] - (
        np.zeros(m) if rhs is None else np.broadcast_to(np.asarray(rhs, dtype=float), (m,))
    )
    try:
        half = np.linalg.solve(np.linalg.cholesky(res.vb[np.ix_(idx, idx)]), b)
        QM = float(half @ half)
    except np.linalg.LinAlgError:
        QM = float("nan")
    if res.ddf is None:
        return AnovaResult(
            "Wald.btt", QM=QM, QMdf=(m, None), QMp=float(chi2_sf(QM, m)), btt=idx, test=res.test
        )
    return AnovaResult(
        "Wald.btt", QM=QM / m, QMdf=(m, res.ddf), QMp=float(f_sf(QM / m, m, res.ddf)), btt=idx, test=res.test
    )


def _contrasts(res: RMAResult, X, rhs) -> AnovaResult:
    L = np.atleast_2d(np.asarray(X, dtype=float))
    if res.intercept and L.shape[1] == res.p - 1:
        L = np.column_stack([np.ones(L.shape[0]), L])
    if L.shape[1] != res.p:
        raise InputError(
            f"X has {L.shape[1]} columns; the model has {res.p} coefficients.", field="X", value=L.shape[1]
        )
    m = L.shape[0]
    r = np.zeros(m) if rhs is None else np.broadcast_to(np.asarray(rhs, dtype=float), (m,))
    Xb = L @ res.beta - r
    V = L @ res.vb @ L.T
    se = np.sqrt(np.diag(V))
    zval = Xb / se
    if res.ddf is None:
        pval = 2 * norm_sf(np.abs(zval))
    else:
        pval = 2 * t_sf(np.abs(zval), res.ddf) if res.ddf > 0 else np.full(m, np.nan)
    QM, QMdf, QMp = float("nan"), (m, res.ddf), float("nan")
    if np.linalg.matrix_rank(L) == m:
        try:
            half = np.linalg.solve(np.linalg.cholesky(V), Xb)
            QM = float(half @ half)
        except np.linalg.LinAlgError:
            pass
        if res.ddf is None:
            QMdf, QMp = (m, None), float(chi2_sf(QM, m))
        else:
            QM /= m
            QMp = float(f_sf(QM, m, res.ddf)) if res.ddf > 0 else float("nan")
    hyp = []
    for j in range(m):
        terms = [f"{c:g}*{name}" for c, name in zip(L[j], res.coef_names, strict=True) if c != 0]
        hyp.append(" + ".join(terms).replace("+ -", "- ") + f" = {r[j]:g}")
    return AnovaResult(
        "Wald.Xb", QM=QM, QMdf=QMdf, QMp=QMp, hyp=hyp, Xb=Xb, se=se, zval=zval, pval=pval, test=res.test
    )


def _compare(a: RMAResult, b: RMAResult) -> AnovaResult:
    full, reduced = (a, b) if a.parms >= b.parms else (b, a)
    if full.parms == reduced.parms:
        raise InputError(
            "The models have the same number of parameters: a likelihood-ratio test is not meaningful."
        )
    if full.yi.shape != reduced.yi.shape or not (
        np.array_equal(full.yi, reduced.yi) and np.array_equal(full.vi, reduced.vi)
    ):
        raise InputError(
            "The full and the reduced model were not fitted to the same effect sizes and variances."
        )
    if full.method in EQUAL_EFFECTS and reduced.method not in EQUAL_EFFECTS:
        raise InputError("The full model has no tau^2 but the reduced model has one; compare like with like.")
    if {full.method, reduced.method} == {"ML", "REML"}:
        raise InputError(f"Mismatch between {full.method} and {reduced.method} estimation in the two models.")
    warnings: list[str] = []
    likelihood = ("EE", "CE", "FE", "ML", "REML")
    if full.method not in likelihood or reduced.method not in likelihood:
        warnings.append("Likelihood-ratio tests should be based on ML or REML estimation.")
    if full.method == "REML" and not np.array_equal(full.X, reduced.X):
        warnings.append(
            "REML comparisons are not meaningful for models with different fixed effects (refit both with "
            "method='ML')."
        )
    key = "REML" if full.method == "REML" else "ML"
    LRT = max(0.0, reduced.fit_stats[key]["dev"] - full.fit_stats[key]["dev"])
    df = full.parms - reduced.parms
    scale_models = hasattr(full, "alpha_coef") or hasattr(reduced, "alpha_coef")
    if scale_models:
        R2 = None
    elif full.method in EQUAL_EFFECTS:
        from regrow.meta._linalg import wls

        def s2(res: RMAResult) -> float:
            w = (
                (res.user_weights if res.user_weights is not None else 1.0 / res.vi)
                if res.weighted
                else np.ones(res.k)
            )
            return wls(res.yi, res.X, w).rss / (res.k - res.p)

        s2f, s2r = s2(full), s2(reduced)
        R2 = 100 * max(0.0, (s2r - s2f) / s2r)
    elif reduced.tau2 == 0:
        R2 = 0.0
    else:
        R2 = 100 * max(0.0, (reduced.tau2 - full.tau2) / reduced.tau2)
    return AnovaResult(
        "LRT",
        LRT=LRT,
        df=df,
        pval=float(chi2_sf(LRT, df)),
        parms_f=full.parms,
        parms_r=reduced.parms,
        fit_stats_f=dict(full.fit_stats[key]),
        fit_stats_r=dict(reduced.fit_stats[key]),
        QE_f=full.QE,
        QE_r=reduced.QE,
        tau2_f=float("nan") if scale_models else full.tau2,
        tau2_r=float("nan") if scale_models else reduced.tau2,
        R2=R2,
        warnings=warnings,
    )


def _scale_part(res: Any) -> Any:
    """The scale coefficients of a location-scale model, shaped like a fit for the Wald helpers."""
    from types import SimpleNamespace

    if not hasattr(res, "alpha_coef"):
        raise InputError(
            "att and Z test the scale part of a location-scale model (rma with scale=).", field="att"
        )
    return SimpleNamespace(
        beta=res.alpha_coef, vb=res.va, p=res.q, intercept=res.z_intercept, coef_names=res.z_names,
        ddf=res.ddf_alpha, test=res.test,
    )  # fmt: skip


def anova(
    res: RMAResult,
    res2: RMAResult | None = None,
    *,
    btt: Any = None,
    X: Any = None,
    rhs: float | Sequence[float] | None = None,
    att: Any = None,
    Z: Any = None,
) -> AnovaResult | list[AnovaResult]:
    """Tests of a fitted model, or the comparison of two nested models (metafor's ``anova.rma``).

    * ``anova(res, btt=...)``: Wald test that the coefficients ``btt`` equal ``rhs`` (default 0): QM on
      chi^2(m), or F(m, k - p) for knha/adhoc. ``btt`` is 0-based positions or a regular expression matched
      against the coefficient names (``"alloc"`` picks every ``alloc...`` dummy); a list gives one test per
      entry.
    * ``anova(res, X=...)``: each linear combination ``X b - rhs`` with its SE, z (or t) and p value, and
      their joint test (QM) when the rows of ``X`` are independent. A row without the intercept column is
      completed with 1 for models with an intercept.
    * ``anova(full, reduced)``: likelihood-ratio test on the ML (or REML) deviances, with the fit statistics,
      QE and tau^2 of both and the pseudo R^2 ``100 (tau2_r - tau2_f) / tau2_r``.

    Parameters
    ----------
    res : RMAResult
    res2 : RMAResult, optional
        The other model of a comparison.
    btt : int sequence, str, or list of those, optional
    X : array-like of shape (m, p) or (p,), optional
    rhs : float or sequence, optional
    att, Z : optional
        The same as ``btt`` and ``X`` for the scale coefficients of a location-scale model (results named
        QS, QSp, Za as in metafor).

    Returns
    -------
    AnovaResult or list of AnovaResult

    Raises
    ------
    InputError
        Unknown coefficients, a matrix of the wrong shape, models that are not nested fits of the same data.
    """
    if (att is not None or Z is not None) and (btt is not None or X is not None):
        raise InputError("Test either the location (btt, X) or the scale coefficients (att, Z), not both.")
    if (btt is not None and att is not None) or (X is not None and Z is not None):
        raise InputError("Give only one of btt/att or X/Z.")
    if Z is not None:
        return _contrasts(_scale_part(res), Z, rhs)
    if att is not None:
        return _wald(_scale_part(res), att, rhs)
    if res2 is not None:
        return _compare(res, res2)
    if X is not None:
        return _contrasts(res, X, rhs)
    if isinstance(btt, list) and any(isinstance(b, str | list | tuple | range | np.ndarray) for b in btt):
        if rhs is not None:
            raise InputError("rhs cannot be used with a list of btt entries.", field="rhs")
        return [_wald(res, b, None) for b in btt]
    return _wald(res, btt, rhs)
