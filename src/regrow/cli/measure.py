"""``regrow measure IMAGE...`` and ``regrow measure evaluate DIR``: thin wrappers over regrow.measure."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
from pathlib import Path

import typer
from typer.core import TyperGroup

from regrow.cli._common import emit_json, to_jsonable
from regrow.cli._options import PhotosDirOption
from regrow.cli.journal import DbOption
from regrow.errors import InputError

__all__ = ["register"]


class _MeasureGroup(TyperGroup):
    """``measure`` takes image paths directly; ``evaluate``, ``train`` and ``pretrain`` are subcommands.

    Any first token that is not a subcommand (an image path or an option) is routed to the hidden ``run``
    command, so ``regrow measure a.jpg b.jpg --json`` and ``regrow measure evaluate DIR`` both work;
    ``regrow measure --dask ...`` goes to the hidden ``dask`` command (a day's batch into the journal).
    """

    def parse_args(self, ctx, args):  # type: ignore[no-untyped-def]
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["dask" if "--dask" in args else "run", *args]
        return super().parse_args(ctx, args)


measure_app = typer.Typer(
    cls=_MeasureGroup,
    help=(
        "Count hairs and measure density, diameters and follicular units in trichoscopy images.\n\n"
        "regrow measure IMAGE... [--um-per-px X | --device NAME | --ruler FILE] [--method learned|classical] "
        "[--model FILE] [--overlay DIR] [--workers N] [--csv FILE] [--json]  (options: regrow measure run --help)\n\n"
        "regrow measure --dask (--manifest FILE | --day DIR) [--workers N | --scheduler ADDRESS] [--db URL] "
        "[--photos-dir DIR] [--report FILE] [--json]: a clinic's day of images measured on Dask and stored in "
        "the journal (options: regrow measure dask --help)"
    ),
    no_args_is_help=True,
)


def _calibration(um_per_px: float | None, device: str | None, ruler: Path | None, ruler_pitch_um: float):
    from regrow.measure import calibrate_from_ruler, load_image_safely, resolve_calibration

    if ruler is not None:
        if um_per_px is not None or device is not None:
            raise InputError.invalid("calibration", "--ruler with --um-per-px/--device", "only one of them")
        return calibrate_from_ruler(load_image_safely(ruler), pitch_um=ruler_pitch_um)
    return resolve_calibration(um_per_px=um_per_px, device=device)


def _method_options(method: str | None, model: Path | None, threshold: float | None) -> dict:
    """Check --method/--model/--threshold once, before any image is read (a bad model file stops here)."""
    from regrow.measure import DEFAULT_METHOD, METHODS, load_model

    m = method or ("learned" if model is not None else DEFAULT_METHOD)
    if m not in METHODS:
        raise InputError.invalid("--method", m, "learned or classical")
    if m == "classical":
        if model is not None or threshold is not None:
            raise InputError.invalid(
                "--model/--threshold", str(model or threshold), "used only with --method learned"
            )
        return {"method": m}
    if threshold is not None and not (math.isfinite(threshold) and 0 < threshold < 1):
        raise InputError.invalid("--threshold", threshold, "a number in (0, 1)")
    load_model(model)  # one-line ModelFileError for a missing, corrupt or incompatible file
    return {"method": m, "model": None if model is None else str(model), "threshold": threshold}


_METHOD_HELP = "classical (default: the image-processing pipeline) or learned (the detector network; implied by --model)."
_MODEL_HELP = "Hair-detector model file (.onnx from `regrow measure train`); default: the bundled model."


@measure_app.command("run", hidden=True)
def run(
    images: list[Path] = typer.Argument(
        ..., help="Image files (JPEG, PNG, TIFF, BMP, WebP).", show_default=False
    ),
    um_per_px: float | None = typer.Option(None, "--um-per-px", help="Micrometres per pixel."),
    device: str | None = typer.Option(None, "--device", help="Device profile name (see docs/measure.md)."),
    ruler: Path | None = typer.Option(
        None, "--ruler", help="Photo of a ruler/grid taken with the same device."
    ),
    ruler_pitch_um: float = typer.Option(1000.0, "--ruler-pitch-um", help="Line pitch of the ruler/grid."),
    overlay: Path | None = typer.Option(
        None, "--overlay", help="Folder for <stem>.overlay.png check images."
    ),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes."),
    csv: Path | None = typer.Option(None, "--csv", help="Also write one CSV row per measured image."),
    vellus_um: float = typer.Option(40.0, "--vellus-um", help="Vellus cut-off diameter in um."),
    method: str | None = typer.Option(None, "--method", help=_METHOD_HELP),
    model: Path | None = typer.Option(None, "--model", help=_MODEL_HELP),
    threshold: float | None = typer.Option(None, "--threshold", help="Learned: score threshold in (0, 1)."),
    hairs: bool = typer.Option(False, "--hairs", help="Include every hair in the JSON output."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per image (JSON Lines)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Measure images: one result per image; a bad file gives an error line and the batch goes on."""
    from regrow.measure import measure_batch, write_csv

    cal = _calibration(um_per_px, device, ruler, ruler_pitch_um)
    how = _method_options(method, model, threshold)
    # Check the output paths before measuring, so a typo does not cost the whole batch.
    if overlay is not None:
        _prepare_overlay_folder(overlay)
    if csv is not None and csv.is_dir():
        raise InputError.invalid("--csv", str(csv), "a file path (this is a folder)")
    done, failed = [], 0
    for item in measure_batch(
        images,
        calibration=cal,
        workers=workers,
        overlay_dir=overlay,
        progress=not quiet,
        vellus_threshold_um=vellus_um,
        **how,
    ):
        if item.measurement is None:
            failed += 1
            err = item.error or {}
            typer.echo(f"error: {item.path}: {err.get('message', 'failed')}", err=True)
            if as_json:
                sys.stdout.write(json.dumps({"image": item.path, "error": err}) + "\n")
            continue
        m = item.measurement
        done.append(m)
        if as_json:
            body = m.to_dict(include_hairs=hairs)
            if item.overlay:
                body["overlay"] = item.overlay
            sys.stdout.write(json.dumps(to_jsonable(body), allow_nan=False) + "\n")
        else:
            d = m.diameter_um
            med = f"{d['median']:.0f} um" if d["median"] is not None else "n/a"
            flags = f"  [{', '.join(m.quality_flags)}]" if m.quality_flags else ""
            se = f" (+/- {1.96 * m.count_se:.1f})" if m.count_se is not None else ""
            low = f"\n  low confidence: {'; '.join(m.confidence_reasons)}" if m.low_confidence else ""
            typer.echo(
                f"{m.image}: {m.hair_count}{se} hairs, {m.density_per_cm2:.0f}/cm2, median diameter {med}, "
                f"terminal {m.terminal_count} / vellus {m.vellus_count}, units {m.follicular_units}{flags}{low}"
            )
    if csv is not None and done:
        try:
            write_csv(done, csv)
        except OSError as exc:  # missing folder, no permission
            raise InputError.invalid("--csv", str(csv), f"a writable file path ({exc.strerror})") from exc
    if failed:
        raise typer.Exit(2)


@measure_app.command("dask", hidden=True)
def dask_batch(
    use_dask: bool = typer.Option(
        False, "--dask", help="Measure on Dask and store in the journal (how this command is called)."
    ),
    manifest: Path | None = typer.Option(
        None, "--manifest", help="CSV: file, patient, site, taken_at[, um_per_px, device, camera]."
    ),
    day: Path | None = typer.Option(
        None, "--day", help="Or a folder laid out DAY/<patient-id>/<site>/*.jpg."
    ),
    date: str | None = typer.Option(
        None, "--date", help="--day: when taken (ISO 8601); default: the folder's name."
    ),
    um_per_px: float | None = typer.Option(
        None, "--um-per-px", help="Calibration of images without their own."
    ),
    device: str | None = typer.Option(None, "--device", help="Device profile of images without one."),
    workers: int | None = typer.Option(
        None, "--workers", min=1, max=64, help="Local worker processes (default: the CPU cores)."
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Address of a running Dask scheduler (tcp:// or tls://host:8786)."
    ),
    retries: int = typer.Option(
        2, "--retries", min=0, max=100, help="Extra attempts of an image whose task raised."
    ),
    new_site: bool = typer.Option(False, "--new-site", help="Allow new sites close to one in use."),
    db: str | None = DbOption,
    photos_dir: Path | None = PhotosDirOption,
    report: Path | None = typer.Option(
        None, "--report", help="Write the per-image report here (.json: JSON, else CSV)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary and every image as JSON."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Measure a clinic's day of images on Dask and store them in the journal (re-running stores nothing twice)."""
    if not use_dask:
        raise InputError.invalid("--dask", None, "given: regrow measure --dask --manifest FILE")
    if (manifest is None) == (day is None):
        raise InputError.invalid("input", None, "exactly one of --manifest FILE or --day DIR")
    if scheduler is not None and workers is not None:
        raise InputError.invalid(
            "--workers", workers, "left out with --scheduler (the cluster has its workers)"
        )
    if report is not None and report.is_dir():
        raise InputError.invalid("--report", str(report), "a file path (this is a folder)")
    from regrow import _day_batch
    from regrow.cli.journal import _journal
    from regrow.measure._dask import dask_client, local_processes_default

    if manifest is not None:
        images = _day_batch.read_manifest(manifest, um_per_px=um_per_px, device=device)
    else:
        images = _day_batch.scan_day_folder(day, taken_at=date, um_per_px=um_per_px, device=device)
    with (
        dask_client(workers=workers or local_processes_default(), scheduler=scheduler) as client,
        _journal(db, photos_dir) as (engine, store),
        _DayProgress(len(images), enabled=not quiet and sys.stderr.isatty()) as bar,
    ):
        result = _day_batch.measure_day(
            engine, store, images, client=client, retries=retries, new_site=new_site, on_item=bar.advance
        )
        stored = {item.patient for item in result.items if item.status == "measured"}
        if stored:  # clinic patients: one audit entry each (a home journal has none)
            from regrow.clinic import record_for_patients

            record_for_patients(engine, stored, action="write", what="regrow measure --dask: photos measured")
    if report is not None:
        _day_batch.write_report(result, report)
    for item in result.items:
        if item.status == "failed":
            typer.echo(f"error: {item.file} (row {item.row}): {item.message}", err=True)
    totals = result.summary()
    if as_json:
        emit_json({**result.to_dict(), "report": None if report is None else str(report)})
    else:
        typer.echo(
            f"{totals['images']} images: {totals['measured']} measured, {totals['skipped']} skipped (already "
            f"measured), {totals['failed']} failed in {totals['seconds']:.1f} s on {totals['workers']} worker(s)"
            + (f"; report: {report}" if report is not None else "")
        )
    if totals["failed"]:
        raise typer.Exit(2)


class _DayProgress:
    """A rich progress bar on stderr (only when it is a terminal), advanced once per image."""

    def __init__(self, total: int, *, enabled: bool):
        self.total, self.enabled, self.bar, self.task = total, enabled, None, None

    def __enter__(self) -> _DayProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import MofNCompleteColumn, Progress, TimeRemainingColumn

            self.bar = Progress(
                *Progress.get_default_columns()[:-1],
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("Measuring the day", total=self.total)
        return self

    def advance(self, item) -> None:  # type: ignore[no-untyped-def]
        if self.bar is not None:
            self.bar.advance(self.task)

    def __exit__(self, *exc) -> None:  # type: ignore[no-untyped-def]
        if self.bar is not None:
            self.bar.stop()


@measure_app.command("evaluate")
def evaluate(
    directory: Path = typer.Argument(..., help="Folder with images/ and annotations/ (Pascal-VOC XML)."),
    um_per_px: float | None = typer.Option(None, "--um-per-px", help="Micrometres per pixel."),
    device: str | None = typer.Option(None, "--device", help="Device profile name."),
    plot: Path | None = typer.Option(None, "--plot", help="Write the agreement plot here (.png/.svg)."),
    match_um: float = typer.Option(
        150.0, "--match-um", help="Matching distance hair mid-point to box centre."
    ),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes."),
    method: str | None = typer.Option(None, "--method", help=_METHOD_HELP),
    model: Path | None = typer.Option(None, "--model", help=_MODEL_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the evaluation as JSON."),
) -> None:
    """Score measured counts against Pascal-VOC boxes (count MAE, r, Bland-Altman, precision/recall)."""
    from regrow.measure import evaluate_directory, resolve_calibration

    cal = resolve_calibration(um_per_px=um_per_px, device=device)
    how = _method_options(method, model, None)
    how.pop("threshold", None)
    ev = evaluate_directory(
        directory,
        calibration=cal,
        match_distance_um=match_um,
        workers=workers,
        plot=plot,
        progress=True,
        **how,
    )
    if as_json:
        emit_json(ev.to_dict())
        return
    r = "n/a" if ev.pearson_r is None else f"{ev.pearson_r:.3f}"
    typer.echo(
        f"{ev.n_images} images: count MAE {ev.count_mae:.2f} (mean-count baseline {ev.baseline_mean_count_mae:.2f}), "
        f"mean relative error {ev.mean_relative_error:.1%}, Pearson r {r}\n"
        f"Bland-Altman bias {ev.bland_altman_bias:+.2f}, limits of agreement "
        f"[{ev.bland_altman_loa_low:.2f}, {ev.bland_altman_loa_high:.2f}]\n"
        f"detection precision {ev.precision:.3f}, recall {ev.recall:.3f} within {match_um:g} um"
    )
    if plot is not None:
        typer.echo(f"agreement plot: {plot}")


def _need_torch() -> None:
    from regrow.errors import MissingExtraError

    for mod in ("torch", "onnx"):
        try:
            __import__(mod)
        except ImportError as exc:
            raise MissingExtraError(mod, "train") from exc


@measure_app.command("train")
def train(
    directory: Path = typer.Argument(..., help="Folder of labelled images (Pascal-VOC XML per image)."),
    out: Path = typer.Option(..., "--out", help="Model file to write (.onnx); the checkpoint is OUT.ckpt."),
    um_per_px: float | None = typer.Option(None, "--um-per-px", help="Micrometres per pixel of the images."),
    device: str | None = typer.Option(None, "--device", help="Device profile name."),
    model: Path | None = typer.Option(
        None, "--model", help="Start from this model (default: the bundled one)."
    ),
    minutes: float = typer.Option(25.0, "--minutes", min=0.1, help="Time budget for training."),
    epochs: int = typer.Option(60, "--epochs", min=1, help="Most epochs."),
    patience: int = typer.Option(
        8, "--patience", min=0, help="Stop after this many epochs without a better validation MAE (0: never)."
    ),
    val_fraction: float = typer.Option(0.2, "--val-fraction", help="Share of patients kept for validation."),
    group_regex: str | None = typer.Option(
        None,
        "--group-regex",
        help="Regex with a (?P<patient>...) group to read the patient from a file name.",
    ),
    seed: int = typer.Option(
        0, "--seed", help="Seed of the split, the order of images and the augmentation."
    ),
    threads: int = typer.Option(2, "--threads", min=1, max=64, help="CPU threads for training."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run from OUT.ckpt."),
    report_only: bool = typer.Option(
        False, "--check", help="Only scan the folder and print the per-file report."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the final report (or --check's scan) as JSON."),
) -> None:
    """Fine-tune the hair detector on your own labelled images (needs pip install 'regrow[train]')."""
    from regrow.measure import resolve_calibration, scan_labelled_folder

    cal = resolve_calibration(um_per_px=um_per_px, device=device)
    if out.exists() and out.is_dir():
        raise InputError.invalid("--out", str(out), "a file path (this is a folder)")
    scan = scan_labelled_folder(directory, group_regex=group_regex)
    for line in scan.report_lines():
        typer.echo(line, err=True)
    typer.echo(scan.summary(), err=True)
    if not scan.items:
        raise InputError(f"No usable labelled image in {directory}; training not started.")
    if report_only:
        if as_json:
            emit_json(_scan_dict(scan))
        return
    _need_torch()
    from regrow.measure.train.finetune import FinetuneConfig, finetune

    cfg = FinetuneConfig(
        max_minutes=minutes,
        max_epochs=epochs,
        patience=patience,
        validation_fraction=val_fraction,
        seed=seed,
        threads=threads,
        group_regex=group_regex,
    )
    if model is not None:
        from regrow.measure import load_model

        load_model(model)
    try:
        rep = finetune(
            directory, out, calibration=cal, base_model=model, config=cfg, resume=resume, scan=scan
        )
    except KeyboardInterrupt:
        typer.echo(
            f"\ninterrupted; continue with the same command plus --resume (checkpoint {out}.ckpt)", err=True
        )
        raise typer.Exit(130) from None
    if as_json:
        emit_json({**dataclasses.asdict(rep), "scan": _scan_dict(scan)})
        return
    for line in rep.lines():
        typer.echo(line)


def _scan_dict(scan) -> dict:
    """A labelled folder's scan as JSON: usable images and patients, notes and skipped files."""
    return {
        "folder": str(scan.folder),
        "usable_images": len(scan.items),
        "patients": len(scan.patients),
        "notes": [{"file": f, "note": n} for f, n in scan.notes],
        "skipped": [{"file": f, "reason": r} for f, r in scan.skipped],
    }


@measure_app.command("pretrain")
def pretrain(
    out: Path = typer.Option(..., "--out", help="Model file to write (.onnx)."),
    seed: int = typer.Option(0, "--seed", help="Seed of everything (0 reproduces the bundled model)."),
    crops: int = typer.Option(5000, "--crops", min=16, help="Synthetic training crops."),
    steps: int = typer.Option(2000, "--steps", min=1, help="Training steps (batch 16)."),
    as_json: bool = typer.Option(False, "--json", help="Print the training report as JSON."),
) -> None:
    """Train the detector from scratch on synthetic images only (how the bundled model was made)."""
    _need_torch()
    from regrow.measure.train.pretrain import PretrainConfig
    from regrow.measure.train.pretrain import pretrain as run_pretrain

    report = run_pretrain(
        out, PretrainConfig(seed=seed, crops=crops, steps=steps), log=lambda s: typer.echo(s, err=True)
    )
    if as_json:
        emit_json({"model": str(out), **report})
    else:
        typer.echo(f"model written to {out}")


def register(app: typer.Typer) -> None:
    """Mount ``regrow measure`` on the root app."""
    app.add_typer(measure_app, name="measure")


def _prepare_overlay_folder(overlay: Path) -> None:
    """Create the ``--overlay`` folder now, so that a bad path fails before any image is measured."""
    if overlay.exists() and not overlay.is_dir():
        raise InputError.invalid("--overlay", str(overlay), "a folder (this is a file)")
    try:
        overlay.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a read-only or virtual file system, no permission, a file in the way
        reason = exc.strerror or type(exc).__name__
        raise InputError.invalid(
            "--overlay", str(overlay), f"a folder that can be created ({reason})"
        ) from exc
    if not os.access(overlay, os.W_OK | os.X_OK):
        raise InputError.invalid("--overlay", str(overlay), "a folder you can write to")
