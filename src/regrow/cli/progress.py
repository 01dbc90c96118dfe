"""Progress commands: ``regrow progress`` and ``regrow measurement add|import``.

Thin: parse, read or write the journal (:mod:`regrow.journal`), call :mod:`regrow.progress`, print.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import math
from pathlib import Path
from typing import Any

import typer

from regrow.cli._common import DATABASE_URL_ENV, emit_json, lazy_attr, lazy_module
from regrow.errors import DataFileError, InputError

__all__ = ["register"]

jr = lazy_module("regrow.journal")
pg = lazy_module("regrow.progress")
context_from_journal = lazy_attr("regrow.progress._journal", "context_from_journal")
expected_from_evidence = lazy_attr("regrow.progress._journal", "expected_from_evidence")
observations_from_journal = lazy_attr("regrow.progress._journal", "observations_from_journal")

DB_HELP = "Journal database URL (SQLite or postgresql+psycopg://); default: SQLite in your user data folder."
DbOption = typer.Option(None, "--db", envvar=DATABASE_URL_ENV, help=DB_HELP)
JsonOption = typer.Option(False, "--json", help="Print JSON instead of text.")

measurement_app = typer.Typer(
    help="Record hair measurements (counts or images) in the journal.", no_args_is_help=True
)

CSV_COLUMNS = ("date", "site", "count", "area_cm2", "diameter_um", "image")


def _aliases(values: list[str]) -> dict[str, str]:
    out = {}
    for v in values:
        old, sep, new = v.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise InputError.invalid("--alias", v, "OLD=NEW (an old site name, '=', the new site name)")
        out[old.strip()] = new.strip()
    return out


def _fmt_iv(iv: pg.Interval, unit: str) -> str:
    if iv.estimate is None:
        return "n/a"
    if iv.ci_lb is None or iv.ci_ub is None:
        return f"{iv.estimate:+.1f}{unit}"
    return f"{iv.estimate:+.1f}{unit} (95% interval {iv.ci_lb:+.1f} to {iv.ci_ub:+.1f})"


def _print_site(s: pg.SiteProgress) -> None:
    weeks = "n/a" if s.weeks_since_start is None else f"{s.weeks_since_start:.1f}"
    typer.echo(f"{s.site}: {s.verdict.value}  ({s.n_visits} visits, {s.n_images} images, week {weeks})")
    typer.echo(f"  {s.reason}")
    if s.change_per_cm2.estimate is not None:
        typer.echo(f"  change: {_fmt_iv(s.change_per_cm2, ' hairs/cm2')}; {_fmt_iv(s.change_pct, '%')}")
    if s.prob_improved is not None:
        typer.echo(
            f"  P(gain > minimal detectable change {s.mdc95_per_cm2:.0f} hairs/cm2) = {s.prob_improved:.2f}; "
            f"P(any gain) = {s.prob_any_improvement:.2f}; P(visible gain) = {s.prob_visible_improvement:.2f}"
        )
    if s.diameter_change_um.estimate is not None:
        typer.echo(f"  diameter change: {_fmt_iv(s.diameter_change_um, ' um')}")


def progress_command(
    site: str | None = typer.Option(None, "--site", help="Analyse only this scalp site."),
    start: str | None = typer.Option(
        None, "--start", help="Treatment start (YYYY-MM-DD); default: the active plan's start date."
    ),
    alias: list[str] = typer.Option(
        [], "--alias", help="OLD=NEW: treat site OLD as NEW (a renamed site). Repeatable."
    ),
    json_out: bool = JsonOption,
    plot: Path | None = typer.Option(None, "--plot", help="Write a plot per site (.png, .svg or .pdf)."),
    db: str | None = DbOption,
) -> None:
    """Is it working for me? Change from baseline per site and overall, with 95% intervals and a verdict."""
    start_date = jr.parse_date("--start", start) if start else None
    aliases = _aliases(alias)
    engine = jr.open_journal(db)
    with jr.session_scope(engine) as session:
        me = jr.get_or_create_default_person(session)
        obs = observations_from_journal(session, person_id=me.id)
        as_of = max((o.measured_on for o in obs), default=None)
        ctx = context_from_journal(session, person_id=me.id, start=start_date, as_of=as_of)
    weeks = (as_of - ctx.start).days / 7.0 if (as_of and ctx.start) else None
    expected = expected_from_evidence(weeks)
    report = pg.analyse_progress(
        obs, context=ctx, expected=expected, site=site, aliases=aliases, trajectory=plot is not None
    )
    if plot is not None and report.sites:
        pg.plot_progress(report, plot)
    if json_out:
        out = report.to_dict()
        if plot is not None:
            out["plot"] = str(plot) if report.sites else None
        emit_json(out)
        return
    o = report.overall
    typer.echo(f"Verdict: {o.verdict.value}")
    typer.echo(o.reason)
    if report.start:
        typer.echo(f"Treatment start: {report.start.isoformat()}")
    if o.change_per_cm2.estimate is not None:
        typer.echo(f"Change: {_fmt_iv(o.change_per_cm2, ' hairs/cm2')}; {_fmt_iv(o.change_pct, '%')}")
    if o.prob_improved is not None:
        typer.echo(f"Probability of a gain beyond the minimal detectable change: {o.prob_improved:.2f}")
    if len(report.sites) > 1 or (report.sites and site is None):
        typer.echo("")
        for s in report.sites:
            _print_site(s)
    caveats = list(report.caveats) + [c for s in report.sites for c in s.caveats if c not in report.caveats]
    if caveats:
        typer.echo("\nCaveats:")
        for c in dict.fromkeys(caveats):
            typer.echo(f"- {c.message}")
    if plot is not None and report.sites:
        typer.echo(f"\nPlot written to {plot}")


# --- measurements ------------------------------------------------------------------------------------------


def _measure_image(path: Path, um_per_px: float | None) -> dict[str, Any]:
    if not path.is_file():
        raise InputError.invalid("--image", str(path), "an existing image file")
    try:
        measure = importlib.import_module("regrow.measure")
    except ImportError as exc:
        raise InputError(
            "Measuring images needs regrow.measure, which is not available in this installation; "
            "enter the hand count with --count and --area-cm2 instead.",
            field="image",
        ) from exc
    res = measure.measure_image(path, um_per_px=um_per_px)
    median_um = res.diameter_um.get("median")
    return {
        "hair_count": int(res.hair_count),
        "area_cm2": float(res.area_cm2),
        "density_per_cm2": float(res.density_per_cm2),
        "diameter_um": None if median_um is None else float(median_um),
        "terminal_count": int(res.terminal_count),
        "vellus_count": int(res.vellus_count),
        "quality_flags": list(res.quality_flags),
        "um_per_px": float(res.um_per_px),
        "source": "image",
        "notes": f"image: {path.name}",
    }


def _replicate(session, person_id: int, site: str, day: dt.date) -> int:
    rows = jr.list_measurements(session, person_id=person_id, site=site)
    return sum(1 for r in rows if r.taken_at.date() == day)


@measurement_app.command("add")
def measurement_add(
    date: str = typer.Option(..., "--date", help="Day of the measurement (YYYY-MM-DD)."),
    site: str = typer.Option(..., "--site", help="Scalp site, e.g. vertex, left, right, frontal."),
    count: int | None = typer.Option(None, "--count", help="Hairs counted in the area."),
    area_cm2: float | None = typer.Option(None, "--area-cm2", help="Counted area in cm2 (with --count)."),
    image: Path | None = typer.Option(None, "--image", help="A scalp image to measure instead of a count."),
    diameter_um: float | None = typer.Option(None, "--diameter-um", help="Mean shaft diameter in um."),
    um_per_px: float | None = typer.Option(None, "--um-per-px", help="Image calibration (with --image)."),
    camera: str | None = typer.Option(None, "--camera", help="Camera or device used (flags changes)."),
    json_out: bool = JsonOption,
    db: str | None = DbOption,
) -> None:
    """Record one measurement: a hand count in a known area, or an image measured by regrow.measure."""
    day = jr.parse_date("--date", date)
    if image is not None and (count is not None or area_cm2 is not None):
        raise InputError.invalid("--image", str(image), "used alone, without --count/--area-cm2")
    if image is None:
        if count is None or area_cm2 is None:
            raise InputError.invalid("--count/--area-cm2", (count, area_cm2), "both given (or --image FILE)")
        fields: dict[str, Any] = {
            "hair_count": count,
            "area_cm2": area_cm2,
            "source": "manual",
            "diameter_um": diameter_um,
        }
    else:
        fields = _measure_image(image, um_per_px)
        if diameter_um is not None:
            fields["diameter_um"] = diameter_um
    if camera is not None:
        fields["camera"] = camera
    engine = jr.open_journal(db)
    with jr.session_scope(engine) as session:
        me = jr.get_or_create_default_person(session)
        rep = _replicate(session, me.id, site, day)
        m = jr.add_measurement(session, person_id=me.id, taken_at=day, site=site, replicate=rep, **fields)
        row = {
            k: v.isoformat() if isinstance(v, dt.date | dt.datetime) else v for k, v in m.as_dict().items()
        }
    if json_out:
        emit_json(row)
    else:
        typer.echo(
            f"Recorded {row['site']} on {day.isoformat()}: {row['density_per_cm2']:.1f} hairs/cm2 "
            f"(image {rep + 1} of the day)."
        )


def _cell(row: dict[str, str], col: str) -> str | None:
    v = (row.get(col) or "").strip()
    return v or None


def _number(path: Path, line: int, col: str, text: str | None, *, integer: bool = False) -> Any:
    if text is None:
        return None
    try:
        v = int(text) if integer else float(text)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise DataFileError(
            f"{path.name} row {line} column {col!r}: {text!r} is not {kind}.",
            path=str(path),
            row=line,
            column=col,
        ) from None
    if not math.isfinite(v) or v < 0:
        raise DataFileError(
            f"{path.name} row {line} column {col!r}: {text!r} must be a finite number >= 0.",
            path=str(path),
            row=line,
            column=col,
        )
    return v


def _parse_csv(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError.invalid("FILE", str(path), "a readable CSV file") from exc
    except UnicodeDecodeError as exc:
        raise DataFileError(
            f"{path.name}: not a UTF-8 text file (byte {exc.start} cannot be decoded); save it as UTF-8 CSV.",
            path=str(path),
        ) from exc
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in ("date", "site") if c not in header]
    if missing:
        raise DataFileError(
            f"{path.name}: missing column(s) {', '.join(missing)}; expected {', '.join(CSV_COLUMNS)}.",
            path=str(path),
            column=missing[0],
        )
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise DataFileError(
            f"{path.name}: unknown column(s) {', '.join(unknown)}; allowed: {', '.join(CSV_COLUMNS)}.",
            path=str(path),
            column=unknown[0],
        )
    rows = []
    for line, raw in enumerate(reader, start=2):
        raw = {(k or "").strip(): v for k, v in raw.items()}
        try:
            day = jr.parse_date("date", _cell(raw, "date"))
        except InputError as exc:
            raise DataFileError(
                f"{path.name} row {line} column 'date': {exc}", path=str(path), row=line, column="date"
            ) from exc
        site = _cell(raw, "site")
        if site is None:
            raise DataFileError(
                f"{path.name} row {line} column 'site' is empty.", path=str(path), row=line, column="site"
            )
        count = _number(path, line, "count", _cell(raw, "count"), integer=True)
        area = _number(path, line, "area_cm2", _cell(raw, "area_cm2"))
        diameter = _number(path, line, "diameter_um", _cell(raw, "diameter_um"))
        image = _cell(raw, "image")
        if count is not None and (area is None or area <= 0):
            raise DataFileError(
                f"{path.name} row {line} column 'area_cm2': a count needs an area > 0 cm2 (got {area!r}).",
                path=str(path),
                row=line,
                column="area_cm2",
            )
        if count is None and image is None:
            raise DataFileError(
                f"{path.name} row {line}: give count and area_cm2, or an image file.",
                path=str(path),
                row=line,
                column="count",
            )
        rows.append(
            {
                "line": line,
                "day": day,
                "site": site,
                "count": count,
                "area_cm2": area,
                "diameter_um": diameter,
                "image": image,
            }
        )
    return rows


@measurement_app.command("import")
def measurement_import(
    file: Path = typer.Argument(
        ..., help="CSV with columns date, site, count, area_cm2[, diameter_um, image]."
    ),
    json_out: bool = JsonOption,
    db: str | None = DbOption,
) -> None:
    """Import measurements from a CSV file; all rows or none are stored."""
    rows = _parse_csv(file)
    prepared = []
    for r in rows:
        if r["count"] is not None:
            fields = {
                "hair_count": r["count"],
                "area_cm2": r["area_cm2"],
                "source": "manual",
                "diameter_um": r["diameter_um"],
            }
        else:
            img = Path(r["image"])
            if not img.is_absolute():
                img = file.parent / img
            fields = _measure_image(img, None)
            if r["diameter_um"] is not None:
                fields["diameter_um"] = r["diameter_um"]
        prepared.append((r, fields))
    engine = jr.open_journal(db)
    with jr.session_scope(engine) as session:
        me = jr.get_or_create_default_person(session)
        seen: dict[tuple[str, dt.date], int] = {}
        for r, fields in prepared:
            key = (r["site"], r["day"])
            if key not in seen:
                seen[key] = _replicate(session, me.id, r["site"], r["day"])
            try:
                jr.add_measurement(
                    session, person_id=me.id, taken_at=r["day"], site=r["site"], replicate=seen[key], **fields
                )
            except InputError as exc:
                raise DataFileError(
                    f"{file.name} row {r['line']}: {exc}", path=str(file), row=r["line"], column=exc.field
                ) from exc
            seen[key] += 1
    summary = {"imported": len(prepared), "sites": sorted({r["site"] for r, _ in prepared})}
    if json_out:
        emit_json(summary)
    else:
        typer.echo(
            f"Imported {summary['imported']} measurement(s) for {', '.join(summary['sites']) or 'no site'}."
        )


def register(app: typer.Typer) -> None:
    """Mount ``progress`` and ``measurement`` on the root app."""
    app.command("progress")(progress_command)
    app.add_typer(measurement_app, name="measurement")
