"""``regrow measure IMAGE...`` and ``regrow measure evaluate DIR``: thin wrappers over regrow.measure."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer
from typer.core import TyperGroup

from regrow.cli._common import emit_json, to_jsonable
from regrow.errors import InputError

__all__ = ["register"]


class _MeasureGroup(TyperGroup):
    """``measure`` takes image paths directly; only ``evaluate`` is a subcommand.

    Any first token that is not a subcommand (an image path or an option) is routed to the hidden ``run``
    command, so ``regrow measure a.jpg b.jpg --json`` and ``regrow measure evaluate DIR`` both work.
    """

    def parse_args(self, ctx, args):  # type: ignore[no-untyped-def]
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


measure_app = typer.Typer(
    cls=_MeasureGroup,
    help=(
        "Count hairs and measure density, diameters and follicular units in trichoscopy images.\n\n"
        "regrow measure IMAGE... [--um-per-px X | --device NAME | --ruler FILE] [--overlay DIR] "
        "[--workers N] [--csv FILE] [--json]  (options: regrow measure run --help)"
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
    hairs: bool = typer.Option(False, "--hairs", help="Include every hair in the JSON output."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per image (JSON Lines)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Measure images: one result per image; a bad file gives an error line and the batch goes on."""
    from regrow.measure import measure_batch, write_csv

    cal = _calibration(um_per_px, device, ruler, ruler_pitch_um)
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
            typer.echo(
                f"{m.image}: {m.hair_count} hairs, {m.density_per_cm2:.0f}/cm2, median diameter {med}, "
                f"terminal {m.terminal_count} / vellus {m.vellus_count}, units {m.follicular_units}{flags}"
            )
    if csv is not None and done:
        try:
            write_csv(done, csv)
        except OSError as exc:  # missing folder, no permission
            raise InputError.invalid("--csv", str(csv), f"a writable file path ({exc.strerror})") from exc
    if failed:
        raise typer.Exit(2)


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
    as_json: bool = typer.Option(False, "--json", help="Print the evaluation as JSON."),
) -> None:
    """Score measured counts against Pascal-VOC boxes (count MAE, r, Bland-Altman, precision/recall)."""
    from regrow.measure import evaluate_directory, resolve_calibration

    cal = resolve_calibration(um_per_px=um_per_px, device=device)
    ev = evaluate_directory(
        directory, calibration=cal, match_distance_um=match_um, workers=workers, plot=plot, progress=True
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
