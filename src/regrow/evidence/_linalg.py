"""Weighted least-squares building blocks in O(k p^2): never a k x k matrix.

metafor writes its estimators with the k x k "hat-residual" matrix ``P = W - W X (X'WX)^-1 X'W``. Every
quantity it needs is a trace or quadratic form in ``P`` with diagonal matrices, which expand into sums over
studies and p x p products; that keeps k = 10,000 meta-regressions fast and memory-light.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

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
        """``tr(P D)`` for diagonal ``D = diag(d)``."""
        d = np.broadcast_to(np.asarray(d, dtype=float), self.w.shape)
        M = (self.X * (self.w**2 * d)[:, None]).T @ self.X
        return float(np.sum(self.w * d) - np.sum(self.A_inv * M.T))

    def trace_pdpd(self, d1: np.ndarray | float = 1.0, d2: np.ndarray | float = 1.0) -> float:
        """``tr(P D1 P D2)`` for diagonal ``D1``, ``D2``."""
        w = self.w
        d1 = np.broadcast_to(np.asarray(d1, dtype=float), w.shape)
        d2 = np.broadcast_to(np.asarray(d2, dtype=float), w.shape)
        X = self.X
        M3 = (X * (w**3 * d1 * d2)[:, None]).T @ X
        B1 = self.A_inv @ ((X * (w**2 * d1)[:, None]).T @ X)
        B2 = self.A_inv @ ((X * (w**2 * d2)[:, None]).T @ X)
        return float(np.sum(w**2 * d1 * d2) - 2.0 * np.sum(self.A_inv * M3.T) + np.sum(B1 * B2.T))

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
        c = linalg.cho_factor(A, check_finite=False)
        A_inv = linalg.cho_solve(c, np.eye(A.shape[0]), check_finite=False)
    except linalg.LinAlgError as exc:
        raise InputError(
            "The moderators are linearly dependent (the model matrix is not of full rank); "
            "drop a redundant or constant moderator.",
            field="mods",
        ) from exc
    beta = A_inv @ (XtW @ y)
    return WLS(w=w, X=X, A_inv=A_inv, beta=beta, resid=y - X @ beta)
