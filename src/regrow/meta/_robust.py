"""Cluster-robust (sandwich) inference for a fitted model, agreeing with metafor 3.8-1's ``robust``.

For a fit ``b = (X'AX)^-1 X'A y`` (``A = diag(1/(v_i + tau2))``, the user's weights, or I for
``weighted=False``) the robust variance is ``V_R = c B M B'`` with bread ``B = (X'AX)^-1 X'A``, meat
``M = blockdiag_j(e_j e_j')`` over clusters j of residuals ``e = y - X b`` and, with ``adjust``, the
small-sample factor ``c = n / (n - p)`` (n clusters; "CR1"). Tests use t with ``n - p`` df and the omnibus
test F with ``(m, n - p)`` df. Computed with per-cluster score sums, O(k p^2).

``clubSandwich=True`` gives what metafor reports through the clubSandwich package: by default the CR2
estimator with Satterthwaite degrees of freedom per coefficient and the HTZ Wald test
(:mod:`regrow.meta._robust_cr`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from regrow.errors import InputError, TooFewStudiesError
from regrow.meta._dist import f_sf, norm_ppf, norm_sf, t_ppf, t_sf
from regrow.meta._rma import RMAResult
from regrow.meta._robust_cr import CR_TYPES, CRSandwich

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RobustResult", "robust"]


COEF_TESTS = ("z", "naive-t", "naive-tp", "Satterthwaite")
WALD_TESTS = ("chi-sq", "Naive-F", "Naive-Fp", "HTA", "HTB", "HTZ")


def _t_p(t, df):
    df = np.broadcast_to(np.asarray(df, float), np.shape(t))
    return np.where(
        np.isinf(df), 2 * norm_sf(np.abs(t)), 2 * t_sf(np.abs(t), np.where(np.isinf(df), 1.0, df))
    )


def _t_crit(level_alpha: float, df) -> np.ndarray:
    df = np.atleast_1d(np.asarray(df, float))
    return np.array([float(norm_ppf(1 - level_alpha / 2)) if np.isinf(d) else (float(t_ppf(1 - level_alpha / 2, d))
                     if d > 0 else np.nan) for d in df])  # fmt: skip


@dataclass(frozen=True)
class RobustResult:
    """Cluster-robust coefficient table (:func:`robust`), with metafor's names where they differ.

    Attributes
    ----------
    coef_names : list of str
    beta, se, tval, pval, ci_lb, ci_ub : numpy.ndarray
        Estimates (unchanged), robust SEs, t statistics, p-values and CIs (``zval`` is ``tval``).
    vb : numpy.ndarray
        Robust variance-covariance matrix of the coefficients.
    dfs : int or numpy.ndarray
        ``n_clusters - p``; with clubSandwich the degrees of freedom of each coefficient's test.
    QM, QMp : float
        Omnibus Wald test of the coefficients ``btt`` as an F statistic on ``QMdf`` df.
    QMdf : tuple
    n_clusters : int
    vbest : str
        The estimator: "CR0", "CR1" (default), "CR1.S1", "CR1.S2", or a clubSandwich type ("CR2", ...).
    level : float
    method : {"default", "clubSandwich"}
    """

    coef_names: list[str]
    beta: np.ndarray
    se: np.ndarray
    tval: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    vb: np.ndarray
    dfs: Any
    QM: float
    QMp: float
    QMdf: tuple[Any, Any]
    n_clusters: int
    vbest: str
    level: float
    method: str = "default"
    coef_test: str = "naive-tp"
    wald_test: str = "Naive-Fp"
    fit: RMAResult | None = None
    sandwich: CRSandwich | None = None

    @property
    def zval(self) -> np.ndarray:
        """metafor's name of the test statistics."""
        return self.tval

    @property
    def ddf(self):
        return self.dfs

    def vcov(self) -> np.ndarray:
        """The robust variance-covariance matrix (metafor's ``vcov()``)."""
        return self.vb

    def _contrast(self, C: np.ndarray):
        """Estimates, SEs and degrees of freedom of the rows of C (clubSandwich's linear_contrast)."""
        est = C @ self.beta
        se = np.sqrt(np.einsum("ij,jk,ik->i", C, self.vb, C))
        if self.method != "clubSandwich":
            return est, se, np.full(C.shape[0], float(self.dfs))
        df = {"z": np.full(C.shape[0], np.inf), "naive-t": np.full(C.shape[0], self.n_clusters - 1.0),
              "naive-tp": np.full(C.shape[0], float(self.n_clusters - len(self.beta)))}.get(self.coef_test)  # fmt: skip
        if df is None:
            df = self.sandwich.satterthwaite(C)
        return est, se, df

    def predict(
        self, newmods=None, *, intercept: bool = True, level: float | None = None, transf=None, targs=None
    ):
        """Predicted values with robust CIs and PIs (metafor's ``predict()`` on a robust fit): t quantiles
        with the robust degrees of freedom (per prediction with clubSandwich)."""
        from regrow.meta._rma_result import Prediction
        from regrow.meta._transf import resolve_transf

        fit = self.fit
        Xnew, _ = fit._new_design(newmods, intercept)
        pred, se, df = self._contrast(Xnew)
        lev = fit.level if level is None else float(level)
        a = 1 - lev / 100 if lev > 1 else 1 - lev
        crit = _t_crit(a, df)
        ci_lb, ci_ub = pred - crit * se, pred + crit * se
        pi_crit = _t_crit(a, np.maximum(df, 1))
        tau2 = float(np.sum(fit.tau2)) if np.ndim(fit.tau2) == 0 else 0.0
        pi_lb, pi_ub = pred - pi_crit * np.sqrt(se**2 + tau2), pred + pi_crit * np.sqrt(se**2 + tau2)
        func = resolve_transf(transf)
        if func is not None:
            vals = (pred, ci_lb, ci_ub, pi_lb, pi_ub)
            pred, ci_lb, ci_ub, pi_lb, pi_ub = (
                np.asarray(func(v, targs=targs) if targs is not None else func(v), float) for v in vals
            )
            se = None
        return Prediction(pred=pred, se=se, ci_lb=ci_lb, ci_ub=ci_ub, pi_lb=pi_lb, pi_ub=pi_ub)

    def anova(self, *, btt=None, X=None):
        """Robust Wald tests (metafor's ``anova()`` on a robust fit): of the coefficients ``btt`` (0-based,
        default the model's), or of the linear combinations in the rows of ``X`` (each with its t test, and
        jointly when X has full row rank)."""
        from regrow.meta._anova_general import AnovaResult

        fit = self.fit
        p = len(self.beta)
        if X is None:
            idx = list(fit.btt if btt is None else [int(j) for j in np.atleast_1d(btt)])
            C = np.eye(p)[idx]
            QM, QMdf, QMp = self._wald(C)
            return AnovaResult(type="Wald.btt", QM=QM, QMdf=QMdf, QMp=QMp, btt=tuple(idx), test="t")
        C = np.atleast_2d(np.asarray(X, float))
        if fit.intercept and C.shape[1] == p - 1:
            C = np.column_stack([np.ones(C.shape[0]), C])
        if C.shape[1] != p:
            raise InputError(f"X has {C.shape[1]} columns; the model has {p} coefficients.", field="X")
        est, se, df = self._contrast(C)
        zval = est / se
        QM = QMp = float("nan")
        QMdf: tuple[Any, Any] = (C.shape[0], None)
        if np.linalg.matrix_rank(C) == C.shape[0]:
            QM, QMdf, QMp = self._wald(C)
        return AnovaResult(type="Wald.Xb", QM=QM, QMdf=QMdf, QMp=QMp, Xb=est, se=se, zval=zval,
                           pval=_t_p(zval, df), test="t", ddf=df)  # fmt: skip

    def _wald(self, C: np.ndarray):
        q = C.shape[0]
        if self.method == "clubSandwich":
            F, dfn, dfd, pv = self.sandwich.wald(C, self.beta, self.wald_test)
            return max(0.0, F), (dfn, dfd), pv
        cb = C @ self.beta
        QM = float(cb @ np.linalg.solve(C @ self.vb @ C.T, cb)) / q
        return QM, (q, self.dfs), float(f_sf(QM, q, self.dfs))

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            {
                "estimate": self.beta,
                "se": self.se,
                "tval": self.tval,
                "df": np.broadcast_to(np.asarray(self.dfs, float), self.beta.shape),
                "pval": self.pval,
                "ci_lb": self.ci_lb,
                "ci_ub": self.ci_ub,
            },
            index=pd.Index(self.coef_names, name="name"),
        )

    def to_dict(self) -> dict[str, Any]:
        dfs = np.broadcast_to(np.asarray(self.dfs, float), self.beta.shape)
        return {
            "coefficients": [
                {
                    "name": n,
                    "estimate": float(self.beta[j]),
                    "se": float(self.se[j]),
                    "tval": float(self.tval[j]),
                    "df": float(dfs[j]),
                    "pval": float(self.pval[j]),
                    "ci_lb": float(self.ci_lb[j]),
                    "ci_ub": float(self.ci_ub[j]),
                }
                for j, n in enumerate(self.coef_names)
            ],
            "dfs": self.dfs if np.ndim(self.dfs) == 0 else [float(d) for d in self.dfs],
            "QM": self.QM,
            "QMp": self.QMp,
            "QMdf": [None if d is None else float(d) for d in self.QMdf],
            "n_clusters": self.n_clusters,
            "vbest": self.vbest,
            "method": self.method,
            "vb": self.vb.tolist(),
            "level": self.level,
        }


def _weights(res: RMAResult) -> tuple[np.ndarray, bool]:
    """The bread's weights and whether they are the inverse variances (clubSandwich's inverse_var)."""
    if not getattr(res, "weighted", True):
        return np.ones(res.k), False
    user = getattr(res, "user_weights", None)
    if user is not None:
        return np.asarray(user, float), False
    return 1.0 / (np.asarray(res.vi, float) + res.tau2), True


def robust(
    res: RMAResult,
    cluster: Sequence[Any] | np.ndarray,
    *,
    adjust: bool | str = True,
    clubSandwich: bool = False,  # metafor's argument name
    vcov: str | None = None,
    coef_test: str | None = None,
    conf_test: str | None = None,
    wald_test: str | None = None,
) -> RobustResult:
    """Cluster-robust tests and confidence intervals for a fitted model (metafor's ``robust.rma.uni``).

    Parameters
    ----------
    res : RMAResult
        The fitted model.
    cluster : sequence
        Cluster identifier of each study (length k, or the length of the data the model was fitted to,
        then subset like the studies); one cluster per study gives the heteroscedasticity-consistent
        estimator.
    adjust : bool or {"Stata", "Stata1", "Stata2"}, default True
        True multiplies by ``n / (n - p)`` (n clusters, p coefficients); the Stata options use Stata's
        factors for ``regress`` and ``mixed``.
    clubSandwich : bool, default False
        Use clubSandwich's small-sample methods (metafor's ``clubSandwich=TRUE``).
    vcov : {"CR0", "CR1", "CR1p", "CR1S", "CR2", "CR3"}, default "CR2"
        clubSandwich's estimator.
    coef_test : {"z", "naive-t", "naive-tp", "Satterthwaite"}, default "Satterthwaite"
        clubSandwich's test of each coefficient.
    conf_test : str, default ``coef_test``
        The same for the confidence intervals.
    wald_test : {"chi-sq", "Naive-F", "Naive-Fp", "HTA", "HTB", "HTZ"}, default "HTZ"
        clubSandwich's omnibus test.

    Returns
    -------
    RobustResult

    Raises
    ------
    InputError
        When ``cluster`` has the wrong length or missing values, or an option is unknown.
    TooFewStudiesError
        When there are not more clusters than coefficients.

    References
    ----------
    Hedges LV, Tipton E, Johnson MC (2010). Robust variance estimation in meta-regression with dependent
    effect size estimates. Res Synth Methods 1:39-65. doi:10.1002/jrsm.5. Pustejovsky JE, Tipton E (2018).
    J Bus Econ Stat 36:672-683. doi:10.1080/07350015.2016.1247004.
    """
    import pandas as pd

    if getattr(res, "alpha_coef", None) is not None:
        raise InputError("robust() is not available for location-scale models (as in metafor).", field="res")
    if not (isinstance(adjust, bool | np.bool_) or adjust in ("Stata", "Stata1", "Stata2")):
        raise InputError.invalid("adjust", adjust, 'True, False, "Stata", "Stata1" or "Stata2"')
    labels = pd.Series(list(cluster) if not isinstance(cluster, np.ndarray) else cluster)
    not_na = getattr(res, "not_na", None)
    if not_na is not None and len(labels) == not_na.size and not_na.size != res.k:
        labels = labels[np.asarray(not_na, bool)].reset_index(drop=True)
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
    X, beta = np.asarray(res.X, float), np.asarray(res.beta, float)
    e = np.asarray(res.yi, float) - X @ beta
    w_raw, inverse_var = _weights(res)
    alpha = 1 - res.level / 100 if res.level > 1 else 1 - res.level
    btt = list(res.btt)
    if clubSandwich:
        vcov = vcov or "CR2"
        if vcov not in CR_TYPES:
            raise InputError.invalid("vcov", vcov, "one of " + ", ".join(CR_TYPES))
        coef_test = coef_test or "Satterthwaite"
        conf_test = conf_test or coef_test
        wald_test = wald_test or "HTZ"
        for name, value, allowed in (("coef_test", coef_test, COEF_TESTS), ("conf_test", conf_test, COEF_TESTS),
                                     ("wald_test", wald_test, WALD_TESTS)):  # fmt: skip
            if value not in allowed:
                raise InputError.invalid(name, value, "one of " + ", ".join(allowed))
        w = w_raw / float(np.mean(w_raw))
        sw = CRSandwich(X=X, codes=np.asarray(codes), w=w, w_raw=w_raw,
                        theta=1.0 / w if inverse_var else (np.asarray(res.vi, float) + res.tau2),
                        inverse_var=inverse_var, resid=e, type=vcov)  # fmt: skip
        vb = sw.vcov
        se = np.sqrt(np.diag(vb))
        tval = beta / se
        out = RobustResult(coef_names=list(res.coef_names), beta=beta.copy(), se=se, tval=tval, pval=tval,
                           ci_lb=beta, ci_ub=beta, vb=vb, dfs=0, QM=0.0, QMp=0.0, QMdf=(0, 0), n_clusters=n,
                           vbest=vcov, level=res.level, method="clubSandwich", coef_test=coef_test,
                           wald_test=wald_test, fit=res, sandwich=sw)  # fmt: skip
        _, _, df = out._contrast(np.eye(p))
        pval = _t_p(tval, df)
        _, _, cdf = RobustResult(**{**out.__dict__, "coef_test": conf_test})._contrast(np.eye(p))
        crit = _t_crit(alpha, cdf)
        if res.int_only:
            QM, QMdf, QMp = max(0.0, float(tval[0] ** 2)), (1, float(df[0])), float(pval[0])
        else:
            QM, QMdf, QMp = out._wald(np.eye(p)[btt])
        return RobustResult(**{**out.__dict__, "pval": pval, "ci_lb": beta - crit * se, "ci_ub": beta + crit * se,
                               "dfs": df, "QM": QM, "QMdf": QMdf, "QMp": QMp})  # fmt: skip
    if inverse_var:
        bread = res.vb @ (X * w_raw[:, None]).T
    else:
        bread = np.linalg.inv(X.T @ (X * w_raw[:, None])) @ (X * w_raw[:, None]).T
    scores = np.zeros((n, p))
    np.add.at(scores, codes, (bread * e[None, :]).T)
    vb = scores.T @ scores
    vbest = "CR0"
    if adjust is True or adjust is np.True_:
        vb, vbest = vb * (n / dfs), "CR1"
    elif adjust in ("Stata", "Stata1"):
        vb, vbest = vb * (n / (n - 1) * (res.k - 1) / (res.k - p)), "CR1.S1"
    elif adjust == "Stata2":
        vb, vbest = vb * (n / (n - 1)), "CR1.S2"
    vb = (vb + vb.T) / 2
    se = np.sqrt(np.diag(vb))
    tval = beta / se
    pval = 2 * t_sf(np.abs(tval), dfs)
    crit = float(t_ppf(1 - alpha / 2, dfs))
    b = beta[btt]
    m = len(btt)
    QM = float(b @ np.linalg.solve(vb[np.ix_(btt, btt)], b)) / m
    return RobustResult(
        coef_names=list(res.coef_names),
        beta=beta.copy(),
        se=se,
        tval=tval,
        pval=pval,
        ci_lb=beta - crit * se,
        ci_ub=beta + crit * se,
        vb=vb,
        dfs=dfs,
        QM=QM,
        QMp=float(f_sf(QM, m, dfs)),
        QMdf=(m, dfs),
        n_clusters=n,
        vbest=vbest,
        level=res.level,
        fit=res,
    )
