"""Each site's density trend as an SVG drawing for print (WeasyPrint draws SVG as vectors).

The geometry is the web chart's (:func:`regrow.web._charts.site_chart`, the 720-unit wide drawing): visit
means, the fitted trend with its 95% band and the change the trials saw. Only the drawing differs: black
and blue with hatching that survives a grey-scale printer, axis titles with units, and labels sized for
paper (14 SVG units on a 720-unit chart printed 170 mm wide are about 9.4 pt).
"""

from __future__ import annotations

import datetime as dt
from html import escape
from types import SimpleNamespace
from typing import Any

__all__ = ["MIN_VISITS_FOR_CHART", "density_chart_svg"]

#: A trend needs at least two visits; with one, the report says so instead of drawing a lone dot.
MIN_VISITS_FOR_CHART = 2

#: Printed width of a chart: the A4 text column (210 mm less 2 x 15 mm margins).
PRINT_WIDTH_MM = 180
_INK, _TREND, _BAND, _EXPECTED = "#1a1a1a", "#1f4e8c", "#c9d8ee", "#e7a13b"


def _site_object(site: dict[str, Any]) -> SimpleNamespace:
    """The report's JSON site entry in the shape :func:`site_chart` reads (a SiteProgress look-alike)."""
    visits = [
        SimpleNamespace(
            weeks_since_start=v["weeks_since_start"],
            mean_density_per_cm2=v["mean_density_per_cm2"],
            n_images=v["n_images"],
            measured_on=dt.date.fromisoformat(v["measured_on"]),
            baseline=v["baseline"],
            in_fit=v["in_fit"],
        )
        for v in site["visits"]
    ]
    baseline = SimpleNamespace(estimate=(site.get("baseline_per_cm2") or {}).get("estimate"))
    return SimpleNamespace(visits=visits, trajectory=site.get("trajectory"), baseline_per_cm2=baseline)


def density_chart_svg(site: dict[str, Any]) -> str | None:
    """An SVG chart of one site of ``data["progress"]["sites"]``; None with fewer than
    :data:`MIN_VISITS_FOR_CHART` visits."""
    from regrow.web._charts import site_chart

    if len(site.get("visits") or []) < MIN_VISITS_FOR_CHART:
        return None
    c = site_chart(_site_object(site), size="wide", expected=site.get("expected"))
    if c is None:
        return None
    w, font = c["width"], c["font"]
    left, right, top, bottom = c["left"], c["right"], c["top"], c["bottom"]
    # the web chart keeps room above the plot for event labels; the print chart has none: start just
    # above the plot, and add a line below it for the axis title
    y0 = top - 8
    h = c["height"] + 8 - y0
    name = escape(str(site["site"]))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 {y0} {w} {h}" '
        f'width="{PRINT_WIDTH_MM}mm" height="{PRINT_WIDTH_MM * h / w:.1f}mm" '
        f'font-family="DejaVu Sans, sans-serif" font-size="{font}" fill="{_INK}" role="img">',
        f"<title>Hair density at the {name} over time (hairs per cm²)</title>",
        "<defs>"
        '<pattern id="hatch" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="{_EXPECTED}" fill-opacity="0.18"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{_EXPECTED}" stroke-width="1.6"/></pattern>'
        f'<clipPath id="plot"><rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}"/>'
        "</clipPath></defs>",
    ]
    for y, label in c["yticks"]:
        parts.append(
            f'<line x1="{left}" x2="{right}" y1="{y}" y2="{y}" stroke="#d0d0d0" stroke-width="0.8"/>'
            f'<text x="{left - 6}" y="{y + font * 0.35:.1f}" text-anchor="end">{label}</text>'
        )
    for x, label in c["xticks"]:
        parts.append(
            f'<line x1="{x}" x2="{x}" y1="{bottom}" y2="{bottom + 4}" stroke="{_INK}" stroke-width="1"/>'
            f'<text x="{x}" y="{bottom + font + 5}" text-anchor="middle">{label}</text>'
        )
    parts.append('<g clip-path="url(#plot)">')
    if c["expected"]:
        parts.append(f'<path d="{c["expected"]}" fill="url(#hatch)" stroke="{_EXPECTED}" stroke-width="1"/>')
    if c["band"]:
        parts.append(f'<path d="{c["band"]}" fill="{_BAND}" fill-opacity="0.85" stroke="none"/>')
    if c["trend"]:
        parts.append(f'<path d="{c["trend"]}" fill="none" stroke="{_TREND}" stroke-width="2.4"/>')
    zero = [x for x, label in c["xticks"] if label == "0"]
    if zero:
        parts.append(
            f'<line x1="{zero[0]}" x2="{zero[0]}" y1="{top}" y2="{bottom}" stroke="{_INK}" '
            'stroke-width="1" stroke-dasharray="4 3"/>'
            f'<text x="{zero[0] + 4}" y="{top + font}" font-size="{font - 2}">start</text>'
        )
    parts.append("</g>")
    parts.append(
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="{_INK}" stroke-width="1.2"/>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="{_INK}" stroke-width="1.2"/>'
    )
    for p in c["points"]:
        fill = _INK if p["in_fit"] else "#ffffff"
        parts.append(
            f'<circle cx="{p["x"]}" cy="{p["y"]}" r="{p["r"]}" fill="{fill}" stroke="{_INK}" stroke-width="1.4"/>'
        )
    parts.append(
        f'<text x="{(left + right) / 2}" y="{y0 + h - 4}" text-anchor="middle">weeks since the treatment start</text>'
        f'<text transform="translate({font - 1},{(top + bottom) / 2}) rotate(-90)" text-anchor="middle">'
        "density (hairs/cm²)</text>"
    )
    parts.append("</svg>")
    return "".join(parts)
