"""Predictions, BLUPs, Wald and likelihood-ratio tests, robust inference, profiles and profile-likelihood CIs
of rma_mv fits against metafor 3.8-1 (and clubSandwich 0.5.8 for CR2)."""

from __future__ import annotations

import numpy as np
import pytest
from mv_refs import CI_RTOL, MV_RTOL, close, load, ref

from regrow.errors import InputError
from regrow.meta import lrt_mv, rma_mv

ML = "~ 1 | district/school"

CHECKED = {
    ("konstantopoulos2011", s)
    for s in (
        "ml_reml_predict", "ml_reml_ranef", "ml_reml_profile", "ml_reml_confint", "ml_reml_robust_cr1",
        "ml_reml_robust_cr0", "ml_reml_robust_cr2", "mv_cs_ranef", "mv_cs_profile", "ml_year_predict",
        "ml_year_robust_cr1", "ml_year_robust_cr2", "lrt_district", "lrt_year", "crossed_ranef",
    )
} | {
    ("berkey1998", s)
    for s in ("un_anova_X", "un_anova_X2", "un_predict_levels", "un_ranef", "un_profile", "un_confint",
              "un_robust_cr1", "struct_CS_rho_fixed_profile")
} | {
    ("assink2016", s)
    for s in ("ml_predict", "ml_robust_cr1", "ml_robust_cr2", "lrt_study", "lrt_esid", "mod_deltype_robust_cr2",
              "ml_V_robust_cr1")
} | {("ishak2007", s) for s in ("struct_AR_ranef", "struct_AR_predict", "struct_AR_profile", "struct_AR_confint")}  # fmt: skip


@pytest.fixture(scope="module")
def kon():
    d = load("konstantopoulos2011")
    d["year_c"] = d["year"] - 1990
    return d


@pytest.fixture(scope="module")
def kon_ml(kon):
    return rma_mv(kon["yi"], kon["vi"], random=ML, data=kon)


@pytest.fixture(scope="module")
def kon_year(kon):
    return rma_mv(kon["yi"], kon["vi"], mods="~ year_c", random=ML, data=kon)


@pytest.fixture(scope="module")
def berkey():
    d = load("berkey1998")
    V = np.array(ref("berkey1998")["V"])
    return d, rma_mv(d["yi"], V, mods="~ outcome - 1", random="~ outcome | trial", struct="UN", data=d)


@pytest.fixture(scope="module")
def assink():
    d = load("assink2016")
    return d, rma_mv(d["yi"], d["vi"], random="~ 1 | study/esid", data=d)


@pytest.fixture(scope="module")
def ishak_ar():
    d = load("ishak2007")
    V = np.array(ref("ishak2007")["V_phi097"])
    return rma_mv(d["yi"], V, mods="~ factor(time) - 1", random="~ time | study", struct="AR", data=d)


def _check_prediction(pred, r, what):
    for key in ("pred", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
        close(getattr(pred, key), r[key], rtol=MV_RTOL, what=f"{what} {key}")


def _check_ranef(blups, r, what):
    assert [b.term.replace(" ", "") for b in blups] == [t.replace(" ", "") for t in r], what
    for b, key in zip(blups, r, strict=True):
        assert b.names == list(np.atleast_1d(r[key]["names"])), what
        close(b.pred, r[key]["intrcpt"], rtol=MV_RTOL, atol=1e-7, what=f"{what} {key} pred")
        close(b.se, r[key]["se"], rtol=MV_RTOL, what=f"{what} {key} se")
        close(b.pi_lb, r[key]["pi_lb"], rtol=MV_RTOL, atol=1e-7, what=f"{what} {key} pi_lb")
        close(b.pi_ub, r[key]["pi_ub"], rtol=MV_RTOL, atol=1e-7, what=f"{what} {key} pi_ub")


def _check_robust(rb, r, what):
    for ours, theirs in (("beta", "beta"), ("se", "se"), ("tval", "zval"), ("pval", "pval"), ("ci_lb", "ci_lb"),
                         ("ci_ub", "ci_ub"), ("vb", "vb")):  # fmt: skip
        close(getattr(rb, ours), r[theirs], rtol=MV_RTOL, atol=1e-12, what=f"{what} {ours}")
    # metafor reports one df (n - p) for CR1; Satterthwaite gives one per coefficient
    close(rb.dfs, np.broadcast_to(r["dfs"], rb.dfs.shape), rtol=MV_RTOL, what=f"{what} dfs")
    close(rb.QM, r["QM"], rtol=MV_RTOL, what=f"{what} QM")
    close(rb.QMp, r["QMp"], rtol=MV_RTOL, what=f"{what} QMp")
    close(rb.QMdf, r["QMdf"], rtol=MV_RTOL, what=f"{what} QMdf")
    assert rb.n_clusters == r["n"] and rb.vbest == r["vbest"], what


def _sections(r):
    """metafor returns one profile/CI object for one component and a list for several."""
    return list(r) if isinstance(r, list) else [r[key] for key in sorted(r, key=int)]


def _check_profile(res, r, what):
    """Profile at metafor's grid points (metafor builds its grid around its own default-control estimate)."""
    r = _sections(r)
    free = [
        (c, int(i))
        for c in ("sigma2", "tau2", "rho", "gamma2", "phi")
        for i in np.flatnonzero(~res.vc_fixed[c])
    ]
    assert len(free) == len(r), what
    for (comp, idx), rr in zip(free, r, strict=True):
        prof = res.profile(component=comp, index=idx, values=rr["vc"])[0]
        close(prof.ll, rr["ll"], rtol=1e-7, atol=1e-7, what=f"{what} {comp}[{idx}] ll")


def _check_confint(res, r, what):
    r = _sections(r)
    cis = res.confint()
    assert len(cis) == len(r), what
    for ci, rr in zip(cis, r, strict=True):
        lb, ub = np.atleast_1d(rr["ci_lb"])[0], np.atleast_1d(rr["ci_ub"])[0]
        close(
            [ci.ci_lb, ci.ci_ub], [lb, ub], rtol=CI_RTOL, atol=1e-9, what=f"{what} {ci.component}[{ci.index}]"
        )
    return cis


def test_konstantopoulos_predict_ranef_robust(kon, kon_ml, kon_year):
    r = ref("konstantopoulos2011")
    _check_prediction(kon_ml.predict(), r["ml_reml_predict"], "ml predict")
    _check_prediction(kon_year.predict([-10, 0, 5]), r["ml_year_predict"], "year predict")
    _check_ranef(kon_ml.ranef(), r["ml_reml_ranef"], "ml ranef")
    _check_robust(kon_ml.robust(kon["district"]), r["ml_reml_robust_cr1"], "CR1")
    _check_robust(kon_ml.robust(kon["district"], adjust=False), r["ml_reml_robust_cr0"], "CR0")
    _check_robust(kon_ml.robust(kon["district"], clubsandwich=True), r["ml_reml_robust_cr2"], "CR2")
    _check_robust(kon_year.robust(kon["district"]), r["ml_year_robust_cr1"], "year CR1")
    _check_robust(kon_year.robust(kon["district"], clubsandwich=True), r["ml_year_robust_cr2"], "year CR2")


def test_konstantopoulos_multivariate_and_crossed_blups(kon):
    r = ref("konstantopoulos2011")
    mv = rma_mv(kon["yi"], kon["vi"], random="~ school | district", data=kon)
    _check_ranef(mv.ranef(), r["mv_cs_ranef"], "CS ranef")
    crossed = rma_mv(kon["yi"], kon["vi"], random=["~ 1 | district", "~ 1 | school"], data=kon)
    _check_ranef(crossed.ranef(), r["crossed_ranef"], "crossed ranef")


def test_konstantopoulos_likelihood_ratio_tests(kon, kon_ml):
    r = ref("konstantopoulos2011")
    reduced = rma_mv(kon["yi"], kon["vi"], random=ML, data=kon, sigma2=[0, None])
    for order in ((kon_ml, reduced), (reduced, kon_ml)):  # the larger model is the full one either way
        t = lrt_mv(*order)
        close(t.LRT, r["lrt_district"]["LRT"], rtol=1e-7, what="LRT")
        close(t.pval, r["lrt_district"]["pval"], rtol=1e-6, what="LRT p")
        assert (t.parms_full, t.parms_reduced) == (r["lrt_district"]["parms_f"], r["lrt_district"]["parms_r"])
    full = rma_mv(kon["yi"], kon["vi"], mods="~ year_c", random=ML, data=kon, method="ML")
    red = rma_mv(kon["yi"], kon["vi"], random=ML, data=kon, method="ML")
    t = full.anova(red)
    close(t.LRT, r["lrt_year"]["LRT"], rtol=1e-6, what="LRT year")
    close(t.pval, r["lrt_year"]["pval"], rtol=1e-6, what="LRT year p")


def test_lrt_refuses_incomparable_models(kon, kon_ml, kon_year):
    with pytest.raises(InputError, match="REML likelihoods of models with different moderators"):
        lrt_mv(kon_year, kon_ml)
    other = rma_mv(kon["yi"] + 0.1, kon["vi"], random=ML, data=kon, sigma2=[0, None])
    with pytest.raises(InputError, match="same effect sizes and V"):
        lrt_mv(kon_ml, other)
    ml = rma_mv(kon["yi"], kon["vi"], random=ML, data=kon, method="ML", sigma2=[0, None])
    with pytest.raises(InputError, match="same method"):
        lrt_mv(kon_ml, ml)
    with pytest.raises(InputError, match="same number of parameters"):
        lrt_mv(kon_ml, kon_ml)


@pytest.mark.parametrize("which", ["ml_reml", "mv_cs"])
def test_konstantopoulos_profiles(kon, kon_ml, which):
    r = ref("konstantopoulos2011")
    res = (
        kon_ml if which == "ml_reml" else rma_mv(kon["yi"], kon["vi"], random="~ school | district", data=kon)
    )
    _check_profile(res, r[f"{which}_profile"], which)


def test_default_profile_grid_follows_metafor(kon_ml, berkey):
    """Variances: [max(0, est/4), max(0.1, 4 est)]; correlations: est -/+ 0.5 inside (-1, 1)."""
    profiles = kon_ml.profile(steps=2)
    assert [(p.component, p.index) for p in profiles] == [("sigma2", 0), ("sigma2", 1)]
    for p, est in zip(profiles, kon_ml.sigma2, strict=True):
        close(p.values, [est / 4, max(0.1, 4 * est)], rtol=1e-15, what="grid")
        assert np.all(p.ll <= p.ll_max + 1e-9)
    rho = berkey[1].profile(component="rho", steps=2)[0]
    est = berkey[1].rho[0]
    close(rho.values, [est - 0.5, min(0.99999, est + 0.5)], rtol=1e-15, what="rho grid")


def test_konstantopoulos_confint(kon_ml):
    cis = _check_confint(kon_ml, ref("konstantopoulos2011")["ml_reml_confint"], "ml confint")
    assert all(ci.ci_lb < est < ci.ci_ub for ci, est in zip(cis, kon_ml.sigma2, strict=True))


def test_berkey_wald_predict_ranef_robust(berkey):
    d, res = berkey
    r = ref("berkey1998")
    for X, key in (([1, -1], "un_anova_X"), ([[1, 0], [1, 1]], "un_anova_X2")):
        w = res.anova(X=X)
        close(w.Xb, r[key]["Xb"], rtol=MV_RTOL, what=f"{key} Xb")
        close(w.se, r[key]["se"], rtol=MV_RTOL, what=f"{key} se")
        close(w.pval, r[key]["pval"], rtol=MV_RTOL, atol=1e-30, what=f"{key} pval")
        close(w.QM, r[key]["QM"], rtol=MV_RTOL, what=f"{key} QM")
    assert res.anova(X=[1, -1]).hypotheses == ["outcomeAL - outcomePD = 0"]
    _check_prediction(
        res.predict([[1, 0], [0, 1]], tau2_levels=["AL", "PD"]), r["un_predict_levels"], "levels"
    )
    _check_ranef(res.ranef(), r["un_ranef"], "UN ranef")
    _check_robust(res.robust(d["trial"]), r["un_robust_cr1"], "UN CR1")


def test_berkey_profiles_and_confint(berkey):
    d, res = berkey
    r = ref("berkey1998")
    _check_profile(res, r["un_profile"], "UN")
    _check_confint(res, r["un_confint"], "UN confint")
    fixed = rma_mv(d["yi"], np.array(r["V"]), mods="~ outcome - 1", random="~ outcome | trial", struct="CS",
                   rho=0.5, data=d)  # fmt: skip
    _check_profile(fixed, r["struct_CS_rho_fixed_profile"], "CS rho fixed")


def test_assink_predict_robust_and_lrts(assink):
    d, res = assink
    r = ref("assink2016")
    _check_prediction(res.predict(), r["ml_predict"], "assink predict")
    _check_robust(res.robust(d["study"]), r["ml_robust_cr1"], "assink CR1")
    _check_robust(res.robust(d["study"], clubsandwich=True), r["ml_robust_cr2"], "assink CR2")
    for fixed, key in (([0, None], "lrt_study"), ([None, 0], "lrt_esid")):
        red = rma_mv(d["yi"], d["vi"], random="~ 1 | study/esid", data=d, sigma2=fixed)
        t = lrt_mv(red, res)
        close(t.LRT, r[key]["LRT"], rtol=1e-6, what=key)
        close(t.pval, r[key]["pval"], rtol=1e-6, what=key)
    dt = rma_mv(d["yi"], d["vi"], mods="~ deltype", random="~ 1 | study/esid", data=d)
    _check_robust(dt.robust(d["study"], clubsandwich=True), r["mod_deltype_robust_cr2"], "deltype CR2")
    withV = rma_mv(d["yi"], np.array(r["V_rho06"]), random="~ 1 | study/esid", data=d)
    _check_robust(withV.robust(d["study"]), r["ml_V_robust_cr1"], "V CR1")


def test_ishak_ar_inference(ishak_ar):
    r = ref("ishak2007")
    _check_ranef(ishak_ar.ranef(), r["struct_AR_ranef"], "AR ranef")
    _check_prediction(ishak_ar.predict(np.eye(4)), r["struct_AR_predict"], "AR predict")
    _check_profile(ishak_ar, r["struct_AR_profile"], "AR")
    _check_confint(ishak_ar, r["struct_AR_confint"], "AR confint")


def test_cr2_needs_studies_nested_in_clusters(kon, kon_ml):
    with pytest.raises(InputError, match="not nested within the clusters"):
        kon_ml.robust(kon["school"], clubsandwich=True)


def test_prediction_interval_without_tau2_level_is_missing(berkey):
    _, res = berkey
    pred = res.predict([[1, 0]])
    assert np.isnan(pred.pi_lb).all() and np.isfinite(pred.ci_lb).all()


def test_equal_effects_prediction_interval_is_the_confidence_interval(kon):
    res = rma_mv(kon["yi"], kon["vi"], method="EE")
    pred = res.predict()
    np.testing.assert_allclose([pred.pi_lb[0], pred.pi_ub[0]], [pred.ci_lb[0], pred.ci_ub[0]], rtol=1e-15)
