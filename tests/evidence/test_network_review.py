"""The review's network meta-analysis: contrasts from the evidence file, per connected part, ranking,
consistency and contributions, checked against hand computations and against the pairwise review."""

from __future__ import annotations

import math

import numpy as np
import pytest

from regrow.evidence._network_review import network_review, network_studies
from regrow.evidence._network_specs import NETWORKS
from regrow.evidence._review import review_comparison
from regrow.evidence._trials import bundled_path, load_data, parse_data

SPECS = {s.id: s for s in NETWORKS}


@pytest.fixture(scope="module")
def data():
    return load_data(bundled_path())


@pytest.fixture(scope="module")
def smd(data):
    return network_review(data, SPECS["density_smd"])


def _study(review_or_list, sid):
    studies = review_or_list.studies if hasattr(review_or_list, "studies") else review_or_list
    return next(s for s in studies if s.study_id == sid)


def test_a_three_arm_trial_gives_correlated_mean_differences_from_its_arms(data):
    studies, _ = network_studies(data, SPECS["density_md"])
    t14 = _study(studies, "T14")
    # North India 2025: PRP + MN 22.1 (4.5, n 40), PRP 13.6 (3.9, n 30), MN 10.9 (4.1, n 30); baseline MN.
    assert t14.baseline == "mn" and t14.treat1 == ("prp", "mn_prp") and t14.from_arms
    assert t14.yi == pytest.approx((13.6 - 10.9, 22.1 - 10.9), rel=1e-12)
    shared = 4.1**2 / 30
    expected = [[3.9**2 / 30 + shared, shared], [shared, 4.5**2 / 40 + shared]]
    assert np.array(t14.V) == pytest.approx(np.array(expected), rel=1e-12)


def test_a_three_arm_binary_trial_uses_log_risks_of_its_arms(data):
    t11 = _study(network_studies(data, SPECS["responders_rr"])[0], "T11")
    # Jha 2019: responders 10 / 17 / 26 of 31 (minoxidil, PRP + MX, MN + PRP + MX); baseline minoxidil.
    assert t11.baseline == "minoxidil" and set(t11.treat1) == {"prp_minoxidil", "mn_prp_minoxidil"}
    by = dict(zip(t11.treat1, t11.yi, strict=True))
    assert by["mn_prp_minoxidil"] == pytest.approx(math.log(26 / 10), rel=1e-12)
    assert by["prp_minoxidil"] == pytest.approx(math.log(17 / 10), rel=1e-12)
    base = 1 / 10 - 1 / 31
    i = t11.treat1.index("mn_prp_minoxidil")
    assert t11.V[i][i] == pytest.approx(1 / 26 - 1 / 31 + base, rel=1e-12)
    assert t11.V[0][1] == pytest.approx(base, rel=1e-12)


def test_standardised_differences_sharing_an_arm_get_the_gleser_olkin_covariance(smd):
    t14 = _study(smd, "T14")
    m = 40 + 30 - 2  # Hedges' exact correction (as metafor computes it)
    j = math.exp(math.lgamma(m / 2) - math.lgamma((m - 1) / 2)) / math.sqrt(m / 2)
    sp = math.sqrt((39 * 4.5**2 + 29 * 4.1**2) / 68)
    g = (22.1 - 10.9) / sp * j
    i = t14.treat1.index("mn_prp")
    assert t14.yi[i] == pytest.approx(g, rel=1e-10)
    g_other = t14.yi[1 - i]
    assert t14.V[0][1] == pytest.approx(1 / 30 + g * g_other / (2 * 100), rel=1e-6)


def test_a_two_arm_trial_enters_with_its_pairwise_effect(data, smd):
    pairwise = {e.study_id: e for e in review_comparison(data, "mn_mx_vs_mx_density_smd").effects}
    for sid in ("T1", "T2", "T3", "T4", "T8"):
        s = _study(smd, sid)
        assert (s.baseline, s.treat1) == ("minoxidil", ("mn_minoxidil",))
        assert s.yi[0] == pytest.approx(pairwise[sid].yi, rel=1e-12)
        assert s.V[0][0] == pytest.approx(pairwise[sid].vi, rel=1e-12)
        assert s.imputed == pairwise[sid].imputed


def test_a_two_treatment_part_equals_the_pairwise_reml_estimate(data, smd):
    part = smd.component_of("mn_minoxidil")
    pooled = review_comparison(data, "mn_mx_vs_mx_density_smd").pooled
    est = part.estimate("mn_minoxidil", "minoxidil")
    assert est["estimate"] == pytest.approx(pooled.estimate, rel=1e-7)
    assert part.tau2 == pytest.approx(pooled.tau2, rel=1e-6)
    # the network uses a z interval (metafor's rma.mv default), the pairwise review Knapp-Hartung
    assert est["ci_ub"] - est["ci_lb"] == pytest.approx(2 * 1.959963984540054 * est["se"], rel=1e-9)


def test_a_disconnected_network_is_analysed_per_part_and_names_the_missing_links(smd):
    assert not smd.connected
    parts = sorted(tuple(sorted(c.treatments)) for c in smd.components)
    assert parts == [("minoxidil", "mn_minoxidil"), ("mn", "mn_prp", "prp")]
    # T18 randomised micro-needling alone, MN + minoxidil and minoxidil, but no numbers were reachable
    assert "T18" in smd.bridging
    assert "T9 + T17b" in smd.bridging
    assert {"placebo", "mn_other_topical"} <= set(smd.treatments_compared) - set(smd.treatments_with_data)
    why = {e.study_id: e.reason for e in smd.excluded}
    assert "both arms receive" in why["T17a"] and "not reported" in why["T7"]


def test_contributions_reproduce_the_estimate_and_follow_inverse_variance_weights(smd):
    part = smd.component_of("mn_minoxidil")
    shares = part.contributions[("mn_minoxidil", "minoxidil")]
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-12)
    w = {s.study_id: 1 / (s.V[0][0] + part.tau2) for s in part.studies}
    total = sum(w.values())
    for sid, share in shares.items():
        assert share == pytest.approx(w[sid] / total, rel=1e-9)


def test_the_hat_matrix_gives_every_league_estimate(smd):
    from regrow.evidence._network_review import _hat_rows

    part = smd.component_of("mn")
    H, _ = _hat_rows(part.result)
    beta = H @ part.result.data.yi
    assert beta == pytest.approx(part.result.fit.beta, rel=1e-8)


def test_p_scores_average_one_half_and_ranks_have_intervals(smd):
    part = smd.component_of("mn")
    rk = part.ranking
    assert rk.pscore.mean() == pytest.approx(0.5, abs=1e-12)  # Rücker & Schwarzer 2015
    assert np.all(rk.rank_lb <= rk.mean_rank) and np.all(rk.mean_rank <= rk.rank_ub)
    assert rk.sucra == pytest.approx(rk.pscore, abs=0.02)


def test_the_loop_gets_node_splitting_and_the_design_by_treatment_test(smd):
    part = smd.component_of("mn")
    assert part.design_by_treatment is not None and part.design_by_treatment.df == 2
    split = part.split("mn_prp", "mn")
    assert split is not None and split.n_studies == 2
    assert split.direct - split.indirect == pytest.approx(split.diff, rel=1e-9)
    assert part.certainty[("mn_prp", "mn")].label == "very low"


# ------------------------------------------------------------------------------- CINeMA on made-up trials


def _trial(sid, rob, pairs, *, indirect=()):
    arms = sorted({t for pair in pairs for t, _ in pair})
    ids = {t: chr(65 + i) for i, t in enumerate(arms)}
    return {
        "id": sid, "first_author": f"Test {sid}", "design": "parallel", "randomised": "yes",
        "blinding": "evaluator", "condition": "AGA", "urls": [f"https://example.org/{sid}"],
        "year": {"value": 2024, "status": "user"}, "indirect": list(indirect),
        "provenance": {"source": f"https://example.org/{sid}", "location": "Table 1"},
        "rob2": {d: rob for d in ("randomisation", "deviations", "missing_data", "measurement", "selection")}
        | {"overall": rob, "basis": "made up for a test"},
        "arms": [{"id": ids[t], "treatment": t} for t in arms],
        "outcomes": [
            {"comparison": "c", "outcome": "hair density, change from baseline", "unit": "hairs/cm2",
             "value_type": "change",
             "intervention": {"arm": ids[a], **_nums(ma)}, "comparator": {"arm": ids[b], **_nums(mb)}}
            for (a, ma), (b, mb) in pairs
        ],
    }  # fmt: skip


def _nums(mean, sd=10.0, n=50):
    return {k: {"value": v, "status": "user"} for k, v in (("n", n), ("mean", mean), ("sd", sd))}


def _evidence(studies):
    return parse_data({
        "schema_version": 1, "data_version": "test",
        "comparisons": [{"id": "c", "title": "A vs B", "outcome": "hair density, change from baseline",
                         "measure": "MD", "unit": "hairs/cm2"}],
        "studies": studies,
    }, path="test.yaml")  # fmt: skip


def test_cinema_rules_on_a_coherent_loop_of_low_risk_trials():
    studies = [
        _trial("S1", "low", [(("mn_minoxidil", 70.0), ("minoxidil", 20.0))]),
        _trial("S2", "low", [(("mn_minoxidil", 72.0), ("minoxidil", 21.0))]),
        _trial("S3", "low", [(("mn", 40.0), ("minoxidil", 20.0))]),
        _trial("S4", "low", [(("mn_minoxidil", 70.0), ("mn", 41.0))]),
    ]
    nr = network_review(_evidence(studies), SPECS["density_md"])
    (part,) = nr.components
    cj = part.certainty[("mn_minoxidil", "minoxidil")]
    judged = {d.name: d.judgement for d in cj.domains}
    assert judged["within_study_bias"] == "no concerns"
    assert judged["reporting_bias"] == "no concerns"
    assert judged["indirectness"] == "no concerns"
    assert judged["incoherence"] == "no concerns"  # direct 50.5 vs indirect 49, node split p well above 0.10
    # CI about 50 +/- 4 hairs/cm2, wholly above the MID of 43.36: no imprecision concerns
    assert judged["imprecision"] == "no concerns" and cj.label == "high"


def test_cinema_flags_incoherence_bias_and_indirectness():
    studies = [
        _trial("S1", "high", [(("mn_minoxidil", 70.0), ("minoxidil", 20.0))], indirect=["home device"]),
        _trial("S2", "high", [(("mn_minoxidil", 72.0), ("minoxidil", 21.0))], indirect=["home device"]),
        _trial("S3", "low", [(("mn", 40.0), ("minoxidil", 20.0))]),
        _trial("S4", "low", [(("mn_minoxidil", 30.0), ("mn", 41.0))]),  # disagrees with the loop
    ]
    nr = network_review(_evidence(studies), SPECS["density_md"])
    (part,) = nr.components
    judged = {d.name: d.judgement for d in part.certainty[("mn_minoxidil", "minoxidil")].domains}
    assert part.split("mn_minoxidil", "minoxidil").pval < 0.05
    assert judged["incoherence"] == "major concerns"
    assert judged["within_study_bias"] in ("some concerns", "major concerns")
    assert judged["indirectness"] == "some concerns"


def test_a_trial_without_numbers_raises_reporting_bias_concerns():
    silent = _trial("S9", "low", [(("mn_minoxidil", 0.0), ("minoxidil", 0.0))])
    for side in ("intervention", "comparator"):
        silent["outcomes"][0][side]["mean"] = "UNVERIFIED"
    silent["outcomes"][0]["intervention"]["n"] = {"value": 200, "status": "user"}
    silent["outcomes"][0]["comparator"]["n"] = {"value": 200, "status": "user"}
    silent["n_total"] = {"value": 400, "status": "user"}
    studies = [_trial("S1", "low", [(("mn_minoxidil", 70.0), ("minoxidil", 20.0))]),
               _trial("S2", "low", [(("mn_minoxidil", 72.0), ("minoxidil", 21.0))]), silent]  # fmt: skip
    nr = network_review(_evidence(studies), SPECS["density_md"])
    (part,) = nr.components
    rb = next(d for d in part.certainty[("mn_minoxidil", "minoxidil")].domains if d.name == "reporting_bias")
    assert rb.judgement == "major concerns" and "S9" in rb.reason and "400 of 600" in rb.reason
