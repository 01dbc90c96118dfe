"""Cluster-robust inference for :func:`rma_mv` fits: metafor's ``robust.rma.mv`` (CR0/CR1 with ``n - p`` df)
and, with ``clubsandwich=True``, clubSandwich 0.5.8's bias-reduced CR2 estimator with Satterthwaite
degrees of freedom and the HTZ omnibus test.

With bread ``B = (X'WX)^-1`` (``W = M^-1``) and residuals ``e``, the estimator is
``B [sum_j X_j' W_j A_j e_j e_j' A_j' W_j X_j] B`` over clusters ``j``: ``A_j = I`` (CR0, times
``n / (n - p)`` for CR1) or the CR2 adjustment ``A_j = R_j' (R_j (I - X_j B X_j' W_j) M_j R_j')^(-1/2) R_j``
with ``M_j = R_j' R_j`` (Bell & McCaffrey 2002, doi:10.1177/001316440204200101; Pustejovsky & Tipton 2018,
doi:10.1080/07350015.2016.1247004; Tipton & Pustejovsky 2015, doi:10.3102/1076998615606099).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from regrow.errors import InputError, TooFewStudiesError
from regrow.meta._mv import MVResult
from regrow.meta._mv_dist import crit_value, f_sf, p_two_sided

__all__ = ["MVRobustResult", "robust_mv"]


@dataclass(frozen=True)
class MVRobustResult:
    """Cluster-robust coefficient table of an :func:`rma_mv` fit.

    ``dfs`` holds the t-test degrees of freedom of each coefficient (``n - p`` for CR0/CR1, Satterthwaite
    for CR2); ``QMdf`` the omnibus F test's (``(m, n - p)``, or HTZ's for CR2).
    """

    coef_names: list[str]
    beta: np.ndarray
    se: np.ndarray
    tval: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    vb: np.ndarray
    dfs: np.ndarray
    QM: float
    QMp: float
    QMdf: tuple[float, float]
    n_clusters: int
    vbest: str
    level: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "coefficients": [
                {
                    "name": n,
                    "estimate": float(self.beta[j]),
                    "se": float(self.se[j]),
                    "tval": float(self.tval[j]),
                    "df": float(self.dfs[j]),
                    "pval": float(self.pval[j]),
                    "ci_lb": float(self.ci_lb[j]),
                    "ci_ub": float(self.ci_ub[j]),
                }
                for j, n in enumerate(self.coef_names)
            ],
            "QM": self.QM,
            "QMp": self.QMp,
            "QMdf": list(self.QMdf),
            "n_clusters": self.n_clusters,
            "vbest": self.vbest,
            "level": self.level,
        }


def _cluster_codes(cluster, k: int) -> tuple[np.ndarray, int]:
    values = np.asarray(list(cluster) if not isinstance(cluster, np.ndarray) else cluster, dtype=object)
    if values.shape != (k,):
        raise InputError(
            f"cluster has {values.size} values but the model has {k} effect sizes.", field="cluster"
        )
    missing = [i for i, v in enumerate(values.tolist()) if v is None or (isinstance(v, float) and v != v)]
    if missing:
        raise InputError(f"cluster is missing in row {missing[0] + 1}.", field="cluster")
    _, codes = np.unique(values.astype(str), return_inverse=True)
    return codes, int(codes.max()) + 1


def _per_row(res: MVResult):
    """``W X`` and ``W e`` row by row, plus the block structure, at the fitted parameters."""
    from regrow.meta._mv_infer import _block_arrays

    model, blocks = _block_arrays(res)
    WX = np.zeros((res.k, res.p))
    for grp, _W, wx, _u in blocks:
        WX[grp.rows.ravel()] = wx.reshape(-1, res.p)
    return model, blocks, WX


def robust_mv(
    res: MVResult,
    cluster: Sequence[Any] | np.ndarray,
    *,
    adjust: bool = True,
    clubsandwich: bool = False,
) -> MVRobustResult:
    """Cluster-robust tests and confidence intervals (metafor's ``robust(res, cluster, ...)``).

    Parameters
    ----------
    res : MVResult
    cluster : sequence of length k
        Cluster of each effect size (typically the study).
    adjust : bool, default True
        CR1: multiply the CR0 estimate by ``n / (n - p)`` (n clusters). Ignored with ``clubsandwich``.
    clubsandwich : bool, default False
        Use the CR2 estimator with Satterthwaite t tests and the HTZ F test, as
        ``robust(res, cluster, clubSandwich = TRUE)`` does. The random effects must be nested in the clusters.

    Returns
    -------
    MVRobustResult

    Raises
    ------
    InputError
        Wrong length or missing clusters; with CR2, random effects that cross clusters.
    TooFewStudiesError
        When there are not more clusters than coefficients.
    """
    codes, n = _cluster_codes(cluster, res.k)
    p = res.p
    if n - p <= 0:
        raise TooFewStudiesError(
            f"{n} clusters cannot support robust tests of {p} coefficient(s): need {p + 1}."
        )
    model, _, WX = _per_row(res)
    e = res.yi - res.X @ res.beta
    btt = list(res.btt)
    m = len(btt)
    if not clubsandwich:
        scores = np.zeros((n, p))
        np.add.at(scores, codes, WX * e[:, None])
        vb = res.vb @ (scores.T @ scores) @ res.vb
        vbest = "CR0"
        if adjust:
            vb *= n / (n - p)
            vbest = "CR1"
        vb = (vb + vb.T) / 2
        se = np.sqrt(np.diag(vb))
        dfs = np.full(p, float(n - p))
        tval = res.beta / se
        b = res.beta[btt]
        QM = float(b @ np.linalg.solve(vb[np.ix_(btt, btt)], b)) / m
        QMdf = (float(m), float(n - p))
        QMp = float(f_sf(QM, m, n - p))
    else:
        vb, dfs, QM, QMdf, QMp = _cr2(res, model, codes, n, e, btt)
        se = np.sqrt(np.diag(vb))
        tval = res.beta / se
        vbest = "CR2"
    crit = np.asarray(crit_value(res.alpha, dfs), dtype=float)
    return MVRobustResult(
        coef_names=list(res.coef_names),
        beta=res.beta.copy(),
        se=se,
        tval=tval,
        pval=np.asarray(p_two_sided(tval, dfs), dtype=float),
        ci_lb=res.beta - crit * se,
        ci_ub=res.beta + crit * se,
        vb=vb,
        dfs=dfs,
        QM=QM,
        QMp=QMp,
        QMdf=QMdf,
        n_clusters=n,
        vbest=vbest,
        level=res.level,
    )


def _matrix_power(A: np.ndarray, power: float, tol: float = 1e-12) -> np.ndarray:
    """clubSandwich's ``matrix_power``: eigenvalues at or below ``tol`` are set to 0."""
    vals, vecs = np.linalg.eigh((A + A.T) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        vp = np.where(vals > tol, np.abs(vals) ** power, 0.0)
    return (vecs * vp) @ vecs.T


def _cr2(res: MVResult, model, codes: np.ndarray, n: int, e: np.ndarray, btt: list[int]):
    labels = model.blocks.labels
    # every block (random effects and sampling covariances) must lie within one cluster
    pair = np.unique(labels * n + codes)
    if pair.size != np.unique(labels).size:
        raise InputError(
            "The random effects (or correlated sampling errors) are not nested within the clusters; CR2 "
            "needs clusters that contain whole studies.",
            field="cluster",
        )
    M = _marginal_rows(res, model)
    B = res.vb
    X, p = res.X, res.p
    L_B = np.linalg.cholesky(B)  # M_U_ct = t(chol(M_U)): lower factor of B
    comps = np.zeros((n, p))
    G_list, H = [], np.zeros((p, p, n))
    for j in range(n):
        rows = np.flatnonzero(codes == j)
        Mj = M(rows)
        Xj = X[rows]
        Wj = np.linalg.inv(Mj)
        R = np.linalg.cholesky(Mj).T  # upper: Mj = R'R
        IH = np.eye(rows.size) - Xj @ B @ Xj.T @ Wj
        G = R @ IH @ Mj @ R.T
        A = R.T @ _matrix_power(G, -0.5) @ R
        E = Xj.T @ Wj @ A  # p x n_j
        comps[j] = E @ e[rows]
        ME = B @ E
        G_list.append(ME @ R.T)
        H[:, :, j] = ME @ Xj @ L_B
    vb = B @ (comps.T @ comps) @ B
    vb = (vb + vb.T) / 2
    # Satterthwaite degrees of freedom per coefficient (clubSandwich's P_array)
    dfs = np.empty(p)
    for i in range(p):
        Hi = H[i]  # p x n (clusters in columns)
        P = -Hi.T @ Hi
        P[np.diag_indices(n)] += np.array([np.sum(g[i] ** 2) for g in G_list])
        dfs[i] = 2 * np.trace(P) ** 2 / (2 * np.sum(P**2))
    if res.p == 1 and res.intercept:
        t = res.beta[0] / np.sqrt(vb[0, 0])
        QM = max(0.0, float(t**2))
        return vb, dfs, QM, (1.0, float(dfs[0])), float(p_two_sided(t, dfs[0]))
    C = np.zeros((len(btt), p))
    C[np.arange(len(btt)), btt] = 1.0
    QM, QMdf, QMp = _htz(C, res.beta, vb, G_list, H, n)
    return vb, dfs, QM, QMdf, QMp


def _marginal_rows(res: MVResult, model):
    """A function giving the marginal covariance matrix ``M`` of any rows within one cluster."""
    ev = res._eval
    where: dict[int, tuple[int, int, int]] = {}
    for g_idx, grp in enumerate(model.blocks.groups):
        for b_idx, rows in enumerate(grp.rows):
            for pos, r in enumerate(rows):
                where[int(r)] = (g_idx, b_idx, pos)

    def get(rows: np.ndarray) -> np.ndarray:
        out = np.zeros((rows.size, rows.size))
        for a, ra in enumerate(rows):
            ga, ba, pa = where[int(ra)]
            for b, rb in enumerate(rows):
                gb, bb, pb = where[int(rb)]
                if ga == gb and ba == bb:
                    out[a, b] = ev.M[ga][ba, pa, pb]
        return out

    return get


def _htz(C, beta, vb, G_list, H, n):
    """clubSandwich's HTZ Wald test of ``C beta = 0`` (Tipton & Pustejovsky 2015)."""
    q = C.shape[0]
    Gc = [C @ g for g in G_list]
    Hc = np.einsum("qp,pun->qun", C, H)
    P = np.empty((q, q, n, n))
    for i in range(q):
        for j in range(i, q):
            tmp = -Hc[i].T @ Hc[j]
            tmp[np.diag_indices(n)] += np.array([np.sum(g[i] * g[j]) for g in Gc])
            P[i, j] = tmp
            P[j, i] = tmp.T
    Omega = np.einsum("ijkk->ij", P)
    Om = _matrix_power(Omega, -0.5)
    Bjk = np.einsum("ab,bckl,cd->adkl", Om, P, Om)
    var = np.empty((q, q))
    for s in range(q):
        for t in range(s + 1):
            v = np.sum(Bjk[s, t] * Bjk[t, s]) + np.sum(Bjk[s, s] * Bjk[t, t])
            var[s, t] = var[t, s] = v
    Cb = C @ beta
    Q = float(Cb @ np.linalg.solve(C @ vb @ C.T, Cb))
    nu = q * (q + 1) / np.sum(var)
    delta = max((nu - q + 1) / nu, 0.0)
    df = nu - q + 1
    F = delta * Q / q
    pval = float(f_sf(F, q, df)) if df > 0 else float("nan")
    return max(0.0, F), (float(q), float(df)), pval
