"""Progress commands: ``regrow progress`` and ``regrow measurement add|import``.

Thin: parse, read or write the journal (:mod:`regrow.journal`), call :mod:`regrow.progress`, print.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import math
from pathlib import Path
from typing import Any

import typer

from regrow.cli._common import DATABASE_URL_ENV, emit_json, lazy_attr, lazy_module, plural
from regrow.cli._options import (
    DeviceOption,
    NewSiteOption,
    PhotosDirOption,
    RulerOption,
    RulerPitchOption,
    UmPerPxOption,
)
from regrow.errors import DataFileError, InputError

__all__ = ["register"]

jr = lazy_module("regrow.journal")
pg = lazy_module("regrow.progress")
context_from_journal = lazy_attr("regrow.progress._journal", "context_from_journal")
expected_from_evidence = lazy_attr("regrow.progress._journal", "expected_from_evidence")
observations_from_journal = lazy_attr("regrow.progress._journal", "observations_from_journal")


@contextlib.contextmanager
def _journal_session(db: str | None):
    """One transaction on the journal at ``db``; the engine is disposed afterwards, even on an error."""
    engine = jr.open_journal(db)
    try:
        with jr.session_scope(engine) as session:
            yield session
    finally:
        engine.dispose()


DB_HELP = "Journal database URL (SQLite or postgresql+psycopg://); default: SQLite in your user data folder."
DbOption = typer.Option(None, "--db", envvar=DATABASE_URL_ENV, help=DB_HELP)
JsonOption = typer.Option(False, "--json", help="Print JSON instead of text.")

measurement_app = typer.Typer(
    help="Record hair measurements (counts or images) in the journal.", no_args_is_help=True
)

CSV_COLUMNS = ("date", "site", "count", "area_cm2", "diameter_um", "image", "um_per_px", "device")


def _aliases(values: list[str]) -> dict[str, str]:
    out = {}
    for v in values:
        old, sep, new = v.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise InputError.invalid("--alias", v, "OLD=NEW (an old site name, '=', the new site name)")
        # the journal stores canonical site names ("Front" is "frontal"): aliases name sites the same way
        out[jr.canonical_site(old, field="--alias")] = jr.canonical_site(new, field="--alias")
    return out


def _fmt_iv(iv: pg.Interval, unit: str) -> str:
    if iv.estimate is None:
        return "n/a"
    if iv.ci_lb is None or iv.ci_ub is None:
        return f"{iv.estimate:+.1f}{unit}"
    return f"{iv.estimate:+.1f}{unit} (95% interval {iv.ci_lb:+.1f} to {iv.ci_ub:+.1f})"


def _print_site(s: pg.SiteProgress) -> None:
    weeks = "n/a" if s.weeks_since_start is None else f"{s.weeks_since_start:.1f}"
    thin = "" if s.enough_data else "; too little data to count towards the overall verdict"
    typer.echo(
        f"{s.site}: {s.verdict.value}  ({plural(s.n_visits, 'visits')}, {plural(s.n_images, 'images')}, week {weeks}{thin})"
    )
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
    """Is it working for me? Change from baseline per site and overall, with 95% intervals and a verdict.

    Measurements flagged for review are listed and left out; the overall verdict follows the site verdicts
    by the rule printed at the end.
    """
    start_date = jr.parse_date("--start", start) if start else None
    aliases = _aliases(alias)
    site = None if site is None else jr.canonical_site(site, field="--site")
    with _journal_session(db) as session:
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
    if report.excluded:
        typer.echo("\nNot used:")
        for e in report.excluded:
            ref = "" if e.measurement_id is None else f"measurement {e.measurement_id}: "
            hint = (
                f" (regrow measurement review {e.measurement_id} --accept, or edit or delete it)"
                if e.code == "flagged" and e.measurement_id is not None
                else ""
            )
            typer.echo(f"- {ref}{e.message}{hint}")
    if report.counted_less:
        typer.echo("\nCounted less:")
        for c in report.counted_less:
            typer.echo(f"- {c.message}")
    # overall caveats as they are; a site's own caveats name the site (two sites can have the same kind)
    caveats = [c.message for c in report.caveats] + [
        f"{s.site}: {c.message}" for s in report.sites for c in s.caveats if c not in report.caveats
    ]
    if caveats:
        typer.echo("\nCaveats:")
        for message in dict.fromkeys(caveats):
            typer.echo(f"- {message}")
    typer.echo(f"\nHow the overall verdict is decided: {report.verdict_rule}")
    if plot is not None and report.sites:
        typer.echo(f"\nPlot written to {plot}")
    elif plot is not None:
        typer.echo(
            f"\nNo plot written to {plot}: no measurements yet (regrow photo add, regrow measurement add)."
        )


# --- measurements ------------------------------------------------------------------------------------------


def calibration_options(*args: Any, **kwargs: Any) -> tuple[float | None, str | None]:
    """See :func:`regrow.cli.records.calibration_options`."""
    from regrow.cli.records import calibration_options as resolve

    return resolve(*args, **kwargs)


@measurement_app.command("add")
def measurement_add(
    date: str = typer.Option(..., "--date", help="Day of the measurement (YYYY-MM-DD)."),
    site: str = typer.Option(..., "--site", help="Scalp site, e.g. vertex, left, right, frontal."),
    count: int | None = typer.Option(None, "--count", help="Hairs counted in the area."),
    area_cm2: float | None = typer.Option(None, "--area-cm2", help="Counted area in cm2 (with --count)."),
    image: Path | None = typer.Option(
        None, "--image", help="A scalp image to store and measure instead of a count (as regrow photo add)."
    ),
    diameter_um: float | None = typer.Option(None, "--diameter-um", help="Mean shaft diameter in um."),
    um_per_px: float | None = UmPerPxOption,
    device: str | None = DeviceOption,
    ruler: Path | None = RulerOption,
    ruler_pitch_um: float = RulerPitchOption,
    camera: str | None = typer.Option(None, "--camera", help="Camera or device used (flags changes)."),
    allow_duplicate: bool = typer.Option(
        False, "--allow-duplicate", help="Another hand count of the same site that day (a replicate)."
    ),
    new_site: bool = NewSiteOption,
    photos_dir: Path | None = PhotosDirOption,
    json_out: bool = JsonOption,
    db: str | None = DbOption,
) -> None:
    """Record one measurement: a hand count in a known area, or a scalp image stored and measured."""
    day = jr.parse_date("--date", date)
    if image is not None and (count is not None or area_cm2 is not None):
        raise InputError.invalid("--image", str(image), "used alone, without --count/--area-cm2")
    if image is not None:
        row = _store_images(
            [
                (
                    image,
                    site,
                    day,
                    calibration_options(um_per_px, device, ruler, ruler_pitch_um, required=True),
                )
            ],
            db=db,
            photos_dir=photos_dir,
            camera=camera,
            new_site=new_site,
        )[0]["measurement"]
    else:
        if um_per_px is not None or device is not None or ruler is not None:
            raise InputError.invalid("calibration", "given without --image", "used with --image only")
        if count is None or area_cm2 is None:
            raise InputError.invalid("--count/--area-cm2", (count, area_cm2), "both given (or --image FILE)")
        with _journal_session(db) as session:
            me = jr.get_or_create_default_person(session)
            m = jr.add_measurement(  # the journal numbers the day's replicates of the (canonical) site
                session,
                person_id=me.id,
                taken_at=day,
                site=site,
                hair_count=count,
                area_cm2=area_cm2,
                source="manual",
                diameter_um=diameter_um,
                camera=camera,
                allow_duplicate=allow_duplicate,
                new_site=new_site,
            )
            row = m.as_dict()
    row = {k: v.isoformat() if isinstance(v, dt.date | dt.datetime) else v for k, v in row.items()}
    if json_out:
        emit_json(row)
        return
    flagged = f" FLAGGED for review: {row['review_reason']}" if row["review_status"] == "flagged" else ""
    typer.echo(
        f"Recorded {row['site']} on {day.isoformat()}: {row['density_per_cm2']:.1f} hairs/cm2 "
        f"(measurement {row['replicate'] + 1} of the day).{flagged}"
    )


def _store_images(
    items: list[tuple[Path, str, dt.date, tuple[float | None, str | None]]],
    *,
    db: str | None,
    photos_dir: Path | None,
    camera: str | None = None,
    new_site: bool = False,
    also: Any = None,
    where: Any = None,
) -> list[dict[str, Any]]:
    """Strip, measure and store images as photos (as ``regrow photo add``): all prepared first, then stored
    with ``also``'s rows in one transaction. ``where(index)`` names an item in error messages."""
    from regrow import _photos
    from regrow.cli.journal import _journal
    from regrow.cli.records import image_suffix

    prepared = []
    for index, (path, site, day, (um, dev)) in enumerate(items):
        try:
            prepared.append(
                _photos.prepare_photo(
                    path.read_bytes() if path.is_file() else b"",
                    suffix=image_suffix(path),
                    original_name=path.name,
                    site=site,
                    taken_at=day,
                    um_per_px=um,
                    device=dev,
                    camera=camera,
                    new_site=new_site,
                )
            )
        except InputError as exc:
            if where is None:
                raise
            raise where(index, exc) from exc
    with _journal(db, photos_dir) as (engine, store):
        with jr.session_scope(engine) as session:
            me = jr.get_or_create_default_person(session).id
        return _photos.save_photos(engine, store, prepared, person_id=me, also=also)


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
        row_um = _number(path, line, "um_per_px", _cell(raw, "um_per_px"))
        row_device = _cell(raw, "device")
        if (row_um is not None or row_device is not None) and image is None:
            raise DataFileError(
                f"{path.name} row {line}: um_per_px/device calibrate an image; this row has none.",
                path=str(path),
                row=line,
                column="um_per_px" if row_um is not None else "device",
            )
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
                "um_per_px": row_um,
                "device": row_device,
            }
        )
    return rows


@measurement_app.command("import")
def measurement_import(
    file: Path = typer.Argument(
        ...,
        help="CSV with columns date, site, and count + area_cm2 or image[, diameter_um, um_per_px, device].",
    ),
    um_per_px: float | None = UmPerPxOption,
    device: str | None = DeviceOption,
    ruler: Path | None = RulerOption,
    ruler_pitch_um: float = RulerPitchOption,
    allow_duplicate: bool = typer.Option(
        False,
        "--allow-duplicate",
        help="Import rows although the journal holds a count of that site and day.",
    ),
    new_site: bool = NewSiteOption,
    photos_dir: Path | None = PhotosDirOption,
    json_out: bool = JsonOption,
    db: str | None = DbOption,
) -> None:
    """Import measurements from a CSV file; all rows or none are stored.

    Image rows are stored as photos (metadata stripped, measured, overlay kept), calibrated by their own
    um_per_px or device column, else by --um-per-px, --device or --ruler.
    """
    rows = _parse_csv(file)
    default = calibration_options(um_per_px, device, ruler, ruler_pitch_um, required=False)
    manual, images = [], []
    for r in rows:
        if r["image"] is None:
            manual.append(r)
            continue
        img = Path(r["image"])
        if not img.is_absolute():
            img = file.parent / img
        own = (r["um_per_px"], r["device"])
        calibration = own if own != (None, None) else default
        if calibration == (None, None):
            raise DataFileError(
                f"{file.name} row {r['line']}: an image needs a calibration: a um_per_px or device column, or "
                "--um-per-px, --device or --ruler.",
                path=str(file),
                row=r["line"],
                column="um_per_px",
            )
        images.append((r, (img, r["site"], r["day"], calibration)))

    def add_counts(session: Any) -> None:
        me = jr.get_or_create_default_person(session)
        seen: set[tuple[str, dt.date]] = set()
        for r in manual:
            key = (jr.canonical_site(r["site"]), r["day"])
            replicate_in_file = key in seen  # rows of one site and day in the file are replicates
            seen.add(key)
            try:
                jr.add_measurement(
                    session,
                    person_id=me.id,
                    taken_at=r["day"],
                    site=r["site"],
                    hair_count=r["count"],
                    area_cm2=r["area_cm2"],
                    source="manual",
                    diameter_um=r["diameter_um"],
                    allow_duplicate=allow_duplicate or replicate_in_file,
                    new_site=new_site,
                )
            except InputError as exc:
                raise _row_error(file, r, exc) from exc

    _store_images(
        [item for _, item in images],
        db=db,
        photos_dir=photos_dir,
        new_site=new_site,
        also=add_counts,
        where=lambda index, exc: _row_error(file, images[index][0], exc),
    )
    summary = {
        "imported": len(rows),
        "photos": len(images),
        "sites": sorted({jr.canonical_site(r["site"]) for r in rows}),
    }
    if json_out:
        emit_json(summary)
    else:
        typer.echo(
            f"Imported {summary['imported']} measurement(s) ({summary['photos']} from images) for "
            f"{', '.join(summary['sites']) or 'no site'}."
        )


def _row_error(file: Path, row: dict[str, Any], exc: InputError) -> DataFileError:
    return DataFileError(
        f"{file.name} row {row['line']}: {exc}", path=str(file), row=row["line"], column=exc.field
    )


def register(app: typer.Typer) -> None:
    """Mount ``progress`` and ``measurement`` on the root app."""
    app.command("progress")(progress_command)
    app.add_typer(measurement_app, name="measurement")
