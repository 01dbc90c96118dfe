"""``regrow meta``: the meta-analysis engine from the command line (metafor's argument names)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import typer

from regrow.cli._common import emit_json, split_csv_option
from regrow.cli.meta_escalc import register_escalc
from regrow.cli.meta_mv import register_mv
from regrow.errors import DataFileError, InputError

__all__ = ["read_study_table", "register"]

meta_app = typer.Typer(
    name="meta",
    help="Meta-analysis engine that agrees with R's metafor: effect sizes, models, diagnostics.",
    no_args_is_help=True,
)
register_escalc(meta_app)
register_mv(meta_app)


def read_study_table(path: Path) -> pd.DataFrame:
    """Read a CSV of studies; errors name the file.

    Raises
    ------
    DataFileError
        When the file is missing, empty or not CSV.
    """
    if not path.is_file():
        raise DataFileError(f"{path}: no such file.", path=str(path))
    try:
        table = pd.read_csv(path, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{path}: not a readable CSV file ({exc}).", path=str(path)) from exc
    if table.empty:
        raise DataFileError(f"{path}: the file has a header but no study rows.", path=str(path))
    return table


def _numeric(table: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    if column not in table.columns:
        raise DataFileError(
            f"{path}: no column {column!r}; the columns are {', '.join(map(str, table.columns))}.",
            path=str(path),
            column=column,
        )
    raw = table[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataFileError(
            f"{path}: column {column!r}, row {row + 1}: {raw.iloc[row]!r} is not a number.",
            path=str(path),
            row=row + 1,
            column=column,
        )
    return values.to_numpy(dtype=float)


def _moderator_frame(table: pd.DataFrame, names: list[str], path: Path) -> pd.DataFrame | None:
    if not names:
        return None
    frame = {}
    for name in names:
        if name not in table.columns:
            raise DataFileError(
                f"{path}: no moderator column {name!r}; "
                f"the columns are {', '.join(map(str, table.columns))}.",
                path=str(path),
                column=name,
            )
        column = table[name]
        numeric = pd.to_numeric(column, errors="coerce")
        # A column whose filled cells are all numbers is numeric (as R's read.csv decides); else a factor.
        frame[name] = numeric if (numeric.notna() | column.isna()).all() else column.astype("string")
    return pd.DataFrame(frame)


def _parse_permutations(value: str | None) -> int | str | None:
    if value is None:
        return None
    if value.strip().lower() == "exact":
        return "exact"
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise InputError.invalid("--permutations", value, "a positive whole number or 'exact'")
    return n


@meta_app.command("fit")
def fit_command(
    data: Path = typer.Argument(..., help="CSV file, one row per study, with a header row."),
    yi: str = typer.Option("yi", "--yi", metavar="COL", help="Column of effect sizes."),
    vi: str = typer.Option("vi", "--vi", metavar="COL", help="Column of sampling variances."),
    mods: str | None = typer.Option(
        None,
        "--mods",
        metavar="A,B",
        help="Moderator columns, comma-separated (text columns become factors).",
    ),
    method: str = typer.Option("REML", "--method", help="FE, DL, HE, HS, SJ, ML, REML, EB or PM."),
    test: str = typer.Option("z", "--test", help="z, knha (Knapp-Hartung) or adhoc."),
    level: float = typer.Option(95.0, "--level", help="Confidence level in percent."),
    slab: str | None = typer.Option(None, "--slab", metavar="COL", help="Column of study labels."),
    permutations: str | None = typer.Option(
        None, "--permutations", metavar="N|exact", help="Add permutation-test p-values (N random or exact)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Seed for random permutations."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of the summary."),
) -> None:
    """Fit a fixed/random-effects model or meta-regression (metafor's rma)."""
    from regrow.meta import format_summary, rma

    perms = _parse_permutations(permutations)
    method = {"EE": "FE", "CE": "FE"}.get(method.upper(), method.upper())
    table = read_study_table(data)
    y = _numeric(table, yi, data)
    v = _numeric(table, vi, data)
    moderators = _moderator_frame(table, split_csv_option(mods), data)
    keep = np.isfinite(y) & np.isfinite(v)
    if moderators is not None:
        keep &= moderators.notna().all(axis=1).to_numpy()
    dropped = np.flatnonzero(~keep)
    if dropped.size:
        rows = ", ".join(str(i + 1) for i in dropped[:10]) + (" ..." if dropped.size > 10 else "")
        typer.echo(f"warning: {dropped.size} row(s) with missing values omitted (rows {rows}).", err=True)
    neg = np.flatnonzero(keep & (v <= 0))
    if neg.size:
        row = int(neg[0])
        raise DataFileError(
            f"{data}: column {vi!r}, row {row + 1}: sampling variance {float(v[row])!r} must be > 0.",
            path=str(data),
            row=row + 1,
            column=vi,
        )
    labels = None
    if slab is not None:
        if slab not in table.columns:
            raise DataFileError(f"{data}: no column {slab!r} for --slab.", path=str(data), column=slab)
        labels = table.loc[keep, slab].astype(str).tolist()
    res = rma(
        y[keep],
        v[keep],
        method=method,
        test=test,
        level=level,
        slab=labels,
        mods=None if moderators is None else moderators.loc[keep].reset_index(drop=True),
    )
    pval_perm = None
    if perms is not None:
        from regrow.meta import permutest

        perm = permutest(res, iter=perms, seed=seed)
        pval_perm = np.asarray(perm.pval, dtype=float)
    if as_json:
        emit_json(fit_to_json(res, pval_perm=pval_perm))
    else:
        typer.echo(format_summary(res, pval_perm=pval_perm))


def fit_to_json(res, *, pval_perm: np.ndarray | None = None) -> dict[str, Any]:
    """The JSON contract of ``regrow meta fit --json``."""
    out = res.to_dict()
    out.pop("fit_stats")
    out.pop("level")
    out["level"] = res.level
    out["tau"] = res.tau
    if pval_perm is not None:
        for coef, p in zip(out["coefficients"], pval_perm, strict=True):
            coef["pval_perm"] = float(p)
    if res.p == int(res.intercept) and res.intercept:
        pred = res.predict()
        out["pred"] = {
            "estimate": float(pred.pred[0]),
            "se": float(pred.se[0]),
            "ci_lb": float(pred.ci_lb[0]),
            "ci_ub": float(pred.ci_ub[0]),
            "pi_lb": None if pred.pi_lb is None else float(pred.pi_lb[0]),
            "pi_ub": None if pred.pi_ub is None else float(pred.pi_ub[0]),
        }
    if res.is_random and res.k > res.p:
        ci = res.confint()
        out["tau2_ci"] = {"lb": ci.tau2.ci_lb, "ub": ci.tau2.ci_ub, "type": "Q-profile"}
        out["I2_ci"] = {"lb": ci.I2.ci_lb, "ub": ci.I2.ci_ub}
    out["fit_stats"] = res.fit_stats
    return out


@meta_app.command("demo")
def demo_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of the summary."),
) -> None:
    """Fit the classic BCG vaccine example (Colditz et al. 1994; 13 trials, log risk ratios)."""
    from importlib import resources

    from regrow.meta import escalc, format_summary, rma

    with resources.as_file(resources.files("regrow.meta") / "examples" / "dat_bcg.csv") as path:
        table = pd.read_csv(path)
    es = escalc("RR", ai=table["tpos"], bi=table["tneg"], ci=table["cpos"], di=table["cneg"])
    labels = (table["author"] + " " + table["year"].astype(str)).tolist()
    res = rma(es.yi, es.vi, method="REML", slab=labels)
    if as_json:
        emit_json(fit_to_json(res))
        return
    typer.echo(
        "BCG vaccine trials (Colditz et al. 1994, doi:10.1001/jama.1994.03510330081039), log risk ratio\n"
    )
    typer.echo(format_summary(res))
    pooled = res.predict(transf=np.exp)
    typer.echo(
        f"\nRisk ratio {pooled.pred[0]:.2f} (95% CI {pooled.ci_lb[0]:.2f} to {pooled.ci_ub[0]:.2f}); "
        f"in a new setting expect {pooled.pi_lb[0]:.2f} to {pooled.pi_ub[0]:.2f}."
    )
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    """Mount ``regrow meta`` on the root command."""
    app.add_typer(meta_app, name="meta")
