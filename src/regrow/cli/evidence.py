"""``regrow evidence``: the living review of the micro-needling trials (verdicts, report, export, edits)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from regrow.cli._common import emit_json
from regrow.errors import InputError

__all__ = ["register"]

evidence_app = typer.Typer(
    name="evidence",
    help="What the micro-needling trials show: pooled effects, certainty, verdicts, report and data edits.",
    invoke_without_command=True,
)

_DATA_OPTION = typer.Option(
    None, "--data", help="Use this evidence YAML instead of the user copy or bundled file."
)
_JSON_OPTION = typer.Option(False, "--json", help="Print one JSON object instead of text.")


def _load(data_file: Path | None):
    from regrow.evidence import load_data

    return load_data(data_file)


@evidence_app.callback()
def _main(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the whole review as one JSON object."),
    html_dir: Path | None = typer.Option(
        None,
        "--html",
        help="Write an HTML report here: claims, targets, PRISMA diagram, networks, published reviews, "
        "provenance, forest and funnel plots.",
    ),
    export_r_dir: Path | None = typer.Option(
        None,
        "--export-r",
        help="Write the data and an R script (metafor) that reproduces every estimate here.",
    ),
    data_file: Path | None = _DATA_OPTION,
) -> None:
    """Print the verdicts and a table of pooled results (the default when no subcommand is given)."""
    if ctx.invoked_subcommand is not None:
        return
    from regrow.evidence import comparison_dict, export_r, full_review, summary_dict, write_html

    data = _load(data_file)
    full = full_review(data)
    results = full.results
    if html_dir is not None:
        index = write_html(data, html_dir, full=full)
        if not as_json:
            typer.echo(f"wrote {index}")
    if export_r_dir is not None:
        script = export_r(full, export_r_dir)
        if not as_json:
            typer.echo(f"wrote {script} (run: Rscript {script})")
    if as_json:
        emit_json(summary_dict(data, full=full))
        return
    from regrow.evidence import overall_summary

    summary = overall_summary(results)
    typer.echo(summary["question"])
    typer.echo(summary["answer"])
    typer.echo("")
    header = (
        f"{'comparison':<34} {'k':>2} {'N':>4} {'measure':<4} {'estimate [95% CI]':<28} {'I2':>4}  certainty"
    )
    typer.echo(header)
    typer.echo("-" * len(header))
    for r in results:
        d = comparison_dict(r, full.screening)
        est = "-" if d["estimate"] is None else f"{d['estimate']:.3g} [{d['ci_lb']:.3g}, {d['ci_ub']:.3g}]"
        i2 = "-" if d["I2"] is None else f"{d['I2']:.0f}%"
        typer.echo(
            f"{d['id']:<34} {d['k']:>2} {d['n_participants']:>4} {d['measure']:<4} {est:<28} {i2:>4}  {d['certainty']}"
        )
    typer.echo("")
    for r in results:
        typer.echo(f"* {r.comparison.title} ({r.comparison.outcome}): {r.verdict}")
    typer.echo("")
    typer.echo("The article's claims:")
    for claim in full.claims:
        typer.echo(f"* {claim['claim']} [{claim['certainty']}] {claim['verdict']}")
    typer.echo("")
    for nr in full.networks:
        parts = "" if nr.connected else f"; {len(nr.components)} separate parts"
        typer.echo(
            f"Network {nr.spec.id}: {len(nr.studies)} studies, treatments {', '.join(nr.treatments_with_data)}{parts}"
        )
    unmet = [t["check"] for t in full.targets if not t["met"]]
    if unmet:
        typer.echo(
            f"Targets this review sets itself and does not meet yet: {'; '.join(unmet)} (see --json 'targets' or the report)."
        )
    typer.echo("")
    typer.echo(f"Does it last? {summary['durability']}")
    typer.echo(f"Is it safe? {summary['safety']}")
    typer.echo(f"Data version {data.data_version} ({data.source}).")


@evidence_app.command("export")
def export(
    csv_flag: bool = typer.Option(
        False, "--csv", help="Write the study-level effect sizes as CSV (required)."
    ),
    file: Path | None = typer.Argument(None, help="Output file; standard output when omitted or '-'."),
    data_file: Path | None = _DATA_OPTION,
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print the rows as JSON (to standard output) instead of CSV, or with FILE a summary.",
    ),
) -> None:
    """Write the study-level effect sizes used, so anyone can rerun them in metafor."""
    from regrow.evidence import EXPORT_COLUMNS, export_rows, review, write_csv

    if not csv_flag and not as_json:
        raise InputError.invalid("format", None, "--csv (CSV) or --json (JSON)")
    results = review(_load(data_file))
    to_stdout = file is None or str(file) == "-"
    if as_json and to_stdout:
        emit_json({"columns": list(EXPORT_COLUMNS), "rows": [_json_row(r) for r in export_rows(results)]})
        return
    if to_stdout:
        write_csv(results, sys.stdout)
        return
    try:
        write_csv(results, file)
    except OSError as exc:  # a missing folder, a folder given as the file, no permission
        raise InputError.invalid("FILE", str(file), f"a writable file path ({exc.strerror})") from exc
    if as_json:
        emit_json({"file": str(file), "format": "csv", "rows": sum(len(r.effects) for r in results)})
    else:
        typer.echo(f"wrote {file}", err=True)


def _json_row(row: dict) -> dict:
    """A CSV export row with numbers as JSON numbers (the CSV keeps repr() text for full precision)."""
    out = dict(row)
    for key in ("yi", "vi", "sei"):
        out[key] = float(out[key])
    return {k: (None if v == "" else v) for k, v in out.items()}


def _report_rerun(before, after, ids: list[str], *, message: str, target: Path, as_json: bool) -> None:
    """Say what was stored and what changed in the rerun review (text, or one JSON object)."""
    from regrow.evidence import rerun_report

    changes = rerun_report(before, after, ids)
    if as_json:
        emit_json({"studies": ids, "user_copy": str(target), "message": message, "changes": changes})
        return
    typer.echo(message)
    for line in changes:
        typer.echo(line)


@evidence_app.command("import")
def import_(
    file: Path = typer.Argument(
        ...,
        help="YAML or JSON (one study, a list of studies, or a file with 'studies:'), or CSV (one outcome per "
        "row, columns named like the options of 'regrow evidence add').",
    ),
    replace: bool = typer.Option(False, "--replace", help="Replace studies whose id already exists."),
    data_file: Path | None = _DATA_OPTION,
    as_json: bool = _JSON_OPTION,
) -> None:
    """Validate studies from a YAML, JSON or CSV file and add them to your copy; the whole review reruns."""
    from regrow.evidence import merge_studies, read_studies, save_user_copy, user_data_path

    before = _load(data_file)
    studies = read_studies(file, before)
    data = merge_studies(before, studies, replace=replace)
    target = save_user_copy(data)
    if target != user_data_path():  # pragma: no cover - defensive
        raise InputError.invalid("target", str(target), "the user copy")
    message = f"imported {len(studies)} stud{'y' if len(studies) == 1 else 'ies'} into {target}"
    _report_rerun(before, data, [s.id for s in studies], message=message, target=target, as_json=as_json)


@evidence_app.command("add")
def add(
    study_id: str = typer.Option(..., "--id", help="Short unique id, e.g. T18."),
    author: str = typer.Option(..., "--author", help="First author, e.g. 'Bao L'."),
    url: list[str] = typer.Option(..., "--url", help="Source URL (repeatable; at least one)."),
    comparison: str = typer.Option(..., "--comparison", help="Comparison id (see `regrow evidence --json`)."),
    outcome: str = typer.Option(
        ..., "--outcome", help="What was measured, e.g. 'hair density, change from baseline'."
    ),
    unit: str = typer.Option(
        ..., "--unit", help="hairs/cm2, hairs/inch2, hairs/inch_circle, um, percent, events, ..."
    ),
    value_type: str = typer.Option("change", "--value-type", help="change, end or proportion."),
    year: int | None = typer.Option(None, "--year"),
    doi: str | None = typer.Option(None, "--doi"),
    pmid: str | None = typer.Option(None, "--pmid"),
    design: str = typer.Option(
        "parallel", "--design", help="parallel, split_scalp, controlled, cohort, case_series."
    ),
    randomised: str = typer.Option("unclear", "--randomised", help="yes, no or unclear."),
    blinding: str = typer.Option(
        "unclear", "--blinding", help="evaluator, participant_and_evaluator, none, unclear."
    ),
    condition: str = typer.Option("AGA", "--condition", help="AGA, FPHL, AA or other."),
    n1: int | None = typer.Option(None, "--n1", help="Intervention arm size."),
    n2: int | None = typer.Option(None, "--n2", help="Comparator arm size."),
    mean1: float | None = typer.Option(None, "--mean1"),
    mean2: float | None = typer.Option(None, "--mean2"),
    sd1: float | None = typer.Option(None, "--sd1"),
    sd2: float | None = typer.Option(None, "--sd2"),
    events1: int | None = typer.Option(None, "--events1"),
    events2: int | None = typer.Option(None, "--events2"),
    p_value: float | None = typer.Option(
        None, "--p", help="Exact two-sided p-value of the between-arm test."
    ),
    needle_length_mm: float | None = typer.Option(None, "--needle-length-mm"),
    interval_days: float | None = typer.Option(None, "--interval-days"),
    duration_weeks: float | None = typer.Option(None, "--duration-weeks"),
    treatment1: str | None = typer.Option(
        None, "--treatment1", help="Intervention arm's treatment (controlled list, e.g. mn_minoxidil)."
    ),
    treatment2: str | None = typer.Option(
        None, "--treatment2", help="Comparator arm's treatment (controlled list, e.g. minoxidil)."
    ),
    n_randomised1: int | None = typer.Option(None, "--n-randomised1", help="People randomised to arm 1."),
    n_randomised2: int | None = typer.Option(None, "--n-randomised2", help="People randomised to arm 2."),
    ci_low1: float | None = typer.Option(None, "--ci-low1", help="Lower 95% CI limit of arm 1's mean."),
    ci_high1: float | None = typer.Option(None, "--ci-high1", help="Upper 95% CI limit of arm 1's mean."),
    ci_low2: float | None = typer.Option(None, "--ci-low2", help="Lower 95% CI limit of arm 2's mean."),
    ci_high2: float | None = typer.Option(None, "--ci-high2", help="Upper 95% CI limit of arm 2's mean."),
    status: str = typer.Option(
        "full_text", "--status", help="Where the numbers were read (full_text, abstract, ...)."
    ),
    location: str | None = typer.Option(
        None, "--location", help="Where in the first --url the numbers are (e.g. 'Table 2')."
    ),
    replace: bool = typer.Option(False, "--replace", help="Correct an existing study with this id."),
    data_file: Path | None = _DATA_OPTION,
    as_json: bool = _JSON_OPTION,
) -> None:
    """Add (or, with --replace, correct) one study with one outcome; validated, then the whole review reruns."""
    from regrow.evidence import merge_studies, parse_study, save_user_copy, study_entry

    fields = {
        "id": study_id, "author": author, "url": " ".join(url), "comparison": comparison, "outcome": outcome,
        "unit": unit, "value_type": value_type, "year": year, "doi": doi, "pmid": pmid, "design": design,
        "randomised": randomised, "blinding": blinding, "condition": condition, "n1": n1, "n2": n2,
        "mean1": mean1, "mean2": mean2, "sd1": sd1, "sd2": sd2, "events1": events1, "events2": events2,
        "p": p_value, "needle_length_mm": needle_length_mm, "interval_days": interval_days,
        "duration_weeks": duration_weeks, "treatment1": treatment1, "treatment2": treatment2,
        "n_randomised1": n_randomised1, "n_randomised2": n_randomised2, "ci_low1": ci_low1,
        "ci_high1": ci_high1, "ci_low2": ci_low2, "ci_high2": ci_high2, "status": status, "location": location,
    }  # fmt: skip
    raw = study_entry([fields], flag=lambda name: "--" + name.replace("_", "-"))
    before = _load(data_file)
    study = parse_study(raw, path="regrow evidence add", comparison_ids={c.id for c in before.comparisons})
    data = merge_studies(before, [study], replace=replace)
    target = save_user_copy(data)
    message = f"{'corrected' if replace else 'added'} {study.id} in {target}"
    _report_rerun(before, data, [study.id], message=message, target=target, as_json=as_json)


@evidence_app.command("path")
def path(as_json: bool = _JSON_OPTION) -> None:
    """Print where your copy of the evidence is (or would be) stored, and the bundled file."""
    from regrow.evidence import bundled_path, user_data_path

    user = user_data_path()
    if as_json:
        emit_json(
            {"user_copy": str(user), "user_copy_exists": user.is_file(), "bundled": str(bundled_path())}
        )
        return
    typer.echo(f"user copy: {user} ({'exists' if user.is_file() else 'not created yet'})")
    typer.echo(f"bundled:   {bundled_path()}")


def register(app: typer.Typer) -> None:
    """Mount ``regrow evidence`` on the root app."""
    app.add_typer(evidence_app, name="evidence")
