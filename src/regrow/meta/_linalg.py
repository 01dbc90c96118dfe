"""Weighted least-squares building blocks in O(k p^2): never a k x k matrix.

metafor writes its estimators with the k x k "hat-residual" matrix ``P = W - W X (X'WX)^-1 X'W``. Every
quantity it needs is a trace or quadratic form in ``P`` with diagonal matrices, which expand into sums over
studies and p x p products; that keeps k = 10,000 meta-regressions fast and memory-light.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from regrow.errors import InputError

__all__ = ["WLS", "wls"]


@dataclass(frozen=True)
class WLS:
    """Weighted least squares of ``y`` on ``X`` with weights ``w`` (a diagonal ``W``)."""

    w: np.ndarray
    X: np.ndarray
    A_inv: np.ndarray  # (X'WX)^-1
    beta: np.ndarray
    resid: np.ndarray

    @property
    def rss(self) -> float:
        """``y'Py = sum w (y - X b)^2``: the (generalised) Q statistic."""
        return float(np.sum(self.w * self.resid**2))

    @property
    def yPPy(self) -> float:
        """``y'PPy = sum (w (y - X b))^2`` since ``Py = W r``."""
        return float(np.sum((self.w * self.resid) ** 2))

    def trace_pd(self, d: np.ndarray | float = 1.0) -> float:
        """``tr(P D)`` for diagonal ``D = diag(d)`` (a scalar ``d`` means ``d I``)."""
        wd = self.w * d
        M = (self.X * (self.w * wd)[:, None]).T @ self.X
        return float(wd.sum() - np.vdot(self.A_inv, M))

    def trace_pdpd(self, d1: np.ndarray | float = 1.0, d2: np.ndarray | float = 1.0) -> float:
        """``tr(P D1 P D2)`` for diagonal ``D1``, ``D2`` (scalars mean multiples of ``I``)."""
        w, X = self.w, self.X
        w2 = w * w
        w2d1, w2d2 = w2 * d1, w2 * d2
        M3 = (X * (w * w2d1 * d2)[:, None]).T @ X
        B1 = self.A_inv @ ((X * w2d1[:, None]).T @ X)
        B2 = B1 if d2 is d1 else self.A_inv @ ((X * w2d2[:, None]).T @ X)
        return float((w2d1 * d2).sum() - 2.0 * np.vdot(self.A_inv, M3) + np.vdot(B1, B2.T))

    def logdet_xwx(self) -> float:
        """``log |X'WX|``."""
        _, logdet = np.linalg.slogdet(self.X.T @ (self.X * self.w[:, None]))
        return float(logdet)


def wls(y: np.ndarray, X: np.ndarray, w: np.ndarray) -> WLS:
    """Fit weighted least squares through a Cholesky factor of ``X'WX``.

    Raises
    ------
    InputError
        When ``X'WX`` is singular (redundant or constant moderators).
    """
    XtW = X.T * w
    A = XtW @ X
    try:
        # numpy's Cholesky raises on a singular (not positive-definite) X'WX; inverting through the
        # triangular factor keeps A_inv symmetric and avoids scipy's per-call wrapper cost for small p.
        L_inv = np.linalg.inv(np.linalg.cholesky(A))
        A_inv = L_inv.T @ L_inv
    except np.linalg.LinAlgError as exc:
        raise InputError(
            "The moderators are linearly dependent (the model matrix is not of full rank); "
            "drop a redundant or constant moderator.",
            field="mods",
        ) from exc
    beta = A_inv @ (XtW @ y)
    return WLS(w=w, X=X, A_inv=A_inv, beta=beta, resid=y - X @ beta)
