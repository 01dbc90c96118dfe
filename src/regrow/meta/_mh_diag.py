"""Leave-one-out, cumulative, residual and influence diagnostics for Mantel-Haenszel and Peto fits
(metafor's ``leave1out.rma.mh``, ``cumul.rma.mh``, ``rstandard.rma.mh``, ``rstudent.rma.mh`` and their
``rma.peto`` versions): the pooling is redone on the tables without (or up to) each study.

metafor has no ``influence()`` for these fits; :func:`influence_mh` gives the case-deletion statistics
that carry over from ``influence.rma.uni`` to a fixed-effect pooling without moderators (studentized
deleted residual, Cook's distance, covariance ratio, DFBETAS, weight and the leave-one-out Q).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from regrow.errors import EstimationError, InputError, TooFewStudiesError
from regrow.meta._mh import MHResult

__all__ = ["cumul_mh", "influence_mh", "leave1out_mh", "refit_mh", "rstandard_mh", "rstudent_mh"]

_COLUMNS = ("estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "Q", "Qp", "I2", "H2")


def refit_mh(res: MHResult, rows: np.ndarray) -> MHResult:
    """The same pooling (measure, options) on the given input rows only."""
    from regrow.meta._mh import rma_mh, rma_peto

    data = {name: values[rows] for name, values in res.data.items()}
    options = {"add": res.add, "to": res.to, "drop00": res.drop00, "level": res.level}
    if res.method == "PETO":
        return rma_peto(**data, **options)
    return rma_mh(**data, measure=res.measure, correct=res.correct, **options)


def _rows(res: MHResult) -> np.ndarray:
    if not res.data:
        raise InputError("This fit keeps no input tables; refit it with rma_mh/rma_peto.", field="res")
    return np.flatnonzero(res.used)


def _collect(res: MHResult, subsets) -> tuple[dict[str, np.ndarray], list[str]]:
    cols = {name: np.full(len(subsets), np.nan) for name in _COLUMNS}
    warnings: list[str] = []
    for j, (rows, what) in enumerate(subsets):
        try:
            r = refit_mh(res, rows)
        except (InputError, EstimationError, TooFewStudiesError) as exc:
            warnings.append(f"{what}: {exc}")
            continue
        for name, value in zip(_COLUMNS, (r.beta, r.se, r.zval, r.pval, r.ci_lb, r.ci_ub, r.QE, r.QEp, r.I2, r.H2),
                               strict=True):  # fmt: skip
            cols[name][j] = value
    return cols, warnings


def leave1out_mh(res: MHResult):
    """The pooling redone without each study in turn (``leave1out.rma.mh`` / ``leave1out.rma.peto``).

    Returns
    -------
    LeaveOneOut
        One row per complete table; ``tau2`` is None.
    """
    from regrow.meta._influence import LeaveOneOut

    rows = _rows(res)
    if rows.size < 2:
        raise TooFewStudiesError("leave1out needs at least 2 tables (stopped because k = 1).")
    subsets = [(rows[rows != i], f"Without study {res.slab[i]!r} the pooling failed") for i in rows]
    cols, warnings = _collect(res, subsets)
    return LeaveOneOut(
        method=res.method, test="z", slab=[res.slab[i] for i in rows], warnings=warnings, tau2=None,
        **{("Q" if k == "Q" else k): v for k, v in cols.items()},
    )  # fmt: skip


def cumul_mh(res: MHResult, *, order: Any = None, decreasing: bool = False):
    """Cumulative pooling in the given order (``cumul.rma.mh`` / ``cumul.rma.peto``).

    Returns
    -------
    Cumulative
    """
    from regrow.meta._cumul import Cumulative, _sort_order

    rows = _rows(res)
    idx = (
        rows
        if order is None
        else rows[
            _sort_order(
                np.asarray(order)[rows] if len(order) == res.used.size else order, rows.size, decreasing
            )
        ]
    )
    subsets = [(idx[: j + 1], f"The first {j + 1} tables could not be pooled") for j in range(idx.size)]
    cols, warnings = _collect(res, subsets)
    return Cumulative(
        method=res.method, test="z", order=idx, slab=[res.slab[i] for i in idx], warnings=warnings, tau2=None,
        **cols,
    )  # fmt: skip


def rstandard_mh(res: MHResult):
    """Standardized residuals ``(yi - beta) / sqrt(vi)`` of the study-level effects (``rstandard.rma.mh``).

    Returns
    -------
    Residuals
    """
    from regrow.meta._influence import Residuals

    keep = np.isfinite(res.yi_f)
    e = res.yi_f[keep] - res.beta
    e[np.abs(e) < 100 * np.finfo(float).eps] = 0.0
    se = np.sqrt(res.vi_f[keep])
    return Residuals(resid=e, se=se, z=e / se, slab=[s for s, k in zip(res.slab, keep, strict=True) if k],
                     kind="marginal")  # fmt: skip


def _deleted(res: MHResult) -> tuple[np.ndarray, list[MHResult | None], list[str]]:
    keep = np.flatnonzero(np.isfinite(res.yi_f))
    rows = _rows(res)
    fits: list[MHResult | None] = []
    warnings: list[str] = []
    for i in keep:
        try:
            fits.append(refit_mh(res, rows[rows != i]))
        except (InputError, EstimationError, TooFewStudiesError) as exc:
            fits.append(None)
            warnings.append(f"Without study {res.slab[i]!r} the pooling failed: {exc}")
    return keep, fits, warnings


def rstudent_mh(res: MHResult):
    """Studentized deleted residuals ``(yi - beta_(-i)) / sqrt(vi + Var(beta_(-i)))`` (``rstudent.rma.mh``).

    Returns
    -------
    Residuals
    """
    from regrow.meta._influence import Residuals

    keep, fits, _ = _deleted(res)
    delpred = np.array([np.nan if f is None else f.beta for f in fits])
    vdel = np.array([np.nan if f is None else f.se**2 for f in fits])
    e = res.yi_f[keep] - delpred
    e[np.abs(e) < 100 * np.finfo(float).eps] = 0.0
    se = np.sqrt(res.vi_f[keep] + vdel)
    return Residuals(resid=e, se=se, z=e / se, slab=[res.slab[i] for i in keep], kind="deleted")


def influence_mh(res: MHResult):
    """Case-deletion diagnostics of an MH or Peto pooling (see the module docstring).

    Returns
    -------
    Influence
        ``dffits`` and ``tau2_del`` are NaN (no moderators, no tau^2); ``hat`` is the weight share.
    """
    from regrow.meta._influence import Influence

    keep, fits, warnings = _deleted(res)
    rows = list(np.flatnonzero(res.used))
    w = np.array([res.weights_pct[rows.index(i)] if i in rows else np.nan for i in keep])
    beta_del = np.array([np.nan if f is None else f.beta for f in fits])
    var_del = np.array([np.nan if f is None else f.se**2 for f in fits])
    q_del = np.array([np.nan if f is None else f.QE for f in fits])
    dfb = res.beta - beta_del
    e = res.yi_f[keep] - beta_del
    se_del = np.sqrt(res.vi_f[keep] + var_del)
    with np.errstate(invalid="ignore", divide="ignore"):
        cook = dfb**2 / res.se**2
        cov_r = var_del / res.se**2
        dfbs = (dfb / np.sqrt(var_del))[:, None]
        rstud = e / se_del
        flags = (np.abs(rstud) > 3) | (np.abs(dfbs[:, 0]) > 1) | (w / 100 > 3 / max(len(keep), 1))
    nan = np.full(len(keep), np.nan)
    return Influence(
        rstudent=rstud, dffits=nan, cook_d=cook, cov_r=cov_r, tau2_del=nan, QE_del=q_del, hat=w / 100,
        weight=w, dfbs=dfbs, is_infl=flags, coef_names=["intrcpt"], slab=[res.slab[i] for i in keep],
        resid_del=e, se_del=se_del, warnings=warnings,
    )  # fmt: skip
