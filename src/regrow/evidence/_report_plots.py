"""Forest and funnel plots for the evidence report (matplotlib, Agg backend, PNG bytes out).

A stop-gap until the shared plot helpers exist; the lead reconciles the two.
"""

from __future__ import annotations

import io
import math

import numpy as np

__all__ = ["forest_png", "funnel_png"]


def _figure(width: float, height: float):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()


def forest_png(result) -> bytes | None:
    """A forest plot of one comparison: studies (squares sized by weight), pooled diamond, prediction interval.

    Studies with imputed numbers are marked with an asterisk. Ratios are drawn on a log axis.

    Returns
    -------
    bytes or None
        PNG bytes; None when no study gives an effect.
    """
    effects = list(result.effects)
    pooled = result.pooled
    if not effects or pooled is None:
        return None
    ratio = result.ratio
    tr = np.exp if ratio else (lambda x: x)
    k = len(effects)
    rows = k + 2
    fig = _figure(9.5, 1.2 + 0.42 * rows)
    ax = fig.add_axes((0.34, 0.12, 0.40, 0.78))
    weights = np.array(pooled.weights_pct if pooled.weights_pct else [100.0] * k)
    crit = 1.959963984540054
    lows, highs = [], []
    for i, e in enumerate(effects):
        y = rows - 1 - i
        se = math.sqrt(e.vi)
        lo, hi = tr(e.yi - crit * se), tr(e.yi + crit * se)
        lows.append(lo)
        highs.append(hi)
        ax.plot([lo, hi], [y, y], color="black", lw=1)
        size = 4 + 10 * math.sqrt(weights[i] / 100)
        ax.plot([tr(e.yi)], [y], marker="s", color="#1f4e79", ms=size, ls="none")
        mark = " *" if e.is_imputed else ""
        ax.annotate(
            f"{e.label}{mark}",
            xy=(0, y),
            xycoords=("axes fraction", "data"),
            xytext=(-8, 0),
            textcoords="offset points",
            ha="right",
            va="center",
            fontsize=9,
        )
        ax.annotate(
            f"{tr(e.yi):.2f} [{lo:.2f}, {hi:.2f}]  {weights[i]:.0f}%",
            xy=(1, y),
            xycoords=("axes fraction", "data"),
            xytext=(8, 0),
            textcoords="offset points",
            ha="left",
            va="center",
            fontsize=9,
        )
    y = 0.5
    est, lo, hi = tr(pooled.estimate), tr(pooled.ci_lb), tr(pooled.ci_ub)
    lows.append(lo)
    highs.append(hi)
    if pooled.k >= 2:
        ax.fill([lo, est, hi, est], [y, y + 0.3, y, y - 0.3], color="#c00000")
        label = f"RE model (REML, Knapp-Hartung), k = {pooled.k}"
        if pooled.pi_lb is not None:
            plo, phi = tr(pooled.pi_lb), tr(pooled.pi_ub)
            ax.plot([plo, phi], [y - 0.45, y - 0.45], color="#c00000", lw=1, ls="--")
            lows.append(plo)
            highs.append(phi)
            label += f"\nprediction interval [{plo:.2f}, {phi:.2f}]"
        ax.annotate(
            label,
            xy=(0, y),
            xycoords=("axes fraction", "data"),
            xytext=(-8, 0),
            textcoords="offset points",
            ha="right",
            va="center",
            fontsize=9,
            fontweight="bold",
        )
        ax.annotate(
            f"{est:.2f} [{lo:.2f}, {hi:.2f}]",
            xy=(1, y),
            xycoords=("axes fraction", "data"),
            xytext=(8, 0),
            textcoords="offset points",
            ha="left",
            va="center",
            fontsize=9,
            fontweight="bold",
        )
    null = 1.0 if ratio else 0.0
    ax.axvline(null, color="grey", lw=0.8)
    if ratio:
        from matplotlib.ticker import FormatStrFormatter

        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(FormatStrFormatter(""))
    span_lo, span_hi = min([*lows, null]), max([*highs, null])
    if ratio:
        ax.set_xlim(span_lo / 1.15, span_hi * 1.15)
    else:
        pad = 0.05 * (span_hi - span_lo or 1.0)
        ax.set_xlim(span_lo - pad, span_hi + pad)
    ax.set_ylim(-0.5, rows - 0.3)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    comp = result.comparison
    unit = "" if comp.measure in ("RR", "OR", "SMD") else f" ({comp.unit})"
    ax.set_xlabel(f"{comp.measure}{unit}; favours micro-needling arm to the right", fontsize=9)
    title = comp.title
    if I2 := pooled.I2:
        title += f"\nI2 = {I2:.0f}%, tau2 = {pooled.tau2:.3g}"
    ax.set_title(title, fontsize=10)
    if any(e.is_imputed for e in effects):
        fig.text(0.01, 0.01, "* SD or n imputed (see the study table)", fontsize=8)
    return _png(fig)


def funnel_png(result) -> bytes | None:
    """A funnel plot (effect vs standard error, inverted) with pseudo 95% limits around the pooled estimate.

    Returns
    -------
    bytes or None
        PNG bytes; None with fewer than two studies.
    """
    effects = list(result.effects)
    pooled = result.pooled
    if len(effects) < 2 or pooled is None:
        return None
    yi = np.array([e.yi for e in effects])
    sei = np.sqrt([e.vi for e in effects])
    fig = _figure(5.5, 4.2)
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
    return _png(fig)
