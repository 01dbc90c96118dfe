"""metafor's extractor functions for an :func:`~regrow.meta.rma_mv` fit: fitted values, residuals, weights,
hat values, standardized residuals and the variance-covariance matrices, from the marginal covariance
matrix ``M`` of the effect sizes at the estimates (``W = M^-1``, ``H = X (X'WX)^-1 X'W``)."""

from __future__ import annotations

import numpy as np

from regrow.errors import InputError

__all__ = [
    "fitted_mv",
    "hatvalues_mv",
    "is_mv",
    "marginal_mv",
    "residuals_mv",
    "rstandard_mv",
    "vcov_mv",
    "weights_mv",
]


def is_mv(res) -> bool:
    from regrow.meta._mv import MVResult

    return isinstance(res, MVResult)


def marginal_mv(res) -> np.ndarray:
    """The (k, k) marginal covariance matrix of the effect sizes at the estimates."""
    from regrow.meta._mv import _build_model

    model = _build_model(res._setup)
    M = np.zeros((res.k, res.k))
    for grp, blocks in zip(model.blocks.groups, res._eval.M, strict=True):
        for rows, block in zip(grp.rows, blocks, strict=True):
            M[np.ix_(rows, rows)] = block
    return M


def _hat(res, M: np.ndarray) -> np.ndarray:
    return res.X @ res.vb @ res.X.T @ np.linalg.inv(M)


def fitted_mv(res) -> np.ndarray:
    return res.X @ res.beta


def residuals_mv(res) -> np.ndarray:
    e = res.yi - res.X @ res.beta
    e[np.abs(e) < 100 * np.finfo(float).eps] = 0.0
    return e


def weights_mv(res, type: str) -> np.ndarray:
    W = np.linalg.inv(marginal_mv(res))
    if type == "diagonal":
        w = np.diag(W)
        return 100.0 * w / w.sum()
    if type == "matrix":
        return W
    raise InputError.invalid("type", type, "'diagonal' or 'matrix'")


def hatvalues_mv(res, type: str) -> np.ndarray:
    H = _hat(res, marginal_mv(res))
    if type == "matrix":
        return H
    if type == "diagonal":
        return np.diag(H).copy()
    raise InputError.invalid("type", type, "'diagonal' or 'matrix'")


def vcov_mv(res, type: str) -> np.ndarray:
    if type in ("fixed", "beta"):
        return res.vb.copy()
    if type == "fitted":
        return res.X @ res.vb @ res.X.T
    if type not in ("obs", "resid"):
        raise InputError.invalid("type", type, "fixed, beta, obs, fitted or resid")
    M = marginal_mv(res)
    if type == "obs":
        return M
    ImH = np.eye(res.k) - _hat(res, M)
    return ImH @ M @ ImH.T


def rstandard_mv(res):
    """``e / sqrt(diag((I - H) M (I - H)'))`` (``rstandard.rma.mv`` without ``cluster``)."""
    from regrow.meta._influence import Residuals

    e = residuals_mv(res)
    se = np.sqrt(np.diag(vcov_mv(res, "resid")))
    return Residuals(resid=e, se=se, z=e / se, slab=list(res.slab), kind="rstandard")
