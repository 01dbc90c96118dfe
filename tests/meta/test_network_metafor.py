"""Network meta-analysis against metafor 3.8-1's contrast-based rma.mv on dat.hasselblad1998, dat.senn2013 and
dat.dogliotti2014 (the R script builds the contrasts, V, the inconsistency models and the node splits itself)."""

from __future__ import annotations

import numpy as np
import pytest
from mv_refs import MV_RTOL, check_fit, close, load, ref

from regrow.meta import network_arms, network_meta

NETWORKS = {
    "hasselblad1998": ("no_contact", "bad"),
    "senn2013": ("placebo", "good"),
    "dogliotti2014": ("Placebo/Control", "good"),
}
CHECKED = {
    (f"network_{n}", s)
    for n in NETWORKS
    for s in ("treatments", "reference", "measure", "contrasts", "V", "fit", "league", "pscore", "small_values_good",
              "design_by_treatment", "random_inconsistency", "node_split")
}  # fmt: skip


def _arms(name: str):
    d = load(name)
    if name == "senn2013":
        return network_arms(d["study"], d["trt"], measure="MD", mean=d["mi"], sd=d["sdi"], n=d["ni"])
    # metafor's hasselblad example adds 1/2 to every cell of every study
    to = "all" if name == "hasselblad1998" else "only0"
    return network_arms(d["study"], d["trt"], measure="OR", events=d["xi"], n=d["ni"], to=to)


@pytest.fixture(scope="module", params=sorted(NETWORKS))
def network(request):
    name = request.param
    reference, _ = NETWORKS[name]
    return name, ref(f"network_{name}"), network_meta(_arms(name), reference=reference)


def test_contrasts_and_sampling_covariances(network):
    name, r, res = network
    assert res.treatments == r["treatments"] and res.reference == r["reference"]
    c = r["contrasts"]
    fitted = res.fit
    # the fit's data are the study contrasts against each study's first arm in the network order
    close(fitted.yi, c["yi"], rtol=1e-12, atol=1e-14, what=f"{name} yi")
    V = np.zeros((fitted.k, fitted.k))
    setup = fitted._setup
    V[np.diag_indices(fitted.k)] = setup["V_diag"]
    for rows, mat in setup["V_blocks"]:
        V[np.ix_(rows, rows)] = mat
    close(V, r["V"], rtol=1e-12, atol=1e-15, what=f"{name} V")


def test_consistency_model(network):
    name, r, res = network
    # comparison labels: "trt1-trt2" in the R script, "trt1 vs trt2" here; G is the same in any order (CS)
    reference = {key: value for key, value in r["fit"].items() if key != "g_levels"}
    check_fit(res.fit, reference, label=name)
    assert res.tau2 == pytest.approx(r["fit"]["tau2"][0], rel=MV_RTOL)


def test_league_table(network):
    name, r, res = network
    league = res.league()
    close(league.estimate, r["league"]["estimate"], rtol=MV_RTOL, atol=1e-12, what=f"{name} league")
    close(league.se, r["league"]["se"], rtol=MV_RTOL, atol=1e-12, what=f"{name} league se")
    # antisymmetric estimates, symmetric standard errors
    np.testing.assert_allclose(league.estimate, -league.estimate.T, atol=1e-15)
    np.testing.assert_allclose(league.se, league.se.T, atol=1e-15)


def test_pscores(network):
    name, r, res = network
    small = NETWORKS[name][1]
    assert r["small_values_good"] == (small == "good")
    ranking = res.rank(small_values=small, n_sim=2000, seed=1)
    close(ranking.pscore, r["pscore"], rtol=MV_RTOL, atol=1e-9, what=f"{name} P-scores")


def test_design_by_treatment_interaction(network):
    name, r, res = network
    dbt = res.design_by_treatment()
    close(dbt.QM, r["design_by_treatment"]["QM"], rtol=MV_RTOL, what=f"{name} Q")
    assert dbt.df == r["design_by_treatment"]["df"]
    close(dbt.pval, r["design_by_treatment"]["pval"], rtol=MV_RTOL, what=f"{name} p")
    close(dbt.tau2, r["design_by_treatment"]["tau2"], rtol=MV_RTOL, what=f"{name} tau2")


def test_random_inconsistency_model(network):
    name, r, res = network
    law = res.random_inconsistency()
    ref_fit = r["random_inconsistency"]
    close(law.beta, ref_fit["beta"], rtol=MV_RTOL, what=f"{name} beta")
    close(law.se, ref_fit["se"], rtol=MV_RTOL, what=f"{name} se")
    close(law.tau2, ref_fit["tau2"], rtol=MV_RTOL, what=f"{name} tau2")
    close(law.gamma2, ref_fit["gamma2"], rtol=MV_RTOL, atol=1e-7, what=f"{name} gamma2")  # at the 0 boundary
    # gamma2 sits on the boundary: R stops at ~1e-9, which moves the log-likelihood by ~1e-8
    close(
        law.fit_stats["REML"]["ll"],
        ref_fit["fit_stats"]["REML"]["ll"],
        rtol=1e-9,
        atol=1e-7,
        what=f"{name} ll",
    )


def test_node_splitting(network):
    name, r, res = network
    splits = res.node_split()
    refs = r["node_split"]
    assert [(s.treat1, s.treat2, s.n_studies) for s in splits] == [
        (x["treat1"], x["treat2"], x["n_studies"]) for x in refs
    ]
    for s, x in zip(splits, refs, strict=True):
        what = f"{name} {s.treat1} vs {s.treat2}"
        for key in ("direct", "direct_se", "indirect", "indirect_se", "diff", "diff_se", "pval", "tau2"):
            close(getattr(s, key), x[key], rtol=MV_RTOL, atol=1e-10, what=f"{what} {key}")
        assert s.direct - s.indirect == pytest.approx(s.diff, abs=1e-10)
