"""The overall verdict follows the site verdicts by one stated rule, and its reason is true.

Property tests run the rule over random combinations of site verdicts; the reproductions are the two
contradictions issue 12 reported ("Overall: Responding while every site is Inconclusive"; "adding a brand-new
site flips the overall verdict with a reason that is not true").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from regrow.progress import (
    VERDICT_RULE,
    Observation,
    SiteProgress,
    TreatmentContext,
    Verdict,
    analyse_progress,
    combine_site_verdicts,
)
from regrow.progress._analysis import _verdict_only

START = dt.date(2025, 1, 6)
WEEKS = [-4, 0, 4, 8, 12, 16, 20, 24]
WIGGLE = [4, -5, 3, -4, 5, -3, 4, -2]  # fixed "noise" (hairs/cm2 per unit of scale)
LABEL = {
    Verdict.TOO_EARLY: "too early",
    Verdict.RESPONDING: "responding",
    Verdict.NOT_RESPONDING: "not responding",
    Verdict.INCONCLUSIVE: "inconclusive",
    Verdict.DECLINING: "declining",
}
HEADLINE = {
    Verdict.TOO_EARLY: "Too early to tell overall",
    Verdict.RESPONDING: "Responding overall",
    Verdict.NOT_RESPONDING: "Not responding overall",
    Verdict.INCONCLUSIVE: "Inconclusive overall",
    Verdict.DECLINING: "Declining overall",
}
PROPERTY = settings(max_examples=300, deadline=None, derandomize=True, database=None)


def day(weeks: float) -> dt.date:
    return START + dt.timedelta(days=round(7 * weeks))


def site_series(name, gain_pct, *, level=150.0, scale=1.0, sign=1, weeks=WEEKS):
    return [
        Observation(day(w), name, level * (1 + gain_pct / 100 * max(w, 0) / 24) + sign * scale * e)
        for w, e in zip(weeks, WIGGLE, strict=False)
    ]


def fake_site(name: str, verdict: Verdict, enough: bool) -> SiteProgress:
    return replace(_verdict_only(name, verdict, "", 24.0, 8, 8, ()), enough_data=enough)


# A site with enough data has a model verdict; one without is too early or inconclusive (no baseline, no fit).
counted_site = st.sampled_from(
    [Verdict.RESPONDING, Verdict.DECLINING, Verdict.NOT_RESPONDING, Verdict.INCONCLUSIVE]
).map(lambda v: (v, True))
thin_site = st.sampled_from([Verdict.TOO_EARLY, Verdict.INCONCLUSIVE]).map(lambda v: (v, False))
site_lists = st.lists(st.one_of(counted_site, thin_site), min_size=1, max_size=7).map(
    lambda pairs: [fake_site(f"site {i}", v, e) for i, (v, e) in enumerate(pairs)]
)


def expected_by_the_rule(sites) -> Verdict:
    """The documented rule, restated as set logic (docs/progress.md, 'The overall verdict')."""
    counted = {s.verdict for s in sites if s.enough_data}
    if not counted:
        return (
            Verdict.TOO_EARLY if any(s.verdict is Verdict.TOO_EARLY for s in sites) else Verdict.INCONCLUSIVE
        )
    if {Verdict.RESPONDING, Verdict.DECLINING} <= counted:
        return Verdict.INCONCLUSIVE
    if Verdict.DECLINING in counted:
        return Verdict.DECLINING
    if Verdict.RESPONDING in counted:
        return Verdict.RESPONDING
    if counted == {Verdict.NOT_RESPONDING}:
        return Verdict.NOT_RESPONDING
    return Verdict.INCONCLUSIVE


@PROPERTY
@given(sites=site_lists)
def test_overall_follows_the_stated_rule(sites):
    verdict, _reason = combine_site_verdicts(sites)
    assert verdict is expected_by_the_rule(sites)
    counted = [s for s in sites if s.enough_data]
    if verdict is Verdict.RESPONDING:
        assert any(s.verdict is Verdict.RESPONDING for s in counted)
        assert not any(s.verdict is Verdict.DECLINING for s in counted)
    if verdict is Verdict.DECLINING:
        assert any(s.verdict is Verdict.DECLINING for s in counted)
        assert not any(s.verdict is Verdict.RESPONDING for s in counted)
    if verdict is Verdict.NOT_RESPONDING:
        assert counted and all(s.verdict is Verdict.NOT_RESPONDING for s in counted)
    if verdict is Verdict.TOO_EARLY:
        assert not counted


@PROPERTY
@given(sites=site_lists)
def test_never_responding_overall_while_no_site_responds(sites):
    if not any(s.verdict is Verdict.RESPONDING for s in sites):
        assert combine_site_verdicts(sites)[0] is not Verdict.RESPONDING
    if not any(s.verdict is Verdict.DECLINING for s in sites):
        assert combine_site_verdicts(sites)[0] is not Verdict.DECLINING


@PROPERTY
@given(sites=site_lists, extra=thin_site, data=st.data())
def test_a_site_with_too_little_data_cannot_change_the_overall_verdict(sites, extra, data):
    if not any(s.enough_data for s in sites):
        return
    position = data.draw(st.integers(0, len(sites)))
    more = [*sites[:position], fake_site("new site", *extra), *sites[position:]]
    assert combine_site_verdicts(more)[0] is combine_site_verdicts(sites)[0]


@PROPERTY
@given(sites=site_lists, data=st.data())
def test_order_of_sites_does_not_matter(sites, data):
    shuffled = data.draw(st.permutations(sites))
    assert combine_site_verdicts(shuffled)[0] is combine_site_verdicts(sites)[0]


@PROPERTY
@given(sites=site_lists)
def test_the_reason_names_every_site_once_with_its_own_verdict(sites):
    verdict, reason = combine_site_verdicts(sites)
    assert reason.startswith(HEADLINE[verdict] + ":")
    counted_part, _, thin_part = reason.partition("Not counted (too little data):")
    for s in sites:
        mention = f"{s.site!r} ({LABEL[s.verdict]})"
        assert reason.count(f"{s.site!r} (") == 1, (s.site, reason)
        assert mention in (counted_part if s.enough_data else thin_part), (mention, reason)


def test_no_sites_is_too_early():
    assert combine_site_verdicts([])[0] is Verdict.TOO_EARLY


# --- the reproductions of issue 12 --------------------------------------------------------------------------


def test_responding_overall_while_every_site_is_inconclusive_no_longer_happens():
    # two sites, each +12% by week 24 with noise: neither shows a change beyond its own noise
    obs = site_series("vertex", 12, scale=1.5) + site_series("crown", 12, level=120, scale=1.5, sign=-1)
    rep = analyse_progress(obs, context=TreatmentContext(start=START))
    assert [s.verdict for s in rep.sites] == [Verdict.INCONCLUSIVE, Verdict.INCONCLUSIVE]
    # pooled, the small common change is beyond noise (the old overall said "Responding" on this) ...
    assert rep.overall.change_pct.ci_lb > 0
    # ... but the verdict follows the sites, and the reason says so truthfully
    assert rep.overall.verdict is Verdict.INCONCLUSIVE
    assert rep.overall.reason.startswith(
        "Inconclusive overall: no site with enough data shows a clear change."
    )
    assert "'vertex' (inconclusive), 'crown' (inconclusive)" in rep.overall.reason
    assert "Pooled over the counted sites ('vertex', 'crown'), density changed by +" in rep.overall.reason
    assert rep.verdict_rule == VERDICT_RULE and rep.to_dict()["verdict_rule"] == VERDICT_RULE


def test_adding_a_brand_new_site_does_not_flip_the_overall_verdict():
    alone = analyse_progress(site_series("vertex", 20), context=TreatmentContext(start=START))
    assert alone.overall.verdict is Verdict.RESPONDING
    for weeks in ([20, 24], [12, 16, 20, 24]):  # first measured long after the start: no baseline
        temples = [Observation(day(w), "temples", 100.0 + i) for i, w in enumerate(weeks)]
        rep = analyse_progress(site_series("vertex", 20) + temples, context=TreatmentContext(start=START))
        o = rep.overall
        assert o.verdict is Verdict.RESPONDING
        assert (o.change_per_cm2, o.change_pct) == (alone.overall.change_per_cm2, alone.overall.change_pct)
        # the old reason claimed there was no measurement before the start, true only of the new site
        assert "no measurement from before the treatment started" not in o.reason
        thin = rep.sites[1]
        assert not thin.enough_data and rep.sites[0].enough_data
        assert f"Not counted (too little data): 'temples' ({LABEL[thin.verdict]})." in o.reason
        assert "The change shown is site 'vertex''s, the only site with enough data." in o.reason


def test_sites_that_disagree_are_inconclusive_overall_and_named():
    obs = site_series("vertex", 25) + site_series("crown", -25, level=120)
    rep = analyse_progress(obs, context=TreatmentContext(start=START))
    assert [s.verdict for s in rep.sites] == [Verdict.RESPONDING, Verdict.DECLINING]
    assert rep.overall.verdict is Verdict.INCONCLUSIVE
    assert "the sites disagree" in rep.overall.reason
    assert "'vertex' (responding), 'crown' (declining)" in rep.overall.reason


def test_only_thin_sites_give_a_too_early_overall_without_numbers():
    obs = site_series("vertex", 20, weeks=[0, 4]) + site_series("crown", 20, weeks=[-4, 0, 4, 8])
    rep = analyse_progress(obs, context=TreatmentContext(start=START))
    assert {s.verdict for s in rep.sites} == {Verdict.TOO_EARLY}
    assert rep.overall.verdict is Verdict.TOO_EARLY and not rep.overall.enough_data
    assert rep.overall.change_per_cm2.estimate is None
    assert rep.overall.reason.startswith("Too early to tell overall: no site has enough data yet.")


def test_json_marks_which_sites_count():
    obs = [*site_series("vertex", 20), Observation(day(24), "temples", 100.0)]
    d = analyse_progress(obs, context=TreatmentContext(start=START)).to_dict()
    assert [(s["site"], s["enough_data"]) for s in d["sites"]] == [("vertex", True), ("temples", False)]
    assert d["enough_data"] is True and d["verdict"] == "responding"


def test_a_counted_bald_site_gives_no_percentage_to_pool():
    bald = [Observation(day(w), "patch", 0.0 if w <= 0 else 2.0 * w) for w in WEEKS]
    rep = analyse_progress([*site_series("vertex", 20), *bald], context=TreatmentContext(start=START))
    assert [s.enough_data for s in rep.sites] == [True, True]
    assert (
        "The change shown is site 'vertex''s, the only counted site with hairs at baseline."
        in rep.overall.reason
    )
