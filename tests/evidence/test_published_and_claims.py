"""Published reviews beside our estimates (reasons computed from the data) and the verdicts on the article's
claims."""

from __future__ import annotations

import dataclasses

import pytest

from regrow.evidence._claims import CLAIMS
from regrow.evidence._full_review import full_review
from regrow.evidence._published import compare_published, versus_published
from regrow.evidence._review import review_comparison
from regrow.evidence._trials import Number, Outcome, bundled_path, load_data


@pytest.fixture(scope="module")
def data():
    return load_data(bundled_path())


@pytest.fixture(scope="module")
def full(data):
    return full_review(data)


def _entry(full, ma_id):
    return next(p for p in full.published if p["id"] == ma_id)


def _side(entry, kind):
    return next(s for s in entry["ours"] if s["kind"] == kind)


def test_trial_counts_and_the_unknown_list_come_from_the_data_and_the_screening_log(full):
    side = _side(_entry(full, "MA1"), "pairwise")
    trials = side["differences"][0]
    assert "they pooled 11 trials (631 people), we pooled 5" in trials
    assert "screening record S100" in trials and "at least 6 of their trials" in trials
    assert side["study_ids"] == ["T1", "T2", "T3", "T4", "T8"]


def test_a_known_included_list_is_compared_trial_by_trial(data, full):
    ahmed = next(m for m in data.published if m.id == "MA1")
    changed = dataclasses.replace(
        data, published=(dataclasses.replace(ahmed, included_studies=("T1", "T2")),)
    )
    (entry,) = compare_published(changed, full.results, full.networks, full.screening)
    trials = _side(entry, "pairwise")["differences"][0]
    assert "both use T1, T2" in trials and "only ours use T3, T4, T8" in trials
    assert "9 of theirs are not in our evidence file" in trials


def test_scales_are_compared_only_when_they_match(full):
    diameter = _side(_entry(full, "MA1b"), "pairwise")["differences"]
    assert any("theirs is SMD, ours is MD (um)" in d for d in diameter)
    xu = _side(_entry(full, "MA3"), "pairwise")["differences"]
    same = next(d for d in xu if d.startswith("Same scale (MD)"))
    assert "15.8 lies inside our 95% CI" in same


def test_a_network_estimate_across_disconnected_parts_is_not_invented(full):
    side = _side(_entry(full, "MA5b"), "network")
    assert side["estimable"] is False and side["certainty"] == "no evidence"
    assert "separate parts" in side["why_not"] and "T9 + T17b" in side["why_not"]


def test_the_pairwise_sentence_changes_when_the_data_change(data):
    before = versus_published(review_comparison(data, "mn_mx_vs_mx_density"))
    assert "we pooled 3 (204 people)" in before
    t4 = data.study("T4")
    out = t4.outcomes[0]
    sds = {k: Number(v, "user", source=t4.urls[0], location="test") for k, v in (("sd", 20.0), ("n", 18.0))}
    richer = dataclasses.replace(
        out,
        intervention=dataclasses.replace(out.intervention, **sds),
        comparator=dataclasses.replace(out.comparator, **sds),
    )
    changed = dataclasses.replace(
        data,
        studies=tuple(
            dataclasses.replace(s, outcomes=(richer, *s.outcomes[1:])) if s.id == "T4" else s
            for s in data.studies
        ),
    )
    after = versus_published(review_comparison(changed, "mn_mx_vs_mx_density"))
    assert after != before
    assert "2 of our 3 trials (T1, T2)" in after  # T4's SDs and arm sizes are no longer imputed


def test_every_claim_of_the_article_gets_a_verdict(full):
    assert [c["id"] for c in full.claims] == [c.id for c in CLAIMS]
    by = {c["id"]: c for c in full.claims}
    assert by["inflammation"]["certainty"] == "no evidence"
    assert "No trial in the evidence file measured scalp inflammation" in by["inflammation"]["verdict"]
    assert (
        by["durability"]["certainty"] == "no evidence"
        and "Aggarwal K 2020 (T12)" in by["durability"]["verdict"]
    )
    assert by["safety"]["certainty"] == "not graded"
    assert "Trials with arms at different needle lengths: T3, T17a" in by["moderators"]["verdict"]


def test_the_density_verdict_follows_the_results(full):
    by = {c["id"]: c for c in full.claims}
    density = by["density"]
    supportive = [e for e in density["evidence"] if e.get("favourable")]
    # only the network's MN + minoxidil vs minoxidil SMD excludes no effect, at very low certainty
    assert [e["id"] for e in supportive] == ["density_smd:mn_minoxidil:minoxidil"]
    assert density["certainty"] == "very low" and density["verdict"].startswith(
        "Some estimates point that way"
    )
    assert by["thickness"]["verdict"].startswith("The trials do not show it")


def test_an_inflammation_outcome_is_found_when_a_trial_reports_one(data):
    from regrow.evidence._claims import claim_verdicts

    t1 = data.study("T1")
    extra = Outcome(comparison="mn_mx_vs_mx_diameter", outcome="scalp inflammation score", unit="um",
                    value_type="change", intervention=t1.outcomes[0].intervention,
                    comparator=t1.outcomes[0].comparator)  # fmt: skip
    changed = dataclasses.replace(
        data,
        studies=tuple(
            dataclasses.replace(s, outcomes=(*s.outcomes, extra)) if s.id == "T1" else s for s in data.studies
        ),
    )
    verdict = next(c for c in claim_verdicts(changed, [], []) if c["id"] == "inflammation")
    assert verdict["certainty"] == "not graded" and verdict["evidence"][0]["id"] == "T1"
