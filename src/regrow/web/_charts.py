"""Scale progress results into SVG coordinates (presentation only: every number comes from the report).

Each site gets two drawings of the same numbers: a narrow one (360 units wide) shown on phones and a wide one
(720 units) on larger screens, so chart text stays at least 11 px high at 375 px and at desktop widths (the
page shows one of them by a CSS media query). The chart carries the visit means, the fitted trend with its
95% band, the change the trials saw (the expected band, from the baseline to the trials' read-out week) and
the treatment events on the time axis.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["SIZES", "ChartEvent", "site_chart", "treatment_events"]

#: (name, width, height, left, right, top, bottom, font size) in SVG units.
SIZES = {
    "narrow": (360, 250, 50, 10, 34, 40, 13),
    "wide": (720, 300, 52, 16, 34, 42, 14),
}
#: A gap between two sessions longer than this is drawn as a pause (4 weeks: twice the longest interval of
#: the trial protocols' every-2-weeks phase, ../shared/research/clinical-notes.md 1.1).
PAUSE_AFTER_DAYS = 28


@dataclass(frozen=True)
class ChartEvent:
    """Something that happened to the treatment, drawn on the time axis.

    ``kind``: ``started``, ``minoxidil``, ``changed`` (a new plan version), ``paused`` (from ``on`` to
    ``until``) or ``stopped``.
    """

    kind: str
    on: dt.date
    label: str
    until: dt.date | None = None


def treatment_events(
    *,
    start: dt.date | None,
    minoxidil_start: dt.date | None,
    plan_changes: Sequence[dt.date],
    session_days: Sequence[dt.date],
    plan_active: bool,
    last_day: dt.date | None,
) -> list[ChartEvent]:
    """The events of a journal: the start, minoxidil's start, plan changes, pauses and a stop.

    A pause is a gap of more than :data:`PAUSE_AFTER_DAYS` between sessions (or from the last session to
    ``last_day``, the last visit, while a plan is active); a stop is the last session when no plan is active.
    """
    events: list[ChartEvent] = []
    if start is not None:
        events.append(ChartEvent("started", start, "started"))
    if minoxidil_start is not None and minoxidil_start != start:
        events.append(ChartEvent("minoxidil", minoxidil_start, "minoxidil"))
    for day in plan_changes:
        if start is None or day > start:
            events.append(ChartEvent("changed", day, "plan changed"))
    days = sorted(set(session_days))
    for before, after in itertools.pairwise(days):
        if (after - before).days > PAUSE_AFTER_DAYS:
            events.append(
                ChartEvent("paused", before, f"no sessions for {(after - before).days // 7} weeks", after)
            )
    if days and not plan_active:
        events.append(ChartEvent("stopped", days[-1], "stopped"))
    elif days and last_day is not None and (last_day - days[-1]).days > PAUSE_AFTER_DAYS:
        events.append(ChartEvent("paused", days[-1], "no sessions since", last_day))
    return sorted(events, key=lambda e: e.on)


def _ticks(lo: float, hi: float, n: int) -> list[float]:
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


def _finite(values: Sequence[Any]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def site_chart(
    site: Any,
    *,
    size: str = "wide",
    expected: dict[str, Any] | None = None,
    events: Sequence[ChartEvent] = (),
    start: dt.date | None = None,
) -> dict[str, Any] | None:
    """SVG geometry for one :class:`regrow.progress.SiteProgress`.

    Parameters
    ----------
    site : regrow.progress.SiteProgress
        Visits, trajectory (fitted trend and 95% band) and the baseline estimate.
    size : {"narrow", "wide"}
        One of :data:`SIZES`.
    expected : dict, optional
        The report's ``expected`` entry (``change_per_cm2``, ``ci_lb``, ``ci_ub``, ``weeks``): drawn as a band
        from the baseline at week 0 to the baseline plus the trials' interval at their read-out week.
    events : sequence of ChartEvent
        Drawn as marks on the time axis (weeks since ``start``).
    start : datetime.date, optional
        Treatment start (week 0), needed to place ``events``.

    Returns
    -------
    dict or None
        Coordinates (``points``, ``trend``, ``band``, ``expected``, ``events``, ticks, frame and font size);
        None without visits.
    """
    visits = list(site.visits)
    if not visits:
        return None
    width, height, left, right, top, bottom, font = SIZES[size]
    weeks = [v.weeks_since_start for v in visits]
    values = [v.mean_density_per_cm2 for v in visits]
    traj = site.trajectory or {}
    tw, te = list(traj.get("weeks", [])), list(traj.get("estimate", []))
    tl, tu = list(traj.get("lb", [])), list(traj.get("ub", []))
    xs = weeks + _finite(tw) + [0.0]
    ys = values + _finite(tl + tu)
    x_lo, x_hi = min(xs), max(xs)
    y_lo, y_hi = min(ys), max(ys)
    pad = 0.08 * (y_hi - y_lo or max(abs(y_hi), 1.0))
    y_lo, y_hi = max(0.0, y_lo - pad), y_hi + pad
    if x_hi <= x_lo:
        x_hi = x_lo + 1.0
    plot_right, plot_bottom = width - right, height - bottom

    def sx(w: float) -> float:
        return round(left + (w - x_lo) / (x_hi - x_lo) * (plot_right - left), 1)

    def sy(y: float) -> float:
        return round(top + (y_hi - y) / (y_hi - y_lo) * (plot_bottom - top), 1)

    points = [
        {
            "x": sx(w),
            "y": sy(y),
            "r": round(3 + 1.2 * min(v.n_images, 4), 1),
            "label": f"{v.measured_on.isoformat()}: {y:.0f} hairs/cm² ({v.n_images} image{'s' * (v.n_images != 1)})",
            "baseline": v.baseline,
            "in_fit": v.in_fit,
        }
        for v, w, y in zip(visits, weeks, values, strict=True)
    ]
    trend = band = expected_path = ""
    pairs = [(w, e) for w, e in zip(tw, te, strict=False) if e is not None and math.isfinite(e)]
    if pairs:
        trend = "M" + " L".join(f"{sx(w)},{sy(y)}" for w, y in pairs)
        if len(tl) == len(tw) == len(tu) and _finite(tl) == [v for v in tl if v is not None]:
            upper = [f"{sx(w)},{sy(y)}" for w, y in zip(tw, tu, strict=True)]
            lower = [f"{sx(w)},{sy(y)}" for w, y in zip(tw[::-1], tl[::-1], strict=True)]
            band = "M" + " L".join(upper + lower) + " Z"
    baseline = getattr(site, "baseline_per_cm2", None)
    base_value = getattr(baseline, "estimate", None)
    if expected and base_value is not None and expected.get("ci_lb") is not None and expected.get("weeks"):
        w_end = min(float(expected["weeks"]), x_hi)
        frac = w_end / float(expected["weeks"])
        lo_y = base_value + frac * float(expected["ci_lb"])
        hi_y = base_value + frac * float(expected["ci_ub"])
        expected_path = f"M{sx(0.0)},{sy(base_value)} L{sx(w_end)},{sy(hi_y)} L{sx(w_end)},{sy(lo_y)} Z"
    marks = []
    if start is not None:
        for i, event in enumerate(events):
            w0 = (event.on - start).days / 7.0
            w1 = None if event.until is None else (event.until - start).days / 7.0
            if w0 > x_hi or (w1 if w1 is not None else w0) < x_lo:
                continue
            x0 = sx(max(w0, x_lo))
            marks.append(
                {
                    "kind": event.kind,
                    "x": x0,
                    "x2": None if w1 is None else sx(min(w1, x_hi)),
                    "label": event.label,
                    "label_y": top - 6 - (font + 2) * (i % 2),
                    "anchor": "start" if x0 < width * 0.6 else "end",
                    "text": f"{event.label} ({event.on.isoformat()}"
                    + ("" if event.until is None else f" to {event.until.isoformat()}")
                    + ")",
                }
            )
    return {
        "size": size,
        "width": width,
        "height": height,
        "font": font,
        "left": left,
        "bottom": plot_bottom,
        "right": plot_right,
        "top": top,
        "points": points,
        "trend": trend,
        "band": band,
        "expected": expected_path,
        "events": marks,
        "xticks": [(sx(t), f"{t:g}") for t in _ticks(x_lo, x_hi, 4 if size == "narrow" else 8)],
        "yticks": [(sy(t), f"{t:g}") for t in _ticks(y_lo, y_hi, 4 if size == "narrow" else 5)],
    }
