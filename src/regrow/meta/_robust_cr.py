"""Cluster-robust variance estimators with small-sample corrections, as the R package clubSandwich
(Pustejovsky & Tipton 2018) computes them for a metafor ``rma.uni`` fit, which is what metafor's
``robust(..., clubSandwich=TRUE)`` reports.

For clusters ``j`` with design rows ``X_j``, working weights ``W_j`` (scaled to mean 1), target variances
``Theta_j`` and residuals ``e_j``, the estimator is ``V = M (sum_j E_j A_j e_j)(...)' M`` with
``M = (X'WX)^-1``, ``E_j = X_j' W_j`` and adjustment matrices ``A_j``: identity (CR0), a constant (CR1,
CR1p, CR1S) or ``Theta_j^(1/2)' [Theta_j^(1/2) (I - H_jj) Theta_j Theta_j^(1/2)']^(-1/2) Theta_j^(1/2)``
(CR2, the bias-reduced linearisation of Bell & McCaffrey 2002; the longer form when the weights are not
the inverse target variances). Degrees of freedom of t tests of linear contrasts follow Satterthwaite's
approximation, ``2 E^2 / V`` of the estimator's distribution; Wald tests of several contrasts use
Hotelling's T^2 approximation with the "HTZ" degrees of freedom (Tipton & Pustejovsky 2015).

The weights and target variances of an ``rma.uni`` fit are diagonal, so every per-cluster matrix here is
small; all arrays follow clubSandwich's ``get_GH``/``get_P_array`` layout.

References
----------
Pustejovsky JE, Tipton E (2018). Small-sample methods for cluster-robust variance estimation and
hypothesis testing in fixed effects models. J Bus Econ Stat 36:672-683. doi:10.1080/07350015.2016.1247004.
Tipton E, Pustejovsky JE (2015). Small-sample adjustments for tests of moderators and model fit using
robust variance estimation in meta-regression. J Educ Behav Stat 40:604-634. doi:10.3102/1076998615606099.
Bell RM, McCaffrey DF (2002). Bias reduction in standard errors for linear regression with multi-stage
samples. Surv Methodol 28:169-181.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from regrow.errors import InputError

__all__ = ["CR_TYPES", "CRSandwich", "matrix_power"]

CR_TYPES = ("CR0", "CR1", "CR1p", "CR1S", "CR2", "CR3")


def matrix_power(x: np.ndarray, power: float, tol: float = 1e-12) -> np.ndarray:
    """clubSandwich's ``matrix_power``: symmetric power by eigendecomposition, eigenvalues <= tol set to 0."""
    values, vectors = np.linalg.eigh((x + x.T) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        vp = np.where(values > tol, np.abs(values) ** power, 0.0)
    return (vectors * vp) @ vectors.T


@dataclass
class CRSandwich:
    """The pieces of a clubSandwich estimate for one fit (arrays per cluster in cluster order)."""

    X: np.ndarray  # k x p
    codes: np.ndarray  # cluster index of each row, 0..J-1 (levels sorted as R's factor)
    w: np.ndarray  # working weights scaled to mean 1
    w_raw: np.ndarray  # the weights of the bread (1/(v+tau2), user weights, or 1)
    theta: np.ndarray  # target variances (diagonal), scaled like the weights
    inverse_var: bool
    resid: np.ndarray
    type: str = "CR2"

    def __post_init__(self) -> None:
        if self.type not in CR_TYPES:
            raise InputError.invalid("vcov", self.type, "one of " + ", ".join(CR_TYPES))
        p = self.X.shape[1]
        self.J = int(self.codes.max()) + 1
        self.p = p
        self.rows = [np.flatnonzero(self.codes == j) for j in range(self.J)]
        self.M = np.linalg.inv(self.X.T @ (self.X * self.w_raw[:, None]))  # bread / v_scale
        self.M_U = np.linalg.inv(self.X.T @ (self.X * self.w[:, None]))
        self.E = [self.X[r].T * self.w[r] for r in self.rows]  # X_j' W_j
        self.A = self._adjustments()
        self.E_adj = [e * a if np.isscalar(a) else e @ a for e, a in zip(self.E, self.A, strict=True)]
        comps = np.column_stack([e @ self.resid[r] for e, r in zip(self.E_adj, self.rows, strict=True)])
        # the estimating matrices use weights scaled to mean 1, the bread the raw ones
        w_scale = float(np.mean(self.w_raw))
        vcov = self.M @ comps @ comps.T @ self.M * w_scale**2
        self.vcov = (vcov + vcov.T) / 2

    def _adjustments(self):
        J, p, k = self.J, self.p, self.X.shape[0]
        if self.type == "CR0":
            return [1.0] * J
        if self.type == "CR1":
            return [np.sqrt(J / (J - 1))] * J
        if self.type == "CR1p":
            return [np.sqrt(J / (J - p))] * J
        if self.type == "CR1S":
            return [np.sqrt(J * (k - 1) / ((J - 1) * (k - p)))] * J
        if self.type == "CR3":
            return [
                np.linalg.inv(np.eye(r.size) - self.X[r] @ self.M_U @ e)
                for r, e in zip(self.rows, self.E, strict=True)
            ]
        out = []
        if not self.inverse_var:
            total = sum(e * self.theta[r] @ e.T for e, r in zip(self.E, self.rows, strict=True))
            mid = self.M_U @ total @ self.M_U
        for r, e in zip(self.rows, self.E, strict=True):
            tc = np.sqrt(self.theta[r])  # chol of a diagonal Theta_j
            Xj = self.X[r]
            if self.inverse_var:
                ih = np.eye(r.size) - Xj @ self.M_U @ e
                G = (tc[:, None] * ih * self.theta[r][None, :]) * tc[None, :]
            else:
                H = Xj @ self.M_U @ e
                T = np.diag(self.theta[r])
                G = tc[:, None] * (T - H @ T - T @ H.T + Xj @ mid @ Xj.T) * tc[None, :]
            out.append(tc[:, None] * matrix_power(G, -0.5) * tc[None, :])
        return out

    # ---------------------------------------------------------------------------- degrees of freedom

    def _GH(self, C: np.ndarray):
        """clubSandwich's ``get_GH`` for the contrasts ``C`` (q x p): G per cluster (q x n_j) and H."""
        M_U_ct = np.linalg.cholesky(self.M_U)
        ME = [C @ self.M @ e for e in self.E_adj]
        G = [me * np.sqrt(self.theta[r])[None, :] for me, r in zip(ME, self.rows, strict=True)]
        if self.inverse_var:
            H = np.stack([me @ self.X[r] @ M_U_ct for me, r in zip(ME, self.rows, strict=True)], axis=-1)
            return G, (H,)
        twu = [self.theta[r][:, None] * self.w[r][:, None] * self.X[r] for r in self.rows]
        total = sum(self.X[r].T * self.w[r] @ t for r, t in zip(self.rows, twu, strict=True))
        omega_ct = np.linalg.cholesky(self.M_U @ total @ self.M_U)
        H1 = np.stack([me @ self.X[r] @ M_U_ct for me, r in zip(ME, self.rows, strict=True)], axis=-1)
        H2 = np.stack([me @ t @ M_U_ct for me, t in zip(ME, twu, strict=True)], axis=-1)
        H3 = np.stack([me @ self.X[r] @ omega_ct for me, r in zip(ME, self.rows, strict=True)], axis=-1)
        return G, (H1, H2, H3)

    def _P(self, C: np.ndarray) -> np.ndarray:
        """``P[s, t]`` (J x J) for all pairs of contrasts: array (q, q, J, J) (``all_terms = TRUE``)."""
        G, H = self._GH(C)
        q = C.shape[0]
        gg = np.stack([g @ g.T for g in G], axis=-1)  # (q, q, J): sum over the cluster's rows
        if len(H) == 1:
            (h,) = H  # (q, u, J)
            P = -np.einsum("suj,tuk->stjk", h, h)
        else:
            h1, h2, h3 = H
            P = (np.einsum("suj,tuk->stjk", h3, h3) - np.einsum("suj,tuk->stjk", h1, h2)
                 - np.einsum("suj,tuk->stjk", h2, h1))  # fmt: skip
        idx = np.arange(self.J)
        P[:, :, idx, idx] += gg
        return P.reshape(q, q, self.J, self.J)

    def satterthwaite(self, C: np.ndarray) -> np.ndarray:
        """Satterthwaite degrees of freedom of each contrast (row of C)."""
        P = self._P(C)
        q = C.shape[0]
        out = np.empty(q)
        for i in range(q):
            Pi = P[i, i]
            out[i] = 2 * np.trace(Pi) ** 2 / (2 * np.sum(Pi**2))
        return out

    def wald(self, C: np.ndarray, beta: np.ndarray, test: str = "HTZ") -> tuple[float, float, float, float]:
        """Wald test of ``C beta = 0``: ``(Fstat, df_num, df_denom, p)`` by clubSandwich's ``test``."""
        from regrow.meta._dist import chi2_sf, f_sf

        q = C.shape[0]
        V = C @ self.vcov @ C.T
        try:
            np.linalg.cholesky(V)
        except np.linalg.LinAlgError:
            return float("nan"), q, float("nan"), float("nan")
        cb = C @ beta
        Q = float(cb @ np.linalg.solve(V, cb))
        if test == "chi-sq":
            return Q / q, q, float("inf"), float(chi2_sf(Q, q))
        if test in ("Naive-F", "Naive-Fp"):
            df = self.J - 1 if test == "Naive-F" else self.J - self.p
            return Q / q, q, float(df), float(f_sf(Q / q, q, df))
        P = self._P(C)
        omega = np.einsum("stjj->st", P)
        on = matrix_power(omega, -0.5)
        B = np.einsum("ab,bcjk,cd->adjk", on, P, on)
        if test == "HTZ":
            var = np.empty((q, q))
            for s in range(q):
                for t in range(s + 1):
                    var[s, t] = var[t, s] = np.sum(B[s, t] * B[t, s]) + np.sum(B[s, s] * B[t, t])
            nu = q * (q + 1) / np.sum(var)
        elif test in ("HTA", "HTB"):
            cov = np.einsum("svjk,tujk->stuv", B, B) + np.einsum("sujk,tvjk->stuv", B, B)
            var = np.array([[cov[s, t, s, t] for t in range(q)] for s in range(q)])
            if test == "HTA":
                nu = 2 * np.sum(var) / np.sum(cov**2)
            else:
                lower = np.zeros_like(cov, bool)
                for s in range(q):
                    for t in range(s + 1):
                        for u in range(s + 1):
                            for v in range(t + 1 if u == s else u + 1):
                                lower[s, t, u, v] = True
                nu = 2 * np.sum(var[np.tril_indices(q)]) / np.sum(cov[lower] ** 2)
        else:
            raise InputError.invalid("wald_test", test, "chi-sq, Naive-F, Naive-Fp, HTA, HTB or HTZ")
        delta = max((nu - q + 1) / nu, 0.0)
        df = nu - q + 1
        F = delta * Q / q
        return F, q, float(df), float(f_sf(F, q, df)) if df > 0 else float("nan")
