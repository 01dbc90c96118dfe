"""Verdict of one site (or a pooled series) from its fitted trend, and its comparisons with placebo arms and the
trials' expected change. Every threshold is a cited constant of :mod:`regrow.progress._constants`."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from regrow.progress import _constants as K
from regrow.progress._model import TrendPosterior
from regrow.progress._types import ExpectedResponse, Interval, TreatmentContext, Verdict

__all__ = [
    "PERCEPTIBLE_CHANGE_PER_CM2",
    "SESSION_GAP_WEEKS",
    "decide",
    "expected_comparison",
    "fmt_signed",
    "natural_history",
    "natural_history_for",
    "where",
]

#: The absolute perceptibility bar (dermatologists: 43.36 hairs/cm2; clinical-notes 5.4), used when the
#: baseline density is zero and a percentage is meaningless.
PERCEPTIBLE_CHANGE_PER_CM2 = 43.36


def fmt_signed(x: float | None, unit: str = "", digits: int = 1) -> str:
    if x is None:
        return "unknown"
    sign = "+" if x > 0 else ""
    return f"{sign}{x:.{digits}f}{unit}"


def natural_history_for(weeks: float | None, sex: str | None) -> K.NaturalHistory:
    """The placebo/vehicle arm closest in duration to ``weeks`` for ``sex`` (men's arms when unknown).

    Parameters
    ----------
    weeks : float or None
        Weeks since the treatment start.
    sex : {"male", "female", None}

    Returns
    -------
    NaturalHistory
        One row of :data:`NATURAL_HISTORY` (clinical-notes 5.2).
    """
    rows = [r for r in K.NATURAL_HISTORY if r.sex == (sex or "male")]
    target = 16.0 if weeks is None else weeks
    return min(rows, key=lambda r: abs(r.weeks - target))


def where(names: list[str]) -> str:
    return f"site {names[0]!r}" if len(names) == 1 else "any site"


def decide(
    *,
    dates: list[dt.date],
    names: list[str],
    post: TrendPosterior | None,
    fit_error: str | None,
    has_baseline: bool,
    n_days: int,
    weeks_since: float,
    start: dt.date,
    change: Interval,
    pct: Interval,
    prob_mdc: float | None,
    mdc: float | None,
    visible_abs: float,
    nh: dict | None,
    ctx: TreatmentContext,
) -> tuple[Verdict, str]:
    first, last = min(dates), max(dates)
    summary = ""
    if change.estimate is not None:
        pct_txt = (
            f" ({fmt_signed(pct.estimate, '%')}, 95% interval {fmt_signed(pct.ci_lb, '%')} to {fmt_signed(pct.ci_ub, '%')})"
            if pct.ci_lb is not None
            else ""
        )
        summary = (
            f"Density changed by {fmt_signed(change.estimate)} hairs/cm2 (95% interval {fmt_signed(change.ci_lb)} to "
            f"{fmt_signed(change.ci_ub)}){pct_txt}."
        )
    if n_days < K.MIN_VISITS:
        return Verdict.TOO_EARLY, (
            f"Only {n_days} visits so far ({first.isoformat()} and {last.isoformat()}); at least "
            f"{K.MIN_VISITS} are needed to tell a trend from measurement noise. {summary}"
        ).strip()
    if weeks_since < K.MIN_WEEKS_FOR_VERDICT:
        return Verdict.TOO_EARLY, (
            f"It is {weeks_since:.1f} weeks since the start ({start.isoformat()}). Trials judged "
            "results at 12 "
            "weeks at the earliest, and minoxidil can cause extra shedding in weeks 2-8. "
            f"{summary}"
        ).strip()
    if not has_baseline:
        since = f" Since the first measurement ({first.isoformat()}): {summary}" if summary else ""
        return Verdict.INCONCLUSIVE, (
            f"There is no measurement from before the treatment started ({start.isoformat()}; the first is "
            f"{first.isoformat()}, {(first - start).days / 7.0:.1f} weeks later), so the change from "
            "baseline "
            f"cannot be measured.{since}"
        )
    if post is None or change.ci_lb is None or change.ci_ub is None:
        return Verdict.INCONCLUSIVE, f"The trend could not be estimated: {fit_error or 'not enough data'}."
    visible_txt = f"about {K.PERCEPTIBLE_CHANGE_PCT:.0f}%, or {visible_abs:.0f} hairs/cm2"
    if change.ci_ub < 0:
        stopped = ""
        if ctx.last_session is not None and (last - ctx.last_session).days / 7.0 > SESSION_GAP_WEEKS:
            stopped = (
                f" The last session was {(last - ctx.last_session).days / 7.0:.0f} weeks before the latest "
                "measurement; gains can fade within months of stopping."
            )
        return Verdict.DECLINING, (
            f"Density is lower than at baseline beyond measurement noise after {weeks_since:.0f} weeks. "
            f"{summary}{stopped}"
        )
    if change.ci_lb > 0:
        extra = []
        if mdc is not None and change.estimate is not None:
            extra.append(
                f"The chance that the gain exceeds the minimal detectable change ({mdc:.0f} hairs/cm2) is "
                f"{100 * (prob_mdc or 0):.0f}%."
            )
        if change.estimate is not None and change.estimate < visible_abs:
            extra.append(f"It is probably still smaller than a change others could see ({visible_txt}).")
        if nh is not None and nh.get("prob_beyond_placebo") is not None:
            extra.append(
                f"Placebo arms gained {nh['mean_change_per_cm2']:+.1f} +/- {nh['sd_change_per_cm2']:.1f} "
                f"hairs/cm2 in {nh['weeks']:.0f} weeks; the chance your gain is beyond what 95% of them "
                f"reached is {100 * nh['prob_beyond_placebo']:.0f}%."
            )
        return Verdict.RESPONDING, (
            f"Density rose beyond measurement noise after {weeks_since:.0f} weeks. {summary} "
            + " ".join(extra)
        ).strip()
    if weeks_since >= K.DECISION_WEEKS and change.ci_ub < visible_abs:
        return Verdict.NOT_RESPONDING, (
            f"After {weeks_since:.0f} weeks there is no gain beyond noise, and even the top of the 95% "
            f"interval is below a change others could see ({visible_txt}). {summary}"
        )
    if weeks_since < K.DECISION_WEEKS:
        why = (
            f"it is {weeks_since:.0f} weeks since the start; trials took 12-24 weeks, so keep measuring to "
            "week 24 for a decision"
        )
    else:
        why = (
            "the interval still includes both no change and a visible gain; more visits or replicate "
            "images help"
        )
    return Verdict.INCONCLUSIVE, f"No clear change yet: {why}. {summary}"


#: A gap longer than this between the last session and the latest measurement means treatment stopped or was
#: spaced out. Twice the longest trial interval (sessions weekly to monthly; clinical-notes 1.1).
SESSION_GAP_WEEKS = 8.0


def natural_history(
    post: TrendPosterior, c_last: np.ndarray, c_abs: float, weeks: float, ctx: TreatmentContext
) -> dict:
    row = natural_history_for(weeks, ctx.sex)
    unusual = row.mean_change_per_cm2 + 1.645 * row.sd_change_per_cm2
    prob = 1.0 - post.cdf(c_last, unusual * c_abs) if math.isfinite(c_abs) else None
    return {
        "label": row.label,
        "sex": row.sex,
        "weeks": row.weeks,
        "mean_change_per_cm2": row.mean_change_per_cm2,
        "sd_change_per_cm2": row.sd_change_per_cm2,
        "n": row.n,
        "unusual_above_per_cm2": unusual,
        "prob_beyond_placebo": prob,
        "source": row.source,
        "note": (
            "Placebo arms gained hair too (regression to the mean, season, vehicle); their SD spans people, "
            "not one person's noise. "
            + (f"Their read-out was at {row.weeks:.0f} weeks; you are at {weeks:.0f}." if weeks else "")
        ),
    }


def expected_comparison(
    post: TrendPosterior, c_last: np.ndarray, c_abs: float, expected: ExpectedResponse, weeks: float
) -> dict:
    prob = 1.0 - post.cdf(c_last, expected.change_per_cm2 * c_abs) if math.isfinite(c_abs) else None
    return {
        "change_per_cm2": expected.change_per_cm2,
        "ci_lb": expected.ci_lb,
        "ci_ub": expected.ci_ub,
        "weeks": expected.weeks,
        "source": expected.source,
        "prob_at_least_expected": prob,
        "note": f"The trials' expected change is for {expected.weeks:.0f} weeks; you are at {weeks:.0f}.",
    }
