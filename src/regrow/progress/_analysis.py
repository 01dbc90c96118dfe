"""From measurements to verdicts: per-site and overall change from baseline, with reasons and caveats."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from regrow.errors import EstimationError, InputError
from regrow.progress import _constants as K
from regrow.progress._caveats import series_caveats, site_rename_caveats
from regrow.progress._inputs import counted_less, image_weights, split_usable
from regrow.progress._model import TrendPosterior, fit_trend
from regrow.progress._overall import VERDICT_RULE, combine_site_verdicts
from regrow.progress._site_verdict import (
    PERCEPTIBLE_CHANGE_PER_CM2,
    decide,
    expected_comparison,
    fmt_signed,
    natural_history,
    natural_history_for,
    where,
)
from regrow.progress._types import (
    Caveat,
    CountedLess,
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
    weight: np.ndarray  # per image: relative precision (1 unless the automatic count is uncertain)
    images: list[Observation]  # per image, in the order of y
    weeks: np.ndarray  # per visit, since the (per-series) kink date
    baseline: np.ndarray  # per visit, bool
    in_fit: np.ndarray  # per visit, bool
    level: list[float]  # per site: mean of the baseline images (hairs/cm2)
    area_cm2: float | None

    @property
    def n_sites(self) -> int:
        return len(self.names)

    def visit_weight(self) -> np.ndarray:
        """Effective number of images per visit (the sum of their weights)."""
        return np.bincount(self.group, weights=self.weight, minlength=len(self.dates))

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
    scale (% of each site's baseline) with a common trend and gives its numbers; the overall *verdict* is
    derived from the site verdicts by :data:`regrow.progress.VERDICT_RULE` (only sites with enough data
    count), so it can never say "responding" while no site does.

    Measurements flagged for review are left out and listed (``excluded``); a photo is counted once, by its
    highest-precedence count. An automatic count with a standard error weighs ``v0 / (v0 + se^2)`` relative
    to an image without one (``v0``: the per-image variance of the published repeatability); the images that
    counted less are listed (``counted_less``).

    Parameters
    ----------
    observations : iterable of Observation
        Every measurement; several on one day and site are replicates; flagged ones are listed, not used.
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
        ``site`` names a site that has no usable measurements.

    References
    ----------
    Jacobson NS, Truax P. Clinical significance: a statistical approach to defining meaningful change in
    psychotherapy research. J Consult Clin Psychol. 1991;59(1):12-19. doi:10.1037/0022-006X.59.1.12
    """
    ctx = context or TreatmentContext()
    alias = {site_key(k): site_key(v) for k, v in (aliases or {}).items()}
    usable, excluded = split_usable(observations)
    by_site: dict[str, list[Observation]] = {}
    display: dict[str, str] = {}
    for o in usable:
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
            waiting = sum(1 for e in excluded if alias.get(site_key(e.site), site_key(e.site)) == want)
            note = f"; its {waiting} measurement(s) wait for your review" if waiting else ""
            raise InputError.invalid("site", site, f"one of the measured sites ({known}){note}")
        by_site = {want: by_site[want]}
        excluded = [e for e in excluded if alias.get(site_key(e.site), site_key(e.site)) == want]
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
        reason = (
            f"There are no measurements to analyse yet: {len(excluded)} wait for your review."
            if excluded
            else "There are no measurements yet."
        )
        empty = _verdict_only("overall", Verdict.TOO_EARLY, reason, None, 0, 0, report_caveats)
        return ProgressReport(empty, (), start, tuple(report_caveats), VERDICT_RULE, tuple(excluded))
    if start is None:  # unreachable: by_site is non-empty, so all_dates is too
        start = min(o.measured_on for obs in by_site.values() for o in obs)
    rename = site_rename_caveats({display[k]: v for k, v in by_site.items()})
    sites: list[SiteProgress] = []
    less: list[CountedLess] = []
    for key in sorted(by_site, key=lambda k: min(o.measured_on for o in by_site[k])):
        extra = rename.get(display[key], [])
        try:
            result, series = _analyse_sites(
                [display[key]],
                [by_site[key]],
                start,
                ctx,
                expected,
                extra,
                detail=detail,
                trajectory=trajectory,
            )
            sites.append(result)
            less += counted_less(display[key], series.images, series.weight)
        except OverflowError as exc:
            # e.g. a count typed over a mistyped, tiny area: densities whose squares overflow a float.
            top = max(by_site[key], key=lambda o: o.density_per_cm2)
            raise EstimationError(
                f"Site {display[key]!r} cannot be analysed: the density {top.density_per_cm2:.3g} hairs/cm2 "
                f"measured on {top.measured_on.isoformat()} is too large to compute with; check that "
                "measurement's count and area."
            ) from exc
    if len(sites) == 1:
        overall = replace(sites[0], site="overall")
    else:
        overall = _overall(sites, by_site, display, start, ctx, expected)
    caveats = tuple(report_caveats) + tuple(c for c in overall.caveats if c not in report_caveats)
    return ProgressReport(overall, tuple(sites), start, caveats, VERDICT_RULE, tuple(excluded), tuple(less))


def _overall(
    sites: list[SiteProgress],
    by_site: dict[str, list[Observation]],
    display: dict[str, str],
    start: dt.date,
    ctx: TreatmentContext,
    expected: ExpectedResponse | None,
) -> SiteProgress:
    """The overall answer of several sites: numbers pooled over the sites that count, verdict by the rule."""
    verdict, reason = combine_site_verdicts(sites)
    keys = {display[k]: k for k in by_site}
    counted = [keys[s.site] for s in sites if s.enough_data]
    numeric = [k for k in counted if baseline_level(by_site[k], start) > 0] or counted
    if len(numeric) >= 2:
        pooled, _ = _analyse_sites(
            [display[k] for k in numeric],
            [by_site[k] for k in numeric],
            start,
            ctx,
            expected,
            [],
            detail=False,
            trajectory=False,
        )
        pct = pooled.change_pct
        if pct.estimate is not None and pct.ci_lb is not None:
            names = ", ".join(repr(display[k]) for k in numeric)
            reason += (
                f" Pooled over the counted sites ({names}), density changed by {fmt_signed(pct.estimate, '%')} "
                f"(95% interval {fmt_signed(pct.ci_lb, '%')} to {fmt_signed(pct.ci_ub, '%')})."
            )
        return replace(pooled, site="overall", verdict=verdict, reason=reason, enough_data=True)
    if numeric:
        only = next(s for s in sites if s.site == display[numeric[0]])
        why = (
            "the only site with enough data"
            if len(counted) == 1
            else "the only counted site with hairs at baseline"
        )
        reason += f" The change shown is site {only.site!r}'s, {why}."
        return replace(only, site="overall", verdict=verdict, reason=reason, visits=(), trajectory=None)
    all_obs = [o for obs in by_site.values() for o in obs]
    last = max(o.measured_on for o in all_obs)
    n_days = len({o.measured_on for o in all_obs})
    caveats = [c for s in sites for c in s.caveats]
    return _verdict_only(
        "overall",
        verdict,
        reason,
        (last - start).days / 7.0,
        n_days,
        len(all_obs),
        list(dict.fromkeys(caveats)),
    )


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
    se: list[float] = []
    images: list[Observation] = []
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
                s_density = o.density_se_per_cm2
                se.append(math.nan if s_density is None else s_density * factor)
                images.append(o)
    series = _Series(
        names=names,
        dates=dates,
        visit_site=visit_site,
        group=np.asarray(group),
        y=np.asarray(y, dtype=float),
        weight=np.ones(len(y)),
        images=images,
        weeks=np.asarray(weeks),
        baseline=np.asarray(baseline),
        in_fit=np.asarray(in_fit),
        level=levels,
        area_cm2=float(np.mean(areas)) if areas else None,
    )
    series.weight = image_weights(np.asarray(se, dtype=float), _prior_scale2(series))
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
    weight = series.weight[img] if values is None else None
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
        weight=weight,
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
) -> tuple[SiteProgress, _Series]:
    """The progress of one site (or of several pooled on a relative scale) and the series it was fit on."""
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
        return _verdict_only(name, Verdict.TOO_EARLY, reason, weeks_since, 1, n_images, caveats, base), series
    if all(v == 0.0 for v in series.level) and not np.any(series.y > 0):
        reason = (
            f"No hairs were counted in any of the {n_images} images at {where(names)}. Either the area is "
            "completely bald, or the images could not be measured; check the images and the counting area."
        )
        zero = Interval(0.0, None, None)
        only = _verdict_only(
            name, Verdict.INCONCLUSIVE, reason, weeks_since, len(distinct_days), n_images, caveats, zero
        )
        return only, series
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
        k_typ = float(np.median(series.visit_weight()))
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
        nh = natural_history(post, c_last, c_abs, weeks_since, ctx)
        if expected is not None:
            exp = expected_comparison(post, c_last, c_abs, expected, weeks_since)
    diam = _diameter(series, obs_lists, mask) if series.n_sites == 1 else Interval.empty()
    # --- verdict ----------------------------------------------------------------------------------------
    verdict, reason = decide(
        dates=series.dates,
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
    enough = (
        verdict is not Verdict.TOO_EARLY
        and has_baseline
        and post is not None
        and change.ci_lb is not None
        and change.ci_ub is not None
    )
    result = SiteProgress(
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
        enough_data=enough,
    )
    return result, series


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
        here = series.group == g
        imgs, weights = series.y[here], series.weight[here]
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
                mean_density_per_cm2=float(np.average(imgs, weights=weights)),
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
