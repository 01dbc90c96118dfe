"""Cumulative meta-analysis, as metafor 3.8's ``cumul.rma.uni``: the model refitted to the first 1, 2, ..., k
studies in a given order (e.g. publication year)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from regrow.errors import InputError
from regrow.meta._influence import _RefitRows, _require_intercept_only, refit_columns
from regrow.meta._rma import RMAResult

__all__ = ["Cumulative", "cumul"]


@dataclass(frozen=True)
class Cumulative(_RefitRows):
    """Pooled results after adding the studies one at a time; row j uses the first j + 1 studies of ``order``.

    ``order`` holds the 0-based model rows in the order they were added; ``slab`` the labels in that order.
    ``tau2`` is None for a fixed-effect model. ``zval`` is a t statistic for knha/adhoc (metafor ``tval``);
    the one-study row always uses a z test (as metafor does for k = 1).
    """

    order: np.ndarray = field(kw_only=True)

    _EXTRA = ("order",)


def _sort_order(order: Sequence[Any] | np.ndarray, k: int, decreasing: bool) -> np.ndarray:
    """R's ``order(x, decreasing=)``: a stable sort, ties kept in their original order either way."""
    import pandas as pd

    values = pd.Series(list(order) if not isinstance(order, np.ndarray | pd.Series) else order)
    if len(values) != k:
        raise InputError(
            f"order has {len(values)} values but the model has {k} studies.", field="order", value=len(values)
        )
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0]) + 1
        raise InputError(f"order is missing in row {row}.", field="order")
    codes, _ = pd.factorize(values, sort=True)
    keys = -codes if decreasing else codes
    return np.argsort(keys, kind="stable")


def cumul(
    res: RMAResult,
    *,
    order: Sequence[Any] | np.ndarray | None = None,
    decreasing: bool = False,
) -> Cumulative:
    """Cumulative meta-analysis: refit ``res``'s model to the first 1, 2, ..., k studies.

    The j-th row pools the first j studies after sorting by ``order`` (a stable sort, so tied studies keep
    their order in the data, as R's ``order`` does). The one-study fit is metafor's k = 1 model (tau^2 = 0,
    Q = 0, I^2 = 0, H^2 = 1, z test).

    Parameters
    ----------
    res : RMAResult
        An intercept-only model; its method, test, level and control are reused.
    order : sequence of length k, optional
        Sort key per study (e.g. publication year); default: the order of the data.
    decreasing : bool, default False
        Sort from the largest key down.

    Returns
    -------
    Cumulative

    Raises
    ------
    InputError
        For a model with moderators, or an ``order`` of the wrong length or with missing values.
    TooFewStudiesError
        For k < 2.

    References
    ----------
    Lau J, Antman EM, Jimenez-Silva J, et al. (1992). Cumulative meta-analysis of therapeutic trials for
    myocardial infarction. N Engl J Med 327:248-254. doi:10.1056/NEJM199207233270406.
    """
    from regrow.meta._mh import MHResult

    if isinstance(res, MHResult):
        from regrow.meta._mh_diag import cumul_mh

        return cumul_mh(res, order=order, decreasing=decreasing)
    _require_intercept_only(res, "cumul")
    idx = np.arange(res.k) if order is None else _sort_order(order, res.k, decreasing)
    cols, warnings = refit_columns(
        res, ((idx[:j], f"The first {j} studies could not be fitted") for j in range(1, res.k + 1))
    )
    return Cumulative(
        method=res.method,
        test=res.test,
        order=idx,
        slab=[res.slab[i] for i in idx],
        warnings=warnings,
        **cols,
    )
