"""Variance structures of ``~ inner | outer`` terms (metafor's ``struct=``) and their derivatives.

A structure maps its variances ``v`` (metafor's tau^2 or gamma^2) and correlations ``r`` (rho or phi) to the
covariance matrix ``G`` of the true effects of the inner levels within one outer level. The optimiser works on
unconstrained parameters ``psi``, as metafor does: ``v = exp(psi)``, ``r = tanh(psi)`` (``r = plogis(psi)``
for CAR), and for an unstructured matrix with nothing fixed ``G = L L'`` with ``L`` lower triangular (the
Cholesky parametrisation keeps ``G`` positive semi-definite). :meth:`Structure.derivatives` returns
``dG / dpsi`` for each free parameter, which the likelihood turns into an analytic gradient.

=======  ===========  ==============================================================
struct   parameters   G[l, m]
=======  ===========  ==============================================================
CS       v, r         v (l = m), r v (l != m)
HCS      v_l, r       v_l (l = m), r sqrt(v_l v_m)
UN       v_l, r_lm    v_l (l = m), r_lm sqrt(v_l v_m)
AR       v, r         v r^|l - m|  (l, m: positions of the sorted inner levels)
HAR      v_l, r       sqrt(v_l v_m) r^|l - m|
CAR      v, r         v r^|t_l - t_m|  (t: the numeric inner values; 0 <= r <= 1)
ID       v            v (l = m), 0 otherwise
DIAG     v_l          v_l (l = m), 0 otherwise
=======  ===========  ==============================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from regrow.errors import InputError

__all__ = ["STRUCTS", "Structure", "make_structure"]

#: Structures of ``~ inner | outer`` terms (metafor's names).
STRUCTS = ("CS", "HCS", "UN", "AR", "HAR", "CAR", "ID", "DIAG")
_HETERO = ("HCS", "UN", "HAR", "DIAG")
#: metafor treats variances at or below 10 machine epsilons as exactly zero.
ZERO_VARIANCE = 10 * np.finfo(float).eps


@dataclass
class Structure:
    """One ``~ inner | outer`` term's structure.

    Attributes
    ----------
    struct : str
    n : int
        Number of inner levels (rows and columns of ``G``).
    n_var, n_cor : int
        Number of variances and correlations (fixed or free), as metafor counts them.
    v_fixed, r_fixed : numpy.ndarray
        Fixed values, NaN where the parameter is estimated.
    values : numpy.ndarray or None
        Numeric inner values (CAR).
    """

    struct: str
    n: int
    n_var: int
    n_cor: int
    v_fixed: np.ndarray
    r_fixed: np.ndarray
    values: np.ndarray | None = None

    @property
    def cholesky(self) -> bool:
        """UN is parametrised by its Cholesky factor when none of its parameters is fixed."""
        return (
            self.struct == "UN"
            and self.n > 1
            and bool(np.isnan(self.v_fixed).all() and np.isnan(self.r_fixed).all())
        )

    # ---- parameter bookkeeping ---------------------------------------------------------------------
    @property
    def n_free(self) -> int:
        if self.cholesky:
            return self.n * (self.n + 1) // 2
        return int(np.isnan(self.v_fixed).sum() + np.isnan(self.r_fixed).sum())

    @property
    def n_estimated(self) -> int:
        """Number of estimated variance and correlation parameters (metafor's ``parms`` count)."""
        return int(np.isnan(self.v_fixed).sum() + np.isnan(self.r_fixed).sum())

    def lag(self) -> np.ndarray:
        if self.struct == "CAR":
            assert self.values is not None
            return np.abs(self.values[:, None] - self.values[None, :])
        idx = np.arange(self.n, dtype=float)
        return np.abs(idx[:, None] - idx[None, :])

    def natural(self, psi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Variances and correlations from the free transformed parameters ``psi``."""
        if self.cholesky:
            G = self._cholesky_G(psi)
            v = np.diag(G).copy()
            sd = np.sqrt(v)
            with np.errstate(invalid="ignore", divide="ignore"):
                R = G / np.outer(sd, sd)
            r = _lower_colmajor(R)
            return _zero_small(v), np.nan_to_num(r)
        n_v = int(np.isnan(self.v_fixed).sum())
        v = self.v_fixed.copy()
        v[np.isnan(v)] = np.exp(psi[:n_v])
        r = self.r_fixed.copy()
        free_r = psi[n_v:]
        r[np.isnan(r)] = 1.0 / (1.0 + np.exp(-free_r)) if self.struct == "CAR" else np.tanh(free_r)
        return _zero_small(v), r

    def initial(self, v0: float, r0: float) -> np.ndarray:
        """Transformed starting values from metafor's defaults (``v0`` for variances, ``r0`` for rho)."""
        if self.cholesky:
            G = _un_matrix(np.full(self.n, v0), np.full(max(self.n_cor, 1), r0), self.n)
            L = np.linalg.cholesky(G)
            return L[np.tril_indices(self.n)]
        n_v = int(np.isnan(self.v_fixed).sum())
        n_r = int(np.isnan(self.r_fixed).sum())
        r_psi = np.log(r0 / (1 - r0)) if self.struct == "CAR" else np.arctanh(r0)
        return np.concatenate([np.full(n_v, np.log(v0)), np.full(n_r, r_psi)])

    def psi_from(self, v: np.ndarray, r: np.ndarray, floor: float) -> np.ndarray:
        """Transformed parameters reproducing ``v`` and ``r`` (variances below ``floor`` are raised to it)."""
        v = np.maximum(np.asarray(v, dtype=float), floor)
        r = np.clip(np.asarray(r, dtype=float), -0.999, 0.999)
        if self.cholesky:
            G = _un_matrix(v, r, self.n)
            try:
                L = np.linalg.cholesky(G)
            except np.linalg.LinAlgError:
                L = np.linalg.cholesky(np.diag(v))
            return L[np.tril_indices(self.n)]
        free_v = np.isnan(self.v_fixed)
        free_r = np.isnan(self.r_fixed)
        rv = r[free_r]
        if self.struct == "CAR":
            rv = np.clip(rv, 1e-3, 0.999)
            r_psi = np.log(rv / (1 - rv))
        else:
            r_psi = np.arctanh(rv)
        return np.concatenate([np.log(v[free_v]), r_psi])

    # ---- G and its derivatives ---------------------------------------------------------------------
    def matrix(self, v: np.ndarray, r: np.ndarray) -> np.ndarray:
        """``G`` from variances ``v`` and correlations ``r``."""
        n, s = self.struct, self.n
        if n == "CS":
            return v[0] * ((1 - r[0]) * np.eye(s) + r[0])
        if n == "HCS":
            sd = np.sqrt(v)
            R = (1 - r[0]) * np.eye(s) + r[0]
            return np.outer(sd, sd) * R
        if n == "UN":
            return _un_matrix(v, r, s)
        if n in ("AR", "CAR"):
            G = v[0] * _power(r[0], self.lag())
            np.fill_diagonal(G, v[0])
            return G
        if n == "HAR":
            sd = np.sqrt(v)
            return np.outer(sd, sd) * _power(r[0], self.lag())
        if n == "ID":
            return v[0] * np.eye(s)
        return np.diag(v)  # DIAG

    def derivatives(self, psi: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """``G`` and ``dG/dpsi`` for each free transformed parameter (in the order of ``psi``)."""
        if self.cholesky:
            L = np.zeros((self.n, self.n))
            L[np.tril_indices(self.n)] = psi
            out = []
            for a, b in zip(*np.tril_indices(self.n), strict=True):
                E = np.zeros((self.n, self.n))
                E[a, b] = 1.0
                D = E @ L.T
                out.append(D + D.T)
            return L @ L.T, out
        v, r = self.natural(psi)
        G = self.matrix(v, r)
        s, struct = self.n, self.struct
        out: list[np.ndarray] = []
        for j in np.flatnonzero(np.isnan(self.v_fixed)):
            if struct in ("CS", "AR", "CAR", "ID"):
                out.append(G.copy())
            elif struct == "DIAG":
                D = np.zeros((s, s))
                D[j, j] = v[j]
                out.append(D)
            else:  # HCS, UN, HAR: d sqrt(v_a v_b) / d log v_j = 0.5 sqrt(v_a v_b) ([a = j] + [b = j])
                ind = np.zeros(s)
                ind[j] = 1.0
                out.append(0.5 * G * (ind[:, None] + ind[None, :]))
        free_r = np.flatnonzero(np.isnan(self.r_fixed))
        for j in free_r:
            if struct == "CS":
                out.append(v[0] * (1 - r[0] ** 2) * (np.ones((s, s)) - np.eye(s)))
            elif struct == "HCS":
                sd = np.sqrt(v)
                out.append(np.outer(sd, sd) * (1 - r[0] ** 2) * (np.ones((s, s)) - np.eye(s)))
            elif struct == "UN":
                sd = np.sqrt(v)
                a, b = _lower_colmajor_index(s)[j]
                D = np.zeros((s, s))
                D[a, b] = D[b, a] = sd[a] * sd[b] * (1 - r[j] ** 2)
                out.append(D)
            else:  # AR, HAR, CAR
                lag = self.lag()
                scale = v[0] if struct in ("AR", "CAR") else np.outer(np.sqrt(v), np.sqrt(v))
                if struct == "CAR":  # r = plogis(psi): dr/dpsi = r (1 - r); d r^lag / dr * r = lag r^lag
                    out.append(scale * lag * _power(r[0], lag) * (1 - r[0]))
                else:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        d = np.where(lag > 0, lag * _power(r[0], np.maximum(lag - 1, 0)), 0.0)
                    out.append(scale * d * (1 - r[0] ** 2))
        return G, out

    def _cholesky_G(self, psi: np.ndarray) -> np.ndarray:
        L = np.zeros((self.n, self.n))
        L[np.tril_indices(self.n)] = psi
        return L @ L.T


def _power(r: float, lag: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.power(r, lag)
    out[lag == 0] = 1.0
    return out


def _zero_small(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=float).copy()
    v[v <= ZERO_VARIANCE] = 0.0
    return v


def _lower_colmajor_index(n: int) -> list[tuple[int, int]]:
    """Positions of R's ``M[lower.tri(M)]`` (column by column)."""
    return [(a, b) for b in range(n) for a in range(b + 1, n)]


def _lower_colmajor(M: np.ndarray) -> np.ndarray:
    return np.array([M[a, b] for a, b in _lower_colmajor_index(M.shape[0])])


def _un_matrix(v: np.ndarray, r: np.ndarray, n: int) -> np.ndarray:
    R = np.eye(n)
    for (a, b), value in zip(_lower_colmajor_index(n), r, strict=False):
        R[a, b] = R[b, a] = value
    sd = np.sqrt(v)
    return np.outer(sd, sd) * R


def _as_fixed(value, count: int, name: str, *, lo: float, hi: float) -> np.ndarray:
    """User-fixed values (None or NaN = estimate), checked against their allowed range."""
    if value is None:
        return np.full(count, np.nan)
    arr = np.atleast_1d(np.asarray(value, dtype=float))
    if arr.size == 1:
        arr = np.full(count, arr[0])
    if arr.size != count:
        raise InputError(
            f"{name} has {arr.size} value(s) but the model has {count} {name} component(s).",
            field=name,
            value=arr.tolist(),
        )
    bad = ~np.isnan(arr) & ((arr < lo) | (arr > hi))
    if bad.any():
        raise InputError.invalid(name, float(arr[bad][0]), f"in [{lo:g}, {hi:g}] (or None to estimate it)")
    return arr


def make_structure(
    struct: str,
    n_levels: int,
    *,
    values: np.ndarray | None,
    var_value=None,
    cor_value=None,
    var_name: str = "tau2",
    cor_name: str = "rho",
) -> Structure:
    """Set up a structure for an inner factor with ``n_levels`` levels and the user's fixed values.

    Raises
    ------
    InputError
        For an unknown struct, a CAR term whose inner variable is not numeric, or fixed values out of range.
    """
    if struct not in STRUCTS:
        raise InputError.invalid("struct", struct, "one of " + ", ".join(STRUCTS))
    if struct == "CAR" and values is None:
        raise InputError(
            "struct='CAR' needs a numeric inner variable (the measurement times).",
            field="struct",
            value=struct,
        )
    n_var = n_levels if struct in _HETERO else 1
    if struct == "UN":
        n_cor = max(1, n_levels * (n_levels - 1) // 2)
    else:
        n_cor = 1
    v_fixed = _as_fixed(var_value, n_var, var_name, lo=0.0, hi=np.inf)
    lo = 0.0 if struct == "CAR" else -1.0
    r_fixed = _as_fixed(cor_value, n_cor, cor_name, lo=lo, hi=1.0)
    if struct in ("ID", "DIAG"):
        r_fixed = np.zeros(n_cor)
    if struct == "UN" and n_levels == 1:
        r_fixed = np.zeros(1)
    return Structure(
        struct=struct,
        n=n_levels,
        n_var=n_var,
        n_cor=n_cor,
        v_fixed=v_fixed,
        r_fixed=r_fixed,
        values=None if values is None else np.round(np.asarray(values, dtype=float), 8),
    )
