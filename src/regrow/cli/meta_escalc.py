"""``regrow meta escalc``: effect sizes from a CSV of study data, as metafor's ``escalc`` computes them.

The lead's ``regrow meta`` sub-app mounts this command with :func:`register_escalc`.
"""

from __future__ import annotations

from pathlib import Path

import typer

from regrow.errors import DataFileError, InputError

__all__ = ["MEASURE_HELP", "TO_CHOICES", "register_escalc"]

#: ``--to`` choices (``regrow.meta.ESCALC_TO``; a test keeps them equal): written out so that declaring the
#: option does not import the engine.
TO_CHOICES = ("only0", "all", "if0all", "none")

MEASURE_HELP = (
    "Effect-size measure, by metafor's name: e.g. MD, SMD, ROM, OR, RR, RD, PETO, IRR, COR, ZCOR, PLO, PR, "
    "MN, ... (`regrow meta measures` lists them all)."
)

_HELP = {
    "ai": "events in group 1 (2x2 table)",
    "bi": "non-events in group 1 (or give --n1i)",
    "ci": "events in group 2",
    "di": "non-events in group 2 (or give --n2i)",
    "n1i": "size of group 1",
    "n2i": "size of group 2",
    "x1i": "events in group 1 (person-time data)",
    "x2i": "events in group 2 (person-time data)",
    "t1i": "person-time in group 1",
    "t2i": "person-time in group 2",
    "m1i": "mean of group 1 / of occasion 1 (paired)",
    "m2i": "mean of group 2 / of occasion 2 (paired)",
    "sd1i": "SD of group 1 / of occasion 1 (paired)",
    "sd2i": "SD of group 2 / of occasion 2 (paired)",
    "xi": "events (single proportion or rate)",
    "mi": "non-events (single proportion; or give --ni)",
    "ri": "correlation (COR/ZCOR) or pre-post correlation (MC/SMCC/SMCR)",
    "ti": "person-time (single rate), or a t statistic (PCOR, ZPCOR, SPCOR)",
    "sdi": "standard deviation (single group: MN, MNLN, CVLN, SDLN, SMN)",
    "r2i": "R^2 of the regression model (SPCOR)",
    "ni": "sample size",
}


def _column(arg: str) -> typer.models.OptionInfo:
    return typer.Option(None, f"--{arg}", metavar="COL", help=f"Column with {_HELP[arg]}.")


def escalc_command(
    data: Path = typer.Argument(..., help="CSV file, one row per study, with a header row."),
    measure: str = typer.Option(..., "--measure", "-m", help=MEASURE_HELP),
    ai: str | None = _column("ai"),
    bi: str | None = _column("bi"),
    ci: str | None = _column("ci"),
    di: str | None = _column("di"),
    n1i: str | None = _column("n1i"),
    n2i: str | None = _column("n2i"),
    x1i: str | None = _column("x1i"),
    x2i: str | None = _column("x2i"),
    t1i: str | None = _column("t1i"),
    t2i: str | None = _column("t2i"),
    m1i: str | None = _column("m1i"),
    m2i: str | None = _column("m2i"),
    sd1i: str | None = _column("sd1i"),
    sd2i: str | None = _column("sd2i"),
    xi: str | None = _column("xi"),
    mi: str | None = _column("mi"),
    ri: str | None = _column("ri"),
    ti: str | None = _column("ti"),
    sdi: str | None = _column("sdi"),
    r2i: str | None = _column("r2i"),
    ni: str | None = _column("ni"),
    add: float | None = typer.Option(
        None, "--add", help="Continuity correction for zero cells [default: 0.5; 0 for PFT]."
    ),
    to: str = typer.Option("only0", "--to", help="Where --add goes: " + ", ".join(TO_CHOICES) + "."),
    drop00: bool = typer.Option(
        False, "--drop00", help="Drop studies with no (or only) events in both groups."
    ),
    vtype: str = typer.Option(
        "LS", "--vtype", help="Variance estimator: LS, UB, LS2, HO, AV, AVHO, ST or CS (per measure)."
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the CSV here instead of to stdout."),
) -> None:
    """Append metafor-exact effect sizes (yi) and sampling variances (vi) to a CSV of studies."""
    import numpy as np
    import pandas as pd

    from regrow.meta import ESCALC_ARGUMENTS, escalc_frame

    given = dict(
        zip(
            ESCALC_ARGUMENTS,
            (
                ai,
                bi,
                ci,
                di,
                n1i,
                n2i,
                x1i,
                x2i,
                t1i,
                t2i,
                m1i,
                m2i,
                sd1i,
                sd2i,
                xi,
                mi,
                ri,
                ti,
                sdi,
                r2i,
                ni,
            ),
            strict=True,
        )
    )
    columns = {arg: col for arg, col in given.items() if col is not None}
    try:
        df = pd.read_csv(data)
    except FileNotFoundError as exc:
        raise DataFileError(f"{data}: file not found.", path=str(data)) from exc
    except OSError as exc:  # a folder, no permission, ...
        raise DataFileError(f"{data}: cannot read the file ({exc.strerror}).", path=str(data)) from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{data}: not a readable CSV file ({exc}).", path=str(data)) from exc
    result = escalc_frame(df, measure, columns, path=str(data), add=add, to=to, drop00=drop00, vtype=vtype)
    incomplete = np.flatnonzero((result["yi"].isna() | result["vi"].isna()).to_numpy())
    if incomplete.size:
        rows = ", ".join(str(int(i) + 1) for i in incomplete)
        typer.echo(
            f"warning: {incomplete.size} of {len(result)} studies have no effect size (data rows {rows}); "
            "yi and vi are NA there.",
            err=True,
        )
    if out is None:
        typer.echo(result.to_csv(index=False, na_rep="NA"), nl=False)
    else:
        try:
            result.to_csv(out, index=False, na_rep="NA")
        except OSError as exc:  # missing folder, a folder given as --out, no permission
            reason = exc.strerror or str(exc)
            raise InputError.invalid(
                "--out", str(out), f"a file path in an existing, writable folder ({reason})"
            ) from exc
        typer.echo(f"wrote {len(result)} studies to {out}", err=True)


def register_escalc(meta_app: typer.Typer) -> None:
    """Add the ``escalc`` command to the ``regrow meta`` sub-app.

    Parameters
    ----------
    meta_app : typer.Typer
        The ``meta`` sub-application.
    """
    meta_app.command("escalc")(escalc_command)
    meta_app.command("measures")(measures_command)


def measures_command() -> None:
    """List the effect-size measures ``regrow meta escalc`` computes (metafor's names)."""
    from regrow.meta import ESCALC_MEASURES

    typer.echo(" ".join(ESCALC_MEASURES))
