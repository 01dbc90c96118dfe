"""Moderator design matrices, built the way R's ``model.matrix`` builds them for ``rma(mods = ~ ...)``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from regrow.errors import InputError

__all__ = ["INTERCEPT_NAME", "design_matrix", "drop_redundant"]

#: metafor's name for the intercept column.
INTERCEPT_NAME = "intrcpt"


def _is_categorical(column: pd.Series) -> bool:
    return bool(
        isinstance(column.dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(column)
        or pd.api.types.is_object_dtype(column)
        or pd.api.types.is_string_dtype(column)
    )


def design_matrix(
    mods: pd.DataFrame | np.ndarray | Sequence[Sequence[float]] | None,
    k: int,
    *,
    intercept: bool = True,
    mod_names: Sequence[str] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Build the k x p model matrix and its column names.

    Numeric columns enter as they are. Text, boolean and categorical columns are dummy-coded with treatment
    contrasts against the first level in sorted order (R's default factor levels), named column + level,
    e.g. ``alloc`` with levels alternate/random/systematic gives ``allocrandom`` and ``allocsystematic``.
    Without an intercept the first categorical moderator keeps all its levels (R's ``~ x - 1``).

    Parameters
    ----------
    mods : DataFrame, array of shape (k, m), or None
        The moderators; None for an intercept-only model.
    k : int
        Number of studies (rows).
    intercept : bool, default True
        Whether to add the ``intrcpt`` column.
    mod_names : sequence of str, optional
        Names for the columns of an array ``mods`` (default ``x1..xm``).

    Returns
    -------
    X : ndarray of shape (k, p)
    names : list of str

    Raises
    ------
    InputError
        When the moderators have the wrong number of rows or non-finite numeric values.
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
    if not isinstance(mods, pd.DataFrame):
        arr = np.asarray(mods, dtype=float)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise InputError.invalid(
                "mods", f"array of shape {arr.shape}", "a 2-D array (k x m) or a DataFrame"
            )
        labels = list(mod_names) if mod_names is not None else [f"x{j + 1}" for j in range(arr.shape[1])]
        mods = pd.DataFrame(arr, columns=labels)
    if len(mods) != k:
        raise InputError(
            f"mods has {len(mods)} rows but there are {k} studies.", field="mods", value=len(mods)
        )
    full_rank_factor_used = intercept
    for name in mods.columns:
        column = mods[name]
        if _is_categorical(column):
            if column.isna().any():
                row = int(np.flatnonzero(column.isna().to_numpy())[0]) + 1
                raise InputError(f"Moderator {name!r} is missing in row {row}.", field=str(name))
            if isinstance(column.dtype, pd.CategoricalDtype):
                levels = [str(v) for v in column.cat.categories]
            else:
                levels = sorted({str(v) for v in column})
            values = column.astype(str).to_numpy()
            kept = levels if not full_rank_factor_used else levels[1:]
            full_rank_factor_used = True
            for level in kept:
                columns.append((values == level).astype(float))
                names.append(f"{name}{level}")
        else:
            values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
            bad = ~np.isfinite(values)
            if bad.any():
                row = int(np.flatnonzero(bad)[0]) + 1
                raise InputError(
                    f"Moderator {name!r} has a missing or non-numeric value in row {row}: "
                    f"{column.iloc[row - 1]!r}.",
                    field=str(name),
                    value=column.iloc[row - 1],
                )
            columns.append(values)
            names.append(str(name))
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
