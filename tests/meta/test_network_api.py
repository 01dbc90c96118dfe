"""Network meta-analysis: input formats, invariances, rankings, plot and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from mv_refs import load

from regrow.errors import InputError
from regrow.meta import network_arms, network_contrasts, network_meta, network_rank, plot_network, pscores


@pytest.fixture(scope="module")
def senn():
    d = load("senn2013")
    net = network_arms(d["study"], d["trt"], measure="MD", mean=d["mi"], sd=d["sdi"], n=d["ni"])
    return d, net, network_meta(net, reference="placebo")


def _contrast_rows(d):
    """senn2013 as contrast-level rows: each study against its first arm, cov = that arm's variance."""
    rows = {"study": [], "treat1": [], "treat2": [], "yi": [], "vi": [], "cov": []}
    for s in dict.fromkeys(d["study"].tolist()):
        idx = np.flatnonzero(d["study"] == s)
        base, others = idx[0], idx[1:]
        vb = d["sdi"][base] ** 2 / d["ni"][base]
        for i in others:
            rows["study"].append(s)
            rows["treat1"].append(d["trt"][i])
            rows["treat2"].append(d["trt"][base])
            rows["yi"].append(d["mi"][i] - d["mi"][base])
            rows["vi"].append(d["sdi"][i] ** 2 / d["ni"][i] + vb)
            rows["cov"].append(vb)
    return rows


def test_contrast_level_input_gives_the_arm_level_fit(senn):
    d, _, res = senn
    rows = _contrast_rows(d)
    net = network_contrasts("study", "treat1", "treat2", "yi", "vi", cov="cov", data=rows, measure="MD")
    again = network_meta(net, reference="placebo")
    np.testing.assert_allclose(again.fit.beta, res.fit.beta, rtol=1e-9)
    assert again.tau2 == pytest.approx(res.tau2, rel=1e-7)


def test_the_fit_does_not_depend_on_each_studys_baseline_arm(senn):
    _, net, res = senn
    rebased = net.rebased({s: arms[-1] for s, arms in net.arms.items()})
    again = network_meta(rebased, reference="placebo")
    np.testing.assert_allclose(again.fit.beta, res.fit.beta, rtol=1e-8)
    np.testing.assert_allclose(again.fit.se, res.fit.se, rtol=1e-7)


def test_changing_the_reference_only_shifts_the_effects(senn):
    _, net, res = senn
    other = network_meta(net, reference="metformin")
    # metformin minus acarbose, from either fit
    assert other.league().estimate[0, 1] == pytest.approx(res.league().estimate[3, 1], abs=1e-7)
    eff = res.effects(reference="metformin")
    by_metformin = dict(zip(other.effects().treatments, other.effects().estimate, strict=True))
    for t, est in zip(eff.treatments, eff.estimate, strict=True):
        assert est == pytest.approx(by_metformin[t], abs=1e-7)


def test_default_reference_is_the_most_studied_treatment(senn):
    _, net, _ = senn
    assert network_meta(net).reference == "placebo"


def test_effects_intervals(senn):
    _, _, res = senn
    eff = res.effects()
    assert eff.estimate[0] == 0 and eff.se[0] == 0
    assert np.all(eff.ci_lb[1:] < eff.estimate[1:]) and np.all(eff.pi_lb[1:] < eff.ci_lb[1:])
    # the prediction interval adds tau^2: its half-width is crit * sqrt(se^2 + tau2)
    half = (eff.pi_ub - eff.pi_lb)[1:] / 2
    np.testing.assert_allclose(half, 1.959963984540054 * np.sqrt(eff.se[1:] ** 2 + res.tau2), rtol=1e-12)


def test_ranking_sucra_agrees_with_pscores_within_monte_carlo_error(senn):
    _, _, res = senn
    rk = res.rank(small_values="good", n_sim=20_000, seed=7)
    assert np.all(np.abs(rk.sucra - rk.pscore) <= 4 * rk.sucra_mcse + 1e-12)
    np.testing.assert_allclose(rk.rank_probs.sum(axis=1), 1.0)
    np.testing.assert_allclose(rk.rank_probs.sum(axis=0), 1.0)
    assert np.all(rk.rank_lb <= rk.median_rank) and np.all(rk.median_rank <= rk.rank_ub)
    assert rk.order()[0] == "rosiglitazone" and rk.order()[-1] == "placebo"
    again = res.rank(small_values="good", n_sim=20_000, seed=7)
    np.testing.assert_array_equal(again.rank_probs, rk.rank_probs)


def test_pscores_reverse_with_the_direction(senn):
    _, _, res = senn
    good = network_rank(res, small_values="good", n_sim=500).pscore
    bad = network_rank(res, small_values="bad", n_sim=500).pscore
    np.testing.assert_allclose(good + bad, 1.0, rtol=1e-12)


def test_pscores_of_two_treatments_are_the_one_sided_p_values():
    b = np.array([0.0, 0.5])
    vb = np.diag([0.0, 0.04])
    ps, prob = pscores(b, vb, small_values="bad")
    from scipy.stats import norm

    assert ps[1] == pytest.approx(norm.cdf(0.5 / 0.2)) and ps[0] == pytest.approx(norm.sf(0.5 / 0.2))
    assert np.isnan(prob[0, 0])


def test_fixed_effect_network(senn):
    _, net, res = senn
    fixed = network_meta(net, reference="placebo", heterogeneity="fixed")
    assert fixed.tau2 == 0 and np.all(fixed.fit.se < res.fit.se)
    with pytest.raises(InputError, match="heterogeneity='common'"):
        fixed.random_inconsistency()


def test_requested_node_split(senn):
    _, _, res = senn
    (split,) = res.node_split(pairs=[("placebo", "metformin")])
    (auto,) = [s for s in res.node_split() if {s.treat1, s.treat2} == {"placebo", "metformin"}]
    assert split.diff == pytest.approx(-auto.diff, abs=1e-9)
    assert split.direct == pytest.approx(-auto.direct, abs=1e-9)
    with pytest.raises(InputError, match="No study compares 'sitagliptin' with 'vildagliptin'"):
        res.node_split(pairs=[("sitagliptin", "vildagliptin")])
    with pytest.raises(InputError, match="Unknown treatment 'aspirin'"):
        res.node_split(pairs=[("aspirin", "placebo")])


def test_network_plot(senn, tmp_path):
    _, net, res = senn
    out = tmp_path / "network.png"
    fig = res.plot(path=out, title="Glucose-lowering agents")
    assert out.stat().st_size > 10_000
    ax = fig.axes[0]
    assert ax.get_title() == "Glucose-lowering agents"
    labels = {t.get_text() for t in ax.texts}
    assert set(net.treatments) <= labels
    assert {"6", "4", "3"} <= labels  # studies per comparison on the lines
    with pytest.raises(InputError, match="order must list each treatment"):
        plot_network(net, order=["placebo"])
    from matplotlib import pyplot as plt

    plt.close(fig)


def test_double_zero_studies_are_dropped_with_a_warning():
    d = load("dogliotti2014")
    net = network_arms(d["study"], d["trt"], measure="OR", events=d["xi"], n=d["ni"])
    assert any("WASPO" in w and "left out" in w for w in net.warnings)
    assert "WASPO, 2007" not in net.arms
    res = network_meta(net)
    assert any("WASPO" in w for w in res.warnings)


def test_continuity_correction_only_where_needed():
    net = network_arms(
        ["a", "a", "b", "b"], ["X", "Y", "X", "Y"], measure="OR", events=[0, 5, 3, 6], n=[20] * 4
    )
    # study a: 1/2 added to both arms; study b: untouched
    assert net.yi[0] == pytest.approx(np.log(5.5 / 15.5) - np.log(0.5 / 20.5))
    assert net.yi[1] == pytest.approx(np.log(6 / 14) - np.log(3 / 17))


@pytest.mark.parametrize("measure", ["RR", "RD", "ROM"])
def test_other_arm_level_measures(measure):
    kwargs = (
        {"events": [4, 9, 5, 12]} if measure != "ROM" else {"mean": [10.0, 14.0, 9.0, 15.0], "sd": [3.0] * 4}
    )
    net = network_arms(["a", "a", "b", "b"], ["X", "Y", "X", "Y"], measure=measure, n=[40] * 4, **kwargs)
    res = network_meta(net, reference="X", heterogeneity="fixed")
    if measure == "RR":
        expected = [np.log(9 / 4), np.log(12 / 5)]
    elif measure == "RD":
        expected = [5 / 40, 7 / 40]
    else:
        expected = [np.log(14 / 10), np.log(15 / 9)]
    np.testing.assert_allclose(net.yi, expected, rtol=1e-12)
    assert res.effects().estimate[1] == pytest.approx(res.fit.beta[0])


@pytest.mark.parametrize(
    ("study", "treatment", "kwargs", "match"),
    [
        (["a", "a", "b"], ["X", "Y", "X"], {}, "Study 'b' has a single arm"),
        (["a", "a", "a"], ["X", "Y", "X"], {}, "lists treatment 'X' more than once"),
        (["a", None, "b", "b"], ["X", "Y", "X", "Y"], {}, "study is missing in row 2"),
        (["a", "a", "b", "b"], ["X", "Y", "X", "Y"], {"measure": "SMDX"}, "Invalid measure"),
        (["a", "a", "b", "b"], ["X", "Y", "X", "Y"], {"n": [20, 0, 20, 20]}, "row 2 has 0"),
        (["a", "a", "b", "b"], ["X", "Y", "X", "Y"], {"sd": [1, -1, 1, 1]}, "sd must be >= 0; row 2"),
        (["a", "a", "b", "b"], ["X", "Y", "X", "Y"], {"sd": [1, 0, 1, 0]}, "sampling variance of 0"),
        (
            ["a", "a", "b", "b"],
            ["X", "Y", "X", "Y"],
            {"mean": [1, np.nan, 1, 1]},
            "mean is missing or not finite in row 2",
        ),
    ],
)
def test_bad_arm_level_input(study, treatment, kwargs, match):
    k = len(study)
    args = {"measure": "MD", "mean": [1.0, 2, 1.5, 2.5][:k], "sd": [1.0] * k, "n": [20] * k}
    args.update(kwargs)
    with pytest.raises(InputError, match=match):
        network_arms(study, treatment, **args)


def test_bad_binary_input():
    with pytest.raises(InputError, match=r"events must lie in \[0, n\]; row 2 has 25 of 20"):
        network_arms(["a", "a"], ["X", "Y"], measure="OR", events=[3, 25], n=[20, 20])
    with pytest.raises(InputError, match="needs events="):
        network_arms(["a", "a"], ["X", "Y"], measure="OR", n=[20, 20])
    with pytest.raises(InputError, match="Invalid to"):
        network_arms(["a", "a"], ["X", "Y"], measure="OR", events=[1, 2], n=[20, 20], to="some")


def test_disconnected_network_names_the_groups():
    net = network_arms(["a", "a", "b", "b", "c", "c"], ["X", "Y", "X", "Y", "P", "Q"], measure="MD",
                       mean=[1.0, 2, 1, 2, 0, 1], sd=[1.0] * 6, n=[30] * 6)  # fmt: skip
    with pytest.raises(InputError, match=r"not connected: .*\{P, Q\}; \{X, Y\}"):
        network_meta(net)


def test_unknown_reference_lists_the_treatments(senn):
    _, net, res = senn
    with pytest.raises(InputError, match="Unknown reference 'PRP'; the network's treatments are acarbose"):
        network_meta(net, reference="PRP")
    with pytest.raises(InputError, match="Unknown reference 'PRP'"):
        res.effects(reference="PRP")
    with pytest.raises(InputError, match="Invalid heterogeneity"):
        network_meta(net, heterogeneity="random")
    with pytest.raises(InputError, match="Invalid small_values"):
        res.rank(small_values="better")


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        ({"study": ["a", "a"], "treat1": ["Y", "Z"], "treat2": ["X", "Y"]}, "different treat2 values"),
        (
            {"study": ["a", "a"], "treat1": ["Y", "Y"], "treat2": ["X", "X"]},
            "compares a treatment with itself",
        ),
        ({"study": ["a", "a"], "treat1": ["Y", "Z"], "treat2": ["X", "X"], "cov": None}, "give cov"),
        (
            {"study": ["a", "a"], "treat1": ["Y", "Z"], "treat2": ["X", "X"], "cov": [0.5, 0.5]},
            "not positive definite",
        ),
        (
            {"study": ["a", "b"], "treat1": ["Y", "Y"], "treat2": ["X", "X"], "vi": [0.1, 0.0]},
            "vi must be > 0; row 2",
        ),
    ],
)
def test_bad_contrast_level_input(rows, match):
    args = {"yi": [0.2, 0.3], "vi": [0.1, 0.1], "cov": [0.05, 0.05]}
    args.update(rows)
    with pytest.raises(InputError, match=match):
        network_contrasts(
            args["study"], args["treat1"], args["treat2"], args["yi"], args["vi"], cov=args["cov"]
        )


def test_no_loop_means_no_consistency_test():
    net = network_arms(["a", "a", "b", "b"], ["X", "Y", "X", "Z"], measure="MD", mean=[1.0, 2, 1, 3],
                       sd=[1.0] * 4, n=[30] * 4)  # fmt: skip
    res = network_meta(net, heterogeneity="fixed")
    assert res.fit.QE == 0 and res.fit.QEp == 1  # two contrasts, two effects: a saturated model
    with pytest.raises(InputError, match="no loop"):
        res.design_by_treatment()
    assert res.node_split() == []
