"""Forest plot: one row per study, the pooled diamond, the prediction interval and optional subgroups."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon
from matplotlib.textpath import text_to_path
from matplotlib.ticker import NullLocator
from matplotlib.transforms import blended_transform_factory

from regrow.errors import InputError
from regrow.meta._dist import norm_ppf
from regrow.meta._plot_names import FOREST_ORDERS
from regrow.meta._plots import FONT_PT, marker_areas, new_figure, resolve_transf, set_ratio_axis
from regrow.meta._subgroup import subgroup_difference_test

__all__ = ["plot_forest"]

#: Height of one table row in inches: 1.9 x the 10 pt font, so 40+ study rows never overlap.
ROW_HEIGHT_IN = 0.26
#: Half-height of a diamond in row units.
DIAMOND_HALF = 0.34


@dataclass
class _Row:
    kind: str  # "study", "group", "summary", "pred", "text", "blank"
    label: str = ""
    index: int = -1  # study index for study rows
    estimate: float = np.nan
    lb: float = np.nan
    ub: float = np.nan
    weight_pct: float | None = None
    gid: str = ""
    bold: bool = False


def _text_width_in(text: str, size_pt: float, *, bold: bool = False) -> float:
    """Width of a text in inches from the font's glyph advances (no renderer needed)."""
    if not text:
        return 0.0
    prop = FontProperties(size=size_pt, weight="bold" if bold else "normal")
    width_pt, _, _ = text_to_path.get_text_width_height_descent(text, prop, ismath=False)
    return float(width_pt) / 72.0


def _fmt(value: float, digits: int) -> str:
    text = f"{value:.{digits}f}"
    return "0." + "0" * digits if text in ("-0." + "0" * digits) else text


def _pval_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.1 else f"p = {p:.2f}"


def _heterogeneity_text(res) -> str:
    parts = []
    if res.is_random:
        parts.append(f"τ² = {res.tau2:.3g}")
    parts.append(f"I² = {res.I2:.0f}%")
    parts.append(f"Q = {res.QE:.2f}, df = {res.k - res.p}, {_pval_text(res.QEp)}")
    return "Heterogeneity: " + "; ".join(parts)


def _model_label(res) -> str:
    return f"Random-effects model ({res.method})" if res.is_random else "Fixed-effect model"


def _order_key(order, *, yi, vi, weights_pct, labels):
    """Sort key over study indices for ``order`` (ties keep the given order: Python's sort is stable)."""
    if order is None:
        return lambda i: 0
    keys = {
        "obs": lambda i: float(yi[i]),
        "prec": lambda i: float(vi[i]),
        "weight": lambda i: -float(weights_pct[i]),
        "label": lambda i: str(labels[i]).casefold(),
    }
    if order not in keys:
        raise InputError.invalid("order", order, "one of " + ", ".join(FOREST_ORDERS) + " (or None)")
    return keys[order]


def plot_forest(
    res,
    *,
    slab: Sequence[str] | None = None,
    transf: str | Callable[[np.ndarray], np.ndarray] | None = None,
    measure: str = "Estimate",
    xlab: str | None = None,
    subgroups: Sequence[str] | None = None,
    show_weights: bool = True,
    show_pred: bool = True,
    show_heterogeneity: bool = True,
    show_pooled: bool = True,
    refline: float | None = 0.0,
    digits: int = 2,
    xlim: tuple[float, float] | None = None,
    plot_width_in: float = 3.6,
    title: str | None = None,
    order: str | None = None,
) -> Figure:
    """Forest plot of an intercept-only meta-analysis (metafor's ``forest.rma``).

    Each study is a row: its label, a square at ``yi`` (area proportional to its model weight) with the
    ``level`` % interval ``yi +/- z_{1-a/2} sqrt(vi)``, its weight in percent and ``estimate [lb, ub]`` as
    text. Below them the pooled estimate is a diamond spanning its confidence interval, the prediction
    interval ``b +/- crit sqrt(se^2 + tau^2)`` (random effects) a bar on its own row, and a line gives the
    heterogeneity statistics. With ``subgroups``, studies are grouped in blocks, each with its own
    diamond (the same estimator fitted within the block; a one-study block has no diamond and enters the
    test with its own estimate), and the test for subgroup differences (:func:`subgroup_difference_test`)
    is printed under the overall result.

    Parameters
    ----------
    res : RMAResult
        A fitted model without moderators.
    slab : sequence of str, optional
        Study labels (default: the model's labels).
    transf : {None, "exp"} or callable
        Back-transformation; ``"exp"`` shows ratios (OR, RR, ROM) on a log-scale axis with the null at 1.
    measure : str, default "Estimate"
        Name of the effect measure for the column header, e.g. ``"Risk Ratio"``.
    xlab : str, optional
        Axis label (default: ``measure``, plus "(log scale)" for ratios).
    subgroups : sequence of str, optional
        Subgroup of each study; blocks appear in order of first appearance.
    show_weights, show_pred, show_heterogeneity : bool
        Show the weight column, the prediction-interval row and the heterogeneity line.
    show_pooled : bool, default True
        Show the pooled estimate (the diamond, with its prediction interval and heterogeneity line).
        False suits a single study, which has nothing to pool.
    refline : float or None, default 0
        Vertical reference line on the model scale (0 is "no effect"; drawn at ``transf(0) = 1`` for
        ratios). None omits it.
    digits : int, default 2
        Decimals of the numbers in the text column.
    xlim : (float, float), optional
        Axis limits on the displayed scale; intervals beyond them end in an arrowhead.
    plot_width_in : float, default 3.6
        Width of the plotting region in inches; the text columns are sized to their contents.
    title : str, optional
    order : {None, "obs", "prec", "weight", "label"}, optional
        Order of the study rows (within each subgroup): as given (None), by observed effect ("obs", as
        metafor's ``order="obs"``), by sampling variance, most precise first ("prec"), by weight, largest
        first ("weight"), or alphabetically by label ("label").

    Returns
    -------
    matplotlib.figure.Figure
        Artists with gids: ``study_points`` (offsets = transformed ``yi``), ``study_ci`` (one segment per
        study, transformed CI bounds), ``diamond`` and ``diamond:<subgroup>`` (polygons with vertices
        ``(lb, y), (est, y + h), (ub, y), (est, y - h)``), ``pred_interval``, ``refline``.

    Raises
    ------
    InputError
        For a model with moderators, labels or subgroups of the wrong length, or bad options.

    References
    ----------
    Lewis S, Clarke M (2001). Forest plots: trying to see the wood and the trees. BMJ 322:1479-1480.
    doi:10.1136/bmj.322.7300.1479. IntHout J et al. (2016). Plea for routinely presenting prediction
    intervals in meta-analysis. BMJ Open 6:e010247. doi:10.1136/bmjopen-2015-010247
    """
    if res.p != 1 or not res.intercept:
        raise InputError(
            "A forest plot needs a model without moderators; use plot_bubble for a meta-regression or "
            "subgroups= for a categorical moderator.",
            field="mods",
        )
    if not isinstance(digits, int) or not 0 <= digits <= 6:
        raise InputError.invalid("digits", digits, "an integer from 0 to 6")
    if not plot_width_in > 0.5:
        raise InputError.invalid("plot_width_in", plot_width_in, "a width in inches > 0.5")
    labels = list(slab) if slab is not None else list(res.slab)
    if len(labels) != res.k:
        raise InputError(
            f"slab has {len(labels)} labels for {res.k} studies.", field="slab", value=len(labels)
        )
    f, log_axis = resolve_transf(transf)
    z = float(norm_ppf(1 - res.alpha / 2))
    yi, vi = res.yi, res.vi
    ci_lb, ci_ub = yi - z * np.sqrt(vi), yi + z * np.sqrt(vi)
    weights_pct = res.weights_pct

    rows: list[_Row] = []
    sort_key = _order_key(order, yi=yi, vi=vi, weights_pct=weights_pct, labels=labels)

    def study_rows(indices) -> None:
        for i in sorted(indices, key=sort_key):
            rows.append(_Row("study", labels[i], int(i), yi[i], ci_lb[i], ci_ub[i], float(weights_pct[i])))

    group_fits = []
    if subgroups is None:
        study_rows(range(res.k))
    else:
        groups = [str(g) for g in subgroups]
        if len(groups) != res.k:
            raise InputError(
                f"subgroups has {len(groups)} entries for {res.k} studies.",
                field="subgroups",
                value=len(groups),
            )
        levels = list(dict.fromkeys(groups))
        if len(levels) < 2:
            raise InputError.invalid("subgroups", levels, "at least two different subgroup labels")
        for level in levels:
            idx = np.flatnonzero(np.asarray(groups) == level)
            rows.append(_Row("group", level, bold=True))
            study_rows(idx)
            if idx.size >= 2:
                sub = res.refit(yi[idx], vi[idx], np.ones((idx.size, 1)))
                group_fits.append((level, float(sub.beta[0]), float(sub.se[0])))
                het = f"I² = {sub.I2:.0f}%" + (f", τ² = {sub.tau2:.3g}" if sub.is_random else "")
                rows.append(
                    _Row(
                        "summary",
                        f"Subgroup {level} ({het})",
                        -1,
                        sub.beta[0],
                        sub.ci_lb[0],
                        sub.ci_ub[0],
                        float(weights_pct[idx].sum()),
                        gid=f"diamond:{level}",
                    )
                )
            else:  # a single study is its own subgroup estimate (tau^2 = 0), as R's meta treats it
                group_fits.append((level, float(yi[idx[0]]), float(np.sqrt(vi[idx[0]]))))
            rows.append(_Row("blank"))
    if subgroups is None and show_pooled:
        rows.append(_Row("blank"))
    if show_pooled:
        rows.append(
            _Row(
                "summary",
                _model_label(res),
                -1,
                res.beta[0],
                res.ci_lb[0],
                res.ci_ub[0],
                100.0,
                gid="diamond",
                bold=True,
            )
        )
        pred = res.predict()
        if show_pred and res.is_random:  # without tau^2 the prediction interval is the CI
            rows.append(_Row("pred", "Prediction interval", -1, pred.pred[0], pred.pi_lb[0], pred.pi_ub[0]))
        if show_heterogeneity:
            rows.append(_Row("text", _heterogeneity_text(res)))
    if subgroups is not None and len(group_fits) >= 2:
        test = subgroup_difference_test([g[1] for g in group_fits], [g[2] for g in group_fits])
        rows.append(
            _Row(
                "text",
                f"Test for subgroup differences: Q = {test.Q:.2f}, df = {test.df}, {_pval_text(test.pval)}",
            )
        )

    # ---- text of the right-hand columns, then the layout in inches -----------------------------------
    def ci_text(row: _Row) -> str:
        if row.kind not in ("study", "summary", "pred"):
            return ""
        lb, ub = f(np.array([row.lb, row.ub]))
        if row.kind == "pred":
            return f"[{_fmt(lb, digits)}, {_fmt(ub, digits)}]"
        return (
            f"{_fmt(float(f(np.array([row.estimate]))[0]), digits)} [{_fmt(lb, digits)}, {_fmt(ub, digits)}]"
        )

    ci_texts = [ci_text(r) for r in rows]
    ci_header = f"{measure} [{res.level:g}% CI]"
    weight_texts = [
        f"{r.weight_pct:.1f}%" if r.weight_pct is not None and r.kind != "pred" else "" for r in rows
    ]
    side_pt = FONT_PT - 1  # the heterogeneity/test lines are a size smaller
    label_w = (
        max(
            [_text_width_in("Study", FONT_PT, bold=True)]
            + [
                _text_width_in(r.label, FONT_PT, bold=r.bold)
                for r in rows
                if r.kind in ("study", "group", "summary", "pred")
            ]
        )
        + 0.25
    )
    note_w = max([_text_width_in(r.label, side_pt) for r in rows if r.kind == "text"] + [0.0])
    ci_w = max(
        [_text_width_in(t, FONT_PT) for t in ci_texts] + [_text_width_in(ci_header, FONT_PT, bold=True)]
    )
    weight_w = (
        (max(_text_width_in(t, FONT_PT) for t in [*weight_texts, "Weight"]) + 0.3) if show_weights else 0.0
    )
    margin = 0.15
    width = margin + label_w + plot_width_in + weight_w + 0.25 + ci_w + margin
    width = max(width, margin + note_w + margin)
    n = len(rows)
    top_in, header_in, axis_in = 0.15 + (0.35 if title else 0.0), 0.45, 0.75
    height = top_in + header_in + n * ROW_HEIGHT_IN + axis_in

    fig = new_figure(width, height)
    ax = fig.add_axes(
        (
            (margin + label_w) / width,
            axis_in / height,
            plot_width_in / width,
            (n * ROW_HEIGHT_IN) / height,
        )
    )
    ax.set_ylim(0.5, n + 0.5)
    y_of = {i: float(n - i) for i in range(n)}
    row_tf = blended_transform_factory(fig.transFigure, ax.transData)
    x_label, x_ci = margin / width, (width - margin) / width
    x_weight = (margin + label_w + plot_width_in + weight_w) / width

    # ---- the plotting region ------------------------------------------------------------------------
    study = [r for r in rows if r.kind == "study"]
    ys = np.array([y_of[rows.index(r)] for r in study])
    est_t = f(np.array([r.estimate for r in study]))
    lb_t, ub_t = f(np.array([r.lb for r in study])), f(np.array([r.ub for r in study]))
    bounds = np.concatenate(
        [
            lb_t,
            ub_t,
            f(np.array([r.lb for r in rows if r.kind in ("summary", "pred")])),
            f(np.array([r.ub for r in rows if r.kind in ("summary", "pred")])),
        ]
    )
    if xlim is None:
        lo, hi = float(np.min(bounds)), float(np.max(bounds))
        if refline is not None:
            ref_t = float(f(np.array([refline]))[0])
            lo, hi = min(lo, ref_t), max(hi, ref_t)
        if log_axis:
            pad = 0.05 * (np.log(hi) - np.log(lo) or 1.0)
            xlim = (float(np.exp(np.log(lo) - pad)), float(np.exp(np.log(hi) + pad)))
        else:
            pad = 0.05 * ((hi - lo) or 1.0)
            xlim = (lo - pad, hi + pad)
    else:
        xlim = (float(xlim[0]), float(xlim[1]))
        if not (np.isfinite(xlim).all() and xlim[0] < xlim[1]) or (log_axis and xlim[0] <= 0):
            raise InputError.invalid("xlim", xlim, "two increasing finite limits (positive for ratios)")
    if log_axis:
        ax.set_xscale("log")
    ax.set_xlim(*xlim)

    segments = [((a, y), (b, y)) for a, b, y in zip(lb_t, ub_t, ys, strict=True)]
    ax.add_collection(LineCollection(segments, colors="black", linewidths=1.0, gid="study_ci", zorder=2))
    areas = marker_areas(np.array([r.weight_pct for r in study]), max_area_pt2=90.0, min_area_pt2=6.0)
    ax.scatter(est_t, ys, s=areas, marker="s", color="black", linewidths=0, zorder=3, gid="study_points")
    for cut, edge, marker, side in (
        (lb_t < xlim[0], xlim[0], "<", "left"),
        (ub_t > xlim[1], xlim[1], ">", "right"),
    ):
        if cut.any():  # an interval beyond the axis ends in an arrowhead at the limit
            ax.scatter(
                np.full(cut.sum(), edge),
                ys[cut],
                marker=marker,
                s=22,
                color="black",
                clip_on=False,
                zorder=3,
                gid=f"ci_clipped_{side}",
            )

    for i, row in enumerate(rows):
        y = y_of[i]
        if row.kind == "summary":
            est, lb, ub = f(np.array([row.estimate, row.lb, row.ub]))
            grey = row.gid != "diamond"
            ax.add_patch(
                Polygon(
                    [(lb, y), (est, y + DIAMOND_HALF), (ub, y), (est, y - DIAMOND_HALF)],
                    closed=True,
                    facecolor="0.45" if grey else "black",
                    edgecolor="black",
                    linewidth=0.8,
                    zorder=4,
                    gid=row.gid,
                )
            )
        elif row.kind == "pred":
            lb, ub = f(np.array([row.lb, row.ub]))
            ax.plot(
                [lb, ub],
                [y, y],
                color="0.35",
                linewidth=1.4,
                linestyle=(0, (4, 2)),
                zorder=2,
                gid="pred_interval",
                solid_capstyle="butt",
            )
            ax.plot(
                [lb, lb, np.nan, ub, ub],
                [y - 0.22, y + 0.22, np.nan, y - 0.22, y + 0.22],
                color="0.35",
                linewidth=1.4,
                zorder=2,
            )
    if refline is not None:
        ref_t = float(f(np.array([refline]))[0])
        last = max(i for i, r in enumerate(rows) if r.kind in ("study", "summary", "pred"))
        ax.vlines(
            ref_t,
            y_of[last] - 0.5,
            n + 0.5,
            colors="0.3",
            linestyles=(0, (1, 2)),
            linewidth=1.0,
            zorder=1,
            gid="refline",
        )

    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.yaxis.set_major_locator(NullLocator())
    ax.set_facecolor("none")
    if log_axis:
        set_ratio_axis(ax.xaxis, *xlim)
    ax.tick_params(axis="x", labelsize=FONT_PT)
    ax.set_xlabel(xlab or (f"{measure} (log scale)" if log_axis else measure), fontsize=FONT_PT)

    # ---- text columns -------------------------------------------------------------------------------
    y_head = n + 0.5 + (header_in / ROW_HEIGHT_IN) * 0.55
    fig.text(x_label, y_head, "Study", transform=row_tf, fontsize=FONT_PT, fontweight="bold", va="center")
    if show_weights:
        fig.text(
            x_weight,
            y_head,
            "Weight",
            transform=row_tf,
            fontsize=FONT_PT,
            fontweight="bold",
            va="center",
            ha="right",
        )
    fig.text(
        x_ci,
        y_head,
        ci_header,
        transform=row_tf,
        fontsize=FONT_PT,
        fontweight="bold",
        va="center",
        ha="right",
    )
    for y_rule in (n + 0.5 + 0.1, None) if show_pooled else (n + 0.5 + 0.1,):
        if y_rule is None:
            summary_first = min(i for i, r in enumerate(rows) if r.kind == "summary" and r.gid == "diamond")
            y_rule = y_of[summary_first] + 0.6
        fig.add_artist(
            Line2D(
                [margin / width, (width - margin) / width],
                [y_rule, y_rule],
                transform=row_tf,
                color="black",
                linewidth=0.8,
            )
        )
    for i, row in enumerate(rows):
        y = y_of[i]
        if row.kind == "text":
            fig.text(x_label, y, row.label, transform=row_tf, fontsize=side_pt, va="center", color="0.15")
            continue
        if row.kind == "blank":
            continue
        indent = subgroups is not None and row.kind == "study"
        fig.text(
            x_label + (0.12 / width if indent else 0.0),
            y,
            row.label,
            transform=row_tf,
            fontsize=FONT_PT,
            va="center",
            fontweight="bold" if row.bold else "normal",
            fontstyle="italic" if row.kind == "pred" else "normal",
        )
        if show_weights and weight_texts[i]:
            fig.text(
                x_weight, y, weight_texts[i], transform=row_tf, fontsize=FONT_PT, va="center", ha="right"
            )
        if ci_texts[i]:
            fig.text(
                x_ci,
                y,
                ci_texts[i],
                transform=row_tf,
                fontsize=FONT_PT,
                va="center",
                ha="right",
                fontweight="bold" if row.bold else "normal",
            )
    if title:
        fig.text(
            0.5, 1.0 - 0.12 / height, title, fontsize=FONT_PT + 2, fontweight="bold", ha="center", va="top"
        )
    return fig
