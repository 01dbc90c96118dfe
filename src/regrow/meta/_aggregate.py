"""Aggregate dependent effect sizes to one per cluster (metafor's ``aggregate.escalc``).

Within cluster j with estimates ``y_j`` and variance-covariance block ``V_j`` the aggregate is the
inverse-variance weighted mean ``(1'W_j y_j) / (1'W_j 1)`` with ``W_j = V_j^-1`` and variance
``1 / (1'W_j 1)`` (``weighted=False``: the plain mean and ``1'V_j 1 / k_j^2``). ``V`` is given, or built from
the sampling variances and a correlation structure: ``ID`` (independent), ``CS`` (correlation ``rho``),
``CAR`` (``phi^|t - t'|`` over ``time``), ``CS+CAR`` (``rho + (1 - rho) phi^|t - t'|``) or ``CS*CAR``
(``rho`` between different ``obs``, times ``phi^|t - t'|``). Other columns are averaged (numbers) or take
their most frequent value (text), as metafor does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from regrow.errors import InputError

__all__ = ["AGGREGATE_STRUCTS", "aggregate"]

AGGREGATE_STRUCTS = ("ID", "CS", "CAR", "CS+CAR", "CS*CAR")


def _column(data, value, name: str, k: int):
    if value is None:
        return None
    if isinstance(value, str):
        if value not in data.columns:
            raise InputError(f"No column {value!r} in the data.", field=name, value=value)
        return data[value].to_numpy()
    arr = np.asarray(value)
    if arr.shape[0] != k:
        raise InputError(f"{name} has {arr.shape[0]} values; the data have {k} rows.", field=name)
    return arr


def _per_cluster(name: str, value, n: int, lo: float, hi: float) -> np.ndarray:
    if value is None:
        raise InputError(f"Give {name} for this structure.", field=name)
    arr = np.atleast_1d(np.asarray(value, float))
    arr = np.repeat(arr, n) if arr.size == 1 else arr
    if arr.size != n:
        raise InputError(f"{name} has {arr.size} values for {n} clusters.", field=name)
    if np.any((arr < lo) | (arr > hi)):
        raise InputError.invalid(name, arr.tolist(), f"values in [{lo:g}, {hi:g}]")
    return arr


def _build_V(vi, cluster, ucl, struct, rho, phi, time, obs) -> np.ndarray:
    k, n = vi.size, len(ucl)
    R = np.zeros((k, k))
    if struct in ("CS", "CS+CAR", "CS*CAR"):
        rho = _per_cluster("rho", rho, n, -1.0, 1.0)
    if struct in ("CAR", "CS+CAR", "CS*CAR"):
        phi = _per_cluster("phi", phi, n, 0.0, 1.0)
        if time is None:
            raise InputError("Give time for this structure.", field="time")
        time = np.asarray(time, float)
    if struct == "CS*CAR" and obs is None:
        raise InputError("Give obs for the CS*CAR structure.", field="obs")
    for i, c in enumerate(ucl):
        idx = np.flatnonzero(cluster == c)
        block = np.ix_(idx, idx)
        if struct == "CS":
            R[block] = rho[i]
        elif struct != "ID":
            car = phi[i] ** np.abs(np.subtract.outer(time[idx], time[idx]))
            if struct == "CAR":
                R[block] = car
            elif struct == "CS+CAR":
                R[block] = rho[i] + (1 - rho[i]) * car
            else:
                same = np.equal.outer(obs[idx], obs[idx])
                R[block] = np.where(same, 1.0, rho[i]) * car
    np.fill_diagonal(R, 1.0)
    s = np.sqrt(vi)
    return s[:, None] * R * s[None, :]


def _mode(values) -> Any:
    import pandas as pd

    counts = pd.Series(values).dropna().value_counts(sort=False)
    if counts.empty:
        return None
    # R: tail(names(sort(table(x))), 1): the most frequent, ties to the last in sorted order
    ordered = counts.sort_index(kind="stable").sort_values(kind="stable")
    return ordered.index[-1]


def aggregate(
    data,
    *,
    cluster,
    yi: str = "yi",
    vi: str = "vi",
    V=None,
    struct: str = "CS",
    rho: float | Sequence[float] | None = None,
    phi: float | Sequence[float] | None = None,
    time=None,
    obs=None,
    weighted: bool = True,
    checkpd: bool = True,
    na_rm: bool = True,
    addk: bool = False,
    subset=None,
):
    """One aggregated estimate per cluster (metafor's ``aggregate.escalc``).

    Parameters
    ----------
    data : pandas.DataFrame or EffectSizes
        The estimates (columns ``yi`` and ``vi``) and any other columns.
    cluster : str or array-like
        Column name or values identifying the clusters (kept in order of first appearance).
    yi, vi : str, default "yi", "vi"
        Names of the estimate and variance columns.
    V : array-like, optional
        The full variance-covariance matrix (k x k) or the variances; default built from ``vi`` and
        ``struct``.
    struct : {"ID", "CS", "CAR", "CS+CAR", "CS*CAR"}, default "CS"
    rho, phi : float or sequence of float (one per cluster), optional
    time, obs : str or array-like, optional
        Time points (CAR structures) and observation identifiers (CS*CAR).
    weighted : bool, default True
    checkpd : bool, default True
        Stop when a block of V is not positive definite.
    na_rm : bool, default True
        Drop rows with a missing estimate or variance first.
    addk : bool, default False
        Add ``ki``, the number of rows aggregated.
    subset : sequence of bool or int, optional

    Returns
    -------
    pandas.DataFrame
        One row per cluster.

    Raises
    ------
    InputError
        Unknown struct, missing rho/phi/time, bad lengths, a V block that is not positive definite.
    """
    import pandas as pd

    if hasattr(data, "to_frame") and not isinstance(data, pd.DataFrame):
        data = data.to_frame()
    data = pd.DataFrame(data).reset_index(drop=True)
    if struct not in AGGREGATE_STRUCTS:
        raise InputError.invalid("struct", struct, "one of " + ", ".join(AGGREGATE_STRUCTS))
    for name in (yi, vi):
        if name not in data.columns:
            raise InputError(f"No column {name!r} in the data.", field=name)
    k = len(data)
    cl = _column(data, cluster, "cluster", k)
    if pd.isna(pd.Series(cl)).any():
        raise InputError("cluster has missing values.", field="cluster")
    t = _column(data, time, "time", k)
    ob = _column(data, obs, "obs", k)
    ucl = list(pd.unique(pd.Series(cl)))
    if V is None:
        Vm = _build_V(data[vi].to_numpy(float), cl, ucl, struct, rho, phi, t, ob)
    else:
        Vm = np.asarray(V, float)
        if Vm.ndim <= 1:
            Vm = np.diag(np.broadcast_to(Vm, (k,)).astype(float))
        if Vm.shape != (k, k) or not np.allclose(Vm, Vm.T, equal_nan=True):
            raise InputError(f"V must be a symmetric {k} x {k} matrix.", field="V")
    y = data[yi].to_numpy(float)
    keep = np.ones(k, bool)
    if subset is not None:
        sub = np.asarray(subset)
        keep = sub.astype(bool) if sub.dtype == bool else np.isin(np.arange(k), sub.astype(int))
    if na_rm:
        keep &= np.isfinite(y) & np.all(np.isfinite(Vm), axis=1)
    idx = np.flatnonzero(keep)
    frame, y, Vm, cl = (
        data.iloc[idx].reset_index(drop=True),
        y[idx],
        Vm[np.ix_(idx, idx)],
        np.asarray(cl)[idx],
    )
    if frame.empty:
        raise InputError("No rows left to aggregate.", field="subset")
    ucl = list(pd.unique(pd.Series(cl)))
    y_agg, v_agg, sizes = [], [], []
    for c in ucl:
        rows = np.flatnonzero(cl == c)
        Vi = Vm[np.ix_(rows, rows)]
        if checkpd and np.any(np.linalg.eigvalsh(Vi) <= np.finfo(float).eps):
            raise InputError(f"V is not positive definite in cluster {c!r}; cannot aggregate.", field="V")
        if weighted:
            W = np.linalg.inv(Vi)
            total = float(W.sum())
            y_agg.append(float(np.sum(W @ y[rows])) / total)
            v_agg.append(1.0 / total)
        else:
            y_agg.append(float(np.mean(y[rows])))
            v_agg.append(float(Vi.sum()) / rows.size**2)
        sizes.append(rows.size)
    out: dict[str, list[Any]] = {}
    for col in frame.columns:
        values = frame[col]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        out[col] = [(float(values[cl == c].mean()) if numeric else _mode(values[cl == c])) for c in ucl]
    result = pd.DataFrame(out)
    result[yi] = y_agg
    result[vi] = v_agg
    if addk:
        result["ki"] = sizes
    return result
