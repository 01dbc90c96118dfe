"""Thin or odd data give the right verdict and a reason, never an exception."""

from __future__ import annotations

import datetime as dt

import pytest

from regrow.errors import InputError
from regrow.progress import (
    ExpectedResponse,
    Observation,
    TreatmentContext,
    Verdict,
    analyse_progress,
    natural_history_for,
)

START = dt.date(2025, 1, 6)


def day(weeks: float) -> dt.date:
    return START + dt.timedelta(days=round(7 * weeks))


def series(values_by_week, site="vertex", **kw):
    return [Observation(day(w), site, float(v), **kw) for w, vs in values_by_week for v in vs]


# a clean responder: 2 baseline visits, monthly to week 24, 2 images each, +20%
NOISE = [
    (-1.5, 1.5),
    (2.0, -2.0),
    (0.5, -0.5),
    (-1.0, 1.0),
    (1.5, -1.5),
    (-0.5, 0.5),
    (1.0, -1.0),
    (0.0, 0.0),
]
WEEKS = [-4, 0, 4, 8, 12, 16, 20, 24]


def responder(gain_pct=20.0, site="vertex", weeks=WEEKS, level=150.0):
    out = []
    for w, (a, b) in zip(weeks, NOISE, strict=False):
        true = level * (1 + gain_pct / 100 * max(w, 0) / 24)
        out.append((w, (true + a * 3, true + b * 3)))
    return series(out, site=site)


def run(obs, **ctx):
    ctx.setdefault("start", START)
    return analyse_progress(obs, context=TreatmentContext(**ctx))


def test_no_measurements():
    rep = analyse_progress([])
    assert rep.overall.verdict is Verdict.TOO_EARLY
    assert "no measurements" in rep.overall.reason


def test_one_visit():
    rep = run(series([(0, [150])]))
    assert rep.overall.verdict is Verdict.TOO_EARLY
    assert "only one measurement" in rep.overall.reason
    assert rep.overall.baseline_per_cm2.estimate == 150


def test_all_visits_on_one_day():
    rep = run(series([(0, [150, 152, 149, 151])]))
    assert rep.overall.verdict is Verdict.TOO_EARLY
    assert "All 4 measurements were taken on one day" in rep.overall.reason
    assert rep.overall.change_per_cm2.estimate is None


def test_two_visits_is_too_early():
    rep = run(series([(0, [150]), (24, [200])]))
    assert rep.overall.verdict is Verdict.TOO_EARLY
    assert "Only 2 visits" in rep.overall.reason


def test_before_12_weeks_is_too_early_but_still_estimated():
    rep = run(responder(weeks=[-4, 0, 4, 8]))
    o = rep.overall
    assert o.verdict is Verdict.TOO_EARLY
    assert "weeks since the start" in o.reason and "12" in o.reason
    assert o.change_per_cm2.estimate is not None


def test_responder_and_its_numbers():
    rep = run(responder(20.0))
    o = rep.overall
    assert o.verdict is Verdict.RESPONDING, o.reason
    assert o.weeks_since_start == 24.0
    # the truth (+30 hairs/cm2, +20%) lies in the intervals
    assert o.change_per_cm2.ci_lb <= 30.0 <= o.change_per_cm2.ci_ub
    assert o.change_pct.ci_lb <= 20.0 <= o.change_pct.ci_ub
    assert 0.0 <= o.prob_improved <= 1.0
    assert o.prob_any_improvement > 0.975
    assert o.natural_history["mean_change_per_cm2"] == 4.7  # Olsen 2007, men, 16 weeks
    assert [v.baseline for v in o.visits] == [True, True] + [False] * 6


def test_flat_after_24_weeks_is_not_responding():
    rep = run(responder(0.0))
    assert rep.overall.verdict is Verdict.NOT_RESPONDING, rep.overall.reason
    assert "could see" in rep.overall.reason


def test_flat_at_16_weeks_is_inconclusive_not_a_failure():
    rep = run(responder(0.0, weeks=[-4, 0, 4, 8, 12, 16]))
    assert rep.overall.verdict is Verdict.INCONCLUSIVE
    assert "week 24" in rep.overall.reason


def test_decline_after_stopping():
    rep = run(responder(-25.0), last_session=day(4))
    o = rep.overall
    assert o.verdict is Verdict.DECLINING, o.reason
    assert "last session" in o.reason
    assert "treatment_paused" in {c.code for c in o.caveats}


def test_missing_baseline():
    obs = responder(20.0, weeks=[8, 12, 16, 20, 24, 28])
    rep = run(obs)
    o = rep.overall
    assert o.verdict is Verdict.INCONCLUSIVE
    assert "no measurement from before the treatment started" in o.reason
    assert o.change_per_cm2.estimate is not None  # change since the first measurement is still shown


def test_no_start_date_uses_first_measurement():
    rep = analyse_progress(responder(20.0))
    assert rep.start == day(-4)
    assert "no_start_date" in {c.code for c in rep.caveats}
    assert rep.overall.verdict is Verdict.RESPONDING


def test_renamed_site_is_flagged_and_alias_joins_it():
    obs = responder(20.0)
    renamed = [
        Observation(o.measured_on, "crown" if o.measured_on > day(8) else "Vertex ", o.density_per_cm2)
        for o in obs
    ]
    rep = run(renamed)
    assert {s.site for s in rep.sites} == {"Vertex", "crown"}
    for s in rep.sites:
        assert s.verdict in (Verdict.TOO_EARLY, Verdict.INCONCLUSIVE)
        assert "possible_rename" in {c.code for c in s.caveats}
        assert any("--alias" in c.message for c in s.caveats)
    joined = analyse_progress(renamed, context=TreatmentContext(start=START), aliases={"vertex": "crown"})
    assert len(joined.sites) == 1
    assert joined.overall.verdict is Verdict.RESPONDING


def test_all_zero_counts():
    obs = [Observation.from_count(day(w), "vertex", 0, 0.25) for w in WEEKS for _ in range(2)]
    rep = run(obs)
    assert rep.overall.verdict is Verdict.INCONCLUSIVE
    assert "No hairs were counted" in rep.overall.reason
    assert "zero_counts" in {c.code for c in rep.overall.caveats}


def test_zero_baseline_then_regrowth_has_no_percentage():
    obs = [Observation.from_count(day(w), "patch", 0 if w <= 0 else int(2 * w), 0.25) for w in WEEKS]
    rep = run(obs)
    o = rep.overall
    assert o.change_pct.ci_lb is None  # a percentage of zero is meaningless
    assert o.change_per_cm2.estimate > 0
    assert o.verdict in (Verdict.RESPONDING, Verdict.INCONCLUSIVE)


def test_unknown_site_is_an_input_error():
    with pytest.raises(InputError, match="one of the measured sites"):
        analyse_progress(responder(), site="temple")


def test_several_sites_pool_into_overall():
    obs = responder(20.0, site="vertex") + responder(20.0, site="front", level=110.0)
    rep = run(obs)
    assert [s.site for s in rep.sites] == ["vertex", "front"]
    assert rep.overall.site == "overall"
    assert rep.overall.verdict is Verdict.RESPONDING
    assert rep.overall.change_pct.ci_lb <= 20.0 <= rep.overall.change_pct.ci_ub
    only = analyse_progress(obs, context=TreatmentContext(start=START), site="FRONT")
    assert [s.site for s in only.sites] == ["front"]


def test_caveats_from_context_and_images():
    obs = responder(20.0)
    obs[-1] = Observation(
        obs[-1].measured_on, "vertex", obs[-1].density_per_cm2, quality_flags=("blur",), device="phone B"
    )
    obs[0] = Observation(obs[0].measured_on, "vertex", obs[0].density_per_cm2, device="phone A")
    rep = run(obs, minoxidil_start=START, adherence=0.5)
    codes = {c.code for c in rep.overall.caveats}
    assert {
        "minoxidil_shedding",
        "image_quality",
        "low_adherence",
        "changed_device",
        "no_expected",
        "uncontrolled",
        "shed_window_excluded",
    } <= codes
    shed = [v for v in rep.overall.visits if not v.in_fit]
    assert [v.weeks_since_start for v in shed] == [4.0, 8.0]
    autumn = analyse_progress(
        [
            Observation(
                o.measured_on.replace(year=2024) if o.measured_on.month in (5, 6) else o.measured_on,
                o.site,
                o.density_per_cm2,
            )
            for o in obs[:2]
        ]
        + [Observation(dt.date(2025, 10, 20), "vertex", 150.0)],
        context=TreatmentContext(start=START),
    )
    assert "autumn_shedding" in {c.code for c in autumn.overall.caveats}


def test_expected_response_is_compared():
    exp = ExpectedResponse(13.0, 8.0, 18.0, 24.0, "test value")
    rep = analyse_progress(responder(20.0), context=TreatmentContext(start=START), expected=exp)
    e = rep.overall.expected
    assert e["change_per_cm2"] == 13.0
    assert 0.5 < e["prob_at_least_expected"] <= 1.0
    assert "no_expected" not in {c.code for c in rep.overall.caveats}


def test_natural_history_rows_from_the_notes():
    assert natural_history_for(16, "male").mean_change_per_cm2 == 4.7
    assert natural_history_for(16, "male").sd_change_per_cm2 == 19.7
    assert natural_history_for(40, "male").mean_change_per_cm2 == 3.9
    assert natural_history_for(40, "female").sd_change_per_cm2 == 14.6


def test_bad_observation_values_are_input_errors():
    with pytest.raises(InputError, match="density_per_cm2"):
        Observation(START, "vertex", -1.0)
    with pytest.raises(InputError, match="area_cm2"):
        Observation.from_count(START, "vertex", 10, 0.0)
    with pytest.raises(InputError, match="adherence"):
        TreatmentContext(adherence=1.5)


def test_json_shape():
    d = run(responder(20.0)).to_dict()
    for key in (
        "verdict",
        "reason",
        "weeks_since_start",
        "change_per_cm2",
        "change_pct",
        "prob_improved",
        "caveats",
        "sites",
    ):
        assert key in d
    assert set(d["change_per_cm2"]) == {"estimate", "ci_lb", "ci_ub"}
    assert d["verdict"] == "responding"
