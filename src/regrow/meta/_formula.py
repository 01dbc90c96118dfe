"""R-style model formulas for moderators: ``"~ ablat + factor(alloc) + I(year - 1950) + ablat:year"``.

A formula is evaluated against a data frame (or mapping of columns) into the mapping of named columns that
:func:`regrow.meta._design.design_matrix` turns into the model matrix the way R's ``model.matrix`` does:

* ``x`` a column (text columns become factors), ``factor(x)`` a factor;
* ``I(expr)``, ``log(x)``, ``exp(x)``, ``sqrt(x)``, ``abs(x)`` numeric expressions (``^`` is a power);
* ``a:b`` the product of the columns (factors expand to their dummy columns), ``a*b`` for ``a + b + a:b``;
* ``- 1`` or ``+ 0`` drops the intercept.

Expressions are evaluated with numpy functions and the data's columns only (no Python builtins).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from regrow.errors import InputError

__all__ = ["Formula", "formula_columns", "parse_formula"]

_FUNCS = {"I": lambda x: x, "log": np.log, "exp": np.exp, "sqrt": np.sqrt, "abs": np.abs, "log2": np.log2, "log10": np.log10,
          "sin": np.sin, "cos": np.cos, "round": np.round}  # fmt: skip


@dataclass(frozen=True)
class Formula:
    """A parsed formula: left-hand side (or None), the terms and whether there is an intercept."""

    text: str
    lhs: str | None
    terms: tuple[str, ...]
    intercept: bool

    @property
    def rhs(self) -> str:
        """The right-hand side as R prints it (``~ablat + year``)."""
        parts = list(self.terms) + ([] if self.intercept else ["-1"])
        return "~" + " + ".join(parts).replace("+ -1", "- 1")


def _split_top(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside parentheses."""
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == sep and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def _norm(term: str) -> str:
    """Term text with R's spacing: ``I(ablat-33.46)`` -> ``I(ablat - 33.46)``."""
    t = re.sub(r"\s+", "", term)
    t = re.sub(r"(?<=[\w.)])([-+*/])(?=[\w.(])", r" \1 ", t)
    return t.replace("^", "^")


def parse_formula(text: str) -> Formula:
    """Parse ``"y ~ a + b"`` or ``"~ a + b"``.

    Raises
    ------
    InputError
        Without ``~``, with an empty term, or unbalanced parentheses.
    """
    if not isinstance(text, str) or "~" not in text:
        raise InputError.invalid("formula", text, 'a formula such as "~ x1 + x2"')
    if text.count("(") != text.count(")"):
        raise InputError.invalid("formula", text, "balanced parentheses")
    lhs, rhs = text.split("~", 1)
    lhs = lhs.strip() or None
    intercept = True
    terms: list[str] = []
    # a minus sign at the top level only removes terms (R): "- 1" drops the intercept
    pieces = []
    for chunk in _split_top(rhs.replace(" ", ""), "+"):
        sub = _split_top(chunk, "-")
        pieces.append(("+", sub[0]))
        pieces += [("-", s) for s in sub[1:]]
    for sign, piece in pieces:
        if piece == "" and sign == "+":
            continue
        if piece in ("1", "0"):
            intercept = intercept if (sign == "+" and piece == "1") else False
            continue
        if not piece:
            raise InputError.invalid("formula", text, "terms separated by +")
        if sign == "-":
            terms = [t for t in terms if t != _norm(piece)]
            continue
        if "*" in piece and not piece.startswith(("I(", "log(", "exp(", "sqrt(", "abs(")):
            factors = [_norm(f) for f in _split_top(piece, "*")]
            if not all(factors):
                raise InputError.invalid("formula", text, "terms such as a*b with both sides given")
            expanded = []
            for r in range(1, len(factors) + 1):
                from itertools import combinations

                expanded += [":".join(c) for c in combinations(factors, r)]
            terms += [t for t in expanded if t not in terms]
        elif _norm(piece) not in terms:
            terms.append(":".join(_norm(f) for f in _split_top(piece, ":")))
    return Formula(text=text, lhs=lhs, terms=tuple(terms), intercept=intercept)


def _columns(data) -> dict[str, np.ndarray]:
    if hasattr(data, "columns"):
        return {str(c): data[c].to_numpy() for c in data.columns}
    if isinstance(data, Mapping):
        return {str(k): np.asarray(v) for k, v in data.items()}
    raise InputError("A formula needs data= (a DataFrame or a mapping of columns).", field="data")


def _eval(expr: str, cols: dict[str, np.ndarray]) -> np.ndarray:
    code = expr.replace("^", "**")
    try:
        tree = ast.parse(code, mode="eval")
    except SyntaxError as exc:
        raise InputError.invalid("formula", expr, "a valid expression") from exc
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    unknown = sorted(n for n in names if n not in cols and n not in _FUNCS)
    if unknown:
        raise InputError(f"Unknown variable {unknown[0]!r} in the formula term {expr!r}.", field="formula")
    env = {n: np.asarray(cols[n], dtype=float) for n in names if n in cols}
    env.update({n: f for n, f in _FUNCS.items() if n in names})
    with np.errstate(all="ignore"):
        value = eval(compile(tree, "<formula>", "eval"), {"__builtins__": {}}, env)
    return np.broadcast_to(np.asarray(value, dtype=float), (len(next(iter(cols.values()))),)).copy()


def _factor_part(part: str, cols: dict[str, np.ndarray]) -> tuple[str, np.ndarray] | None:
    """(name, labels) when the part is a factor: ``factor(x)`` or a text column."""
    m = re.fullmatch(r"(?:as\.)?factor\((\w[\w.]*)\)", part)
    if m:
        name = m.group(1)
        if name not in cols:
            raise InputError(f"Unknown variable {name!r} in the formula.", field="formula")
        return part, np.array([None if _na(v) else _label(v) for v in cols[name]], dtype=object)
    if part in cols and not np.issubdtype(np.asarray(cols[part]).dtype, np.number):
        return part, np.array([None if _na(v) else str(v) for v in cols[part]], dtype=object)
    return None


def _na(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def _label(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _dummies(name: str, labels: np.ndarray, contrasts: bool = True) -> dict[str, np.ndarray]:
    levels = sorted({x for x in labels if x is not None})
    keep = levels[1:] if contrasts else levels
    return {
        f"{name}{lev}": np.array([np.nan if x is None else float(x == lev) for x in labels]) for lev in keep
    }


def formula_columns(formula: Formula, data) -> dict[str, Any]:
    """The named columns (numbers, or text for factors) of the formula's right-hand side.

    Raises
    ------
    InputError
        Unknown variables or bad expressions.
    """
    cols = _columns(data)
    out: dict[str, Any] = {}
    for term in formula.terms:
        parts = _split_top(term, ":")
        if len(parts) == 1:
            fac = _factor_part(term, cols)
            if fac is not None:
                out[fac[0]] = fac[1]
            elif term in cols:
                out[term] = np.asarray(cols[term], dtype=float)
            else:
                out[term] = _eval(term, cols)
            continue
        pieces: list[dict[str, np.ndarray]] = []
        for j, part in enumerate(parts):
            fac = _factor_part(part, cols)
            if fac is not None:
                # R's rule: treatment contrasts if the term without this factor is in the model, else
                # one column per level
                rest = ":".join(parts[:j] + parts[j + 1 :])
                pieces.append(_dummies(*fac, contrasts=rest in formula.terms))
            else:
                pieces.append({part: np.asarray(cols[part], float) if part in cols else _eval(part, cols)})
        combos: dict[str, np.ndarray] = pieces[0]
        for nxt in pieces[1:]:
            combos = {f"{a}:{b}": va * vb for a, va in combos.items() for b, vb in nxt.items()}
        out.update(combos)
    return out


def resolve_rma_args(data, args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str | None]]:
    """``rma(..., data=)``: column names and formulas in the arguments replaced by the data's columns.

    ``yi`` may be a column name or ``"yi ~ x1 + x2"`` (then the right-hand side gives the moderators);
    ``vi``, ``sei``, ``weights``, ``slab`` may be column names; ``mods`` and ``scale`` may be formulas.
    Returns the new arguments and the formulas as R prints them (``formula_yi``, ``formula_mods``,
    ``formula_scale``).
    """
    out = dict(args)
    formulas: dict[str, str | None] = {"formula_yi": None, "formula_mods": None, "formula_scale": None}
    cols = _columns(data) if data is not None else None
    yi = out.get("yi")
    if isinstance(yi, str) and "~" in yi:
        f = parse_formula(yi)
        if f.lhs is None:
            raise InputError.invalid("yi", yi, 'a column name or "yi ~ moderators"')
        if out.get("mods") is not None:
            raise InputError(
                "Give the moderators either in the yi formula or in mods=, not both.", field="mods"
            )
        formulas["formula_yi"] = f"{f.lhs} ~ {f.rhs[1:]}"
        out["yi"] = f.lhs
        out["mods"] = "~" + f.rhs[1:]
    for name in ("mods", "scale"):
        value = out.get(name)
        if isinstance(value, str):
            f = parse_formula(value)
            formulas[f"formula_{name}"] = f.rhs
            out[name] = formula_columns(f, data if data is not None else {})
            key = "intercept" if name == "mods" else "scale_intercept"
            out[key] = bool(out.get(key, True)) and f.intercept
    if cols is not None:
        for name in ("yi", "vi", "sei", "weights", "slab"):
            value = out.get(name)
            if isinstance(value, str):
                if value not in cols:
                    raise InputError(f"No column {value!r} in data for {name}.", field=name, value=value)
                out[name] = cols[value]
    return out, formulas
