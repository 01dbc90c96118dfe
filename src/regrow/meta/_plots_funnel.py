"""Funnel plot: effects against their standard errors, with pseudo-confidence or significance contours."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon

from regrow.errors import InputError
from regrow.meta._dist import norm_ppf
from regrow.meta._plots import FONT_PT, RATIO_TICKS, RATIO_TICKS_FINE, check_level, new_figure

__all__ = ["plot_funnel"]

#: Background (outside every region) and region fills, light to dark, as metafor's ``funnel`` defaults.
BACKGROUND_GREY = "0.86"
#: Grey levels for the bands between successive contour levels (innermost region is white).
BAND_GREYS = (0.55, 0.75)


def _band_shades(n_levels: int) -> list[str]:
    if n_levels == 1:
        return ["white"]
    greys = np.linspace(BAND_GREYS[0], BAND_GREYS[1], n_levels - 1)
    return ["white", *[f"{g:.2f}" for g in greys]]


def _pvalue_label(lo: float, hi: float) -> str:
    return f"{lo:.2f} < p ≤ {hi:.2f}"


def plot_funnel(
    res,
    *,
    level: float | Sequence[float] = 95.0,
    shade: Sequence[str] | None = None,
    refline: float | None = None,
    filled_yi: Sequence[float] | None = None,
    filled_vi: Sequence[float] | None = None,
    xlab: str = "Effect size",
    legend: bool = True,
    figsize: tuple[float, float] = (7.0, 6.0),
    atransf: str | None = None,
) -> Figure:
    """Funnel plot of an intercept-only model (metafor's ``funnel.rma``), optionally contour-enhanced.

    Each study is a point at ``(yi, sqrt(vi))`` with the standard error increasing downwards. For each
    level ``L`` the region ``|x - c| <= z_{(1+L/100)/2} * se`` is a triangle with its apex at ``(c, 0)``,
    where ``c`` is ``refline`` (default: the pooled estimate, giving the pseudo-confidence funnel of
    Sterne & Egger 2001). With several levels and ``refline=0`` the bands are the significance contours of
    Peters et al. (2008): a study in the band between levels 90 and 95 has two-sided ``0.05 < p <= 0.10``.
    Studies imputed by trim-and-fill are given separately and drawn hollow.

    Parameters
    ----------
    res : RMAResult
        A fitted model without moderators.
    level : float or sequence of float, default 95
        Confidence level(s) in percent; e.g. ``(90, 95, 99)`` for the contour-enhanced funnel.
    shade : sequence of str, optional
        Fill colours from the innermost region outwards (one per level); default white then greys.
    refline : float, optional
        Centre of the regions and position of the vertical line (default: the pooled estimate). For a
        trim-and-fill plot pass the adjusted estimate.
    filled_yi, filled_vi : sequence of float, optional
        Effects and sampling variances of the studies imputed by trim-and-fill (hollow points).
    xlab : str, default "Effect size"
        Label of the effect axis, e.g. "Log odds ratio".
    legend : bool, default True
        Add a legend with the p-value range of each region below the plot.
    figsize : (float, float)
        Figure size in inches.
    atransf : {None, "exp"}, optional
        Label the effect axis on another scale (metafor's ``atransf``): ``"exp"`` keeps log ratios where they
        are and labels the ticks as ratios (0.5, 1, 2), so the funnel stays symmetric.

    Returns
    -------
    matplotlib.figure.Figure
        Artists with gids: ``studies`` (offsets ``(yi, sei)``), ``filled_studies``, ``region_<level>``
        (triangles with vertices ``(c - z se_max, se_max), (c, 0), (c + z se_max, se_max)``), ``refline``.

    Raises
    ------
    InputError
        For a model with moderators, bad levels or shades, or filled studies of mismatched lengths.

    References
    ----------
    Sterne JAC, Egger M (2001). Funnel plots for detecting bias in meta-analysis. J Clin Epidemiol
    54:1046-1055. doi:10.1016/S0895-4356(01)00377-8. Peters JL et al. (2008). Contour-enhanced
    meta-analysis funnel plots help distinguish publication bias from other causes of asymmetry.
    J Clin Epidemiol 61:991-996. doi:10.1016/j.jclinepi.2007.11.010
    """
    if res.p != 1 or not res.intercept:
        raise InputError("A funnel plot needs a model without moderators.", field="mods")
    levels = [check_level(v) for v in np.atleast_1d(np.asarray(level, dtype=object)).tolist()]
    if len(set(levels)) != len(levels):
        raise InputError.invalid("level", list(level), "distinct confidence levels")
    levels = sorted(levels)  # innermost (smallest) region first
    if shade is None:
        shades = _band_shades(len(levels))
    else:
        shades = [str(s) for s in shade]
        if len(shades) != len(levels):
            raise InputError(
                f"shade has {len(shades)} colours for {len(levels)} levels; give one per level.",
                field="shade",
                value=len(shades),
            )
    yi, sei = res.yi, np.sqrt(res.vi)
    if (filled_yi is None) != (filled_vi is None):
        raise InputError("Give both filled_yi and filled_vi (or neither).", field="filled_vi")
    fyi = fsei = np.empty(0)
    if filled_yi is not None:
        fyi = np.asarray(filled_yi, dtype=float).reshape(-1)
        fvi = np.asarray(filled_vi, dtype=float).reshape(-1)
        if fyi.shape != fvi.shape:
            raise InputError(
                f"filled_yi has {fyi.size} values but filled_vi has {fvi.size}.",
                field="filled_vi",
                value=fvi.size,
            )
        bad = np.flatnonzero(~np.isfinite(fyi) | ~np.isfinite(fvi) | (fvi <= 0))
        if bad.size:
            raise InputError(
                f"Filled study {bad[0] + 1} has yi={fyi[bad[0]]!r}, vi={fvi[bad[0]]!r}; "
                "need finite yi and vi > 0.",
                field="filled_vi",
            )
        fsei = np.sqrt(fvi)
    centre = float(res.beta[0]) if refline is None else float(refline)
    if not np.isfinite(centre):
        raise InputError.invalid("refline", refline, "a finite number")

    se_max = float(np.max(np.concatenate([sei, fsei])))
    y_bottom = se_max * 1.02
    zs = [float(norm_ppf(0.5 + v / 200.0)) for v in levels]
    all_x = np.concatenate([yi, fyi, [centre - zs[-1] * y_bottom, centre + zs[-1] * y_bottom]])
    span = float(all_x.max() - all_x.min()) or 1.0
    xlim = (float(all_x.min() - 0.06 * span), float(all_x.max() + 0.06 * span))

    fig = new_figure(*figsize)
    ax = fig.add_subplot()
    ax.set_facecolor(BACKGROUND_GREY)
    handles: list = []
    p_edges = [1.0, *(1.0 - v / 100.0 for v in levels)]
    for j in range(len(levels) - 1, -1, -1):  # widest first so narrower regions paint over it
        z = zs[j]
        ax.add_patch(
            Polygon(
                [(centre - z * y_bottom, y_bottom), (centre, 0.0), (centre + z * y_bottom, y_bottom)],
                closed=True,
                facecolor=shades[j],
                edgecolor="none",
                zorder=1,
                gid=f"region_{levels[j]:g}",
            )
        )
        ax.plot(
            [centre - z * y_bottom, centre, centre + z * y_bottom],
            [y_bottom, 0.0, y_bottom],
            color="0.2",
            linewidth=0.8,
            linestyle=(0, (2, 2)),
            zorder=2,
        )
    for j in range(len(levels)):
        handles.append(
            Patch(facecolor=shades[j], edgecolor="0.3", label=_pvalue_label(p_edges[j + 1], p_edges[j]))
        )
    handles.append(Patch(facecolor=BACKGROUND_GREY, edgecolor="0.3", label=_pvalue_label(0.0, p_edges[-1])))
    ax.axvline(centre, color="black", linewidth=0.9, linestyle=(0, (1, 2)), zorder=2, gid="refline")
    ax.scatter(yi, sei, s=28, color="black", zorder=4, gid="studies", label="Studies")
    handles.append(
        Line2D([], [], marker="o", color="black", linestyle="none", markersize=5.5, label="Studies")
    )
    if fyi.size:
        ax.scatter(
            fyi,
            fsei,
            s=28,
            facecolor="white",
            edgecolor="black",
            linewidths=1.0,
            zorder=4,
            gid="filled_studies",
        )
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                markerfacecolor="white",
                markeredgecolor="black",
                color="black",
                linestyle="none",
                markersize=5.5,
                label="Filled studies (trim-and-fill)",
            )
        )
    ax.set_xlim(*xlim)
    if atransf == "exp":
        _ratio_labels(ax, *xlim)
    elif atransf is not None:
        raise InputError.invalid("atransf", atransf, 'None or "exp"')
    ax.set_ylim(y_bottom, 0.0)  # standard error grows downwards
    ax.grid(axis="y", color="white", linewidth=0.9)
    ax.set_axisbelow(True)
    ax.set_xlabel(xlab, fontsize=FONT_PT + 1)
    ax.set_ylabel("Standard error", fontsize=FONT_PT + 1)
    ax.tick_params(labelsize=FONT_PT)
    if legend:
        ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.13),
            ncol=min(3, len(handles)),
            frameon=False,
            fontsize=FONT_PT - 1,
        )
    fig.tight_layout()
    return fig


def _ratio_labels(ax, lo: float, hi: float) -> None:
    """Ticks at log(t) labelled t (0.2, 0.5, 1, 2, ...) on an axis of log ratios."""
    ticks = [t for t in RATIO_TICKS if lo <= np.log(t) <= hi]
    if len(ticks) < 4:
        ticks = sorted({*ticks, *(t for t in RATIO_TICKS_FINE if lo <= np.log(t) <= hi)})
    ax.set_xticks([float(np.log(t)) for t in ticks], [f"{t:g}" for t in ticks])
