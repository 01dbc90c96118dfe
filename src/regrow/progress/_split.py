"""Split-scalp self-experiment: randomise which side is needled, then analyse the paired difference.

Both halves share the season, shedding phases, minoxidil and finasteride, so the *difference in change*
between the needled and the untreated half isolates micro-needling (clinical-notes 5.5 item 6; used in trials:
NCT02154503 half-scalp randomisation, Aggarwal 2020 split-scalp, https://pmc.ncbi.nlm.nih.gov/articles/PMC7759059).
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from regrow.errors import EstimationError, InputError
from regrow.progress import _constants as K
from regrow.progress._analysis import site_key
from regrow.progress._model import fit_trend
from regrow.progress._types import Caveat, Interval, Observation, TreatmentContext, Verdict

__all__ = ["SplitAssignment", "SplitScalpResult", "analyse_split_scalp", "randomise_split_scalp"]

_SIDES = ("left", "right")


@dataclass(frozen=True)
class SplitAssignment:
    """Which half of the scalp is needled (``treated_site``) and which is the untreated control."""

    treated_site: str
    control_site: str
    method: str


def randomise_split_scalp(*, seed: int | None = None, sides: tuple[str, str] = _SIDES) -> SplitAssignment:
    """Randomly choose which of two symmetric sites is needled.

    Parameters
    ----------
    seed : int, optional
        For a reproducible (test) draw; by default the operating system's secure random source is used, so
        the person cannot steer the choice.
    sides : tuple of two str
        The two symmetric sites (default ``("left", "right")``).

    Returns
    -------
    SplitAssignment
        Record it in the journal before the first session (the analysis needs it).
    """
    if len(sides) != 2 or site_key(sides[0]) == site_key(sides[1]):
        raise InputError.invalid("sides", sides, "two different site names")
    if seed is None:
        i = secrets.randbelow(2)
        method = "secrets.randbelow (OS random)"
    else:
        i = random.Random(seed).randrange(2)
        method = f"random.Random(seed={seed})"
    return SplitAssignment(treated_site=sides[i], control_site=sides[1 - i], method=method)


@dataclass(frozen=True)
class SplitScalpResult:
    """The paired analysis: change on the needled side minus change on the control side."""

    treated_site: str
    control_site: str
    verdict: Verdict
    reason: str
    weeks_since_start: float | None
    n_paired_visits: int
    difference_per_cm2: Interval
    difference_pct: Interval
    prob_needled_better: float | None
    caveats: tuple[Caveat, ...]

    def to_dict(self) -> dict:
        """Plain-JSON-ready dict."""
        from dataclasses import asdict

        out = asdict(self)
        out["verdict"] = self.verdict.value
        return out


def analyse_split_scalp(
    observations: Iterable[Observation],
    *,
    treated_site: str,
    control_site: str,
    context: TreatmentContext | None = None,
) -> SplitScalpResult:
    """Paired analysis of a split-scalp self-experiment.

    On each day both sides were measured, images are paired in order (up to the smaller count) and the
    treated-minus-control difference is modelled with the same exact trend model as a single site (flat to
    the start, then linear; noise prior for a difference of two images is twice the one-image prior).

    Parameters
    ----------
    observations : iterable of Observation
        Measurements of at least the two sites.
    treated_site, control_site : str
        The needled side and the untreated side (as randomised by :func:`randomise_split_scalp`).
    context : TreatmentContext, optional
        ``start`` is the first session; without it the first paired day is the start.

    Returns
    -------
    SplitScalpResult
        Never raises for thin data: too few paired days give ``too_early`` with the reason.

    Raises
    ------
    InputError
        The two site names are the same.
    """
    ctx = context or TreatmentContext()
    tk, ck = site_key(treated_site), site_key(control_site)
    if tk == ck:
        raise InputError.invalid("control_site", control_site, "a different site from treated_site")
    by: dict[str, dict[dt.date, list[float]]] = {tk: {}, ck: {}}
    for o in observations:
        key = site_key(o.site)
        if key in by:
            by[key].setdefault(o.measured_on, []).append(o.density_per_cm2)
    days = sorted(set(by[tk]) & set(by[ck]))
    caveats = [
        Caveat(
            "split_scalp_limits",
            "Minoxidil is absorbed into the whole body and spreads, and two sites are few; use "
            "symmetric sites "
            "and treat both halves the same apart from needling.",
        )
    ]
    start = ctx.start or (days[0] if days else None)
    empty = Interval.empty()

    def result(verdict, reason, weeks, diff=empty, pct=empty, prob=None):
        return SplitScalpResult(
            treated_site, control_site, verdict, reason, weeks, len(days), diff, pct, prob, tuple(caveats)
        )

    if not days or start is None:
        return result(Verdict.TOO_EARLY, "No day has measurements of both sides yet.", None)
    weeks_since = (days[-1] - start).days / 7.0
    if len(days) < K.MIN_VISITS:
        return result(
            Verdict.TOO_EARLY,
            f"Only {len(days)} day(s) with both sides measured; at least {K.MIN_VISITS} are needed.",
            weeks_since,
        )
    base_days = [d for d in days if (d - start).days <= K.BASELINE_GRACE_DAYS]
    if not base_days:
        return result(
            Verdict.INCONCLUSIVE,
            f"No paired measurement before the first session ({start.isoformat()}): the sides' starting "
            "difference is unknown.",
            weeks_since,
        )
    y, group, weeks = [], [], []
    for g, d in enumerate(days):
        t, c = by[tk][d], by[ck][d]
        for a, b in zip(t, c, strict=False):
            y.append(a - b)
            group.append(g)
        weeks.append(max(0.0, (d - start).days / 7.0))
    level_t = float(np.mean([v for d in base_days for v in by[tk][d]]))
    level = float(np.mean([v for d in base_days for v in by[tk][d] + by[ck][d]]))
    X = np.column_stack([np.ones(len(days)), weeks])
    try:
        post = fit_trend(
            X,
            np.asarray(group),
            np.asarray(y, dtype=float),
            prior_df=K.REPEATABILITY_PRIOR_DF,
            prior_scale2=2.0 * max((K.REPEATABILITY_CV * level) ** 2, 1.0),
            ratio_prior_scale=K.VISIT_RATIO_PRIOR_SCALE,
        )
    except EstimationError as exc:
        return result(Verdict.INCONCLUSIVE, f"The paired trend could not be estimated: {exc}", weeks_since)
    c = np.array([0.0, max(weeks)])
    est, lb, ub = post.interval(c)
    diff = Interval(est, lb, ub)
    pct = Interval(*(100.0 * v / level_t for v in (est, lb, ub))) if level_t > 0 else empty
    prob = 1.0 - post.cdf(c, 0.0)
    summary = (
        f"The needled side ({treated_site}) changed by {est:+.1f} hairs/cm2 more than the untreated side "
        f"({control_site}) (95% interval {lb:+.1f} to {ub:+.1f})."
    )
    if weeks_since < K.MIN_WEEKS_FOR_VERDICT:
        return result(
            Verdict.TOO_EARLY,
            f"It is {weeks_since:.1f} weeks since the start; judge at 12 weeks. {summary}",
            weeks_since,
            diff,
            pct,
            prob,
        )
    if lb > 0:
        return result(
            Verdict.RESPONDING,
            f"Micro-needling made a difference beyond noise. {summary}",
            weeks_since,
            diff,
            pct,
            prob,
        )
    visible = K.PERCEPTIBLE_CHANGE_PCT / 100.0 * level_t
    if ub < 0 or (weeks_since >= K.DECISION_WEEKS and ub < visible):
        return result(
            Verdict.NOT_RESPONDING,
            f"The needled side did not gain more than the untreated side by a visible amount. {summary}",
            weeks_since,
            diff,
            pct,
            prob,
        )
    return result(
        Verdict.INCONCLUSIVE,
        f"No clear difference between the sides yet. {summary}",
        weeks_since,
        diff,
        pct,
        prob,
    )
