"""Scale progress results into SVG coordinates (presentation only: every number comes from the report)."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["site_chart"]

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 40


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step) * step
    out = []
    value = start
    while value <= hi + 1e-9:
        out.append(round(value, 10))
        value += step
    return out


def site_chart(site: Any) -> dict[str, Any] | None:
    """SVG geometry for one :class:`regrow.progress.SiteProgress`: visit means, fitted trend and 95% band.

    Returns
    -------
    dict or None
        ``width``, ``height``, ``points`` (x, y, r, label), ``trend`` and ``band`` (SVG path data), ``xticks``
        and ``yticks`` (position, label) and ``start_x`` (treatment start); None without visits.
    """
    visits = list(site.visits)
    if not visits:
        return None
    weeks = [v.weeks_since_start for v in visits]
    values = [v.mean_density_per_cm2 for v in visits]
    traj = site.trajectory or {}
    tw, te = list(traj.get("weeks", [])), list(traj.get("estimate", []))
    tl, tu = list(traj.get("lb", [])), list(traj.get("ub", []))
    xs = weeks + tw + [0.0]
    ys = values + [y for y in tl + tu if y is not None and math.isfinite(y)]
    x_lo, x_hi = min(xs), max(xs)
    y_lo, y_hi = min(ys), max(ys)
    pad = 0.08 * (y_hi - y_lo or max(abs(y_hi), 1.0))
    y_lo, y_hi = max(0.0, y_lo - pad), y_hi + pad
    if x_hi <= x_lo:
        x_hi = x_lo + 1.0

    def sx(w: float) -> float:
        return round(LEFT + (w - x_lo) / (x_hi - x_lo) * (WIDTH - LEFT - RIGHT), 1)

    def sy(y: float) -> float:
        return round(TOP + (y_hi - y) / (y_hi - y_lo) * (HEIGHT - TOP - BOTTOM), 1)

    points = [
        {
            "x": sx(w),
            "y": sy(y),
            "r": round(3 + 1.5 * min(v.n_images, 4), 1),
            "label": f"{v.measured_on.isoformat()}: {y:.0f} hairs/cm² ({v.n_images} image(s))",
            "baseline": v.baseline,
            "in_fit": v.in_fit,
        }
        for v, w, y in zip(visits, weeks, values, strict=True)
    ]
    trend = band = ""
    if tw and te:
        trend = "M" + " L".join(f"{sx(w)},{sy(y)}" for w, y in zip(tw, te, strict=True))
        if tl and tu:
            upper = [f"{sx(w)},{sy(y)}" for w, y in zip(tw, tu, strict=True)]
            lower = [f"{sx(w)},{sy(y)}" for w, y in zip(tw[::-1], tl[::-1], strict=True)]
            band = "M" + " L".join(upper + lower) + " Z"
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "bottom": HEIGHT - BOTTOM,
        "right": WIDTH - RIGHT,
        "top": TOP,
        "points": points,
        "trend": trend,
        "band": band,
        "xticks": [(sx(t), f"{t:g}") for t in _ticks(x_lo, x_hi)],
        "yticks": [(sy(t), f"{t:g}") for t in _ticks(y_lo, y_hi)],
        "start_x": sx(0.0) if x_lo <= 0.0 <= x_hi else None,
    }
