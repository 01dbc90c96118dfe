"""Publication plots for meta-analyses: shared pieces, saving, and the bubble plot for a moderator.

The forest plot lives in :mod:`regrow.meta._plots_forest`, the funnel plot in
:mod:`regrow.meta._plots_funnel`. Every plot builds a :class:`matplotlib.figure.Figure` directly
(never through ``pyplot``), so nothing depends on an interactive backend or global state; artists that
carry numbers have a ``gid`` (kept as the element id in SVG output) so tests and readers can find them.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

from regrow.errors import InputError
from regrow.meta._plot_names import SAVE_FORMATS

__all__ = ["SAVE_FORMATS", "plot_bubble", "png_bytes", "resolve_transf", "save", "set_ratio_axis"]


#: Base font size in points: legible in a journal column at 100 %.
FONT_PT = 10.0


def save(fig: Figure, path: str | Path, *, dpi: int = 200) -> Path:
    """Write a figure to PNG, SVG or PDF, the format chosen by the file's extension.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        A figure from :func:`plot_forest`, :func:`plot_funnel` or :func:`plot_bubble`.
    path : str or Path
        Target file ending in ``.png``, ``.svg`` or ``.pdf`` (case-insensitive). Its folder must exist.
    dpi : int, default 200
        Resolution of PNG output in dots per inch (ignored for SVG, which is vector).

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    InputError
        For another extension, a missing folder, a non-positive dpi, or a file that cannot be written.
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in SAVE_FORMATS:
        raise InputError.invalid("path", str(path), "a file name ending in .png, .svg or .pdf")
    if not isinstance(dpi, int | np.integer) or dpi <= 0:
        raise InputError.invalid("dpi", dpi, "a positive whole number of dots per inch")
    if not path.parent.is_dir():
        raise InputError(
            f"Cannot save {str(path)!r}: folder {str(path.parent)!r} does not exist.",
            field="path",
            value=str(path),
        )
    try:
        _savefig(fig, path, fmt, int(dpi))
    except OSError as exc:
        raise InputError(
            f"Cannot write {str(path)!r}: {exc.strerror or exc}.", field="path", value=str(path)
        ) from exc
    return path


def _savefig(fig: Figure, target, fmt: str, dpi: int) -> None:
    metadata = {"Software": "regrow"} if fmt == "png" else {"Creator": "regrow"}
    fig.savefig(target, format=fmt, dpi=dpi, bbox_inches="tight", metadata=metadata)


def png_bytes(fig: Figure, *, dpi: int = 200) -> bytes:
    """The figure as PNG bytes, written as :func:`save` writes a ``.png`` file (for HTML and web output).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    dpi : int, default 200
        Resolution in dots per inch.

    Returns
    -------
    bytes
    """
    buf = io.BytesIO()
    _savefig(fig, buf, "png", dpi)
    return buf.getvalue()


def resolve_transf(transf: str | Callable[[np.ndarray], np.ndarray] | None) -> tuple[Callable, bool]:
    """Turn ``transf`` into a function and whether the axis should be logarithmic.

    ``"exp"`` (or ``numpy.exp``) back-transforms log ratios (log OR, log RR, log ROM); the plot then shows
    ratios on a log-scale axis, so that equal distances still mean equal relative effects.
    """
    if transf is None:
        return (lambda x: np.asarray(x, dtype=float)), False
    if (isinstance(transf, str) and transf == "exp") or transf is np.exp:
        return np.exp, True
    if callable(transf) and not isinstance(transf, str):
        return (lambda x: np.asarray(transf(np.asarray(x, dtype=float)), dtype=float)), False
    raise InputError.invalid("transf", transf, "None, 'exp' or a function of an array")


def check_level(level: float, what: str = "level") -> float:
    """A confidence level in percent (metafor's convention: values below 1 are proportions)."""
    try:
        value = float(level)
    except (TypeError, ValueError) as exc:
        raise InputError.invalid(what, level, "a confidence level in (0, 100), e.g. 95") from exc
    if not np.isfinite(value) or value <= 0 or value >= 100:
        raise InputError.invalid(what, level, "a confidence level in (0, 100), e.g. 95")
    return value * 100.0 if value < 1 else value


def marker_areas(weights: np.ndarray, *, max_area_pt2: float, min_area_pt2: float) -> np.ndarray:
    """Marker areas in pt^2 proportional to the weights (largest ``max_area_pt2``), floored to be visible."""
    w = np.asarray(weights, dtype=float)
    return np.maximum(max_area_pt2 * w / w.max(), min_area_pt2)


#: Tick values on a ratio (log-scale) axis: the 1-2-5 series, with finer steps for narrow ranges.
RATIO_TICKS = (
    0.001,
    0.002,
    0.005,
    0.01,
    0.02,
    0.05,
    0.1,
    0.2,
    0.5,
    1.0,
    2.0,
    5.0,
    10.0,
    20.0,
    50.0,
    100.0,
    200.0,
    500.0,
    1000.0,
)
RATIO_TICKS_FINE = (0.25, 0.4, 0.6, 0.8, 1.25, 1.5, 2.5, 4.0)


def set_ratio_axis(axis, lo: float, hi: float) -> list[float]:
    """Put plain-number ticks (0.1, 0.2, 0.5, 1, 2, ...) on a log-scale ratio axis between lo and hi."""
    ticks = [t for t in RATIO_TICKS if lo <= t <= hi]
    if len(ticks) < 4:
        ticks = sorted({*ticks, *(t for t in RATIO_TICKS_FINE if lo <= t <= hi)})
    while len(ticks) > 8:  # thin to legible labels, always keeping the null value 1
        keep = set(ticks[::2]) | ({1.0} & set(ticks))
        ticks = [t for t in ticks if t in keep]
    ticks = ticks or [float(f"{np.sqrt(lo * hi):.2g}")]
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_minor_locator(NullLocator())
    axis.set_major_formatter(FixedFormatter([f"{t:g}" for t in ticks]))
    return ticks


def new_figure(width_in: float, height_in: float) -> Figure:
    """A bare figure (no pyplot) with regrow's font size.

    Parameters
    ----------
    width_in, height_in : float
        Size in inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=(width_in, height_in), layout=None)
    fig.set_facecolor("white")
    return fig


def plot_bubble(
    res,
    *,
    moderator: str | int | None = None,
    transf: str | Callable[[np.ndarray], np.ndarray] | None = None,
    xlab: str | None = None,
    ylab: str = "Effect size",
    show_ci: bool = True,
    show_pi: bool = False,
    refline: float | None = None,
    labels: Sequence[str] | bool = False,
    n_grid: int = 200,
    x_grid: Sequence[float] | None = None,
    figsize: tuple[float, float] = (7.0, 5.0),
) -> Figure:
    """Bubble plot of a meta-regression on one moderator (metafor's ``regplot``).

    Each study is a circle at (moderator value, effect) with area proportional to its model weight
    ``1 / (vi + tau^2)``; the line is the fitted regression ``b0 + b1 x`` with its confidence band
    ``x0' b +/- z se(x0' b)``, ``se^2 = x0' V x0``, and optionally the prediction band
    ``+/- z sqrt(se^2 + tau^2)`` (``z`` is the model's critical value, t for Knapp-Hartung). Other
    moderators are held at their means, as ``regplot`` does.

    Parameters
    ----------
    res : RMAResult
        A fitted meta-regression with at least one numeric moderator.
    moderator : str or int, optional
        Name (e.g. ``"ablat"``) or 0-based column index of the moderator to plot; required when the
        model has more than one.
    transf : {None, "exp"} or callable
        Back-transformation of the effects; ``"exp"`` plots ratios on a log-scale y axis.
    xlab, ylab : str
        Axis labels (``xlab`` defaults to the moderator's name).
    show_ci, show_pi : bool
        Draw the confidence band (default) and the prediction band (random-effects models).
    refline : float, optional
        Horizontal reference line on the effect scale before ``transf`` (e.g. 0 for no effect).
    labels : bool or sequence of str
        Label the points with the study labels (True) or the given strings.
    n_grid : int, default 200
        Points on the fitted line, evenly spaced over the observed range of the moderator.
    x_grid : sequence of float, optional
        Explicit moderator values for the line and bands (overrides ``n_grid``; may extend the range).
    figsize : (float, float)
        Figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Artists with gids: ``studies`` (points), ``fit`` (line), ``ci_band`` with ``ci_lb``/``ci_ub``,
        ``pi_lb``/``pi_ub`` (when shown), ``refline``.

    Raises
    ------
    InputError
        For a model without moderators, an unknown moderator, or a non-numeric (dummy) column.

    References
    ----------
    Thompson SG, Higgins JPT (2002). How should meta-regression analyses be undertaken and interpreted?
    Stat Med 21:1559-1573. doi:10.1002/sim.1187
    """
    names = list(res.coef_names)
    mod_cols = [j for j in range(res.p) if not (res.intercept and j == 0)]
    if not mod_cols:
        raise InputError(
            "A bubble plot needs a meta-regression; this model has no moderators.", field="moderator"
        )
    if moderator is None:
        if len(mod_cols) > 1:
            raise InputError.invalid("moderator", None, "one of " + ", ".join(names[j] for j in mod_cols))
        col = mod_cols[0]
    elif isinstance(moderator, str):
        if moderator not in names or names.index(moderator) not in mod_cols:
            raise InputError.invalid(
                "moderator", moderator, "one of " + ", ".join(names[j] for j in mod_cols)
            )
        col = names.index(moderator)
    else:
        col = int(moderator)
        if col not in mod_cols:
            raise InputError.invalid("moderator", moderator, f"a moderator column index in {mod_cols}")
    x = res.X[:, col]
    if np.unique(x).size <= 2 and set(np.unique(x)) <= {0.0, 1.0}:
        raise InputError(
            f"Moderator {names[col]!r} is a 0/1 dummy; a bubble plot needs a continuous moderator.",
            field="moderator",
            value=names[col],
        )
    if n_grid < 2:
        raise InputError.invalid("n_grid", n_grid, "an integer >= 2")
    f, log_axis = resolve_transf(transf)

    if x_grid is None:
        grid = np.linspace(x.min(), x.max(), int(n_grid))
    else:
        try:
            grid = np.sort(np.asarray(x_grid, dtype=float).reshape(-1))
        except (TypeError, ValueError) as exc:
            raise InputError.invalid("x_grid", x_grid, "two or more finite moderator values") from exc
        if grid.size < 2 or not np.all(np.isfinite(grid)):
            raise InputError.invalid(
                "x_grid", list(np.atleast_1d(x_grid)), "two or more finite moderator values"
            )
    Xnew = np.tile(res.X.mean(axis=0), (grid.size, 1))
    Xnew[:, col] = grid
    newmods = Xnew[:, 1:] if res.intercept else Xnew
    pred = res.predict(newmods)

    fig = new_figure(*figsize)
    ax = fig.add_subplot()
    areas = marker_areas(res.weights, max_area_pt2=400.0, min_area_pt2=8.0)
    order = np.argsort(-areas)  # big bubbles first so small ones stay visible on top
    ax.scatter(
        x[order],
        f(res.yi[order]),
        s=areas[order],
        facecolor="0.75",
        edgecolor="black",
        linewidth=0.7,
        alpha=0.85,
        zorder=3,
        gid="studies",
    )
    if show_pi and pred.pi_lb is not None:
        ax.plot(grid, f(pred.pi_lb), color="black", linestyle=":", linewidth=1.0, gid="pi_lb")
        ax.plot(
            grid,
            f(pred.pi_ub),
            color="black",
            linestyle=":",
            linewidth=1.0,
            gid="pi_ub",
            label=f"{res.level:g}% prediction interval",
        )
    if show_ci:
        ax.fill_between(
            grid,
            f(pred.ci_lb),
            f(pred.ci_ub),
            color="0.85",
            linewidth=0,
            zorder=1,
            gid="ci_band",
            label=f"{res.level:g}% confidence band",
        )
        ax.plot(grid, f(pred.ci_lb), color="black", linestyle="--", linewidth=0.8, zorder=2, gid="ci_lb")
        ax.plot(grid, f(pred.ci_ub), color="black", linestyle="--", linewidth=0.8, zorder=2, gid="ci_ub")
    ax.plot(grid, f(pred.pred), color="black", linewidth=1.6, zorder=4, gid="fit", label="Meta-regression")
    if refline is not None:
        ax.axhline(
            float(f(np.array([refline]))[0]), color="0.3", linestyle=(0, (1, 2)), linewidth=1.0, gid="refline"
        )
    if log_axis:
        ax.set_yscale("log")
        lo, hi = ax.get_ylim()
        set_ratio_axis(ax.yaxis, lo, hi)
        ax.set_ylim(lo, hi)
    if labels is not False:
        text = res.slab if labels is True else list(labels)
        if len(text) != res.k:
            raise InputError(f"labels has {len(text)} entries for {res.k} studies.", field="labels")
        for xi, yi, label in zip(x, f(res.yi), text, strict=True):
            ax.annotate(label, (xi, yi), xytext=(4, 4), textcoords="offset points", fontsize=FONT_PT - 2)
    ax.set_xlabel(xlab or names[col], fontsize=FONT_PT + 1)
    ax.set_ylabel(ylab, fontsize=FONT_PT + 1)
    ax.tick_params(labelsize=FONT_PT)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(frameon=False, fontsize=FONT_PT - 1, loc="best")
    fig.tight_layout()
    return fig
