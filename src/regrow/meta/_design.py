"""Moderator design matrices, built the way R's ``model.matrix`` builds them for ``rma(mods = ~ ...)``."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from regrow.errors import InputError

__all__ = ["INTERCEPT_NAME", "design_matrix", "drop_redundant"]

#: metafor's name for the intercept column.
INTERCEPT_NAME = "intrcpt"


def _is_dataframe(obj: Any) -> bool:
    """A pandas DataFrame, recognised without importing pandas (it is loaded only if the caller has it)."""
    return type(obj).__module__.startswith("pandas") and hasattr(obj, "columns")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _pandas_column(column: Any) -> tuple[str, np.ndarray, list[str] | None]:
    """``("factor", labels, levels)`` or ``("numeric", values, None)`` for a pandas Series."""
    import pandas as pd

    if isinstance(column.dtype, pd.CategoricalDtype):
        levels = [str(v) for v in column.cat.categories]
        return "factor", np.array([None if _missing(v) else str(v) for v in column], dtype=object), levels
    if (
        pd.api.types.is_bool_dtype(column)
        or pd.api.types.is_object_dtype(column)
        or pd.api.types.is_string_dtype(column)
    ):
        return "factor", np.array([None if pd.isna(v) else str(v) for v in column], dtype=object), None
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    return "numeric", values, None


def _plain_column(values: Any) -> tuple[str, np.ndarray, list[str] | None]:
    """The same for a list or array: numbers (None for missing) are numeric, text or booleans a factor."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        arr = np.asarray(list(values), dtype=object)
    if arr.dtype.kind in "iuf":
        return "numeric", arr.astype(float), None
    items = arr.tolist()
    if arr.dtype.kind != "b" and all(_is_number(v) or _missing(v) for v in items):
        return "numeric", np.array([np.nan if _missing(v) else float(v) for v in items]), None
    return "factor", np.array([None if _missing(v) else str(v) for v in items], dtype=object), None


def _named_columns(mods: Any, mod_names: Sequence[str] | None) -> list[tuple[str, Any]]:
    if _is_dataframe(mods):
        return [(str(name), mods[name]) for name in mods.columns]
    if isinstance(mods, Mapping):
        return [(str(name), values) for name, values in mods.items()]
    arr = np.asarray(mods, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise InputError.invalid(
            "mods", f"array of shape {arr.shape}", "a 2-D array (k x m), a mapping of columns or a DataFrame"
        )
    labels = list(mod_names) if mod_names is not None else [f"x{j + 1}" for j in range(arr.shape[1])]
    if len(labels) != arr.shape[1]:
        raise InputError(
            f"mod_names has {len(labels)} names for {arr.shape[1]} moderator columns.", field="mod_names"
        )
    return [(str(label), arr[:, j]) for j, label in enumerate(labels)]


def design_matrix(
    mods: Any,
    k: int,
    *,
    intercept: bool = True,
    mod_names: Sequence[str] | None = None,
    missing: str = "raise",
) -> tuple[np.ndarray, list[str]]:
    """Build the k x p model matrix and its column names.

    Numeric columns enter as they are. Text, boolean and categorical columns are dummy-coded with treatment
    contrasts against the first level in sorted order (R's default factor levels; a pandas categorical keeps
    its own order), named column + level, e.g. ``alloc`` with levels alternate/random/systematic gives
    ``allocrandom`` and ``allocsystematic``. Without an intercept the first categorical moderator keeps all
    its levels (R's ``~ x - 1``).

    Parameters
    ----------
    mods : array of shape (k, m), mapping of column name to values, DataFrame, or None
        The moderators; None for an intercept-only model. pandas is not needed (nor imported) unless a
        DataFrame is given.
    k : int
        Number of studies (rows).
    intercept : bool, default True
        Whether to add the ``intrcpt`` column.
    mod_names : sequence of str, optional
        Names for the columns of an array ``mods`` (default ``x1..xm``).
    missing : {"raise", "nan"}, default "raise"
        What a missing moderator value does: raise, or give the study's row NaN in every column the
        moderator makes (so that the caller can omit it, as metafor's ``na.action`` does).

    Returns
    -------
    X : ndarray of shape (k, p)
    names : list of str

    Raises
    ------
    InputError
        When the moderators have the wrong number of rows or missing or non-finite values.
    """
    columns: list[np.ndarray] = []
    names: list[str] = []
    if intercept:
        columns.append(np.ones(k))
        names.append(INTERCEPT_NAME)
    if mods is None:
        if not intercept:
            raise InputError("A model without an intercept needs at least one moderator.", field="mods")
        return np.column_stack(columns), names
    full_rank_factor_used = intercept
    for name, raw in _named_columns(mods, mod_names):
        kind, values, levels = _pandas_column(raw) if _is_dataframe(mods) else _plain_column(raw)
        if len(values) != k:
            raise InputError(
                f"mods has {len(values)} rows but there are {k} studies.", field="mods", value=len(values)
            )
        if kind == "factor":
            absent = np.array([v is None for v in values], dtype=bool)
            if absent.any() and missing != "nan":
                row = int(np.flatnonzero(absent)[0])
                raise InputError(f"Moderator {name!r} is missing in row {row + 1}.", field=name)
            if levels is None:
                levels = sorted({v for v in values.tolist() if v is not None})
            kept = levels if not full_rank_factor_used else levels[1:]
            full_rank_factor_used = True
            for level in kept:
                columns.append(np.where(absent, np.nan, (values == level).astype(float)))
                names.append(f"{name}{level}")
        else:
            bad = np.isinf(values) if missing == "nan" else ~np.isfinite(values)
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                shown = raw.iloc[row] if _is_dataframe(mods) else values[row]
                raise InputError(
                    f"Moderator {name!r} has a missing or non-numeric value in row {row + 1}: {shown!r}.",
                    field=name,
                    value=shown,
                )
            columns.append(values)
            names.append(name)
    return np.column_stack(columns), names


def drop_redundant(X: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str], list[str]]:
    """Drop columns that are linear combinations of earlier ones, as R's ``lm`` (and so metafor) does.

    Returns
    -------
    X : ndarray
        The model matrix without the redundant columns.
    names : list of str
        The kept column names.
    dropped : list of str
        The names of the dropped columns, in order.
    """
    kept: list[int] = []
    dropped: list[str] = []
    scale = np.maximum(np.abs(X).max(axis=0), 1e-300)
    Xs = X / scale
    for j in range(X.shape[1]):
        trial = Xs[:, [*kept, j]]
        if np.linalg.matrix_rank(trial, tol=1e-7 * max(trial.shape)) == len(kept) + 1:
            kept.append(j)
        else:
            dropped.append(names[j])
    return X[:, kept], [names[j] for j in kept], dropped
