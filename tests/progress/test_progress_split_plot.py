"""Split-scalp self-experiment, plots and the public surface of regrow.progress."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import pytest

import regrow.progress as progress
from regrow.errors import InputError
from regrow.progress import (
    Observation,
    TreatmentContext,
    Verdict,
    analyse_progress,
    analyse_split_scalp,
    plot_progress,
    randomise_split_scalp,
)

START = dt.date(2024, 9, 2)  # so the autumn shed falls inside the experiment
WEEKS = np.array([-2, 0, 4, 8, 12, 16, 20, 24])


def split_person(rng, effect_pct, *, k=2, level=150.0, cv=0.06):
    """Both halves share a seasonal dip of -8% at weeks 8-12 and a common drift; only the needled "
    "side gains."""
    obs = []
    season = np.where((WEEKS >= 8) & (WEEKS <= 12), -0.08, 0.0)
    w = np.maximum(WEEKS, 0)
    for side, eff in (("left", effect_pct), ("right", 0.0)):
        true = level * (1 + season + 0.02 * w / 24 + eff / 100 * w / 24)
        for j, t in enumerate(true):
            for _ in range(k):
                d = START + dt.timedelta(weeks=int(WEEKS[j]))
                obs.append(Observation(d, side, float(t + rng.normal(0, cv * level))))
    return obs


def test_randomisation_is_reproducible_with_a_seed_and_balanced():
    a = randomise_split_scalp(seed=3)
    assert a == randomise_split_scalp(seed=3)
    assert {a.treated_site, a.control_site} == {"left", "right"}
    draws = Counter(randomise_split_scalp(seed=s).treated_site for s in range(400))
    assert abs(draws["left"] - 200) <= 3 * 10  # binomial(400, 0.5): SD 10
    assert randomise_split_scalp().treated_site in ("left", "right")
    with pytest.raises(InputError):
        randomise_split_scalp(sides=("left", "LEFT"))


def test_paired_analysis_detects_the_needled_side_through_a_seasonal_dip(rng):
    n = 150
    hits = calls = 0
    for _ in range(n):
        res = analyse_split_scalp(
            split_person(rng, 25.0),
            treated_site="left",
            control_site="right",
            context=TreatmentContext(start=START),
        )
        calls += res.verdict is Verdict.RESPONDING
        hits += res.difference_per_cm2.ci_lb <= 37.5 <= res.difference_per_cm2.ci_ub  # 150 * 25%
        assert res.n_paired_visits == WEEKS.size
    assert calls >= 0.8 * n
    assert abs(hits / n - 0.95) <= 3 * (0.95 * 0.05 / n) ** 0.5


def test_paired_analysis_false_positive_rate(rng):
    n = 150
    calls = Counter(
        analyse_split_scalp(
            split_person(rng, 0.0),
            treated_site="left",
            control_site="right",
            context=TreatmentContext(start=START),
        ).verdict
        for _ in range(n)
    )
    assert calls[Verdict.RESPONDING] <= 0.05 * n, calls


def test_split_thin_data_gives_reasons():
    one = [Observation(START, "left", 150.0), Observation(START, "right", 150.0)]
    res = analyse_split_scalp(one, treated_site="left", control_site="right")
    assert res.verdict is Verdict.TOO_EARLY and "at least 3" in res.reason
    none = analyse_split_scalp([Observation(START, "left", 1.0)], treated_site="left", control_site="right")
    assert none.verdict is Verdict.TOO_EARLY
    with pytest.raises(InputError):
        analyse_split_scalp(one, treated_site="left", control_site="Left")


def test_plot_writes_an_image(tmp_path, rng):
    rep = analyse_progress(split_person(rng, 25.0), context=TreatmentContext(start=START), trajectory=True)
    out = plot_progress(rep, tmp_path / "progress.png")
    assert out.stat().st_size > 10_000
    with pytest.raises(InputError, match="plot file"):
        plot_progress(rep, tmp_path / "progress.txt")


def test_trajectory_band_contains_fitted_line(rng):
    rep = analyse_progress(split_person(rng, 25.0), context=TreatmentContext(start=START), trajectory=True)
    t = rep.sites[0].trajectory
    assert all(lb <= e <= ub for e, lb, ub in zip(t["estimate"], t["lb"], t["ub"], strict=True))
    assert t["weeks"][0] == -2.0 and t["weeks"][-1] == 24.0


def test_public_names_are_pinned():
    assert sorted(progress.__all__) == sorted(
        [
            "NATURAL_HISTORY",
            "VERDICT_RULE",
            "Caveat",
            "CountedLess",
            "ExcludedMeasurement",
            "ExpectedResponse",
            "Interval",
            "NaturalHistory",
            "Observation",
            "ProgressReport",
            "SiteProgress",
            "SplitAssignment",
            "SplitScalpResult",
            "TreatmentContext",
            "TrendPosterior",
            "Verdict",
            "VisitChange",
            "analyse_progress",
            "analyse_split_scalp",
            "combine_site_verdicts",
            "fit_trend",
            "natural_history_for",
            "plot_progress",
            "randomise_split_scalp",
        ]
    )
    for name in progress.__all__:
        assert hasattr(progress, name)
