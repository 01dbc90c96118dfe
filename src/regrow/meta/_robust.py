"""Cluster-robust (sandwich) inference for a fitted model, agreeing with metafor 3.8-1's ``robust``.

For a weighted fit ``b = (X'WX)^-1 X'W y`` (``W = diag(1/(v_i + tau2))``) the robust variance is
``V_R = c B M B'`` with bread ``B = Vb X'W`` (``Vb`` the model's variance of ``b``), meat
``M = blockdiag_j(e_j e_j')`` over clusters j of residuals ``e = y - X b`` and, with ``adjust``, the
small-sample factor ``c = n / (n - p)`` (n clusters; the "CR1"/HC1-type estimator). Tests use t with
``n - p`` df and the omnibus test F with ``(m, n - p)`` df.

Everything is computed with per-cluster score sums ``s_j = X_j' W_j e_j`` (``B M B' = Vb (sum_j s_j s_j')
Vb``): O(k p^2), no k x k matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from regrow.errors import InputError, TooFewStudiesError
from regrow.meta._dist import f_sf, t_ppf, t_sf
from regrow.meta._rma import RMAResult

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RobustResult", "robust"]


@dataclass(frozen=True)
class RobustResult:
    """Cluster-robust coefficient table (:func:`robust`).

    Attributes
    ----------
    coef_names : list of str
    beta, se, tval, pval, ci_lb, ci_ub : numpy.ndarray
        Estimates (unchanged), robust SEs, t statistics on ``dfs`` df, p-values and CIs.
    vb : numpy.ndarray
        Robust variance-covariance matrix of the coefficients.
    dfs : int
        ``n_clusters - p``.
    QM, QMp : float
        Omnibus Wald test of the coefficients ``btt`` as an F statistic on ``QMdf`` df.
    QMdf : tuple of int
    n_clusters : int
    vbest : {"CR0", "CR1"}
        Without or with the small-sample adjustment.
    level : float
    """

    coef_names: list[str]
    beta: np.ndarray
    se: np.ndarray
    tval: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    vb: np.ndarray
    dfs: int
    QM: float
    QMp: float
    QMdf: tuple[int, int]
    n_clusters: int
    vbest: str
    level: float

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            {
                "estimate": self.beta,
                "se": self.se,
                "tval": self.tval,
                "pval": self.pval,
                "ci_lb": self.ci_lb,
                "ci_ub": self.ci_ub,
            },
            index=pd.Index(self.coef_names, name="name"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "coefficients": [
                {
                    "name": n,
                    "estimate": float(self.beta[j]),
                    "se": float(self.se[j]),
                    "tval": float(self.tval[j]),
                    "pval": float(self.pval[j]),
                    "ci_lb": float(self.ci_lb[j]),
                    "ci_ub": float(self.ci_ub[j]),
                }
                for j, n in enumerate(self.coef_names)
            ],
            "dfs": self.dfs,
            "QM": self.QM,
            "QMp": self.QMp,
            "QMdf": list(self.QMdf),
            "n_clusters": self.n_clusters,
            "vbest": self.vbest,
            "vb": self.vb.tolist(),
            "level": self.level,
        }


def robust(res: RMAResult, cluster: Sequence[Any] | np.ndarray, *, adjust: bool = True) -> RobustResult:
    """Cluster-robust tests and confidence intervals for a fitted model (metafor's ``robust.rma.uni``).

    Parameters
    ----------
    res : RMAResult
        The fitted model.
    cluster : sequence of length k
        Cluster identifier of each study (studies from the same trial, lab or author group share one);
        one cluster per study gives the heteroscedasticity-consistent (HC) estimator.
    adjust : bool, default True
        Multiply by ``n / (n - p)`` (n clusters, p coefficients), as metafor does by default.

    Returns
    -------
    RobustResult

    Raises
    ------
    InputError
        When ``cluster`` has the wrong length or missing values.
    TooFewStudiesError
        When there are not more clusters than coefficients.

    References
    ----------
    Hedges LV, Tipton E, Johnson MC (2010). Robust variance estimation in meta-regression with dependent
    effect size estimates. Res Synth Methods 1:39-65. doi:10.1002/jrsm.5. White H (1980). Econometrica
    48:817-838. doi:10.2307/1912934.
    """
    import pandas as pd

    if not isinstance(adjust, bool | np.bool_):
        raise InputError.invalid("adjust", adjust, "True or False")
    labels = pd.Series(list(cluster) if not isinstance(cluster, np.ndarray) else cluster)
    if len(labels) != res.k:
        raise InputError(
            f"cluster has {len(labels)} values but the model has {res.k} studies.",
            field="cluster",
            value=len(labels),
        )
    if labels.isna().any():
        row = int(np.flatnonzero(labels.isna().to_numpy())[0]) + 1
        raise InputError(f"cluster is missing in row {row}.", field="cluster")
    codes, uniques = pd.factorize(labels, sort=True)
    n = len(uniques)
    p = res.p
    dfs = n - p
    if dfs <= 0:
        raise TooFewStudiesError(
            f"{n} clusters cannot support robust tests of {p} coefficient(s): need {p + 1}."
        )
    w = 1.0 / (res.vi + res.tau2)
    e = res.yi - res.X @ res.beta
    scores_i = res.X * (w * e)[:, None]
    scores = np.zeros((n, p))
    np.add.at(scores, codes, scores_i)
    meat = scores.T @ scores
    vb = res.vb @ meat @ res.vb
    vbest = "CR0"
    if adjust:
        vb = vb * (n / dfs)
        vbest = "CR1"
    vb = (vb + vb.T) / 2
    se = np.sqrt(np.diag(vb))
    tval = res.beta / se
    pval = 2 * t_sf(np.abs(tval), dfs)
    crit = float(t_ppf(1 - res.alpha / 2, dfs))
    btt = list(res.btt)
    b = res.beta[btt]
    m = len(btt)
    QM = float(b @ np.linalg.solve(vb[np.ix_(btt, btt)], b)) / m
    return RobustResult(
        coef_names=list(res.coef_names),
        beta=res.beta.copy(),
        se=se,
        tval=tval,
        pval=pval,
        ci_lb=res.beta - crit * se,
        ci_ub=res.beta + crit * se,
        vb=vb,
        dfs=dfs,
        QM=QM,
        QMp=float(f_sf(QM, m, dfs)),
        QMdf=(m, dfs),
        n_clusters=n,
        vbest=vbest,
        level=res.level,
    )
