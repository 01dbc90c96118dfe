"""``regrow meta mv`` and ``regrow meta network``: multilevel/multivariate models and network meta-analysis.

Thin: read the CSV, call :mod:`regrow.meta`, print. The engine is imported inside the commands.
``register_mv(meta_app)`` mounts both commands on the ``regrow meta`` sub-app.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import typer

from regrow.cli._common import emit_json, split_csv_option
from regrow.errors import DataFileError, InputError

__all__ = ["read_columns", "register_mv"]


def read_columns(path: Path) -> dict[str, list]:
    """Read a CSV into columns: a column whose filled cells are all numbers is numeric (blank = NaN), any
    other column keeps its text (blank = None), as R's ``read.csv`` decides.

    Raises
    ------
    DataFileError
        When the file is missing, empty, not UTF-8 text, or a row has the wrong number of cells.
    """
    if not path.is_file():
        raise DataFileError(f"{path}: no such file.", path=str(path))
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle, skipinitialspace=True))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataFileError(f"{path}: not a readable CSV file ({exc}).", path=str(path)) from exc
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if len(rows) < 2:
        raise DataFileError(f"{path}: the file needs a header row and at least one data row.", path=str(path))
    header = [h.strip() for h in rows[0]]
    columns: dict[str, list] = {h: [] for h in header}
    for number, row in enumerate(rows[1:], start=1):
        if len(row) != len(header):
            raise DataFileError(
                f"{path}: row {number} has {len(row)} cells but the header has {len(header)}.",
                path=str(path),
                row=number,
            )
        for h, cell in zip(header, row, strict=True):
            columns[h].append(cell.strip())
    out: dict[str, list] = {}
    for h, cells in columns.items():
        try:
            out[h] = [float(c) if c not in ("", "NA") else math.nan for c in cells]
        except ValueError:
            out[h] = [c if c not in ("", "NA") else None for c in cells]
    return out


def _need(table: dict[str, list], name: str, path: Path) -> list:
    if name not in table:
        raise DataFileError(
            f"{path}: no column {name!r}; the columns are {', '.join(table)}.", path=str(path), column=name
        )
    return table[name]


def _numeric(table, name: str, path: Path) -> list[float]:
    values = _need(table, name, path)
    for i, v in enumerate(values):
        if not isinstance(v, float):
            raise DataFileError(
                f"{path}: column {name!r}, row {i + 1}: {v!r} is not a number.",
                path=str(path),
                row=i + 1,
                column=name,
            )
    return values


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _formula_names(formula: str) -> list[str]:
    import re

    body = formula.replace("factor(", " ").replace(")", " ")
    return [t for t in re.findall(r"[A-Za-z.][A-Za-z0-9._]*", body)]


def _keep_complete(table, names: list[str], path: Path) -> tuple[dict[str, list], list[int]]:
    """Drop rows with a missing value in any of ``names`` (metafor's na.omit); returns the dropped rows."""
    for n in names:
        _need(table, n, path)
    n_rows = len(next(iter(table.values())))
    dropped = [i for i in range(n_rows) if any(_missing(table[n][i]) for n in names)]
    if not dropped:
        return table, []
    keep = [i for i in range(n_rows) if i not in set(dropped)]
    return {k: [v[i] for i in keep] for k, v in table.items()}, dropped


def _warn_dropped(dropped: list[int]) -> None:
    if dropped:
        rows = ", ".join(str(i + 1) for i in dropped[:10]) + (" ..." if len(dropped) > 10 else "")
        typer.echo(f"warning: {len(dropped)} row(s) with missing values omitted (rows {rows}).", err=True)


def mv_command(
    data: Path = typer.Argument(..., help="CSV file, one row per effect size, with a header row."),
    yi: str = typer.Option("yi", "--yi", metavar="COL", help="Column of effect sizes."),
    vi: str = typer.Option("vi", "--vi", metavar="COL", help="Column of sampling variances."),
    random: list[str] = typer.Option(
        [],
        "--random",
        metavar="FORMULA",
        help="Random term, e.g. '~ 1 | study/es' or '~ outcome | study' (repeatable).",
    ),
    struct: str = typer.Option("CS", "--struct", help="Structure of '~ inner | outer' terms (two: 'UN,CS')."),
    mods: str | None = typer.Option(
        None,
        "--mods",
        metavar="FORMULA|A,B",
        help="Moderators: a formula ('~ x + factor(g) - 1') or columns A,B.",
    ),
    method: str = typer.Option("REML", "--method", help="REML, ML or EE."),
    test: str = typer.Option("z", "--test", help="z or t."),
    dfs: str = typer.Option("residual", "--dfs", help="residual or contain (t tests)."),
    level: float = typer.Option(95.0, "--level", help="Confidence level in percent."),
    cluster: str | None = typer.Option(
        None,
        "--cluster",
        metavar="COL",
        help="Build V with vcalc: effect sizes in the same cluster are correlated.",
    ),
    obs: str | None = typer.Option(
        None, "--obs", metavar="COL", help="vcalc: outcome within cluster (needs --rho)."
    ),
    time: str | None = typer.Option(None, "--time", metavar="COL", help="vcalc: time point (needs --phi)."),
    rho: float | None = typer.Option(None, "--rho", help="vcalc: correlation of different outcomes."),
    phi: float | None = typer.Option(None, "--phi", help="vcalc: autocorrelation of time points."),
    robust: str | None = typer.Option(
        None, "--robust", metavar="COL", help="Cluster-robust inference by COL."
    ),
    cr2: bool = typer.Option(False, "--cr2", help="With --robust: CR2 + Satterthwaite df (clubSandwich)."),
    ranef: bool = typer.Option(False, "--ranef", help="Add the BLUPs of the random effects."),
    confint: bool = typer.Option(
        False, "--confint", help="Add profile-likelihood CIs of the variance components."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of the summary."),
) -> None:
    """Fit a multilevel / multivariate model (metafor's rma.mv)."""
    from regrow.meta import rma_mv, vcalc

    if cr2 and not robust:
        raise InputError("--cr2 needs --robust COL.", field="--cr2")
    table = read_columns(data)
    formula_mods = mods is not None and mods.strip().startswith("~")
    mod_cols = _formula_names(mods) if formula_mods else split_csv_option(mods)
    names = [yi, vi, *mod_cols, *(n for f in random for n in _formula_names(f.split("|", 1)[-1]))]
    names += [n for f in random for n in _formula_names(f.split("|", 1)[0]) if n != "1"]
    names += [n for n in (cluster, obs, time, robust) if n]
    table, dropped = _keep_complete(table, list(dict.fromkeys(names)), data)
    _warn_dropped(dropped)
    y = _numeric(table, yi, data)
    v = _numeric(table, vi, data)
    if cluster:
        V = vcalc(v, table[cluster], obs=table[obs] if obs else None, time1=table[time] if time else None,
                  rho=rho, phi=phi)  # fmt: skip
    elif obs or time:
        raise InputError("--obs and --time build V with vcalc and need --cluster.", field="--cluster")
    else:
        V = v
    columns = {k: _as_array(vals) for k, vals in table.items()}
    if mods is None:
        mods_arg = None
    elif formula_mods:
        mods_arg = mods
    else:
        mods_arg = {c: columns[c] for c in mod_cols}
    structs = split_csv_option(struct) or ["CS"]
    res = rma_mv(y, V, mods=mods_arg, random=random or None, struct=structs, data=columns, method=method, test=test,
                 dfs=dfs if dfs in ("residual", "contain") else _int_option("--dfs", dfs), level=level)  # fmt: skip
    rob = res.robust(table[robust], clubsandwich=cr2) if robust else None
    if as_json:
        out: dict[str, Any] = res.to_dict()
        if res.p == 1 and res.intercept:
            out["pred"] = _pred_dict(res)
        if rob is not None:
            out["robust"] = rob.to_dict()
        if ranef:
            out["ranef"] = [r.to_dict() for r in res.ranef()] if res.with_random else []
        if confint:
            out["confint"] = [c.to_dict() for c in res.confint()] if res.with_random else []
        emit_json(out)
        return
    typer.echo(res.summary())
    if res.p == 1 and res.intercept:
        pr = res.predict()
        typer.echo("")
        for i in range(pr.pred.size):
            label = f" ({pr.tau2_levels[i]})" if pr.tau2_levels else ""
            typer.echo(
                f"Pooled effect{label}: {pr.pred[i]:.4f} (95% CI {pr.ci_lb[i]:.4f} to {pr.ci_ub[i]:.4f}; "
                f"prediction interval {pr.pi_lb[i]:.4f} to {pr.pi_ub[i]:.4f})"
            )
    if rob is not None:
        typer.echo("")
        typer.echo(f"Cluster-robust ({rob.vbest}, {rob.n_clusters} clusters):")
        for j, name in enumerate(rob.coef_names):
            typer.echo(
                f"  {name}: {rob.beta[j]:.4f} (SE {rob.se[j]:.4f}, t = {rob.tval[j]:.3f}, df = {rob.dfs[j]:.2f}, "
                f"p = {rob.pval[j]:.4g}; CI {rob.ci_lb[j]:.4f} to {rob.ci_ub[j]:.4f})"
            )
    if confint and res.with_random:
        typer.echo("")
        for c in res.confint():
            typer.echo(
                f"{c.component}[{c.index + 1}]: {c.estimate:.4f} ({c.lb_sign}{c.ci_lb:.4f}, {c.ub_sign}{c.ci_ub:.4f})"
            )
    if ranef and res.with_random:
        for r in res.ranef():
            typer.echo(f"\nBLUPs for {r.term}:")
            for i, name in enumerate(r.names):
                typer.echo(
                    f"  {name}: {r.pred[i]:.4f} (SE {r.se[i]:.4f}; PI {r.pi_lb[i]:.4f} to {r.pi_ub[i]:.4f})"
                )


def _int_option(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InputError.invalid(name, value, "'residual', 'contain' or a whole number") from None


def _as_array(values: list):
    import numpy as np

    if all(isinstance(v, float) for v in values):
        return np.array(values, dtype=float)
    return np.array(values, dtype=object)


def _pred_dict(res) -> list[dict[str, Any]]:
    pr = res.predict()
    return [
        {
            "estimate": float(pr.pred[i]),
            "se": float(pr.se[i]),
            "ci_lb": float(pr.ci_lb[i]),
            "ci_ub": float(pr.ci_ub[i]),
            "pi_lb": float(pr.pi_lb[i]),
            "pi_ub": float(pr.pi_ub[i]),
            **({"tau2_level": pr.tau2_levels[i]} if pr.tau2_levels else {}),
        }
        for i in range(pr.pred.size)
    ]


def network_command(
    data: Path = typer.Argument(
        ..., help="CSV file: one row per study arm, or per contrast (--treat1/--treat2)."
    ),
    measure: str = typer.Option(
        "MD",
        "--measure",
        help="Arm-level: MD, ROM, OR, RR or RD. Contrast-level: a label (ratios on the log scale).",
    ),
    study: str = typer.Option("study", "--study", metavar="COL", help="Column of study labels."),
    treatment: str = typer.Option(
        "treatment", "--treatment", metavar="COL", help="Arm-level: treatment column."
    ),
    n: str = typer.Option("n", "--n", metavar="COL", help="Arm-level: participants per arm."),
    mean: str = typer.Option("mean", "--mean", metavar="COL", help="Arm-level MD/ROM: arm means."),
    sd: str = typer.Option("sd", "--sd", metavar="COL", help="Arm-level MD/ROM: arm standard deviations."),
    events: str = typer.Option(
        "events", "--events", metavar="COL", help="Arm-level OR/RR/RD: events per arm."
    ),
    add: float = typer.Option(0.5, "--add", help="Binary measures: continuity correction."),
    to: str = typer.Option("only0", "--to", help="Binary measures: add to 'only0' studies, 'all' or 'none'."),
    treat1: str | None = typer.Option(
        None, "--treat1", metavar="COL", help="Contrast-level: treatment of yi."
    ),
    treat2: str | None = typer.Option(
        None, "--treat2", metavar="COL", help="Contrast-level: comparator (baseline)."
    ),
    yi: str = typer.Option(
        "yi", "--yi", metavar="COL", help="Contrast-level: effect of treat1 minus treat2."
    ),
    vi: str = typer.Option("vi", "--vi", metavar="COL", help="Contrast-level: sampling variance."),
    cov: str | None = typer.Option(
        None, "--cov", metavar="COL", help="Contrast-level: baseline-arm variance (multi-arm)."
    ),
    reference: str | None = typer.Option(
        None, "--reference", help="Reference treatment (default: most studies)."
    ),
    heterogeneity: str = typer.Option("common", "--heterogeneity", help="common (random effects) or fixed."),
    method: str = typer.Option("REML", "--method", help="REML or ML."),
    level: float = typer.Option(95.0, "--level", help="Confidence level in percent."),
    small_values: str = typer.Option(
        "bad", "--small-values", help="bad: larger effects are better; good: smaller."
    ),
    n_sim: int = typer.Option(10_000, "--n-sim", help="Draws for SUCRA and rank probabilities."),
    seed: int = typer.Option(0, "--seed", help="Seed of the draws."),
    consistency: bool = typer.Option(
        True, "--consistency/--no-consistency", help="Design-by-treatment and node splitting."
    ),
    league: bool = typer.Option(False, "--league", help="Print the league table."),
    plot: Path | None = typer.Option(
        None, "--plot", metavar="FILE", help="Save the network graph (PNG/SVG/PDF)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of the summary."),
) -> None:
    """Network meta-analysis of arm-level or contrast-level data (contrast-based rma.mv)."""
    from regrow.meta import format_network_summary, network_arms, network_contrasts, network_meta

    table = read_columns(data)
    if (treat1 is None) != (treat2 is None):
        raise InputError("Contrast-level data need both --treat1 and --treat2.", field="--treat1")
    if treat1 is not None:
        needed = [study, treat1, treat2, yi, vi] + ([cov] if cov else [])
        table, dropped = _keep_complete(table, [study, treat1, treat2, yi, vi], data)
        for name in needed:
            _need(table, name, data)
        net = network_contrasts(table[study], table[treat1], table[treat2], _numeric(table, yi, data),
                                _numeric(table, vi, data), cov=table[cov] if cov else None, measure=measure)  # fmt: skip
    else:
        from regrow.meta import NETWORK_MEASURES

        m = measure.upper()
        if m not in NETWORK_MEASURES:
            raise InputError.invalid(
                "--measure", measure, "one of " + ", ".join(NETWORK_MEASURES) + " for arm-level data"
            )
        value_cols = [mean, sd] if m in ("MD", "ROM") else [events]
        table, dropped = _keep_complete(table, [study, treatment, n, *value_cols], data)
        numbers = {c: _numeric(table, c, data) for c in (n, *value_cols)}
        net = network_arms(table[study], table[treatment], measure=m, n=numbers[n],
                           mean=numbers.get(mean) if m in ("MD", "ROM") else None,
                           sd=numbers.get(sd) if m in ("MD", "ROM") else None,
                           events=numbers.get(events) if m not in ("MD", "ROM") else None, add=add, to=to)  # fmt: skip
    _warn_dropped(dropped)
    res = network_meta(net, reference=reference, heterogeneity=heterogeneity, method=method, level=level)
    ranking = res.rank(small_values=small_values, n_sim=n_sim, seed=seed)
    dbt = splits = None
    notes: list[str] = []
    if consistency:
        try:
            dbt = res.design_by_treatment()
        except InputError as exc:
            notes.append(str(exc))
        splits = res.node_split()
    if plot is not None:
        _save_plot(res, plot)
    if as_json:
        out = res.to_dict()
        out["league"] = res.league().to_dict()
        out["ranking"] = ranking.to_dict()
        out["design_by_treatment"] = None if dbt is None else dbt.to_dict()
        out["node_split"] = None if splits is None else [s.to_dict() for s in splits]
        out["notes"] = notes
        emit_json(out)
        return
    typer.echo(format_network_summary(res, ranking, dbt, splits))
    for note in notes:
        typer.echo(f"Note: {note}")
    if league:
        typer.echo("\nLeague table (row versus column):")
        import numpy as np

        ratio = res.measure in ("OR", "RR", "ROM")
        rows = res.league().table(transf=np.exp if ratio else None)
        widths = [max(len(r[j]) for r in rows) for j in range(len(rows))]
        for r in rows:
            typer.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)))
    if plot is not None:
        typer.echo(f"\nNetwork graph written to {plot}")


def _save_plot(res, path: Path) -> None:
    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise InputError.invalid("--plot", str(path), "a .png, .svg or .pdf file name")
    if not path.parent.exists():
        raise DataFileError(f"{path.parent}: no such folder for the network graph.", path=str(path))
    fig = res.plot()
    try:
        fig.savefig(path, bbox_inches="tight", dpi=150)
    except OSError as exc:
        raise DataFileError(
            f"{path}: cannot write the network graph ({exc.strerror}).", path=str(path)
        ) from exc
    finally:
        from matplotlib import pyplot as plt

        plt.close(fig)


def register_mv(meta_app: typer.Typer) -> None:
    """Mount ``mv`` and ``network`` on the ``regrow meta`` sub-app."""
    meta_app.command("mv")(mv_command)
    meta_app.command("network")(network_command)
