"""Egger, rank test, trim-and-fill and fail-safe N against metafor 3.8-1, plus independent checks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import statsmodels.api as sm
from metafor_refs import (
    CLOSED_FORM_RTOL,
    ITERATIVE_RTOL,
    analysis_names,
    assert_close,
    assert_prediction_matches,
    assert_rma_matches,
    load_reference,
    reference_yi_vi,
    rtol_for,
)
from scipy import stats

from regrow.errors import InputError, TooFewStudiesError
from regrow.meta._fsn import fsn
from regrow.meta._pubbias import ranktest, regtest
from regrow.meta._rma import rma
from regrow.meta._trimfill import trimfill

CHECKED_SECTIONS = {"pubbias.regtest", "pubbias.ranktest", "pubbias.trimfill", "pubbias.fsn"}

PUBBIAS = [n for n in analysis_names() if "pubbias" in load_reference(n)]


def _data(name: str):
    ref = load_reference(name)
    yi, vi = reference_yi_vi(name)
    keep = np.isfinite(yi) & np.isfinite(vi)
    ni = np.array([np.nan if v is None else v for v in ref["escalc"]["ni"]], dtype=float)[keep]
    return yi[keep], vi[keep], ni


def _cases(section: str):
    return [(n, key) for n in PUBBIAS for key in load_reference(n)["pubbias"][section]]


@pytest.mark.parametrize(("name", "key"), _cases("regtest"))
def test_regtest_matches_metafor(name, key):
    ref = load_reference(name)["pubbias"]["regtest"][key]
    yi, vi, ni = _data(name)
    method = key.rsplit("_", 1)[1] if ref["model"] == "rma" else "REML"
    res = regtest(
        rma(yi, vi, method=method),
        model=ref["model"],
        predictor=ref["predictor"],
        ni=None if np.isnan(ni).all() else ni,
    )
    rtol = rtol_for(method) if ref["model"] == "rma" else CLOSED_FORM_RTOL
    what = f"{name} {key}"
    assert (res.model, res.predictor, res.stat_type, res.dfs) == (
        ref["model"],
        ref["predictor"],
        ref["stat_type"],
        ref["dfs"],
    ), what
    assert_close(res.stat, ref["stat"], rtol=rtol, what=f"{what} stat")
    assert_close(res.pval, ref["pval"], rtol=rtol, what=f"{what} pval")
    est = ref["est"]["intrcpt"] if isinstance(ref["est"], dict) else ref["est"]
    for ours, theirs in ((res.est, est), (res.ci_lb, ref["ci.lb"]), (res.ci_ub, ref["ci.ub"])):
        if theirs is None:
            assert ours is None, what
        else:
            assert_close(ours, theirs, rtol=rtol, what=f"{what} est/ci")
    fit = ref["fit"]
    assert_close(res.beta, list(fit["beta"].values()), rtol=rtol, what=f"{what} fit beta")
    assert_close(res.se, list(fit["se"].values()), rtol=rtol, what=f"{what} fit se")
    assert [n.removeprefix("X") for n in fit["beta"]] == res.coef_names, what
    if ref["model"] == "rma":
        assert_close(res.tau2, fit["tau2"], rtol=rtol, what=f"{what} tau2")
        assert_close(res.QE, fit["QE"], rtol=rtol, what=f"{what} QE")
    else:
        assert_close(res.sigma, fit["sigma"], rtol=rtol, what=f"{what} sigma")


@pytest.mark.parametrize("name", PUBBIAS)
def test_ranktest_matches_metafor(name):
    ref = load_reference(name)["pubbias"]["ranktest"]
    yi, vi, _ = _data(name)
    res = ranktest(rma(yi, vi, method="REML"))
    assert_close(res.tau, ref["tau"], rtol=CLOSED_FORM_RTOL, what=f"{name} tau")
    assert_close(res.pval, ref["pval"], rtol=CLOSED_FORM_RTOL, what=f"{name} pval")
    assert res.warnings == (ref.get("warnings") or []), name
    assert "Begg" in ref["note"]


@pytest.mark.parametrize(("name", "key"), _cases("trimfill"))
def test_trimfill_matches_metafor(name, key):
    ref = load_reference(name)["pubbias"]["trimfill"][key]
    method, estimator = key.split("_")
    yi, vi, _ = _data(name)
    res = trimfill(rma(yi, vi, method=method), estimator=estimator)
    rtol = ITERATIVE_RTOL if method != "FE" else CLOSED_FORM_RTOL
    what = f"{name} {key}"
    assert (res.k0, res.side, res.estimator) == (ref["k0"], ref["side"], ref["k0.est"]), what
    assert_close(res.se_k0, ref["se.k0"], rtol=CLOSED_FORM_RTOL, what=f"{what} se.k0")
    if ref["p.k0"] is None:
        assert res.p_k0 is None, what
    else:
        assert_close(res.p_k0, ref["p.k0"], rtol=CLOSED_FORM_RTOL, what=f"{what} p.k0")
    assert_close(res.yi, ref["yi_all"], rtol=rtol, what=f"{what} yi")
    assert_close(res.vi, ref["vi_all"], rtol=CLOSED_FORM_RTOL, what=f"{what} vi")
    assert res.fill.tolist() == ref["fill"], what
    assert len(res.slab) == res.yi.size and res.slab[-1] == (f"Filled {res.k0}" if res.k0 else res.slab[-1])
    assert_rma_matches(res.fit, ref, rtol, what)
    # the trim-and-fill refit is intercept-only with a z test: no R^2, no t degrees of freedom
    assert ref["R2"] is None and res.fit.ddf is None and ref["ddf"] == [None], what
    pref = ref["predict"]
    assert ("pi.lb" in pref) == (method != "FE"), what
    assert all(v is not None for v in pref["se"]), what
    assert_prediction_matches(res.fit.predict(), pref, rtol, f"{what} predict")
    frame = res.to_frame()
    assert list(frame.columns) == ["slab", "yi", "vi", "sei", "fill"] and int(frame["fill"].sum()) == res.k0


@pytest.mark.parametrize(("name", "key"), _cases("fsn"))
def test_fsn_matches_metafor(name, key):
    ref = load_reference(name)["pubbias"]["fsn"][key]
    yi, vi, _ = _data(name)
    res = fsn(yi, vi, type=key)
    assert res.type == ref["type"] and res.fsnum == ref["fsnum"] and res.alpha == ref["alpha"], name
    for field in ("pval", "meanes", "target"):
        ours, theirs = getattr(res, field), ref[field]
        if theirs is None:
            assert ours is None, f"{name} {key} {field}"
        else:
            assert_close(ours, theirs, rtol=CLOSED_FORM_RTOL, what=f"{name} {key} {field}")


# ---------------------------------------------------------------------------------------------------------
# Independent checks (closed forms, brute force, another implementation)
# ---------------------------------------------------------------------------------------------------------


def test_regtest_lm_equals_statsmodels_wls(rng):
    k = 15
    vi = rng.uniform(0.01, 0.2, k)
    yi = 0.3 + 1.2 * np.sqrt(vi) + rng.normal(0, np.sqrt(vi))
    res = regtest(rma(yi, vi, method="REML"), model="lm", predictor="sei")
    wls = sm.WLS(yi, sm.add_constant(np.sqrt(vi)), weights=1 / vi).fit()
    assert_close(res.stat, wls.tvalues[1], rtol=1e-10)
    assert_close(res.pval, wls.pvalues[1], rtol=1e-10)
    lo, hi = wls.conf_int(0.05)[0]
    assert_close([res.est, res.ci_lb, res.ci_ub], [wls.params[0], lo, hi], rtol=1e-10)
    assert res.dfs == k - 2


def test_regtest_rma_fe_is_weighted_regression_with_known_variance(rng):
    k = 12
    vi = rng.uniform(0.02, 0.3, k)
    yi = rng.normal(0, np.sqrt(vi))
    res = regtest(rma(yi, vi, method="FE"), predictor="vi")
    X = np.column_stack([np.ones(k), vi])
    cov = np.linalg.inv(X.T @ (X / vi[:, None]))
    b = cov @ (X.T @ (yi / vi))
    assert_close(res.stat, b[1] / np.sqrt(cov[1, 1]), rtol=1e-10)
    assert_close(res.pval, 2 * stats.norm.sf(abs(b[1] / np.sqrt(cov[1, 1]))), rtol=1e-10)


def test_regtest_errors():
    res = rma([0.1, 0.3, 0.35, 0.6], [0.01, 0.02, 0.015, 0.03], method="DL")
    with pytest.raises(InputError, match="ni"):
        regtest(res, predictor="ni")
    with pytest.raises(InputError, match="predictor"):
        regtest(res, predictor="size")
    with pytest.raises(InputError, match="model"):
        regtest(res, model="glm")
    with pytest.raises(TooFewStudiesError):
        regtest(rma([0.1, 0.3], [0.01, 0.02], method="FE"))
    with pytest.raises(InputError, match="full rank"):
        regtest(rma([0.1, 0.3, 0.35, 0.6], [0.02] * 4, method="FE"))


def test_ranktest_exact_p_equals_permutation_enumeration(rng):
    k = 7
    vi = rng.uniform(0.01, 0.3, k)
    yi = rng.normal(0, 0.3, k)
    res = ranktest(yi, vi)
    assert res.exact
    w = 1 / vi
    ystar = (yi - np.sum(w * yi) / np.sum(w)) / np.sqrt(vi - 1 / np.sum(w))

    def concordance(x, y):
        return sum(np.sign(x[i] - x[j]) * np.sign(y[i] - y[j]) for i in range(k) for j in range(i + 1, k))

    s_obs = concordance(ystar, vi)
    assert_close(res.tau, s_obs / (k * (k - 1) / 2), rtol=1e-12)
    ranks = np.argsort(np.argsort(vi))
    all_s = np.array([concordance(np.array(perm, float), ranks) for perm in itertools.permutations(range(k))])
    assert_close(res.pval, min(1.0, np.mean(np.abs(all_s) >= abs(s_obs) - 1e-9)), rtol=1e-12)


def test_trimfill_mirrors_removed_studies():
    vi = np.array([0.01, 0.01, 0.04, 0.04, 0.09, 0.09, 0.16, 0.16])
    yi = 0.5 + np.array([0.05, -0.05, 0.1, -0.1, 0.2, -0.2, 0.3, -0.3])
    # remove the two most negative small studies of a symmetric funnel: trim-and-fill puts back mirror images
    keep = np.array([0, 1, 2, 3, 4, 6])
    for estimator in ("L0", "R0"):
        filled = trimfill(rma(yi[keep], vi[keep], method="FE"), estimator=estimator)
        assert filled.side == "left" and filled.k0 >= 1
        observed = filled.yi[~filled.fill]
        assert np.array_equal(observed, yi[keep])
        # every filled study is the mirror image of one of the k0 largest observed effects, same variance
        largest = np.argsort(yi[keep])[-filled.k0 :]
        centre = (filled.yi[filled.fill] + yi[keep][largest]) / 2
        assert np.allclose(centre, centre[0]) and np.allclose(
            np.sort(filled.vi[filled.fill]), np.sort(vi[keep][largest])
        )


def test_trimfill_errors():
    with pytest.raises(InputError, match="moderators"):
        trimfill(rma([0.1, 0.3, 0.35, 0.6], [0.01, 0.02, 0.015, 0.03], mods=np.array([1.0, 2, 3, 4])))
    res = rma([0.1, 0.3, 0.35, 0.6], [0.01, 0.02, 0.015, 0.03], method="DL")
    with pytest.raises(InputError, match="estimator"):
        trimfill(res, estimator="Q1")
    with pytest.raises(InputError, match="side"):
        trimfill(res, side="up")


def test_fsn_closed_forms():
    yi = np.array([0.2, 0.4, 0.3, 0.1])
    vi = np.array([0.01, 0.04, 0.02, 0.03])
    z = np.sum(yi / np.sqrt(vi)) / 2
    assert fsn(yi, vi).fsnum == int(np.ceil(4 * (z / 1.6448536269514722) ** 2 - 4))
    orwin = fsn(yi, vi, type="Orwin", target=0.05)
    assert orwin.fsnum == int(np.ceil(4 * (0.25 - 0.05) / 0.05 - 1e-12)) == 16
    with pytest.raises(InputError, match="type"):
        fsn(yi, vi, type="REM2")
    with pytest.raises(InputError, match="vi"):
        fsn(yi, -vi)
