"""Variables, factors and model formulas for :func:`rma_mv`, read the way R's ``model.frame`` reads them.

Only numpy is needed: ``data`` is any mapping from column names to sequences (a dict of lists or arrays, or
a pandas DataFrame, whose categorical columns keep their category order as factor levels).

Two small formula languages are understood:

* ``random`` terms: ``"~ 1 | study"``, nested ``"~ 1 | district/school"`` (one variance component per level
  of nesting: ``district`` and ``district/school``) and ``"~ inner | outer"`` (a ``struct``-ured term).
* ``mods`` formulas: ``"~ x + factor(g) + g:x - 1"``: names, ``factor(name)``, ``a:b`` interactions,
  ``- 1`` / ``0 +`` for no intercept. Text, boolean and categorical variables are factors; a factor is coded
  with treatment contrasts when the rest of its term is in the model (the intercept counts for main effects)
  and with one indicator per level otherwise, exactly as R's ``model.matrix`` decides; columns are named as
  R names them (``outcomeAL``, ``factor(time)2``, ``outcomePD:year``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from regrow.errors import InputError

__all__ = [
    "Factor",
    "RandomTerm",
    "column",
    "factor_from",
    "interaction",
    "model_matrix",
    "parse_random",
]

_NAME = r"[A-Za-z.][A-Za-z0-9._]*"


def column(data: Mapping[str, Any] | None, name: str, k: int, *, what: str) -> np.ndarray:
    """The variable ``name`` from ``data`` as a 1-D array of length ``k``.

    Raises
    ------
    InputError
        When there is no ``data``, no such column, or its length is not ``k``.
    """
    if data is None:
        raise InputError(
            f"{what} names the variable {name!r}, so pass data= (a DataFrame or a dict of columns).",
            field="data",
        )
    try:
        raw = data[name]
    except (KeyError, IndexError, TypeError):
        raw = None
    if raw is None:
        names = list(data.keys()) if hasattr(data, "keys") else []
        raise InputError(
            f"{what}: no variable {name!r} in data; the columns are {', '.join(map(str, names))}.",
            field=what,
            value=name,
        )
    categories = getattr(getattr(raw, "cat", None), "categories", None)
    values = np.asarray(raw, dtype=object if categories is not None else None)
    if values.ndim != 1 or values.shape[0] != k:
        raise InputError(
            f"{what}: variable {name!r} has {values.shape[0] if values.ndim else 1} values but yi has {k}.",
            field=what,
            value=name,
        )
    return values


def _is_numeric(values: np.ndarray) -> bool:
    return values.dtype.kind in "iuf"


def _label(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float | np.floating):
        text = f"{float(value):.15g}"
        return text
    return str(value)


@dataclass(frozen=True)
class Factor:
    """A categorical variable: integer ``codes`` into ``levels`` (R's factor).

    Attributes
    ----------
    name : str
    codes : numpy.ndarray of int, shape (k,)
    levels : list of str
        Level labels in R's order (sorted values, or the categories of a categorical column).
    values : numpy.ndarray or None
        The numeric value of each level when the variable is numeric (``struct="CAR"`` needs them).
    """

    name: str
    codes: np.ndarray
    levels: list[str]
    values: np.ndarray | None = None

    @property
    def nlevels(self) -> int:
        return len(self.levels)


def factor_from(values: np.ndarray, name: str, *, categories: Sequence[Any] | None = None) -> Factor:
    """Make a :class:`Factor` from raw values (missing values are refused, naming the first row)."""
    missing = np.array([v is None or (isinstance(v, float) and v != v) for v in values.tolist()], dtype=bool)
    if missing.any():
        row = int(np.flatnonzero(missing)[0]) + 1
        raise InputError(f"Variable {name!r} is missing in row {row}.", field=name)
    if categories is not None:
        labels = [_label(c) for c in categories]
        lookup = {label: i for i, label in enumerate(labels)}
        codes = np.array([lookup[_label(v)] for v in values.tolist()], dtype=np.intp)
        used = np.unique(codes)
        remap = np.full(len(labels), -1, dtype=np.intp)
        remap[used] = np.arange(used.size)
        return Factor(name, remap[codes], [labels[i] for i in used])
    if _is_numeric(values):
        numeric = values.astype(float)
        uniq, codes = np.unique(numeric, return_inverse=True)
        return Factor(name, codes.astype(np.intp), [_label(u) for u in uniq], uniq)
    if values.dtype.kind == "b":
        uniq, codes = np.unique(values, return_inverse=True)
        return Factor(name, codes.astype(np.intp), [_label(u) for u in uniq])
    labels = np.array([_label(v) for v in values.tolist()], dtype=object)
    uniq, codes = np.unique(labels.astype(str), return_inverse=True)
    return Factor(name, codes.astype(np.intp), [str(u) for u in uniq])


def _variable_factor(data, name: str, k: int, *, what: str) -> Factor:
    raw = column(data, name, k, what=what)
    categories = getattr(getattr(data[name], "cat", None), "categories", None)
    return factor_from(raw, name, categories=None if categories is None else list(categories))


def interaction(outer: Factor, inner: Factor) -> Factor:
    """``interaction(outer, inner, lex.order = TRUE, drop = TRUE, sep = "/")``: the nested factor."""
    key = outer.codes * inner.nlevels + inner.codes
    used, codes = np.unique(key, return_inverse=True)
    levels = [f"{outer.levels[u // inner.nlevels]}/{inner.levels[u % inner.nlevels]}" for u in used]
    return Factor(f"{outer.name}/{inner.name}", codes.astype(np.intp), levels)


@dataclass(frozen=True)
class RandomTerm:
    """One parsed ``random`` formula.

    ``factors`` holds the nested intercept factors of ``~ 1 | a/b`` (``a`` and ``a/b``); ``inner`` and
    ``outer`` are set for a ``~ inner | outer`` term.
    """

    formula: str
    factors: tuple[Factor, ...] = ()
    inner: Factor | None = None
    outer: Factor | None = None

    @property
    def structured(self) -> bool:
        return self.inner is not None


def parse_random(formula: str, data, k: int) -> RandomTerm:
    """Parse one ``random`` formula and look its variables up in ``data``.

    Raises
    ------
    InputError
        For a formula that is not ``~ 1 | a[/b...]`` or ``~ inner | outer``, or unknown variables.
    """
    if not isinstance(formula, str):
        raise InputError.invalid(
            "random", formula, "a formula string like '~ 1 | study/es' or '~ outcome | trial'"
        )
    text = formula.strip()
    match = re.fullmatch(r"~?\s*(\S+?)\s*\|\s*(.+)", text)
    allowed = "'~ 1 | study', '~ 1 | study/es' or '~ inner | outer'"
    if match is None:
        raise InputError.invalid("random", formula, allowed)
    lhs, rhs = match.group(1), match.group(2).strip()
    outer_names = [part.strip() for part in rhs.split("/")]
    if any(not re.fullmatch(_NAME, part) for part in outer_names):
        raise InputError.invalid("random", formula, allowed)
    if lhs == "1":
        factors: list[Factor] = []
        current: Factor | None = None
        for name in outer_names:
            f = _variable_factor(data, name, k, what="random")
            current = f if current is None else interaction(current, f)
            factors.append(current)
        return RandomTerm(formula=text, factors=tuple(factors))
    if not re.fullmatch(_NAME, lhs) or len(outer_names) != 1:
        raise InputError(
            f"random term {formula!r}: an '~ inner | outer' term takes one inner and one outer variable "
            "(no '/' nesting).",
            field="random",
            value=formula,
        )
    inner = _variable_factor(data, lhs, k, what="random")
    outer = _variable_factor(data, outer_names[0], k, what="random")
    return RandomTerm(formula=text, inner=inner, outer=outer)


# ---------------------------------------------------------------------------------------------------------
# mods formulas
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Var:
    label: str  # as R prints it: x or factor(x)
    name: str
    as_factor: bool


def _parse_var(token: str, formula: str) -> _Var:
    token = token.strip()
    match = re.fullmatch(rf"factor\(\s*({_NAME})\s*\)", token)
    if match:
        return _Var(f"factor({match.group(1)})", match.group(1), True)
    if re.fullmatch(_NAME, token):
        return _Var(token, token, False)
    raise InputError(
        f"mods formula {formula!r}: cannot read the term {token!r}; use variable names, factor(name) and "
        "a:b interactions (compute other transformations as new columns).",
        field="mods",
        value=formula,
    )


def _parse_mods(formula: str) -> tuple[list[tuple[_Var, ...]], bool]:
    text = formula.strip()
    if text.startswith("~"):
        text = text[1:]
    intercept = True
    terms: list[tuple[_Var, ...]] = []
    # split on + and - at the top level, keeping the sign
    for sign, token in re.findall(r"([+-]?)\s*([^+-]+)", text):
        token = token.strip()
        if not token:
            continue
        if token in ("1", "0"):
            if token == "0" or sign == "-":
                intercept = False
            continue
        if sign == "-":
            raise InputError(
                f"mods formula {formula!r}: only '- 1' may be subtracted.", field="mods", value=formula
            )
        variables = tuple(_parse_var(part, formula) for part in token.split(":"))
        if variables not in terms:
            terms.append(variables)
    # R orders terms by their degree (main effects, then two-way interactions, ...), stably.
    terms.sort(key=len)
    return terms, intercept


def model_matrix(formula: str, data, k: int) -> tuple[np.ndarray, list[str], bool]:
    """Build the model matrix of a ``mods`` formula as R's ``model.matrix`` does.

    Returns
    -------
    X : numpy.ndarray of shape (k, p)
    names : list of str
    intercept : bool
        Whether the formula has an intercept (its column is first and named ``intrcpt``).
    """
    terms, intercept = _parse_mods(formula)
    cache: dict[str, tuple[np.ndarray | None, Factor | None]] = {}

    def var_data(var: _Var) -> tuple[np.ndarray | None, Factor | None]:
        if var.label not in cache:
            raw = column(data, var.name, k, what="mods")
            categories = getattr(getattr(data[var.name], "cat", None), "categories", None)
            if var.as_factor or not _is_numeric(raw) or categories is not None:
                cache[var.label] = (None, factor_from(raw, var.name, categories=categories))
            else:
                values = raw.astype(float)
                bad = np.flatnonzero(~np.isfinite(values))
                if bad.size:
                    raise InputError(
                        f"Moderator {var.name!r} is missing or not finite in row {bad[0] + 1}.",
                        field=var.name,
                    )
                cache[var.label] = (values, None)
        return cache[var.label]

    present = {frozenset(v.label for v in term) for term in terms}
    if intercept:
        present.add(frozenset())
    columns: list[np.ndarray] = [np.ones(k)] if intercept else []
    names: list[str] = ["intrcpt"] if intercept else []
    full_coding_used = intercept
    for term in terms:
        parts: list[list[tuple[str, np.ndarray]]] = []
        for var in term:
            numeric, fac = var_data(var)
            if fac is None:
                parts.append([(var.label, numeric)])
                continue
            margin = frozenset(v.label for v in term if v is not var)
            if margin:
                contrasts = margin in present
            else:
                # R: without an intercept, the first factor main effect gets one column per level.
                contrasts = full_coding_used
                full_coding_used = True
            levels = range(1, fac.nlevels) if contrasts else range(fac.nlevels)
            parts.append([(f"{var.label}{fac.levels[j]}", (fac.codes == j).astype(float)) for j in levels])
        # the first variable varies fastest, as in R
        combos: list[tuple[str, np.ndarray]] = [("", np.ones(k))]
        for part in parts:
            combos = [
                (f"{name}:{label}" if name else label, values * col)
                for label, col in part
                for name, values in combos
            ]
        for label, values in combos:
            names.append(label)
            columns.append(values)
    if not columns:
        raise InputError(f"mods formula {formula!r} has no columns.", field="mods", value=formula)
    return np.column_stack(columns), names, intercept
