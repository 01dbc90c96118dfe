"""Every estimator, test, interval and meta-regression against metafor 3.8-1 (``../shared/metafor``)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from metafor_refs import (
    ABS_TOL,
    CLOSED_FORM_RTOL,
    ITERATIVE_RTOL,
    analysis_names,
    assert_close,
    assert_prediction_matches,
    assert_rma_matches,
    load_dataset,
    load_reference,
    reference_yi_vi,
    rtol_for,
)
from scipy import stats

from regrow.meta import confint_profile, lrt, rma, wald_test

CHECKED_SECTIONS = {
    "meta",
    "escalc",
    "models",
    "predict",
    "knha",
    "adhoc",
    "confint",
    "default_control",
    "derived_pi_tkm2",
    "metareg.*.formula",
    "metareg.*.models",
    "metareg.*.knha",
    "metareg.*.predict",
    "metareg.*.confint",
    "metareg.*.X",
    "metareg.*.X_colnames",
    "metareg.*.rows_used",
    "metareg.*.anova_LRT_ML",
    "metareg.*.anova_Wald_btt_last",
}

TRANSFORMS = {"exp": np.exp, "transf.ztor (tanh)": np.tanh, "transf.ztor": np.tanh}

#: metafor's out-of-the-box control (threshold 1e-5, uniroot tol ~1.2e-4) stops early; our defaults are
#: tight, so the default-control references agree only to the precision metafor itself stopped at.
DEFAULT_CONTROL_RTOL = 1e-3
#: metafor's default ``uniroot`` tolerance (.Machine$double.eps^0.25), an absolute error on tau^2 bounds.
DEFAULT_UNIROOT_TOL = np.finfo(float).eps ** 0.25


def _data(name: str):
    yi, vi = reference_yi_vi(name)
    keep = np.isfinite(yi) & np.isfinite(vi)
    return yi, vi, keep


def _fit(name: str, method: str, test: str = "z", mods=None):
    yi, vi, keep = _data(name)
    return rma(
        yi[keep],
        vi[keep],
        method=method,
        test=test,
        mods=None if mods is None else mods.loc[keep].reset_index(drop=True),
    )


def assert_fit_matches(ours, ref: dict, rtol: float, what: str) -> None:
    """Every field of an ``rma()`` fit, and that the reference was made by ``rma(...)``."""
    assert_rma_matches(ours, ref, rtol, what)
    assert "rma(" in ref["call"]


def _cases(section: str):
    return [(n, m) for n in analysis_names() for m in load_reference(n).get(section, {})]


@pytest.mark.parametrize(("name", "method"), _cases("models"))
def test_models(name, method):
    ref = load_reference(name)
    assert_fit_matches(_fit(name, method), ref["models"][method], rtol_for(method), f"{name} {method}")
    assert ref["meta"]["k_rows"] >= ref["models"][method]["k"]


@pytest.mark.parametrize(("name", "key"), _cases("predict"))
def test_predict(name, key):
    ref = load_reference(name)["predict"][key]
    method = key.removesuffix("_transf")
    res = _fit(name, method)
    transf = TRANSFORMS[ref["transf"]] if "transf" in ref else None
    assert_prediction_matches(res.predict(transf=transf), ref, rtol_for(method), f"{name} {key}")


@pytest.mark.parametrize("test", ["knha", "adhoc"])
@pytest.mark.parametrize("name", analysis_names())
def test_knha_and_adhoc(name, test):
    refs = load_reference(name)[test]
    assert set(refs) == set(load_reference(name)["models"]) - {"FE"}
    for method, ref in refs.items():
        res = _fit(name, method, test=test)
        rtol = rtol_for(method)
        assert_fit_matches(
            res, {k: v for k, v in ref.items() if k != "predict"}, rtol, f"{name} {test} {method}"
        )
        pred_ref = ref["predict"]
        assert pred_ref["ddf"] == pred_ref["pi.ddf"] == res.ddf
        assert_prediction_matches(res.predict(), pred_ref, rtol, f"{name} {test} {method} predict")


def _compare_confint(ours, ref: dict, rtol: float, what: str) -> None:
    for param in ("tau2", "tau", "I2", "H2"):
        interval = getattr(ours, param)
        assert_close(
            [interval.estimate, interval.ci_lb, interval.ci_ub],
            [ref[param]["estimate"], ref[param]["ci.lb"], ref[param]["ci.ub"]],
            rtol=rtol,
            atol=np.sqrt(ABS_TOL) if param == "tau" else ABS_TOL,
            what=f"{what} {param}",
        )
    assert (ours.lb_sign, ours.ub_sign) == (ref["lb.sign"], ref["ub.sign"]), what


def _qp(res, ref: dict):
    """Our Q-profile interval; where metafor's search hit its cap (sign ">") we search to the same cap."""
    if ref["ub.sign"] == ">" or ref["lb.sign"] == ">":
        capped = res.confint(tau2_max=max(100.0, 10.0 * res.tau2))
        exact = res.confint()
        # The uncapped bound is the true one: the generalised Q there equals the chi-square quantile.
        from regrow.meta._linalg import wls

        q = wls(res.yi, res.X, 1.0 / (res.vi + exact.tau2.ci_ub)).rss
        assert q == pytest.approx(stats.chi2.ppf(res.alpha / 2, res.k - res.p), rel=1e-9)
        assert exact.tau2.ci_ub > capped.tau2.ci_ub
        return capped
    return res.confint()


@pytest.mark.parametrize(("name", "method"), _cases("confint"))
def test_confint(name, method):
    ref = load_reference(name)["confint"][method]
    res = _fit(name, method)
    if method == "FE":
        fixed = ref["fixed"]["fixed"]["intrcpt"]
        assert_close(
            [res.beta[0], res.ci_lb[0], res.ci_ub[0]],
            [fixed["estimate"], fixed["ci.lb"], fixed["ci.ub"]],
            rtol=CLOSED_FORM_RTOL,
        )
        with pytest.raises(ValueError, match="no tau"):
            res.confint()
        return
    _compare_confint(_qp(res, ref["QP"]), ref["QP"], ITERATIVE_RTOL, f"{name} {method} QP")
    if method in ("ML", "REML"):
        _compare_confint(confint_profile(res), ref["PL"], ITERATIVE_RTOL, f"{name} {method} PL")
    else:
        assert "PL" not in ref


@pytest.mark.parametrize(("name", "method"), _cases("default_control"))
def test_default_control(name, method):
    ref = load_reference(name)["default_control"][method]
    res = _fit(name, method)
    rtol = rtol_for(method) if method in ("DL", "HE", "HS", "SJ") else DEFAULT_CONTROL_RTOL
    assert_close(res.tau2, ref["tau2"], rtol=rtol, atol=DEFAULT_UNIROOT_TOL, what="tau2")
    # Given metafor's (loosely converged) tau2, the coefficients follow in closed form.
    yi, vi, keep = _data(name)
    at_ref_tau2 = rma(yi[keep], vi[keep], method=method, tau2=ref["tau2"]) if method != "FE" else res
    assert_close(at_ref_tau2.beta, ref["beta"], rtol=CLOSED_FORM_RTOL, what="beta")
    assert_close(at_ref_tau2.se, ref["se"], rtol=CLOSED_FORM_RTOL, what="se")
    ci = ref["ci_QP_default"]
    ours = res.confint().tau2
    assert_close(
        [ours.estimate, ours.ci_lb],
        [ci["estimate"], ci["ci.lb"]],
        rtol=DEFAULT_CONTROL_RTOL,
        atol=DEFAULT_UNIROOT_TOL,
        what="QP lower",
    )
    # metafor's default search stops at tau2.max = max(100, 10 * tau2) and then reports that cap as the
    # upper bound; our search never stops at a cap, so ours is the true bound and can only be larger.
    assert ours.ci_ub >= ci["ci.ub"] * (1 - DEFAULT_CONTROL_RTOL) - DEFAULT_UNIROOT_TOL


@pytest.mark.parametrize(("name", "method"), _cases("derived_pi_tkm2"))
def test_higgins_prediction_interval(name, method):
    ref = load_reference(name)["derived_pi_tkm2"][method]
    res = _fit(name, method)
    assert ref["df"] == res.k - 2
    pred = res.predict(pi_method="higgins2009")
    assert_close([pred.pi_lb[0], pred.pi_ub[0]], [ref["pi.lb"], ref["pi.ub"]], rtol=rtol_for(method))


# --- meta-regression -------------------------------------------------------------------------------------


def _metareg_cases():
    return [(n, m) for n in analysis_names() for m in load_reference(n).get("metareg", {})]


def _moderators(name: str, formula: str):
    ref = load_reference(name)
    dataset = re.sub(r"\[.*\]$", "", ref["meta"]["dataset"])
    data = load_dataset(dataset)
    columns = {}
    for term in (t.strip() for t in formula.lstrip("~").split("+")):
        factor = re.fullmatch(r"factor\((\w+)\)", term)
        # R names dummy columns after the term as written, e.g. "factor(alloc)random".
        columns[term] = data[factor.group(1)].astype(str) if factor else data[term]
    return pd.DataFrame(columns).reset_index(drop=True)


@pytest.mark.parametrize(("name", "model"), _metareg_cases())
def test_metareg(name, model):
    block = load_reference(name)["metareg"][model]
    mods = _moderators(name, block["formula"])
    _, _, keep = _data(name)
    assert [i + 1 for i in np.flatnonzero(keep)] == block["rows_used"]
    for method, ref in block["models"].items():
        rtol = rtol_for(method)
        res = _fit(name, method, mods=mods)
        assert res.coef_names == block["X_colnames"]
        np.testing.assert_array_equal(res.X, np.array(block["X"], dtype=float))
        assert_fit_matches(res, ref, rtol, f"{name} {model} {method}")
        if method != "FE":
            knha = _fit(name, method, test="knha", mods=mods)
            assert_fit_matches(knha, block["knha"][method], rtol, f"{name} {model} {method} knha")
        for key, fitted in ((method, res), (f"{method}_knha", knha if method != "FE" else None)):
            if key not in block["predict"]:
                continue
            pref = block["predict"][key]
            newmods = np.array(pref["newmods"], dtype=float)
            assert_prediction_matches(fitted.predict(newmods), pref, rtol, f"{name} {model} predict {key}")
        if method in block["confint"]:
            cref = block["confint"][method]
            _compare_confint(_qp(res, cref), cref, ITERATIVE_RTOL, f"{name} {model} QP")


@pytest.mark.parametrize(("name", "model"), _metareg_cases())
def test_metareg_anova(name, model):
    block = load_reference(name)["metareg"][model]
    mods = _moderators(name, block["formula"])
    full = _fit(name, "ML", mods=mods)
    reduced = _fit(name, "ML")
    ref = block["anova_LRT_ML"]
    test = lrt(full, reduced)
    assert (test.parms_full, test.parms_reduced) == (ref["df_full"], ref["df_reduced"])
    for ours, key in (
        (test.LRT, "LRT"),
        (test.pval, "pval"),
        (test.QE_full, "QE_full"),
        (test.QE_reduced, "QE_reduced"),
        (test.tau2_full, "tau2_full"),
        (test.tau2_reduced, "tau2_reduced"),
        (test.R2, "R2"),
    ):
        assert_close(ours, ref[key], rtol=ITERATIVE_RTOL, atol=1e-6, what=key)
    for which, res in (("full", full), ("reduced", reduced)):
        for stat, value in ref[f"fit.stats_{which}"].items():
            assert_close(res.fit_stats["ML"][stat], value, rtol=ITERATIVE_RTOL, what=f"{which} {stat}")

    wald_ref = block["anova_Wald_btt_last"]
    reml = _fit(name, "REML", mods=mods)
    wald = wald_test(reml, [wald_ref["btt"] - 1])
    assert wald.QMdf == tuple(wald_ref["QMdf"])
    assert_close([wald.QM, wald.QMp], [wald_ref["QM"], wald_ref["QMp"]], rtol=ITERATIVE_RTOL)


@pytest.mark.parametrize("name", analysis_names())
def test_escalc_block_is_consistent(name):
    """The stored per-study CIs are yi -/+ 1.96 sei: the references agree with themselves."""
    ref = load_reference(name)["escalc"]
    yi, vi = reference_yi_vi(name)
    keep = np.isfinite(yi)
    sei = np.array([np.nan if v is None else v for v in ref["sei"]], dtype=float)
    np.testing.assert_allclose(sei[keep], np.sqrt(vi[keep]), rtol=CLOSED_FORM_RTOL)
    z = 1.959963984540054
    lb = np.array([np.nan if v is None else v for v in ref["ci.lb"]], dtype=float)
    np.testing.assert_allclose(lb[keep], yi[keep] - z * sei[keep], rtol=CLOSED_FORM_RTOL)
