"""Small data helpers from metafor: ``vec2mat``, ``replmiss`` and ``dfround``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from regrow.errors import InputError

__all__ = ["dfround", "replmiss", "vec2mat"]


def vec2mat(x, *, diag: bool = False, corr: bool | None = None, dimnames: Sequence[str] | None = None):
    """A symmetric matrix from the values of its lower triangle (metafor's ``vec2mat``).

    Parameters
    ----------
    x : array-like
        The lower-triangle values, column by column (R's ``lower.tri`` order).
    diag : bool, default False
        Whether ``x`` includes the diagonal.
    corr : bool, optional
        Put 1 on the diagonal (default: ``not diag``); otherwise a diagonal not given is NaN.
    dimnames : sequence of str, optional
        Row and column names: a pandas DataFrame is returned instead of an array.

    Returns
    -------
    numpy.ndarray or pandas.DataFrame

    Raises
    ------
    InputError
        When the length of ``x`` is not that of a triangle, or ``dimnames`` has the wrong length.
    """
    x = np.asarray(x, dtype=float).reshape(-1)
    corr = (not diag) if corr is None else corr
    dims = math.sqrt(2 * x.size + 0.25) + (-0.5 if diag else 0.5)
    if abs(dims - round(dims)) >= 1.5e-8:
        raise InputError(
            f"x has {x.size} values, which is not the {'lower triangle with diagonal' if diag else 'lower triangle'}"
            " of a square matrix.",
            field="x",
            value=x.size,
        )
    n = round(dims)
    R = np.full((n, n), np.nan)
    rows, cols = np.tril_indices(n, 0 if diag else -1)
    order = np.lexsort((rows, cols))  # column-major, as R fills lower.tri
    R[rows[order], cols[order]] = x
    R[cols[order], rows[order]] = x
    if corr:
        np.fill_diagonal(R, 1.0)
    if dimnames is None:
        return R
    names = list(dimnames)
    if len(names) != n:
        raise InputError(
            f"dimnames has {len(names)} names for a {n} x {n} matrix.", field="dimnames", value=len(names)
        )
    import pandas as pd

    return pd.DataFrame(R, index=names, columns=names)


def replmiss(x, y) -> np.ndarray:
    """``x`` with its missing values (NaN/None) replaced by those of ``y`` (metafor's ``replmiss``).

    Parameters
    ----------
    x : array-like
    y : scalar or array-like
        One value for every gap, or an array as long as ``x``.

    Returns
    -------
    numpy.ndarray of float

    Raises
    ------
    InputError
        When ``y`` is neither one value nor as long as ``x``.
    """
    xv = np.array([np.nan if v is None else v for v in np.asarray(x, dtype=object).reshape(-1)], dtype=float)
    yv = np.asarray(y, dtype=float).reshape(-1)
    if yv.size == 0:
        return xv
    if yv.size == 1:
        yv = np.full(xv.size, yv[0])
    if yv.size != xv.size:
        raise InputError(
            f"y has {yv.size} values but x has {xv.size}; y must be one value or as long as x.",
            field="y",
            value=yv.size,
            allowed=f"1 or {xv.size} values",
        )
    miss = np.isnan(xv)
    xv[miss] = yv[miss]
    return xv


def _round_half_even(value: float, digits: int) -> float:
    return value if not math.isfinite(value) else round(value, digits)


def dfround(frame, digits: Any = 0):
    """Round the numeric columns of a data frame, each to its own number of digits (metafor's ``dfround``).

    Parameters
    ----------
    frame : pandas.DataFrame
    digits : int or sequence of (int or None)
        One number for all columns, or one per column (None or NaN: leave the column as it is).

    Returns
    -------
    pandas.DataFrame
        A rounded copy; text columns are left unchanged.

    Raises
    ------
    InputError
        When ``digits`` has a length other than 1 or the number of columns.
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(frame)
    p = frame.shape[1]
    digs = list(np.atleast_1d(np.asarray(digits, dtype=object)))
    if len(digs) == 1:
        digs = digs * p
    if len(digs) != p:
        raise InputError(
            f"digits has {len(digs)} values for {p} columns.",
            field="digits",
            value=len(digs),
            allowed=f"1 or {p}",
        )
    out = frame.copy()
    for name, d in zip(out.columns, digs, strict=True):
        if d is None or (isinstance(d, float) and math.isnan(d)):
            continue
        if not pd.api.types.is_numeric_dtype(out[name]) or pd.api.types.is_bool_dtype(out[name]):
            continue
        out[name] = [_round_half_even(float(v), int(d)) for v in out[name]]
    return out
