"""Reshaping study data as metafor's ``to.long``, ``to.table`` and ``to.wide`` do.

* :func:`to_long`: one row per group (or per study for one-group measures) with the arm-level data of an
  escalc measure, e.g. ``study, group, out1, out2`` for 2x2 tables or ``study, group, mean, sd, n``.
* :func:`to_table`: a ``(groups, columns, studies)`` array with its labels (metafor's 3-way table).
* :func:`to_wide`: arm-level (long) data to one row per comparison with a reference group, with the
  comparison and design labels used for network meta-analysis.

pandas is imported only here (these functions return DataFrames).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from regrow.errors import InputError

__all__ = ["Table3D", "to_long", "to_table", "to_wide"]

_TABLE = (
    "RR",
    "OR",
    "RD",
    "AS",
    "PETO",
    "PHI",
    "YUQ",
    "YUY",
    "RTET",
    "PBIT",
    "OR2D",
    "OR2DN",
    "OR2DL",
    "MPORM",
)
_PAIRS = ("MPRD", "MPRR", "MPOR")
_CONDITIONAL = ("MPORC", "MPPETO")


def _family(measure: str) -> tuple[str, tuple[tuple[str, ...], ...], list[str], list[str], list[str]]:
    """(kind, per-row input names, long names, table row labels, table column labels)."""
    if measure in _TABLE:
        return "two", (("ai", "bi"), ("ci", "di")), ["out1", "out2"], ["Grp1", "Grp2"], ["Out1", "Out2"]
    if measure in _PAIRS:
        return "two", (("ai", "bi"), ("ci", "di")), ["out1", "out2"], ["Time1", "Time2"], ["Out1", "Out2"]
    if measure in _CONDITIONAL:
        return "two", (("ai", "bi"), ("ci", "di")), ["out1.time2", "out2.time2"], ["Time1.Out1", "Time1.Out2"], [
            "Time2.Out1", "Time2.Out2"]  # fmt: skip
    if measure in ("IRR", "IRD", "IRSD"):
        return (
            "two",
            (("x1i", "t1i"), ("x2i", "t2i")),
            ["events", "ptime"],
            ["Grp1", "Grp2"],
            ["Events", "Person-Time"],
        )
    if measure in ("MD", "SMD", "SMDH", "ROM", "RPB", "RBIS", "D2OR", "D2ORN", "D2ORL"):
        return "two", (("m1i", "sd1i", "n1i"), ("m2i", "sd2i", "n2i")), ["mean", "sd", "n"], ["Grp1", "Grp2"], [
            "Mean", "SD", "n"]  # fmt: skip
    if measure in ("COR", "UCOR", "ZCOR"):
        return "one", (("ri", "ni"),), ["r", "n"], ["Grp"], ["r", "n"]
    if measure in ("PR", "PLN", "PLO", "PAS", "PFT"):
        return "one", (("xi", "mi"),), ["out1", "out2"], ["Grp"], ["Out1", "Out2"]
    if measure in ("IR", "IRLN", "IRS", "IRFT"):
        return "one", (("xi", "ti"),), ["events", "ptime"], ["Grp"], ["Events", "Person-Time"]
    if measure in ("MN", "MNLN", "SMN"):
        return "one", (("mi", "sdi", "ni"),), ["mean", "sd", "n"], ["Grp"], ["Mean", "SD", "n"]
    if measure in ("MC", "SMCC", "SMCRH", "ROMC", "CVRC"):
        return "one", (("m1i", "m2i", "sd1i", "sd2i", "ni", "ri"),), ["mean1", "mean2", "sd1", "sd2", "n", "r"], [
            "Grp"], ["Mean1", "Mean2", "SD1", "SD2", "n", "r"]  # fmt: skip
    if measure == "SMCR":
        return "one", (("m1i", "m2i", "sd1i", "ni", "ri"),), ["mean1", "mean2", "sd1", "n", "r"], ["Grp"], [
            "Mean1", "Mean2", "SD1", "n", "r"]  # fmt: skip
    if measure in ("ARAW", "AHW", "ABT"):
        return "one", (("ai", "mi", "ni"),), ["alpha", "m", "n"], ["Grp"], ["alpha", "m", "n"]
    raise InputError.invalid(
        "measure", measure, "an escalc measure with arm-level data (not CVR, VR, PCOR, ...)"
    )


def _inputs(
    measure: str, args: Mapping[str, Any], subset, slab=None
) -> tuple[dict[str, np.ndarray], list[str]]:
    _kind, groups, *_ = _family(measure)
    values: dict[str, np.ndarray] = {}
    needed = [name for g in groups for name in g]
    if measure in _TABLE or measure in _PAIRS or measure in _CONDITIONAL:
        if "bi" not in args and "n1i" in args:
            args = {**args, "bi": np.asarray(args["n1i"], float) - np.asarray(args["ai"], float)}
        if "di" not in args and "n2i" in args:
            args = {**args, "di": np.asarray(args["n2i"], float) - np.asarray(args["ci"], float)}
    if measure in ("PR", "PLN", "PLO", "PAS", "PFT") and "mi" not in args and "ni" in args:
        args = {**args, "mi": np.asarray(args["ni"], float) - np.asarray(args["xi"], float)}
    missing = [n for n in needed if n not in args]
    if missing:
        raise InputError(
            f"Measure {measure} needs {', '.join(needed)}; missing: {', '.join(missing)}.", field=missing[0]
        )
    for name in needed:
        values[name] = np.asarray(args[name], dtype=float).reshape(-1)
    k = values[needed[0]].size
    if slab is None:
        slab = [str(i + 1) for i in range(k)]
    else:
        slab = [str(x) for x in slab]
        if len(slab) != k:
            raise InputError(f"slab has {len(slab)} labels for {k} studies.", field="slab")
    if subset is not None:
        keep = np.asarray(subset)
        idx = np.flatnonzero(keep) if keep.dtype == bool else keep.astype(int)
        values = {n: v[idx] for n, v in values.items()}
        slab = [slab[i] for i in idx]
    return values, slab


def to_long(measure: str, *, subset: Sequence[int] | None = None, slab=None, data=None, **args: Any):
    """Arm-level data in long format (metafor's ``to.long``).

    Parameters
    ----------
    measure : str
        An escalc measure with arm-level inputs (2x2 tables, person-time, means, correlations, proportions,
        rates, one-group means, paired designs, alphas).
    subset : sequence of int or bool, optional
        0-based rows to keep.
    slab : sequence, optional
        Study labels (default 1, 2, ...).
    data : pandas.DataFrame, optional
        The data the arguments come from; its columns come first in the output, repeated per arm, as
        metafor does with ``data=``.
    **args : array-like
        The escalc arguments (``ai``, ``n1i``, ``m1i``, ...).

    Returns
    -------
    pandas.DataFrame
        The columns of ``data`` (if given), ``study`` (the labels), ``group`` ("1"/"2", two-group measures only) and the measure's columns,
        e.g. ``out1, out2`` (2x2), ``events, ptime``, ``mean, sd, n``, ``r, n``.
    """
    import pandas as pd

    kind, groups, names, _, _ = _family(measure)
    values, slab = _inputs(measure, args, subset, slab)
    front = None
    if data is not None:
        front = pd.DataFrame(data).reset_index(drop=True)
        if subset is not None:
            keep = np.asarray(subset)
            front = front.iloc[np.flatnonzero(keep) if keep.dtype == bool else keep.astype(int)]
        front = front.reset_index(drop=True)
    if kind == "one":
        out = pd.DataFrame({"study": slab, **{n: values[a] for n, a in zip(names, groups[0], strict=True)}})
        return out if front is None else pd.concat([front, out], axis=1)
    k = len(slab)
    out = {"study": np.repeat(slab, 2), "group": np.tile(["1", "2"], k)}
    for j, name in enumerate(names):
        out[name] = np.column_stack([values[groups[0][j]], values[groups[1][j]]]).ravel()
    out = pd.DataFrame(out)
    if front is None:
        return out
    return pd.concat([front.loc[front.index.repeat(2)].reset_index(drop=True), out], axis=1)


@dataclass(frozen=True)
class Table3D:
    """metafor's ``to.table`` array: ``values[group, column, study]`` with the labels of each axis."""

    values: np.ndarray
    rows: list[str]
    columns: list[str]
    studies: list[str]


def to_table(measure: str, *, subset: Sequence[int] | None = None, slab=None, rows: Sequence[str] | None = None,
             cols: Sequence[str] | None = None, **args: Any) -> Table3D:  # fmt: skip
    """Arm-level data as a 3-way table per study (metafor's ``to.table``).

    Parameters
    ----------
    measure : str
    subset : sequence of int or bool, optional
    slab : sequence, optional
        Study labels.
    rows, cols : sequence of str, optional
        Labels of the groups and of the columns (default metafor's, e.g. "Grp1", "Out1").
    **args : array-like

    Returns
    -------
    Table3D
        Shape (groups, columns, studies): e.g. 2 x 2 x k for 2x2 tables, 1 x 2 x k for correlations.
    """
    _kind, groups, _, def_rows, def_cols = _family(measure)
    values, slab = _inputs(measure, args, subset, slab)
    arr = np.stack([np.stack([values[name] for name in g]) for g in groups])
    rows = list(def_rows) if rows is None else [str(r) for r in rows]
    cols = list(def_cols) if cols is None else [str(c) for c in cols]
    if len(rows) != arr.shape[0] or len(cols) != arr.shape[1]:
        raise InputError(f"rows/cols need {arr.shape[0]} and {arr.shape[1]} labels.", field="rows")
    return Table3D(values=arr, rows=rows, columns=cols, studies=slab)


def _shorten(labels: list[str], minlen: int) -> list[str]:
    """metafor's ``.shorten``: the shortest prefix length that keeps the distinct labels distinct."""
    distinct = sorted(set(labels))
    longest = max(len(x) for x in distinct)
    length = longest
    for n in range(1, longest + 1):
        if len({x[:n] for x in distinct}) == len(distinct):
            length = n
            break
    length = max(length, min(minlen, longest))
    return [x[:length] for x in labels]


def to_wide(
    data,
    *,
    study: str,
    grp: str,
    ref: str | None = None,
    grpvars: Sequence[str],
    postfix: tuple[str, str] = (".1", ".2"),
    minlen: int = 2,
    var_names: tuple[str, str, str] = ("id", "comp", "design"),
):
    """Arm-level rows to one row per contrast against the last group of each study (metafor's ``to.wide``).

    Within each study the arms are ordered by group level with ``ref`` (default: the most frequent group)
    last; every other arm forms a row with the reference arm's ``grpvars`` appended (suffix ``postfix[1]``;
    the arm's own get ``postfix[0]``). ``comp`` is "arm-reference" and ``design`` all arms of the study,
    with group names shortened to distinct prefixes (at least ``minlen`` characters).

    Parameters
    ----------
    data : pandas.DataFrame
    study, grp : str
        The study and the group (treatment) columns.
    ref : str, optional
        The reference group.
    grpvars : sequence of str
        The arm-level columns (the group column is always included).
    postfix : (str, str)
    minlen : int
    var_names : (str, str, str)
        Names of the added id, comparison and design columns.

    Returns
    -------
    pandas.DataFrame
    """
    import pandas as pd

    for name in (study, grp, *grpvars):
        if name not in data.columns:
            raise InputError.invalid("column", name, "a column of data: " + ", ".join(map(str, data.columns)))
    groups = data[grp]
    levels = (
        list(groups.cat.categories)
        if isinstance(groups.dtype, pd.CategoricalDtype)
        else sorted(groups.unique())
    )
    if ref is None:  # the most frequent group; ties go to the first level, as R's stable sort does
        counts = groups.value_counts()
        ref = str(max(levels, key=lambda x: counts.get(x, 0)))
    if ref not in [str(x) for x in levels]:
        raise InputError.invalid("ref", ref, "one of the groups: " + ", ".join(map(str, levels)))
    order = [x for x in levels if str(x) != ref] + [x for x in levels if str(x) == ref]
    rank = {x: i for i, x in enumerate(order)}
    sorted_data = (
        data.assign(_rank=groups.astype(object).map(rank).astype(int))
        .sort_values([study, "_rank"], kind="stable")
        .drop(columns="_rank")
    )
    cols = [grp] + [g for g in grpvars if g != grp]
    rows, comps, designs = [], [], []
    short = dict(
        zip(sorted_data[grp].astype(str), _shorten(list(sorted_data[grp].astype(str)), minlen), strict=False)
    )
    for _, block in sorted_data.groupby(study, sort=True):
        arms = list(block.itertuples(index=False))
        labels = [short[str(getattr(a, grp))] for a in arms]
        if len(arms) == 1:
            row = dict(block.iloc[0])
            row.update({f"{c}{postfix[1]}": np.nan for c in cols})
            rows.append(row)
            comps.append(None)
            designs.append(None)
            continue
        ref_arm = block.iloc[-1]
        for j in range(len(arms) - 1):
            row = dict(block.iloc[j])
            row.update({f"{c}{postfix[1]}": ref_arm[c] for c in cols})
            rows.append(row)
            comps.append(f"{labels[j]}-{labels[-1]}")
            designs.append("-".join(labels))
    out = pd.DataFrame(rows)
    out = out.rename(columns={c: f"{c}{postfix[0]}" for c in cols})
    out[var_names[0]] = np.arange(1, len(out) + 1)
    out[var_names[1]] = comps
    out[var_names[2]] = designs
    return out.reset_index(drop=True)
