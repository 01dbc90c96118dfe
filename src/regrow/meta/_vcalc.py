"""Sampling variance-covariance matrices of dependent effect sizes (metafor 3.8-1's ``vcalc``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from regrow.errors import InputError
from regrow.meta._mv_input import data_length
from regrow.meta._mv_terms import column

__all__ = ["vcalc"]


def _get(value, data, k: int | None, name: str):
    if value is None:
        return None
    if isinstance(value, str):
        n = data_length(data) if k is None else k
        return column(data, value, n or 0, what=name)
    arr = np.asarray(value)
    if arr.ndim == 0:
        return arr
    return arr.reshape(-1)


def _check_len(arr, k: int, name: str):
    if arr.shape[0] != k:
        raise InputError(f"{name} has {arr.shape[0]} values but cluster has {k}.", field=name)
    bad = [i for i, v in enumerate(arr.tolist()) if v is None or (isinstance(v, float) and v != v)]
    if bad:
        raise InputError(f"{name} is missing in row {bad[0] + 1}.", field=name)
    return arr


def _rho_matrix(rho, values: np.ndarray, name: str, labels=None) -> tuple[np.ndarray, dict]:
    """A correlation matrix over the distinct ``values``, and the row of each value.

    A scalar fills the matrix; a square array is read with ``labels`` naming its rows and columns (matched to
    the values as text), or else in the order the values first appear (as metafor fills a scalar ``rho``).
    """
    arr = np.asarray(rho, dtype=float)
    uniq = list(dict.fromkeys(values.tolist()))
    if arr.ndim == 0:
        R = np.full((len(uniq), len(uniq)), float(arr))
        np.fill_diagonal(R, 1.0)
        index = {v: i for i, v in enumerate(uniq)}
    else:
        names = [str(x) for x in labels] if labels is not None else [str(v) for v in uniq]
        if arr.shape != (len(names), len(names)):
            raise InputError(
                f"The correlation matrix for {name} is {arr.shape[0]} x {arr.shape[1]} but names {len(names)} "
                f"values; give a square matrix with rho_labels naming its rows (or one row per distinct {name} "
                "value, in order of first appearance).",
                field="rho",
            )
        lookup = {label: i for i, label in enumerate(names)}
        missing = [v for v in uniq if str(v) not in lookup]
        if missing:
            raise InputError(
                f"The {name} value {missing[0]!r} has no row in the correlation matrix (rho_labels).",
                field="rho_labels",
            )
        R = arr
        index = {v: lookup[str(v)] for v in uniq}
    if np.any(np.abs(R) > 1):
        raise InputError("All correlations given in rho must lie in [-1, 1].", field="rho", value=rho)
    return R, index


def vcalc(
    vi,
    cluster,
    *,
    data=None,
    subgroup=None,
    obs=None,
    type=None,  # metafor's argument name
    time1=None,
    time2=None,
    grp1=None,
    grp2=None,
    w1=None,
    w2=None,
    rho=None,
    phi=None,
    rho_labels=None,
    rvars: Sequence[str] | None = None,
    checkpd: bool = True,
) -> np.ndarray:
    """Construct the k x k sampling variance-covariance matrix of dependent effect sizes.

    Effect sizes in the same ``cluster`` (study) are correlated: ``V_ij = r_ij sqrt(v_i v_j)`` with ``r_ij``
    built from what makes them dependent, exactly as metafor's ``vcalc``:

    * ``obs`` / ``type``: different outcomes measured in the same participants, correlated ``rho`` (with both,
      ``rho = (within-construct, between-construct)``);
    * ``time1`` (``time2``): repeated measurements, correlated ``phi ** |t_i - t_j|``;
    * ``grp1``/``grp2`` with group sizes ``w1``/``w2``: contrasts sharing a group (several treatments against
      one control), correlated through the shared group.

    Parameters
    ----------
    vi : array-like of shape (k,), float or str
        Sampling variances (or a column of ``data``).
    cluster : array-like of shape (k,) or str
    data : DataFrame or dict of columns, optional
        Where string arguments are looked up.
    subgroup, obs, type, time1, time2, grp1, grp2, w1, w2 : array-like or str, optional
    rho : float, pair, or square array, optional
        Correlations for ``obs``/``type``: a scalar, a pair (within- and between-construct, when both are given),
        or a square matrix (a pair of them with both).
    rho_labels : sequence of str (a pair of sequences with both obs and type), optional
        Names of the rows/columns of a ``rho`` matrix (matched to the obs/type values); without them the rows
        follow the order in which the values first appear.
    phi : float, optional
        Autocorrelation for ``time1``/``time2`` (in [-1, 1]).
    rvars : list of str, optional
        Columns of ``data`` holding each cluster's correlation (or, with ``vi=1``, covariance) matrix row by row
        (as in dat.berkey1998); the other dependence arguments are then ignored.
    checkpd : bool, default True
        Refuse a cluster whose correlation matrix is not positive semi-definite (metafor only warns).

    Returns
    -------
    numpy.ndarray of shape (k, k)

    Raises
    ------
    InputError
        Missing or mismatched inputs, a missing rho/phi, correlations outside [-1, 1], or (``checkpd``) a cluster
        whose matrix is not positive semi-definite (naming the cluster).

    Examples
    --------
    >>> V = vcalc([0.04, 0.05, 0.02], [1, 1, 2], obs=[1, 2, 1], rho=0.6)
    >>> round(float(V[0, 1]), 6)
    0.026833
    """
    cl = _get(cluster, data, None, "cluster")
    if cl is None or cl.ndim == 0:
        raise InputError("cluster must give one value per effect size.", field="cluster")
    k = cl.shape[0]
    v = _get(vi, data, k, "vi")
    v = np.full(k, float(v)) if np.ndim(v) == 0 else np.asarray(v, dtype=float)
    if k < 2:
        raise InputError("vcalc needs at least 2 effect sizes.", field="vi")
    _check_len(v.astype(object), k, "vi")
    _check_len(cl, k, "cluster")
    if np.any(~np.isfinite(v)) or np.any(v < 0):
        bad = int(np.flatnonzero(~np.isfinite(v) | (v < 0))[0])
        raise InputError(f"vi must be finite and >= 0; row {bad + 1} has {float(v[bad])!r}.", field="vi")
    clusters = np.array([str(c) for c in cl.tolist()], dtype=object)
    if subgroup is not None:
        sg = _check_len(_get(subgroup, data, k, "subgroup"), k, "subgroup")
        clusters = np.array([f"{c}.{s}" for c, s in zip(clusters, sg.tolist(), strict=True)], dtype=object)
    if rvars is not None:
        R = _from_rvars(rvars, data, clusters, k)
    else:
        R = _from_dependence(
            k, clusters, data, obs, type, time1, time2, grp1, grp2, w1, w2, rho, phi, rho_labels
        )
    if checkpd:
        for c in dict.fromkeys(clusters.tolist()):
            rows = np.flatnonzero(clusters == c)
            block = R[np.ix_(rows, rows)]
            # singular blocks (perfectly correlated estimates) are legitimate; negative eigenvalues are not
            if np.all(np.isfinite(block)) and np.linalg.eigvalsh(block)[0] < -1e-10:
                raise InputError(
                    f"The variance-covariance matrix is not positive semi-definite in cluster {c!r} (rows "
                    f"{', '.join(str(r + 1) for r in rows[:8])}): the correlations given are impossible together; "
                    "check rho/phi, or pass checkpd=False.",
                    field="rho",
                )
    s = np.sqrt(v)
    return s[:, None] * R * s[None, :]


def _from_rvars(rvars, data, clusters: np.ndarray, k: int) -> np.ndarray:
    if data is None:
        raise InputError("rvars names columns, so pass data=.", field="data")
    cols = np.column_stack([np.asarray(column(data, name, k, what="rvars"), dtype=float) for name in rvars])
    R = np.zeros((k, k))
    sizes = {c: int(np.sum(clusters == c)) for c in dict.fromkeys(clusters.tolist())}
    if max(sizes.values()) > cols.shape[1]:
        raise InputError(
            f"{cols.shape[1]} rvars columns were given but a cluster has {max(sizes.values())} rows.",
            field="rvars",
        )
    if max(sizes.values()) != cols.shape[1]:
        raise InputError(
            f"{cols.shape[1]} rvars columns were given but no cluster has that many rows.", field="rvars"
        )
    for c in sizes:
        rows = np.flatnonzero(clusters == c)
        x = cols[np.ix_(rows, np.arange(rows.size))]
        lower = np.tril(x)
        R[np.ix_(rows, rows)] = lower + np.tril(x, -1).T
    return R


def _from_dependence(
    k, clusters, data, obs, type_, time1, time2, grp1, grp2, w1, w2, rho, phi, labels
) -> np.ndarray:
    have_obs, have_type = obs is not None, type_ is not None
    if (have_obs or have_type) and rho is None:
        raise InputError("rho must be given when obs or type is.", field="rho")
    obs_v = _check_len(_get(obs, data, k, "obs"), k, "obs") if have_obs else np.ones(k, dtype=object)
    type_v = _check_len(_get(type_, data, k, "type"), k, "type") if have_type else np.ones(k, dtype=object)
    if have_obs and have_type:
        pair = list(rho) if isinstance(rho, list | tuple | np.ndarray) and len(rho) == 2 else []
        if len(pair) != 2:
            raise InputError(
                "With both obs and type, rho must give the within- and between-construct correlations.",
                field="rho",
            )
        rho_obs, rho_type = pair[0], pair[1]
        lab_obs, lab_type = (None, None) if labels is None else labels
    elif have_obs:
        rho_obs, rho_type, lab_obs, lab_type = rho, 0.0, labels, None
    elif have_type:
        rho_obs, rho_type, lab_obs, lab_type = 0.0, rho, None, labels
    else:
        rho_obs = rho_type = 0.0
        lab_obs = lab_type = None
    R_obs, i_obs = _rho_matrix(rho_obs, obs_v, "obs", lab_obs)
    R_type, i_type = _rho_matrix(rho_type, type_v, "type", lab_type)
    if grp2 is not None and grp1 is None:
        raise InputError("Give grp1 (and optionally grp2), not grp2 alone.", field="grp2")
    g1 = _check_len(_get(grp1, data, k, "grp1"), k, "grp1") if grp1 is not None else np.ones(k, dtype=object)
    g2 = (
        _check_len(_get(grp2, data, k, "grp2"), k, "grp2")
        if grp2 is not None
        else np.full(k, 2, dtype=object)
    )
    if time2 is not None and time1 is None:
        raise InputError("Give time1 (and optionally time2), not time2 alone.", field="time2")
    t1 = (
        np.asarray(_check_len(_get(time1, data, k, "time1"), k, "time1"), float)
        if time1 is not None
        else np.ones(k)
    )
    t2 = np.asarray(_check_len(_get(time2, data, k, "time2"), k, "time2"), float) if time2 is not None else t1
    if time1 is not None:
        if phi is None:
            raise InputError("phi must be given when time1 is.", field="phi")
        phi_v = float(phi)
    else:
        phi_v = 1.0
    if abs(phi_v) > 1:
        raise InputError.invalid("phi", phi, "in [-1, 1]")
    if w2 is not None and w1 is None:
        raise InputError("Give w1 (and optionally w2), not w2 alone.", field="w2")
    a1 = np.asarray(_check_len(_get(w1, data, k, "w1"), k, "w1"), float) if w1 is not None else np.ones(k)
    a2 = np.asarray(_check_len(_get(w2, data, k, "w2"), k, "w2"), float) if w2 is not None else a1
    g1s = np.array([str(x) for x in g1.tolist()])
    g2s = np.array([str(x) for x in g2.tolist()])

    def f(same: np.ndarray, ta: np.ndarray, tb: np.ndarray) -> np.ndarray:
        return np.where(same, np.where(ta == tb, 1.0, np.power(phi_v, np.abs(ta - tb))), 0.0)

    R = np.eye(k)
    oc = np.array([i_obs[x] for x in obs_v.tolist()])
    tc = np.array([i_type[x] for x in type_v.tolist()])
    for c in dict.fromkeys(clusters.tolist()):
        rows = np.flatnonzero(clusters == c)
        if rows.size < 2:
            continue
        ri, rj = np.meshgrid(rows, rows, indexing="ij")
        base = np.where(
            type_v[ri] == type_v[rj],
            np.where(obs_v[ri] == obs_v[rj], 1.0, R_obs[oc[ri], oc[rj]]),
            R_type[tc[ri], tc[rj]],
        )
        num = (
            f(g1s[ri] == g1s[rj], t1[ri], t1[rj]) * np.sqrt(1 / a1[ri] / a1[rj])
            - f(g1s[ri] == g2s[rj], t1[ri], t2[rj]) * np.sqrt(1 / a1[ri] / a2[rj])
            - f(g2s[ri] == g1s[rj], t2[ri], t1[rj]) * np.sqrt(1 / a2[ri] / a1[rj])
            + f(g2s[ri] == g2s[rj], t2[ri], t2[rj]) * np.sqrt(1 / a2[ri] / a2[rj])
        )
        d = np.sqrt(1 / a1 + 1 / a2 - 2 * f(g1s == g2s, t1, t2) * np.sqrt(1 / a1 / a2))
        block = base * num / (d[ri] * d[rj])
        np.fill_diagonal(block, 1.0)
        R[np.ix_(rows, rows)] = block
    return R
