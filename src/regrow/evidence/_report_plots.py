"""Forest and funnel plots of one comparison of the evidence review, as PNG bytes for the HTML report and the
web app.

The forest plot is the shared publication plot (:func:`regrow.meta.plot_forest`) with the
review's labels. The funnel plot stays its own: it marks studies with imputed numbers (hollow) and labels each
point, which :func:`regrow.meta.plot_funnel` (made for trim-and-fill) does not do.
"""

from __future__ import annotations

import numpy as np

from regrow.evidence._review import METHOD

__all__ = ["forest_png", "funnel_png"]

#: Resolution of the report's PNGs (dots per inch).
REPORT_DPI = 110
IMPUTED_NOTE = "* SD or n imputed (see the study table)"


def _model(result):
    """The fitted model behind a comparison's pooled estimate; metafor's k = 1 model for a single study."""
    from regrow.meta import rma

    if result.pooled.fit is not None:
        return result.pooled.fit
    e = result.effects[0]
    return rma([e.yi], [e.vi], method=METHOD, level=95.0, slab=[e.label])


def forest_png(result) -> bytes | None:
    """A forest plot of one comparison: studies (squares sized by weight), pooled diamond, prediction interval.

    Studies with imputed numbers are marked with an asterisk. Ratios are drawn on a log axis.

    Returns
    -------
    bytes or None
        PNG bytes; None when no study gives an effect.
    """
    from regrow.meta import plot_forest, png_bytes  # matplotlib, only when a plot is drawn

    effects = list(result.effects)
    if not effects or result.pooled is None:
        return None
    comp = result.comparison
    unit = "" if comp.measure in ("RR", "OR", "SMD") else f" ({comp.unit})"
    single = len(effects) == 1
    fig = plot_forest(
        _model(result),
        slab=[f"{e.label} *" if e.is_imputed else e.label for e in effects],
        transf="exp" if result.ratio else None,
        measure=comp.measure,
        xlab=f"{comp.measure}{unit}; favours micro-needling arm to the right",
        show_pooled=not single,
        title=comp.title,
    )
    if any(e.is_imputed for e in effects):
        fig.text(0.01, 0.01, IMPUTED_NOTE, fontsize=8)
    return png_bytes(fig, dpi=REPORT_DPI)


def funnel_png(result) -> bytes | None:
    """A funnel plot (effect vs standard error, inverted) with pseudo 95% limits around the pooled estimate.

    Returns
    -------
    bytes or None
        PNG bytes; None with fewer than two studies.
    """
    from regrow.meta import new_figure, png_bytes  # matplotlib, only when a plot is drawn

    effects = list(result.effects)
    pooled = result.pooled
    if len(effects) < 2 or pooled is None:
        return None
    yi = np.array([e.yi for e in effects])
    sei = np.sqrt([e.vi for e in effects])
    fig = new_figure(5.5, 4.2)
    ax = fig.add_subplot(1, 1, 1)
    top = float(sei.max()) * 1.1
    se_grid = np.linspace(0, top, 50)
    center = pooled.estimate
    ax.fill_betweenx(se_grid, center - 1.96 * se_grid, center + 1.96 * se_grid, color="#eeeeee")
    ax.axvline(center, color="#c00000", lw=1)
    imputed = np.array([e.is_imputed for e in effects])
    if (~imputed).any():
        ax.scatter(yi[~imputed], sei[~imputed], color="black", zorder=3, label="reported")
    if imputed.any():
        ax.scatter(
            yi[imputed], sei[imputed], facecolors="none", edgecolors="black", zorder=3, label="imputed"
        )
    for e, x, s in zip(effects, yi, sei, strict=True):
        ax.annotate(e.study_id, (x, s), xytext=(4, 4), textcoords="offset points", fontsize=8)
    ax.set_ylim(top, 0)
    scale = "log " if result.ratio else ""
    ax.set_xlabel(f"{scale}{result.comparison.measure}")
    ax.set_ylabel("standard error")
    k = len(effects)
    ax.set_title(
        f"Funnel: {result.comparison.title}\n(k = {k}; asymmetry untestable below 10 studies)"
        if k < 10
        else f"Funnel: {result.comparison.title}",
        fontsize=9,
    )
    ax.legend(fontsize=8, loc="lower right")
    return png_bytes(fig, dpi=REPORT_DPI)
