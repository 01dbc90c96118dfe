"""What the model uses: flagged measurements wait for review, one count per photo, uncertain automatic counts
weigh less (with the weighted fit checked against a slow dense reference and by simulation)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy import special

from regrow.errors import InputError
from regrow.progress import Observation, TreatmentContext, Verdict, analyse_progress, fit_trend
from regrow.progress._model import ratio_grid

START = dt.date(2025, 1, 6)
WEEKS = [-4, 0, 4, 8, 12, 16, 20, 24]
WIGGLE = [(-3, 3), (4, -4), (1, -1), (-2, 2), (3, -3), (-1, 1), (2, -2), (0, 0)]


def day(weeks: float) -> dt.date:
    return START + dt.timedelta(days=round(7 * weeks))


def responder(site="vertex", gain_pct=20.0, level=150.0, **kw):
    return [
        Observation(day(w), site, level * (1 + gain_pct / 100 * max(w, 0) / 24) + e, **kw)
        for w, pair in zip(WEEKS, WIGGLE, strict=True)
        for e in pair
    ]


def run(obs, **kw):
    return analyse_progress(obs, context=TreatmentContext(start=START), **kw)


def numbers(rep):
    o = rep.overall
    return (o.verdict, o.change_per_cm2, o.change_pct, o.prob_improved)


# --- flagged measurements ------------------------------------------------------------------------------------


def test_a_flagged_measurement_is_listed_and_not_used_until_accepted():
    base = responder()
    drop = Observation(
        day(8),
        "vertex",
        55.0,
        review_status="flagged",
        review_reason="density dropped 63% since the last visit",
        measurement_id=41,
    )
    rep = run([*base, drop])
    assert numbers(rep) == numbers(run(base))  # as if it were not there
    assert [e.message for e in rep.excluded] == [
        "2025-03-03 vertex, density dropped 63% since the last visit: waiting for your review"
    ]
    assert (rep.excluded[0].code, rep.excluded[0].measurement_id) == ("flagged", 41)
    assert rep.to_dict()["excluded"][0]["measured_on"] == "2025-03-03"
    accepted = Observation(day(8), "vertex", 55.0, review_status="accepted", measurement_id=41)
    used = run([*base, accepted])
    assert used.excluded == () and used.overall.n_images == rep.overall.n_images + 1
    assert used.overall.change_per_cm2 != rep.overall.change_per_cm2


def test_a_site_whose_measurements_all_wait_for_review():
    flagged = [
        Observation(day(w), "temples", 90.0, review_status="flagged", review_reason="unusual") for w in (0, 4)
    ]
    rep = run(responder() + flagged)
    assert [s.site for s in rep.sites] == ["vertex"] and len(rep.excluded) == 2
    with pytest.raises(InputError, match=r"its 2 measurement\(s\) wait for your review"):
        run(responder() + flagged, site="temples")
    only = run(flagged)
    assert only.overall.verdict is Verdict.TOO_EARLY
    assert only.overall.reason == "There are no measurements to analyse yet: 2 wait for your review."


def test_review_status_and_count_source_are_checked():
    with pytest.raises(InputError, match="review_status"):
        Observation(START, "vertex", 10.0, review_status="maybe")
    with pytest.raises(InputError, match="count_source"):
        Observation(START, "vertex", 10.0, count_source="guess")
    with pytest.raises(InputError, match="count_se"):
        Observation(START, "vertex", 10.0, count_se=float("nan"))


# --- one count per photo -------------------------------------------------------------------------------------


def test_a_photo_is_counted_once_by_its_highest_precedence_count():
    base = responder()
    auto = Observation.from_count(
        day(24), "vertex", 30, 0.25, photo_id=7, count_source="automatic", measurement_id=1
    )
    fixed = Observation.from_count(
        day(24), "vertex", 45, 0.25, photo_id=7, count_source="corrected", measurement_id=2
    )
    rep = run([*base, auto, fixed])
    assert numbers(rep) == numbers(run([*base, fixed]))  # never the average of 120 and 180 hairs/cm2
    assert [(e.code, e.measurement_id) for e in rep.excluded] == [("same_photo", 1)]
    assert "the corrected count of measurement 2 is used instead" in rep.excluded[0].message


# --- uncertain automatic counts weigh less -------------------------------------------------------------------


def test_an_uncertain_image_counts_less_and_is_named():
    area = 1.0
    base = [
        Observation.from_count(o.measured_on, o.site, round(o.density_per_cm2), area, count_se=2.0)
        for o in responder()
    ]
    bad = Observation.from_count(day(24), "vertex", 120, area, count_se=40.0, measurement_id=9)
    rep = run([*base, bad])
    last = rep.sites[0].visits[-1]
    # weights by hand: v0 = max((0.06 * level)^2, level / area, 1 / area^2) with level = the baseline mean
    level = np.mean([o.density_per_cm2 for o in base if o.measured_on <= START])
    v0 = max((0.06 * level) ** 2, level / area, 1.0)
    w_good, w_bad = v0 / (v0 + 2.0**2), v0 / (v0 + 40.0**2)
    counts = [o.density_per_cm2 for o in base if o.measured_on == day(24)]
    expected_mean = (w_good * sum(counts) + w_bad * 120) / (2 * w_good + w_bad)
    assert last.mean_density_per_cm2 == pytest.approx(expected_mean)
    [less] = rep.counted_less
    assert less.measurement_id == 9 and less.weight == pytest.approx(w_bad / w_good)
    assert less.message.startswith("2025-06-23 vertex: count 120 +/- 78.4 (95%) is uncertain")
    assert f"counted {100 * w_bad / w_good:.0f}% as much" in less.message
    assert rep.to_dict()["counted_less"][0]["weight"] == pytest.approx(w_bad / w_good)
    # the uncertain low count pulls the estimate down less than the same count would at full weight
    full = run([*base, Observation.from_count(day(24), "vertex", 120, area, count_se=2.0)])
    assert full.overall.change_per_cm2.estimate < rep.overall.change_per_cm2.estimate


def test_hand_and_corrected_counts_carry_no_detector_uncertainty():
    base = responder(area_cm2=1.0, count_se=30.0, count_source="manual")
    assert run(base).counted_less == ()
    assert numbers(run(base)) == numbers(run(responder(area_cm2=1.0)))
    corrected = Observation(day(24), "vertex", 150.0, area_cm2=1.0, count_se=30.0, count_source="corrected")
    assert corrected.density_se_per_cm2 is None
    # equal uncertainty everywhere: nobody counted less than anybody else
    assert run(responder(area_cm2=1.0, count_se=3.0)).counted_less == ()


def _dense_reference(X, group, y, weight, prior_df, prior_scale2, ratio_scale):
    """Slow, obvious version of the weighted model: the full n x n covariance for every rho on the grid."""
    Z = (group[:, None] == np.arange(X.shape[0])[None, :]).astype(float)
    Xn = Z @ X
    rho, log_prior = ratio_grid(ratio_scale)
    n, p = Xn.shape
    df = prior_df + n - p
    coefs, logpost = [], []
    for r, lp in zip(rho, log_prior, strict=True):
        V = r * Z @ Z.T + np.diag(1.0 / weight)
        Vi = np.linalg.inv(V)
        A = Xn.T @ Vi @ Xn
        b = np.linalg.solve(A, Xn.T @ Vi @ y)
        resid = y - Xn @ b
        total = prior_df * prior_scale2 + resid @ Vi @ resid
        logdet_v = np.linalg.slogdet(V)[1]
        logdet_a = np.linalg.slogdet(A)[1]
        coefs.append(b)
        logpost.append(lp - 0.5 * logdet_v - 0.5 * logdet_a - 0.5 * df * np.log(total))
    logpost = np.asarray(logpost)
    return np.asarray(coefs), np.exp(logpost - special.logsumexp(logpost))


def test_weighted_fit_matches_the_dense_reference(rng):
    G = 7
    X = np.column_stack([np.ones(G), np.maximum(np.arange(G) - 1, 0.0)])
    group = np.repeat(np.arange(G), rng.integers(1, 4, G))
    y = 150 + 3 * X[group, 1] + rng.normal(0, 5, group.size)
    weight = rng.uniform(0.05, 1.0, group.size)
    post = fit_trend(X, group, y, prior_df=4.0, prior_scale2=81.0, ratio_prior_scale=0.5, weight=weight)
    coef, mix = _dense_reference(X, group, y, weight, 4.0, 81.0, 0.5)
    np.testing.assert_allclose(post.coef, coef, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(post.weight, mix, rtol=1e-7, atol=1e-12)
    ones = fit_trend(
        X, group, y, prior_df=4.0, prior_scale2=81.0, ratio_prior_scale=0.5, weight=np.ones(y.size)
    )
    plain = fit_trend(X, group, y, prior_df=4.0, prior_scale2=81.0, ratio_prior_scale=0.5)
    np.testing.assert_allclose(ones.coef, plain.coef)
    np.testing.assert_allclose(ones.weight, plain.weight)
    with pytest.raises(InputError, match="weight"):
        fit_trend(X, group, y, prior_df=4.0, prior_scale2=81.0, ratio_prior_scale=0.5, weight=weight * 0)


def _people_with_uncertain_counts(rng, n, area=0.25, bad_share=0.2, bad_rel=0.3):
    """Simulated people: Poisson hair sampling in the field, per-image CV 2.6-9.8%, visit noise, 1-3 images per
    visit; the automatic counter is off by N(0, se) with se = 1 hair, or 30% of the count for 1 image in 5."""
    weeks = np.array(WEEKS)
    for _ in range(n):
        level, cv = rng.uniform(100, 200), rng.uniform(0.026, 0.098)
        visit_sd, effect, k = abs(rng.normal(0, 0.5)) * cv * level, rng.uniform(-10, 40), rng.integers(1, 4)
        with_se, without = [], []
        for w in weeks:
            truth = level * (1 + effect / 100 * max(w, 0) / 24)
            shift = rng.normal(0, visit_sd)
            for _ in range(k):
                hairs = rng.poisson(max(truth + shift + rng.normal(0, cv * level), 0.0) * area)
                se = max(1.0, bad_rel * hairs) if rng.random() < bad_share else 1.0
                count = max(0, round(hairs + rng.normal(0, se)))
                with_se.append(Observation.from_count(day(w), "vertex", count, area, count_se=se))
                without.append(Observation.from_count(day(w), "vertex", count, area))
        yield with_se, without, level * effect / 100


def test_weighting_uncertain_counts_is_more_accurate_and_still_covers(rng):
    n = 200
    err_w, err_u, hits = [], [], 0
    for with_se, without, true in _people_with_uncertain_counts(rng, n):
        w = run(with_se, detail=False).overall.change_per_cm2
        u = run(without, detail=False).overall.change_per_cm2
        err_w.append(w.estimate - true)
        err_u.append(u.estimate - true)
        hits += w.ci_lb <= true <= w.ci_ub
    gain = np.square(err_u) - np.square(err_w)  # paired: the same people, the same images
    assert gain.mean() > 2 * gain.std(ddof=1) / np.sqrt(n), (np.sqrt(np.mean(np.square(err_w))), gain.mean())
    tol = 3 * np.sqrt(0.95 * 0.05 / n)
    assert hits / n >= 0.95 - tol, hits / n
