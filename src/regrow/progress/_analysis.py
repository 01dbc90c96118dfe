"""From measurements to verdicts: per-site and overall change from baseline, with reasons and caveats."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from regrow.errors import EstimationError, InputError
from regrow.progress import _constants as K
from regrow.progress._caveats import series_caveats, site_rename_caveats
from regrow.progress._model import TrendPosterior, fit_trend
from regrow.progress._types import (
    Caveat,
    ExpectedResponse,
    Interval,
    Observation,
    ProgressReport,
    SiteProgress,
    TreatmentContext,
    Verdict,
    VisitChange,
)

__all__ = ["analyse_progress", "natural_history_for"]

#: The absolute perceptibility bar (dermatologists: 43.36 hairs/cm2; clinical-notes 5.4), used when the
#: baseline density is zero and a percentage is meaningless.
PERCEPTIBLE_CHANGE_PER_CM2 = 43.36

_LEVEL = 0.95


def site_key(name: str) -> str:
    """The matching key of a site name: blanks stripped, case folded."""
    return " ".join(str(name).split()).casefold()


@dataclass
class _Series:
    """Images of one or more sites arranged for the trend model."""

    names: list[str]
    dates: list[dt.date]  # per visit (group)
    visit_site: list[int]  # per visit
    group: np.ndarray  # per image
    y: np.ndarray  # per image (hairs/cm2, or % of site baseline for the overall series)
    weeks: np.ndarray  # per visit, since the (per-series) kink date
    baseline: np.ndarray  # per visit, bool
    in_fit: np.ndarray  # per visit, bool
    level: list[float]  # per site: mean of the baseline images (hairs/cm2)
    area_cm2: float | None

    @property
    def n_sites(self) -> int:
        return len(self.names)

    def design(self) -> np.ndarray:
        G = len(self.dates)
        X = np.zeros((G, self.n_sites + 1))
        X[np.arange(G), self.visit_site] = 1.0
        X[:, -1] = self.weeks
        return X


def _group_visits(obs: Sequence[Observation]) -> dict[dt.date, list[Observation]]:
    visits: dict[dt.date, list[Observation]] = {}
    for o in sorted(obs, key=lambda o: o.measured_on):
        visits.setdefault(o.measured_on, []).append(o)
    return visits


def _fmt(x: float | None, unit: str = "", digits: int = 1) -> str:
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


def analyse_progress(
    observations: Iterable[Observation],
    *,
    context: TreatmentContext | None = None,
    expected: ExpectedResponse | None = None,
    site: str | None = None,
    aliases: Mapping[str, str] | None = None,
    detail: bool = True,
    trajectory: bool = False,
) -> ProgressReport:
    """Answer "is it working for me?" from density measurements over time.

    Each site gets a piecewise-linear trend: flat until the treatment start, then a straight line, plus
    between-visit and per-image noise (see :func:`regrow.progress.fit_trend`). With one image per visit the
    noise comes from the published repeatability (CV 2.6-9.8%, clinical-notes 5.3) as an informative prior;
    replicate images per visit estimate it from the data. The overall answer pools all sites on a relative
    scale (% of each site's baseline) with a common trend.

    Parameters
    ----------
    observations : iterable of Observation
        Every measurement; several on one day and site are replicates.
    context : TreatmentContext, optional
        Start date, minoxidil start, adherence, last session, sex, hemisphere. Without a start date the
        first measurement is the start and the baseline.
    expected : ExpectedResponse, optional
        Trial-expected change to compare with; omitted (with a caveat) when not given.
    site : str, optional
        Analyse only this site (matched case-insensitively, after ``aliases``).
    aliases : mapping of str to str, optional
        Old site name -> new site name, for a site that was renamed.
    detail : bool
        Compute the change at every visit (the latest visit is always computed).
    trajectory : bool
        Compute the fitted trajectory with its band on a weekly grid (for plots).

    Returns
    -------
    ProgressReport
        Never raises for thin or odd data: too few visits, no baseline, zero counts and the like give a
        verdict with its reason.

    Raises
    ------
    InputError
        ``site`` names a site that has no measurements.

    References
    ----------
    Jacobson NS, Truax P. Clinical significance: a statistical approach to defining meaningful change in
    psychotherapy research. J Consult Clin Psychol. 1991;59(1):12-19. doi:10.1037/0022-006X.59.1.12
    """
    ctx = context or TreatmentContext()
    alias = {site_key(k): site_key(v) for k, v in (aliases or {}).items()}
    by_site: dict[str, list[Observation]] = {}
    display: dict[str, str] = {}
    for o in observations:
        key = site_key(o.site)
        key = alias.get(key, key)
        by_site.setdefault(key, []).append(o)
        display.setdefault(key, " ".join(str(o.site).split()))
    for new in alias.values():
        if new in display:
            display[new] = next((o.site for o in by_site[new] if site_key(o.site) == new), display[new])
    report_caveats: list[Caveat] = []
    if site is not None:
        want = alias.get(site_key(site), site_key(site))
        if want not in by_site:
            known = ", ".join(sorted(display[k] for k in by_site)) or "none"
            raise InputError.invalid("site", site, f"one of the measured sites ({known})")
        by_site = {want: by_site[want]}
    all_dates = sorted({o.measured_on for obs in by_site.values() for o in obs})
    start = ctx.start
    if start is None and all_dates:
        start = all_dates[0]
        report_caveats.append(
            Caveat(
                "no_start_date",
                f"No treatment start date was given, so the first measurement ({start.isoformat()}) is taken "
                "as the start and the baseline.",
            )
        )
    if not by_site:
        empty = _verdict_only(
            "overall", Verdict.TOO_EARLY, "There are no measurements yet.", None, 0, 0, report_caveats
        )
        return ProgressReport(empty, (), start, tuple(report_caveats))
    if start is None:  # unreachable: by_site is non-empty, so all_dates is too
        start = min(o.measured_on for obs in by_site.values() for o in obs)
    rename = site_rename_caveats({display[k]: v for k, v in by_site.items()})
    sites = []
    for key in sorted(by_site, key=lambda k: min(o.measured_on for o in by_site[k])):
        extra = rename.get(display[key], [])
        try:
            sites.append(
                _analyse_sites(
                    [display[key]],
                    [by_site[key]],
                    start,
                    ctx,
                    expected,
                    extra,
                    detail=detail,
                    trajectory=trajectory,
                )
            )
        except OverflowError as exc:
            # e.g. a count typed over a mistyped, tiny area: densities whose squares overflow a float.
            top = max(by_site[key], key=lambda o: o.density_per_cm2)
            raise EstimationError(
                f"Site {display[key]!r} cannot be analysed: the density {top.density_per_cm2:.3g} hairs/cm2 "
                f"measured on {top.measured_on.isoformat()} is too large to compute with; check that "
                "measurement's count and area."
            ) from exc
    pooled = [k for k in by_site if baseline_level(by_site[k], start) > 0]
    if len(sites) == 1 or len(pooled) < 2:
        overall = _relabel(sites[0], "overall")
    else:
        overall = _analyse_sites(
            [display[k] for k in pooled],
            [by_site[k] for k in pooled],
            start,
            ctx,
            expected,
            [],
            detail=False,
            trajectory=False,
        )
    caveats = tuple(report_caveats) + tuple(c for c in overall.caveats if c not in report_caveats)
    return ProgressReport(overall, tuple(sites), start, caveats)


def _relabel(s: SiteProgress, name: str) -> SiteProgress:
    from dataclasses import replace

    return replace(s, site=name)


def _verdict_only(
    name: str,
    verdict: Verdict,
    reason: str,
    weeks: float | None,
    n_visits: int,
    n_images: int,
    caveats: Sequence[Caveat],
    baseline: Interval | None = None,
    visits: Sequence[VisitChange] = (),
) -> SiteProgress:
    e = Interval.empty()
    return SiteProgress(
        site=name,
        verdict=verdict,
        reason=reason,
        weeks_since_start=weeks,
        n_visits=n_visits,
        n_images=n_images,
        baseline_per_cm2=baseline or e,
        change_per_cm2=e,
        change_pct=e,
        prob_improved=None,
        prob_any_improvement=None,
        prob_visible_improvement=None,
        mdc95_per_cm2=None,
        diameter_change_um=e,
        natural_history=None,
        expected=None,
        caveats=tuple(caveats),
        visits=tuple(visits),
    )


def baseline_level(obs: Sequence[Observation], start: dt.date) -> float:
    """Mean density of the baseline images (visits up to a week after ``start``; else the first visit)."""
    visits = _group_visits(obs)
    vdates = sorted(visits)
    base = [d for d in vdates if (d - start).days <= K.BASELINE_GRACE_DAYS] or vdates[:1]
    return float(np.mean([o.density_per_cm2 for d in base for o in visits[d]]))


def _build_series(
    names: list[str], obs_lists: list[list[Observation]], start: dt.date, ctx: TreatmentContext
) -> tuple[_Series, bool]:
    """Arrange the images; returns the series and whether a pre-treatment baseline exists for every site."""
    dates: list[dt.date] = []
    visit_site: list[int] = []
    group: list[int] = []
    y: list[float] = []
    weeks: list[float] = []
    baseline: list[bool] = []
    in_fit: list[bool] = []
    levels: list[float] = []
    areas = [o.area_cm2 for obs in obs_lists for o in obs if o.area_cm2 is not None]
    has_baseline = True
    scale_pct = len(names) > 1
    for s, obs in enumerate(obs_lists):
        visits = _group_visits(obs)
        vdates = sorted(visits)
        base = [d for d in vdates if (d - start).days <= K.BASELINE_GRACE_DAYS]
        if not base:
            has_baseline = False
            base = vdates[:1]
        kink = start if (vdates[0] - start).days <= K.BASELINE_GRACE_DAYS else vdates[0]
        level = float(np.mean([o.density_per_cm2 for d in base for o in visits[d]]))
        levels.append(level)
        for d in vdates:
            g = len(dates)
            dates.append(d)
            visit_site.append(s)
            weeks.append(max(0.0, (d - kink).days / 7.0))
            baseline.append(d in base)
            in_fit.append(not _in_shed_window(d, ctx))
            factor = 100.0 / level if (scale_pct and level > 0) else 1.0
            for o in visits[d]:
                group.append(g)
                y.append(o.density_per_cm2 * factor)
    series = _Series(
        names=names,
        dates=dates,
        visit_site=visit_site,
        group=np.asarray(group),
        y=np.asarray(y, dtype=float),
        weeks=np.asarray(weeks),
        baseline=np.asarray(baseline),
        in_fit=np.asarray(in_fit),
        level=levels,
        area_cm2=float(np.mean(areas)) if areas else None,
    )
    return series, has_baseline


def _in_shed_window(d: dt.date, ctx: TreatmentContext) -> bool:
    if ctx.minoxidil_start is None:
        return False
    w = (d - ctx.minoxidil_start).days / 7.0
    lo, hi = K.MINOXIDIL_SHED_WEEKS
    return lo <= w <= hi


def _prior_scale2(series: _Series) -> float:
    """Prior guess of the per-image variance from the published repeatability (clinical-notes 5.3)."""
    if series.n_sites > 1:
        return (100.0 * K.REPEATABILITY_CV) ** 2  # relative scale: % of baseline
    level = series.level[0]
    cv_var = (K.REPEATABILITY_CV * level) ** 2
    if series.area_cm2 is not None:
        # Counting in a small field cannot be less noisy than Poisson sampling of the hairs in it; the
        # floor of one hair per field keeps a zero count from claiming zero noise.
        a = series.area_cm2
        return max(cv_var, level / a, 1.0 / a**2)
    return max(cv_var, 1.0)


def _fit(series: _Series, mask: np.ndarray, *, values: np.ndarray | None = None, vague: bool = False):
    """Fit on the visits in ``mask``; returns (posterior, remapped design) or raises EstimationError."""
    keep = np.flatnonzero(mask)
    remap = -np.ones(len(series.dates), dtype=int)
    remap[keep] = np.arange(keep.size)
    yv = series.y if values is None else values
    img = (remap[series.group] >= 0) & np.isfinite(yv)
    X = series.design()[keep]
    present = np.bincount(remap[series.group[img]], minlength=keep.size) > 0
    X = X[present]
    remap2 = -np.ones(keep.size, dtype=int)
    remap2[present] = np.arange(int(present.sum()))
    groups = remap2[remap[series.group[img]]]
    cols = np.flatnonzero(np.abs(X).sum(axis=0) > 0)
    post = fit_trend(
        X[:, cols],
        groups,
        yv[img],
        prior_df=0.0 if vague else K.REPEATABILITY_PRIOR_DF,
        prior_scale2=0.0 if vague else _prior_scale2(series),
        ratio_prior_scale=K.VISIT_RATIO_PRIOR_SCALE,
    )
    return post, cols


def _analyse_sites(
    names: list[str],
    obs_lists: list[list[Observation]],
    start: dt.date,
    ctx: TreatmentContext,
    expected: ExpectedResponse | None,
    extra_caveats: Sequence[Caveat],
    *,
    detail: bool,
    trajectory: bool,
) -> SiteProgress:
    name = names[0] if len(names) == 1 else "overall"
    series, has_baseline = _build_series(names, obs_lists, start, ctx)
    n_images = int(series.y.size)
    distinct_days = sorted(set(series.dates))
    last = distinct_days[-1]
    weeks_since = (last - start).days / 7.0
    caveats = list(extra_caveats) + series_caveats(obs_lists, series.dates, start, ctx, expected)
    visible_pct = K.PERCEPTIBLE_CHANGE_PCT
    mean_level = float(np.mean(series.level))
    # --- thin data: verdicts that need no model -----------------------------------------------------
    if len(distinct_days) == 1:
        base = Interval(mean_level, None, None)
        if n_images > 1:
            reason = (
                f"All {n_images} measurements were taken on one day ({last.isoformat()}). Images from "
                "one day "
                "show the measurement noise, not change; measure again in 4-8 weeks, and judge at 12 "
                "weeks at "
                "the earliest."
            )
        else:
            reason = (
                f"There is only one measurement ({last.isoformat()}). It is the starting point; "
                "measure again "
                "every 4-8 weeks and judge at 12 weeks at the earliest."
            )
        return _verdict_only(name, Verdict.TOO_EARLY, reason, weeks_since, 1, n_images, caveats, base)
    if all(v == 0.0 for v in series.level) and not np.any(series.y > 0):
        reason = (
            f"No hairs were counted in any of the {n_images} images at {_where(names)}. Either the area is "
            "completely bald, or the images could not be measured; check the images and the counting area."
        )
        zero = Interval(0.0, None, None)
        return _verdict_only(
            name, Verdict.INCONCLUSIVE, reason, weeks_since, len(distinct_days), n_images, caveats, zero
        )
    # --- the model --------------------------------------------------------------------------------------
    mask = series.in_fit.copy()
    if mask.sum() < 3 or len({d for d, m in zip(series.dates, mask, strict=True) if m}) < 3:
        mask[:] = True  # too few visits outside the shedding window: use them all (the caveat says so)
    fit_error: str | None = None
    post: TrendPosterior | None = None
    try:
        post, cols = _fit(series, mask)
    except EstimationError as exc:
        fit_error = str(exc)
    slope_col = series.n_sites  # last column of the full design
    if post is not None and slope_col not in cols:
        post, fit_error = None, "all visits are on the baseline side of the start, so there is no trend yet"

    def contrast(w: float, *, slope: bool = True, intercept: bool = False) -> np.ndarray:
        full = np.zeros(series.n_sites + 1)
        if intercept:
            full[: series.n_sites] = 1.0 / series.n_sites
        if slope:
            full[-1] = w
        return full[cols]

    w_last = float(series.weeks.max())
    change = pct = base_iv = Interval.empty()
    prob_mdc = prob_pos = prob_vis = mdc = None
    nh = exp = None
    if post is not None:
        c_last = contrast(w_last)
        m = contrast(0.0, slope=False, intercept=True)
        base_iv = Interval(*post.interval(m, _LEVEL))
        est, lb, ub = post.interval(c_last, _LEVEL)
        p_lb, p_ub = (post.ratio_quantile(c_last, m, q) for q in (0.025, 0.975))
        p_est = post.mean(c_last) / post.mean(m) if post.mean(m) > 0 else None
        if series.n_sites > 1:
            # relative scale: y is % of each site's baseline; the change in hairs/cm2 uses the mean level
            pct = Interval(*(None if v is None else 100.0 * v for v in (p_est, p_lb, p_ub)))
            pct = Interval(est, lb, ub) if (p_lb is None or p_ub is None) else pct
            to_abs = mean_level / 100.0
            change = Interval(est * to_abs, lb * to_abs, ub * to_abs)
            base_iv = Interval(mean_level, None, None)
            c_abs = 1.0 / to_abs if to_abs > 0 else math.inf
        else:
            change = Interval(est, lb, ub)
            pct = Interval(*(None if v is None else 100.0 * v for v in (p_est, p_lb, p_ub)))
            c_abs = 1.0
        k_typ = float(np.median(np.bincount(series.group)))
        sem = math.sqrt(post.sigma2_median() * (post.rho_mean() + 1.0 / k_typ))
        mdc_model = K.MDC_Z * math.sqrt(2.0) * sem  # MDC95 = 1.96 * sqrt(2) * SEM (clinical-notes 5.3)
        mdc = mdc_model / c_abs if math.isfinite(c_abs) else None
        prob_mdc = 1.0 - post.cdf(c_last, mdc_model)
        prob_pos = 1.0 - post.cdf(c_last, 0.0)
        if mean_level > 0:
            vis_model = visible_pct if series.n_sites > 1 else visible_pct / 100.0 * post.mean(m)
        else:
            vis_model = PERCEPTIBLE_CHANGE_PER_CM2
        prob_vis = 1.0 - post.cdf(c_last, vis_model)
        nh = _natural_history(post, c_last, c_abs, weeks_since, ctx)
        if expected is not None:
            exp = _expected(post, c_last, c_abs, expected, weeks_since)
    diam = _diameter(series, obs_lists, mask) if series.n_sites == 1 else Interval.empty()
    # --- verdict ----------------------------------------------------------------------------------------
    verdict, reason = _decide(
        series=series,
        names=names,
        post=post,
        fit_error=fit_error,
        has_baseline=has_baseline,
        n_days=len(distinct_days),
        weeks_since=weeks_since,
        start=start,
        change=change,
        pct=pct,
        prob_mdc=prob_mdc,
        mdc=mdc,
        visible_abs=(visible_pct / 100.0 * base_iv.estimate)
        if (base_iv.estimate and mean_level > 0)
        else PERCEPTIBLE_CHANGE_PER_CM2,
        nh=nh,
        ctx=ctx,
    )
    if not mask.all():
        caveats.append(
            Caveat(
                "shed_window_excluded",
                f"{int((~mask).sum())} visit(s) in the minoxidil shedding window (weeks 2-8 after "
                "starting it) "
                "are shown but left out of the trend.",
            )
        )
    if fit_error is not None and verdict is not Verdict.TOO_EARLY:
        caveats.append(Caveat("no_model", f"The trend could not be estimated: {fit_error}"))
    visits = (
        _visit_changes(series, post, cols, contrast, start, mask) if (detail and post is not None) else ()
    )
    traj = _trajectory(series, post, cols, start) if (trajectory and post is not None) else None
    return SiteProgress(
        site=name,
        verdict=verdict,
        reason=reason,
        weeks_since_start=weeks_since,
        n_visits=len(distinct_days),
        n_images=n_images,
        baseline_per_cm2=base_iv,
        change_per_cm2=change,
        change_pct=pct,
        prob_improved=prob_mdc,
        prob_any_improvement=prob_pos,
        prob_visible_improvement=prob_vis,
        mdc95_per_cm2=mdc,
        diameter_change_um=diam,
        natural_history=nh,
        expected=exp,
        caveats=tuple(dict.fromkeys(caveats)),
        visits=tuple(visits),
        trajectory=traj,
    )


def _where(names: list[str]) -> str:
    return f"site {names[0]!r}" if len(names) == 1 else "any site"


def _decide(
    *,
    series: _Series,
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
    first, last = min(series.dates), max(series.dates)
    summary = ""
    if change.estimate is not None:
        pct_txt = (
            f" ({_fmt(pct.estimate, '%')}, 95% interval {_fmt(pct.ci_lb, '%')} to {_fmt(pct.ci_ub, '%')})"
            if pct.ci_lb is not None
            else ""
        )
        summary = (
            f"Density changed by {_fmt(change.estimate)} hairs/cm2 (95% interval {_fmt(change.ci_lb)} to "
            f"{_fmt(change.ci_ub)}){pct_txt}."
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


def _natural_history(
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


def _expected(
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


def _diameter(series: _Series, obs_lists: list[list[Observation]], mask: np.ndarray) -> Interval:
    """Change in mean shaft diameter (um) at the latest visit, with a vague noise prior (no published SEM)."""
    visits = _group_visits(obs_lists[0])
    vals = np.array(
        [o.diameter_um if o.diameter_um is not None else np.nan for d in sorted(visits) for o in visits[d]],
        dtype=float,
    )
    if np.isfinite(vals).sum() < 3:
        return Interval.empty()
    try:
        post, cols = _fit(series, mask, values=vals, vague=True)
    except EstimationError:
        return Interval.empty()
    if series.n_sites not in cols:
        return Interval.empty()
    c = np.zeros(len(cols))
    c[-1] = float(series.weeks[series.group[np.isfinite(vals)]].max())
    return Interval(*post.interval(c, _LEVEL))


def _visit_changes(series, post, cols, contrast, start, mask) -> list[VisitChange]:
    out = []
    m = contrast(0.0, slope=False, intercept=True)
    for g, d in enumerate(series.dates):
        imgs = series.y[series.group == g]
        c = contrast(float(series.weeks[g]))
        if series.weeks[g] == 0.0:
            ch, pc = Interval(0.0, 0.0, 0.0), Interval(0.0, 0.0, 0.0)
        else:
            ch = Interval(*post.interval(c, _LEVEL))
            lo, hi = (post.ratio_quantile(c, m, q) for q in (0.025, 0.975))
            mm = post.mean(m)
            pc = Interval(
                100.0 * post.mean(c) / mm if mm > 0 else None,
                None if lo is None else 100.0 * lo,
                None if hi is None else 100.0 * hi,
            )
        out.append(
            VisitChange(
                measured_on=d,
                weeks_since_start=(d - start).days / 7.0,
                n_images=int(imgs.size),
                mean_density_per_cm2=float(imgs.mean()),
                change_per_cm2=ch,
                change_pct=pc,
                baseline=bool(series.baseline[g]),
                in_fit=bool(mask[g]),
            )
        )
    return out


def _trajectory(series: _Series, post: TrendPosterior, cols, start: dt.date) -> dict[str, list[float]]:
    """Fitted density with its 95% band on a grid of dates (weeks since start), for plots."""
    kink_offset = min(series.dates)
    w_min = (kink_offset - start).days / 7.0
    w_max = (max(series.dates) - start).days / 7.0
    kink_weeks = w_max - float(series.weeks.max())  # start of the linear part, in weeks since start
    grid = np.linspace(w_min, w_max, 60)
    est, lb, ub = [], [], []
    for w in grid:
        full = np.zeros(series.n_sites + 1)
        full[0] = 1.0
        full[-1] = max(0.0, w - kink_weeks)
        c = full[cols]
        e, a, b = post.interval(c, _LEVEL)
        est.append(e)
        lb.append(a)
        ub.append(b)
    return {"weeks": grid.tolist(), "estimate": est, "lb": lb, "ub": ub, "kink_weeks": [kink_weeks]}
