"""Boundary checks for :func:`regrow.meta._escalc.escalc`: argument conversion and row validation.

Every error names the metafor argument, the 0-based row index and the offending value, and says what is
allowed. Row-level errors carry the row index in ``exc.row`` so that :func:`escalc_frame` can translate
them into a :class:`~regrow.errors.DataFileError` naming the column and the 1-based data row.
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

from regrow.errors import InputError

__all__ = [
    "ARGUMENT_NAMES",
    "check_at_least",
    "check_at_most",
    "check_in_range",
    "check_nonnegative",
    "check_positive",
    "row_error",
    "to_float_array",
]

#: The metafor argument names escalc understands, in metafor's order.
ARGUMENT_NAMES = (
    "ai",
    "bi",
    "ci",
    "di",
    "n1i",
    "n2i",
    "x1i",
    "x2i",
    "t1i",
    "t2i",
    "m1i",
    "m2i",
    "sd1i",
    "sd2i",
    "xi",
    "mi",
    "ri",
    "ti",
    "sdi",
    "r2i",
    "ni",
)


def row_error(name: str, row: int, value: Any, allowed: str) -> InputError:
    """An :class:`InputError` for one cell: names the argument, the 0-based row index and the value.

    Parameters
    ----------
    name : str
        The metafor argument (``"sd1i"``).
    row : int
        0-based index of the study.
    value : object
        The bad value, echoed with ``repr``.
    allowed : str
        What would have been accepted.

    Returns
    -------
    InputError
        With ``field=name``, ``value``, ``allowed`` and the extra attribute ``row``.
    """
    if isinstance(value, np.generic):
        value = value.item()
    err = InputError(
        f"Invalid {name} {value!r} at row index {row}; must be {allowed}.",
        field=name,
        value=value,
        allowed=allowed,
    )
    err.row = row  # type: ignore[attr-defined]
    return err


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    pd = sys.modules.get("pandas")  # pd.NA / pd.NaT can only come from a caller that imported pandas
    if pd is not None and (value is pd.NA or value is pd.NaT):
        return True
    return isinstance(value, float | np.floating) and bool(np.isnan(value))


def to_float_array(name: str, values: Any) -> np.ndarray:
    """Convert one argument to a 1-D float array; ``None``/NaN cells become NaN (missing).

    Parameters
    ----------
    name : str
        The metafor argument name, used in error messages.
    values : array-like or scalar
        Numbers (int/float, numpy or pandas), with ``None``/NaN/``pd.NA`` for a missing value.

    Returns
    -------
    numpy.ndarray
        A new float64 array.

    Raises
    ------
    InputError
        A cell is not a number (strings and booleans included) or is infinite, or the input is not 1-D.
    """
    if isinstance(values, str | bytes):
        raise InputError.invalid(name, values, "a sequence of numbers, one per study")
    if hasattr(values, "to_numpy"):
        values = values.to_numpy()
    # plain sequences go through object dtype so that "1.0" or True are not silently coerced
    raw = values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)
    if raw.ndim == 0:
        raw = raw.reshape(1)
    if raw.ndim != 1:
        raise InputError.invalid(
            name, f"array of shape {raw.shape}", "a 1-D sequence of numbers, one per study"
        )
    if raw.dtype.kind in "iuf":
        out = raw.astype(np.float64, copy=True)
    else:
        out = np.empty(raw.shape[0], dtype=np.float64)
        for i, cell in enumerate(raw.tolist()):
            if _is_missing(cell):
                out[i] = np.nan
            elif isinstance(cell, numbers.Real) and not isinstance(cell, bool | np.bool_):
                out[i] = float(cell)
            else:
                raise row_error(name, i, cell, "a number (None or NaN for a missing value)")
    bad = np.isinf(out)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise row_error(name, i, float(out[i]), "a finite number (None or NaN for a missing value)")
    return out


def _first(mask: np.ndarray) -> int | None:
    idx = np.flatnonzero(mask)
    return int(idx[0]) if idx.size else None


def check_nonnegative(args: Mapping[str, np.ndarray], names: tuple[str, ...], what: str) -> None:
    """Raise for the first negative cell among ``names`` (NaN cells are missing, not errors)."""
    for name in names:
        if name not in args:
            continue
        with np.errstate(invalid="ignore"):
            i = _first(args[name] < 0)
        if i is not None:
            raise row_error(name, i, args[name][i], f"{what} >= 0")


def check_at_least(args: Mapping[str, np.ndarray], names: tuple[str, ...], low: float, what: str) -> None:
    """Raise for the first cell below ``low`` among ``names`` (e.g. sample sizes < 1)."""
    for name in names:
        if name not in args:
            continue
        with np.errstate(invalid="ignore"):
            i = _first(args[name] < low)
        if i is not None:
            raise row_error(name, i, args[name][i], f"{what} >= {low:g}")


def check_positive(args: Mapping[str, np.ndarray], names: tuple[str, ...], what: str) -> None:
    """Raise for the first cell <= 0 among ``names`` (e.g. person-times, means on a ratio scale)."""
    for name in names:
        if name not in args:
            continue
        with np.errstate(invalid="ignore"):
            i = _first(args[name] <= 0)
        if i is not None:
            raise row_error(name, i, args[name][i], f"{what} > 0")


def check_in_range(args: Mapping[str, np.ndarray], name: str, low: float, high: float, what: str) -> None:
    """Raise for the first cell of ``name`` outside ``[low, high]``."""
    if name not in args:
        return
    with np.errstate(invalid="ignore"):
        i = _first((args[name] < low) | (args[name] > high))
    if i is not None:
        raise row_error(name, i, args[name][i], f"{what} in [{low:g}, {high:g}]")


def check_at_most(part: np.ndarray, whole: np.ndarray, part_name: str, whole_name: str, what: str) -> None:
    """Raise for the first row where ``part > whole`` (events larger than the group size)."""
    with np.errstate(invalid="ignore"):
        i = _first(part > whole)
    if i is not None:
        raise row_error(part_name, i, part[i], f"{what} <= {whole_name} ({whole[i]:g} in this row)")
