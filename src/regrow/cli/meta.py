"""``regrow meta``: the meta-analysis engine from the command line (metafor's argument names).

Thin and quick to start: the CSV is read with the standard library (:mod:`regrow.cli.meta_table`) and the
engine (:mod:`regrow.meta`, numpy) is imported inside the commands, never at import time.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import typer

from regrow.cli._common import emit_json, split_csv_option
from regrow.cli.meta_escalc import register_escalc
from regrow.cli.meta_mv import register_mv
from regrow.cli.meta_table import StudyTable, read_study_table
from regrow.errors import DataFileError, InputError

__all__ = ["fit_to_json", "read_study_table", "register"]

meta_app = typer.Typer(
    name="meta",
    help="Meta-analysis engine that agrees with R's metafor: effect sizes, models, diagnostics.",
    no_args_is_help=True,
)
register_escalc(meta_app)
register_mv(meta_app)


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


def _complete_rows(table: StudyTable, columns: list[list[Any]]) -> list[int]:
    """Rows with no missing cell in any of ``columns`` (metafor's ``na.action = na.omit``); warns about the rest."""
    keep = [
        i
        for i in range(table.n_rows)
        if all(not (c[i] is None or (isinstance(c[i], float) and math.isnan(c[i]))) for c in columns)
    ]
    dropped = [i for i in range(table.n_rows) if i not in set(keep)]
    if dropped:
        rows = ", ".join(str(i + 1) for i in dropped[:10]) + (" ..." if len(dropped) > 10 else "")
        typer.echo(f"warning: {len(dropped)} row(s) with missing values omitted (rows {rows}).", err=True)
    return keep


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
    method: str = typer.Option(
        "REML",
        "--method",
        help="EE (also CE, FE), DL, DLIT, HE, HS, HSk, SJ, SJIT, ML, REML, EB, PM, PMM or GENQ (needs --weights).",
    ),
    weights: str | None = typer.Option(
        None, "--weights", metavar="COL", help="Column of user weights (metafor's weights=)."
    ),
    test: str = typer.Option("z", "--test", help="z, knha (Knapp-Hartung) or adhoc."),
    level: float = typer.Option(95.0, "--level", help="Confidence level in percent."),
    slab: str | None = typer.Option(None, "--slab", metavar="COL", help="Column of study labels."),
    permutations: str | None = typer.Option(
        None, "--permutations", metavar="N|exact", help="Add permutation-test p-values (N random or exact)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Seed for random permutations."),
    forest: Path | None = typer.Option(
        None, "--forest", metavar="FILE", help="Write a forest plot (.png, .svg or .pdf by extension)."
    ),
    funnel: Path | None = typer.Option(
        None, "--funnel", metavar="FILE", help="Write a funnel plot (.png, .svg or .pdf by extension)."
    ),
    transf: str = typer.Option(
        "none", "--transf", metavar="none|exp", help="Plot scale: exp shows log ratios as ratios (OR, RR)."
    ),
    order: str | None = typer.Option(
        None,
        "--order",
        metavar="obs|prec|weight|label",
        help="Forest rows by effect, precision, weight or label (default: as in the file).",
    ),
    xlab: str | None = typer.Option(None, "--xlab", metavar="TEXT", help="Axis label of the plots."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of the summary."),
) -> None:
    """Fit a fixed/random-effects model or meta-regression (metafor's rma), optionally with plots."""
    perms = _parse_permutations(permutations)
    plots = _plot_options(forest=forest, funnel=funnel, transf=transf, order=order)
    table = read_study_table(data)
    y = table.numbers(yi)
    v = table.numbers(vi)
    w = table.numbers(weights) if weights is not None else None
    names = split_csv_option(mods)
    moderators = {name: table.moderator(name) for name in names}
    keep = _complete_rows(table, [y, v, *moderators.values(), *([w] if w is not None else [])])
    for i in keep:
        if v[i] <= 0:
            raise DataFileError(
                f"{data}: column {vi!r}, row {i + 1}: sampling variance {v[i]!r} must be > 0.",
                path=str(data),
                row=i + 1,
                column=vi,
            )
    labels = None
    if slab is not None:
        text = table.text(slab, "column for --slab")
        labels = ["NA" if text[i] is None else text[i] for i in keep]

    from regrow.meta import format_summary, rma

    res = rma(
        [y[i] for i in keep],
        [v[i] for i in keep],
        method=method,
        weights=None if w is None else [w[i] for i in keep],
        test=test,
        level=level,
        slab=labels,
        mods={name: [col[i] for i in keep] for name, col in moderators.items()} if names else None,
    )
    pval_perm = None
    if perms is not None:
        from regrow.meta import permutest

        pval_perm = [float(p) for p in permutest(res, iter=perms, seed=seed).pval]
    written = _write_plots(res, plots, xlab=xlab)
    if as_json:
        body = fit_to_json(res, pval_perm=pval_perm)
        body["plots"] = {kind: str(path) for kind, path in written.items()}
        emit_json(body)
    else:
        typer.echo(format_summary(res, pval_perm=pval_perm))
        for kind, path in written.items():
            typer.echo(f"{kind} plot written to {path}")


#: Plot transformations ``--transf`` accepts (the forest and funnel plots' ``transf``).
PLOT_TRANSFORMS = ("none", "exp")


def _plot_options(
    *, forest: Path | None, funnel: Path | None, transf: str, order: str | None
) -> dict[str, Any]:
    """Check the plot options before anything is fitted, so a typo fails fast and writes nothing."""
    from regrow.meta import FOREST_ORDERS, SAVE_FORMATS  # names only: no numpy or matplotlib

    transf = transf.strip().lower()
    if transf not in PLOT_TRANSFORMS:
        raise InputError.invalid("--transf", transf, "one of " + ", ".join(PLOT_TRANSFORMS))
    if order is not None and order.strip().lower() not in FOREST_ORDERS:
        raise InputError.invalid("--order", order, "one of " + ", ".join(FOREST_ORDERS))
    targets = {"forest": forest, "funnel": funnel}
    for kind, path in targets.items():
        if path is None:
            continue
        if path.suffix.lower().lstrip(".") not in SAVE_FORMATS:
            raise InputError.invalid(f"--{kind}", str(path), "a file name ending in .png, .svg or .pdf")
        if not path.parent.is_dir():
            raise InputError.invalid(f"--{kind}", str(path), "a file in an existing folder")
        if path.is_dir():
            raise InputError.invalid(f"--{kind}", str(path), "a file name, not a folder")
    if forest is not None and funnel is not None and forest.resolve() == funnel.resolve():
        raise InputError.invalid("--funnel", str(funnel), "a different file from --forest")
    return {
        "targets": {k: v for k, v in targets.items() if v is not None},
        "transf": None if transf == "none" else transf,
        "order": None if order is None else order.strip().lower(),
    }


def _write_plots(res, plots: dict[str, Any], *, xlab: str | None) -> dict[str, Path]:
    """Draw and save the requested plots of a fitted model (matplotlib is imported only here)."""
    if not plots["targets"]:
        return {}
    if res.p != 1 or not res.intercept:
        raise InputError(
            "--forest and --funnel need a model without moderators (drop --mods); "
            "a meta-regression has no single pooled estimate to plot.",
            field="--mods",
        )
    from regrow.meta import plot_forest, plot_funnel, save_figure

    written: dict[str, Path] = {}
    for kind, path in plots["targets"].items():
        if kind == "forest":
            fig = plot_forest(res, transf=plots["transf"], order=plots["order"], xlab=xlab)
        else:
            label = xlab or ("Ratio (log scale)" if plots["transf"] == "exp" else "Effect size")
            fig = plot_funnel(res, xlab=label, atransf=plots["transf"])
        written[kind] = save_figure(fig, path)
    return written


def fit_to_json(res, *, pval_perm: list[float] | None = None) -> dict[str, Any]:
    """The JSON contract of ``regrow meta rma --json``.

    Parameters
    ----------
    res : regrow.meta.RMAResult
    pval_perm : list of float, optional
        Permutation p-values, one per coefficient.

    Returns
    -------
    dict
        ``RMAResult.to_dict()`` plus ``tau``, the prediction (``pred``) for a model without moderators, the
        Q-profile interval of tau^2 and I^2 (``tau2_ci``, ``I2_ci``) for a random-effects model with k > p,
        and ``fit_stats``.
    """
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


meta_app.command("rma")(fit_command)
meta_app.command("fit", help="Same as `regrow meta rma` (its first name, kept as an alias).")(fit_command)


@meta_app.command("demo")
def demo_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of the summary."),
) -> None:
    """Fit the classic BCG vaccine example (Colditz et al. 1994; 13 trials, log risk ratios)."""
    from importlib import resources

    import numpy as np

    from regrow.meta import escalc, format_summary, rma

    with resources.as_file(resources.files("regrow.meta") / "examples" / "dat_bcg.csv") as path:
        table = read_study_table(path)
    es = escalc(
        "RR",
        ai=table.numbers("tpos"),
        bi=table.numbers("tneg"),
        ci=table.numbers("cpos"),
        di=table.numbers("cneg"),
    )
    labels = [f"{a} {y}" for a, y in zip(table.text("author"), table.text("year"), strict=True)]
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
