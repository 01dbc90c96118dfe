"""Checking and shaping what :func:`rma_mv` is given: effect sizes, V, moderators and random terms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from regrow.errors import InputError
from regrow.meta._mv_struct import Structure, make_structure
from regrow.meta._mv_terms import Factor, RandomTerm, column, model_matrix, parse_random

__all__ = ["RandomSpec", "data_length", "effect_vector", "moderators", "random_spec", "sampling_covariance"]

#: Relative size of a negative eigenvalue of a V block that is still taken as rounding noise.
PSD_TOL = 1e-10


def effect_vector(yi, data) -> np.ndarray:
    """``yi`` (or the column it names) as finite floats."""
    if isinstance(yi, str):
        if data is None:
            raise InputError(f"yi names the column {yi!r}, so pass data=.", field="data")
        yi = column(data, yi, data_length(data) or 0, what="yi")
    try:
        arr = np.asarray(yi, dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InputError("yi must be numeric.", field="yi") from exc
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise InputError(f"yi is missing or not finite in row {bad[0] + 1}.", field="yi")
    if arr.size < 2:
        raise InputError("rma_mv needs at least 2 effect sizes.", field="yi", value=arr.size)
    return arr


def _check_block(mat: np.ndarray, rows: np.ndarray) -> None:
    if not np.allclose(mat, mat.T, rtol=1e-10, atol=1e-12 * max(1.0, float(np.abs(mat).max()))):
        raise InputError(
            f"V is not symmetric in rows {_rows_text(rows)}.", field="V", allowed="a symmetric matrix"
        )
    eig = np.linalg.eigvalsh((mat + mat.T) / 2)
    if eig[0] < -PSD_TOL * max(1.0, float(np.abs(np.diag(mat)).max())):
        raise InputError(
            f"V is not positive semi-definite in the block of rows {_rows_text(rows)} (smallest eigenvalue "
            f"{eig[0]:.3g}); a correlation implied by V is outside [-1, 1].",
            field="V",
            allowed="a positive (semi-)definite variance-covariance matrix",
        )


def _rows_text(rows: np.ndarray) -> str:
    shown = ", ".join(str(int(r) + 1) for r in rows[:8])
    return shown + (", ..." if rows.size > 8 else "")


def sampling_covariance(V, k: int, data) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]], bool]:
    """The diagonal of V, its correlated blocks ``(rows, matrix)`` and whether it is a full matrix.

    ``V`` may be a vector of sampling variances (or the name of such a column in ``data``), a k x k matrix,
    or a list of square blocks (in row order, like metafor's ``bldiag``).

    Raises
    ------
    InputError
        Wrong shape, missing or negative variances, an asymmetric or not positive semi-definite block.
    """
    if isinstance(V, str):
        V = column(data, V, k, what="V")
    blocks: list[tuple[np.ndarray, np.ndarray]] = []
    if isinstance(V, list | tuple) and V and np.ndim(V[0]) == 2:
        sizes = [np.shape(b)[0] for b in V]
        if sum(sizes) != k:
            raise InputError(f"The blocks of V cover {sum(sizes)} rows but yi has {k}.", field="V")
        diag = np.empty(k)
        start = 0
        for b in V:
            mat = np.asarray(b, dtype=float)
            n = mat.shape[0]
            rows = np.arange(start, start + n)
            if mat.shape != (n, n):
                raise InputError(
                    f"Every block of V must be square; rows {_rows_text(rows)} are not.", field="V"
                )
            _finite(np.diag(mat), rows)
            diag[rows] = np.diag(mat)
            if n > 1 and np.any(mat[~np.eye(n, dtype=bool)] != 0):
                _check_block(mat, rows)
                blocks.append((rows, mat))
            start += n
        _nonnegative(diag)
        return diag, blocks, True
    try:
        arr = np.asarray(V, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError("V must be numeric (a vector, a matrix or a list of blocks).", field="V") from exc
    if arr.ndim == 0:
        arr = np.full(k, float(arr))
    if arr.ndim == 1 or (arr.ndim == 2 and 1 in arr.shape and k != 1):
        arr = arr.reshape(-1)
        if arr.size != k:
            raise InputError(f"V has {arr.size} values but yi has {k}.", field="V", value=arr.size)
        _finite(arr, np.arange(k))
        _nonnegative(arr)
        return arr, [], False
    if arr.shape != (k, k):
        raise InputError(f"V has shape {arr.shape}; with {k} effect sizes it must be {k} x {k}.", field="V")
    diag = np.diag(arr).copy()
    _finite(diag, np.arange(k))
    bad = np.argwhere(~np.isfinite(arr))
    if bad.size:
        raise InputError(
            f"V is missing or not finite at row {bad[0, 0] + 1}, column {bad[0, 1] + 1}.", field="V"
        )
    _nonnegative(diag)
    off = arr.copy()
    np.fill_diagonal(off, 0.0)
    i, j = np.nonzero(off)
    if i.size:
        from regrow.meta._mv_lik import connected_blocks

        labels = connected_blocks(k, [], (i, j))
        for lab in np.unique(labels[i]):
            rows = np.flatnonzero(labels == lab)
            mat = arr[np.ix_(rows, rows)]
            _check_block(mat, rows)
            blocks.append((rows, mat))
    return diag, blocks, True


def _finite(values: np.ndarray, rows: np.ndarray) -> None:
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise InputError(
            f"The sampling variance of row {rows[bad[0]] + 1} is missing or not finite.", field="V"
        )


def _nonnegative(diag: np.ndarray) -> None:
    neg = np.flatnonzero(diag < 0)
    if neg.size:
        raise InputError(
            f"Sampling variances must be >= 0; row {neg[0] + 1} has {float(diag[neg[0]])!r}.",
            field="V",
            value=float(diag[neg[0]]),
        )


def moderators(mods, data, k: int, *, intercept: bool, mod_names: Sequence[str] | None):
    """The model matrix, its column names and whether it has an intercept column.

    ``mods`` is None, a formula string (``"~ x + factor(g) - 1"``), a k x m numeric array, or a mapping
    (DataFrame) of moderator columns (text columns become factors).
    """
    if mods is None:
        if not intercept:
            raise InputError("A model without an intercept needs at least one moderator.", field="mods")
        return np.ones((k, 1)), ["intrcpt"], True
    if isinstance(mods, str):
        return model_matrix(mods, data, k)
    if isinstance(mods, Mapping) or hasattr(mods, "columns"):
        names = [str(c) for c in (mods.columns if hasattr(mods, "columns") else mods.keys())]
        formula = " + ".join(names) + ("" if intercept else " - 1")
        return model_matrix(formula, mods, k)
    try:
        arr = np.asarray(mods, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(
            "mods must be a formula, a numeric array or a DataFrame / dict of columns.", field="mods"
        ) from exc
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != k:
        raise InputError(f"mods has shape {arr.shape}; it needs {k} rows.", field="mods")
    bad = np.argwhere(~np.isfinite(arr))
    if bad.size:
        raise InputError(f"mods is missing or not finite in row {bad[0, 0] + 1}.", field="mods")
    labels = list(mod_names) if mod_names is not None else [f"x{j + 1}" for j in range(arr.shape[1])]
    if len(labels) != arr.shape[1]:
        raise InputError(f"mod_names has {len(labels)} names for {arr.shape[1]} columns.", field="mod_names")
    if intercept:
        return np.column_stack([np.ones(k), arr]), ["intrcpt", *labels], True
    return arr, labels, False


@dataclass
class RandomSpec:
    """The random-effects part of a model, ready for the likelihood."""

    s_factors: list[Factor] = field(default_factory=list)
    sigma2_fixed: np.ndarray = field(default_factory=lambda: np.zeros(0))
    g: tuple[Structure, Factor, Factor, str] | None = None  # structure, inner, outer, formula
    h: tuple[Structure, Factor, Factor, str] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def n_estimated(self) -> int:
        n = int(np.isnan(self.sigma2_fixed).sum())
        for term in (self.g, self.h):
            if term is not None:
                n += term[0].n_estimated
        return n


def random_spec(random, struct, data, k: int, *, sigma2, tau2, rho, gamma2, phi) -> RandomSpec:
    """Parse the ``random`` formulas and apply metafor's rules for components that cannot be estimated."""
    spec = RandomSpec()
    if random is None:
        return spec
    formulas = [random] if isinstance(random, str) else list(random)
    terms: list[RandomTerm] = [parse_random(f, data, k) for f in formulas]
    structured = [t for t in terms if t.structured]
    if len(structured) > 2:
        raise InputError("At most two '~ inner | outer' terms are allowed in random.", field="random")
    structs = [struct] * 2 if isinstance(struct, str) else list(struct)
    if len(structs) == 1:
        structs = structs * 2
    for term in terms:
        spec.s_factors.extend(term.factors)
    n_s = len(spec.s_factors)
    if n_s:
        from regrow.meta._mv_struct import _as_fixed

        spec.sigma2_fixed = _as_fixed(sigma2, n_s, "sigma2", lo=0.0, hi=np.inf)
        for j, f in enumerate(spec.s_factors):
            if f.nlevels == 1 and np.isnan(spec.sigma2_fixed[j]):
                spec.sigma2_fixed[j] = 0.0
                spec.warnings.append(
                    f"The random factor {f.name!r} has a single level; its sigma2 is fixed to 0."
                )
    elif sigma2 is not None:
        raise InputError("sigma2 was given but random has no '~ 1 | factor' term.", field="sigma2")
    names = (("tau2", "rho"), ("gamma2", "phi"))
    values = ((tau2, rho), (gamma2, phi))
    for idx, term in enumerate(structured):
        var_name, cor_name = names[idx]
        s = make_structure(
            structs[idx],
            term.inner.nlevels,
            values=term.inner.values,
            var_value=values[idx][0],
            cor_value=values[idx][1],
            var_name=var_name,
            cor_name=cor_name,
        )
        _apply_rules(s, term, k, cor_name, spec.warnings)
        setattr(spec, "gh"[idx], (s, term.inner, term.outer, term.formula))
    for idx in range(len(structured), 2):
        if values[idx][0] is not None or values[idx][1] is not None:
            raise InputError(
                f"{names[idx][0]}/{names[idx][1]} were given but random has no term for them.",
                field=names[idx][0],
            )
    return spec


def _apply_rules(s: Structure, term: RandomTerm, k: int, cor_name: str, warnings: list[str]) -> None:
    """metafor's rules for correlations that the data cannot inform (each fixed, with a warning)."""
    corr_structs = ("CS", "HCS", "AR", "HAR", "CAR")
    inner, outer = term.inner, term.outer
    if s.struct in corr_structs and np.isnan(s.r_fixed[0]):
        if inner.nlevels == 1:
            s.r_fixed[:] = 0.0
            warnings.append(
                f"The inner factor of {term.formula!r} has a single level, so {cor_name} is fixed to 0."
            )
        elif outer.nlevels == k:
            s.r_fixed[:] = 0.0
            warnings.append(
                f"Each level of the outer factor of {term.formula!r} holds a single row, so {cor_name} is fixed to 0."
            )
    if s.struct == "UN" and inner.nlevels > 1:
        together = np.zeros((inner.nlevels, inner.nlevels), dtype=bool)
        for o in range(outer.nlevels):
            present = np.unique(inner.codes[outer.codes == o])
            together[np.ix_(present, present)] = True
        pairs = [(a, b) for b in range(inner.nlevels) for a in range(b + 1, inner.nlevels)]
        never = [j for j, (a, b) in enumerate(pairs) if not together[a, b]]
        if never and np.isnan(s.r_fixed[never]).any():
            s.r_fixed[never] = 0.0
            warnings.append(
                f"Some pairs of inner levels of {term.formula!r} never occur in the same outer level; their "
                f"{cor_name} values are fixed to 0."
            )
    if inner.nlevels == 2:
        v = s.v_fixed
        if s.struct in ("CS", "AR", "CAR") and v[0] == 0:
            s.r_fixed[:] = 0.0
        if s.struct in ("HCS", "UN", "HAR") and np.any(v == 0):
            s.r_fixed[:] = 0.0


def data_length(data: Any) -> int | None:
    """Number of rows of a DataFrame or dict of columns (None when unknown)."""
    if data is None:
        return None
    if hasattr(data, "shape"):
        return int(data.shape[0])
    for value in data.values():
        return len(value)
    return None
