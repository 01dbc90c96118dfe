"""One panel per site: measurements, fitted trajectory with its 95% band, placebo band and expected band."""

from __future__ import annotations

import textwrap
from pathlib import Path

from matplotlib.figure import Figure

from regrow.errors import InputError
from regrow.progress._types import ProgressReport

__all__ = ["plot_progress"]

_FORMATS = (".png", ".svg", ".pdf")


def plot_progress(report: ProgressReport, path: str | Path, *, dpi: int = 120) -> Path:
    """Draw the progress of every site of ``report`` into an image file.

    Per site: visit means (marker area grows with the number of images), the fitted density with its 95%
    band (needs ``analyse_progress(..., trajectory=True)``), the treatment start, the placebo-arm change
    (mean +/- 1.96 SD, clinical-notes 5.2) at its read-out week and, when known, the trial-expected change
    with its 95% interval, both drawn from the fitted baseline.

    Parameters
    ----------
    report : ProgressReport
    path : str or Path
        Output file; ``.png``, ``.svg`` or ``.pdf``.
    dpi : int

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InputError
        Unsupported file type, or a report without sites.
    """
    path = Path(path)
    if path.suffix.lower() not in _FORMATS:
        raise InputError.invalid("plot file", str(path), f"a file name ending in {', '.join(_FORMATS)}")
    if not report.sites:
        raise InputError.invalid("report", "no sites", "a report with at least one measured site")
    n = len(report.sites)
    fig = Figure(figsize=(7.0, 3.2 * n), layout="constrained")
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    for ax, site in zip(axes, report.sites, strict=True):
        if site.visits:
            w = [v.weeks_since_start for v in site.visits]
            m = [v.mean_density_per_cm2 for v in site.visits]
            size = [18 * v.n_images for v in site.visits]
            ax.scatter(w, m, s=size, color="black", zorder=3, label="measured (visit mean)")
        traj = site.trajectory
        if traj:
            ax.plot(traj["weeks"], traj["estimate"], color="tab:blue", label="fitted trend")
            ax.fill_between(
                traj["weeks"], traj["lb"], traj["ub"], color="tab:blue", alpha=0.2, label="95% band"
            )
        ax.axvline(0.0, color="grey", linestyle=":", linewidth=1)
        base = site.baseline_per_cm2.estimate
        nh = site.natural_history
        if base is not None and nh is not None:
            mid = base + nh["mean_change_per_cm2"]
            half = 1.96 * nh["sd_change_per_cm2"]
            ax.errorbar(
                [nh["weeks"]],
                [mid],
                yerr=[[half], [half]],
                fmt="s",
                color="tab:orange",
                capsize=4,
                label=f"placebo arm at {nh['weeks']:.0f} wk (mean +/- 1.96 SD)",
            )
        ex = site.expected
        if base is not None and ex is not None:
            ax.errorbar(
                [ex["weeks"]],
                [base + ex["change_per_cm2"]],
                yerr=[[ex["change_per_cm2"] - ex["ci_lb"]], [ex["ci_ub"] - ex["change_per_cm2"]]],
                fmt="D",
                color="tab:green",
                capsize=4,
                label=f"trial-expected at {ex['weeks']:.0f} wk (95% CI)",
            )
        ax.set_title(f"{site.site}: {site.verdict.value.replace('_', ' ')}")
        ax.set_xlabel("weeks since treatment start")
        ax.set_ylabel("hairs/cm2")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="x-small", loc="best")
        else:  # nothing to draw yet: say why, in the model's own words
            ax.text(
                0.5,
                0.5,
                textwrap.fill(f"Nothing to draw yet. {site.reason}", 80),
                transform=ax.transAxes,
                ha="center",
                va="center",
                color="dimgrey",
                fontsize="small",
            )
    fig.savefig(path, dpi=dpi)
    return path
