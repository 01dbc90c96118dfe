"""Leave-one-out, influence, residuals and BLUPs against metafor 3.8-1, plus brute-force checks.

Every number of the reference sections is compared (the loops walk the reference dicts), with the named
tolerance of the estimator: rstudent, DFFITS and the rest are closed-form given the refitted tau^2, so their
error is that of tau^2.
"""

from __future__ import annotations

import numpy as np
import pytest
from metafor_refs import (
    ABS_TOL,
    CLOSED_FORM_RTOL,
    analysis_names,
    assert_close,
    load_dataset,
    load_reference,
    reference_yi_vi,
    rtol_for,
)
from scipy import stats

from regrow.errors import InputError, TooFewStudiesError
from regrow.meta._influence import blup, influence, leave1out, rstandard, rstudent
from regrow.meta._rma import rma

CHECKED_SECTIONS = {"leave1out", "influence", "rstandard_REML", "rstudent_REML", "blup_REML", "blup_DL"}

#: I^2 = 100 tau2 / (tau2 + vt) turns R's boundary tau^2 (~1e-11 where the exact value is 0) into ~1e-8
#: percentage points; compare I^2 and H^2 with this absolute tolerance (in their own units).
BOUNDARY_ATOL = {"I2": 1e-6, "H2": 1e-8}


def _with(section: str) -> list[str]:
    return [n for n in analysis_names() if section in load_reference(n)]


def _data(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The studies metafor kept (rows with a null yi or vi are dropped, as metafor does)."""
    yi, vi = reference_yi_vi(name)
    keep = np.isfinite(yi) & np.isfinite(vi)
    return yi[keep], vi[keep]


def _compare_columns(ours: dict, ref: dict, *, rtol: float, what: str, rename: dict | None = None) -> None:
    """Compare every numeric column of a metafor ``list.rma`` block; ``slab`` must be the row numbers."""
    rename = rename or {}
    for key, values in ref.items():
        if key == "slab":
            assert values == [str(i + 1) for i in range(len(values))], f"{what}: slab"
            continue
        ours_key = rename.get(key, key.replace(".", "_"))
        assert ours_key in ours, f"{what}: no {ours_key} for reference column {key}"
        assert_close(
            ours[ours_key], values, rtol=rtol, atol=BOUNDARY_ATOL.get(ours_key, ABS_TOL), what=f"{what}.{key}"
        )


@pytest.mark.parametrize("name", _with("leave1out"))
def test_leave1out_matches_metafor(name):
    yi, vi = _data(name)
    for method, ref in load_reference(name)["leave1out"].items():
        ours = leave1out(rma(yi, vi, method=method)).to_dict()
        assert ("tau2" in ours) == ("tau2" in ref)
        _compare_columns(ours, ref, rtol=rtol_for(method), what=f"{name}.leave1out.{method}")


@pytest.mark.parametrize("name", _with("influence"))
def test_influence_matches_metafor(name):
    yi, vi = _data(name)
    for method, ref in load_reference(name)["influence"].items():
        inf = influence(rma(yi, vi, method=method))
        ours = inf.to_dict()
        what = f"{name}.influence.{method}"
        for key, values in ref.items():
            if key == "dfbs":
                assert set(values) == set(ours["dfbs"]), what
                for coef, column in values.items():
                    assert_close(
                        ours["dfbs"][coef], column, rtol=rtol_for(method), what=f"{what}.dfbs.{coef}"
                    )
            elif key == "inf_flag":
                assert inf.inf_flag == values, what
            elif key == "is.infl":
                assert list(inf.is_infl) == values, what
            else:
                _compare_columns(ours, {key: values}, rtol=rtol_for(method), what=what)


@pytest.mark.parametrize("name", _with("rstandard_REML"))
def test_rstandard_rstudent_blup_match_metafor(name):
    yi, vi = _data(name)
    ref = load_reference(name)
    reml = rma(yi, vi, method="REML")
    rtol = rtol_for("REML")
    _compare_columns(rstandard(reml).to_dict(), ref["rstandard_REML"], rtol=rtol, what=f"{name}.rstandard")
    _compare_columns(rstudent(reml).to_dict(), ref["rstudent_REML"], rtol=rtol, what=f"{name}.rstudent")
    _compare_columns(blup(reml).to_dict(), ref["blup_REML"], rtol=rtol, what=f"{name}.blup_REML")
    dl = rma(yi, vi, method="DL")
    _compare_columns(blup(dl).to_dict(), ref["blup_DL"], rtol=rtol_for("DL"), what=f"{name}.blup_DL")


def test_sections_cover_every_analysis_with_influence_blocks():
    assert {n for n in analysis_names() if "influence" in load_reference(n)} == set(_with("rstandard_REML"))
    assert len(_with("leave1out")) >= 6


# ---------------------------------------------------------------------------------------------------------
# brute force and closed forms (models the references do not cover: meta-regression, knha)
# ---------------------------------------------------------------------------------------------------------


def _bcg_ablat():
    yi, vi = _data("bcg_RR")
    ablat = load_dataset("dat.bcg")["ablat"].to_numpy(float)
    return yi, vi, ablat


def test_leave1out_fixed_effect_is_the_weighted_mean_without_the_study():
    yi, vi = _data("bcg_RR")
    loo = leave1out(rma(yi, vi, method="FE"))
    w = 1 / vi
    for i in range(yi.size):
        keep = np.arange(yi.size) != i
        mean = np.sum(w[keep] * yi[keep]) / np.sum(w[keep])
        assert loo.estimate[i] == pytest.approx(mean, rel=CLOSED_FORM_RTOL)
        assert loo.se[i] == pytest.approx(np.sqrt(1 / np.sum(w[keep])), rel=CLOSED_FORM_RTOL)
        assert loo.Q[i] == pytest.approx(np.sum(w[keep] * (yi[keep] - mean) ** 2), rel=CLOSED_FORM_RTOL)
    assert loo.tau2 is None
    assert loo.to_frame().shape == (yi.size, 10)


@pytest.mark.parametrize("test", ["z", "knha", "adhoc"])
def test_influence_of_a_meta_regression_matches_the_k_by_k_formulas(test):
    """metafor's influence.rma.uni written out with k x k matrices and an explicit refit per study."""
    yi, vi, ablat = _bcg_ablat()
    res = rma(yi, vi, mods=ablat[:, None], mod_names=["ablat"], method="REML", test=test)
    inf = influence(res)
    X, k, p = res.X, res.k, res.p
    W = np.diag(1 / (vi + res.tau2))
    H = X @ np.linalg.inv(X.T @ W @ X) @ X.T @ W
    np.testing.assert_allclose(inf.hat, np.diag(H), rtol=1e-10)
    for i in range(k):
        keep = np.arange(k) != i
        r = rma(yi[keep], vi[keep], mods=ablat[keep, None], method="REML", test=test)
        s2w = {"z": 1.0, "knha": r.s2w, "adhoc": max(1.0, r.s2w)}[test]
        delpred = X[i] @ r.beta
        assert inf.rstudent[i] == pytest.approx(
            (yi[i] - delpred) / np.sqrt(vi[i] * s2w + X[i] @ r.vb @ X[i] + r.tau2 * s2w), rel=1e-9
        )
        assert inf.dffits[i] == pytest.approx(
            (X[i] @ res.beta - delpred) / np.sqrt(s2w * H[i, i] * (r.tau2 + vi[i])), rel=1e-9
        )
        dfb = res.beta - r.beta
        assert inf.cook_d[i] == pytest.approx(dfb @ np.linalg.inv(res.vb) @ dfb, rel=1e-9)
        assert inf.cov_r[i] == pytest.approx(np.linalg.det(r.vb) / np.linalg.det(res.vb), rel=1e-9)
        vb_del = np.linalg.inv(X.T @ np.diag(1 / (vi + r.tau2)) @ X)
        np.testing.assert_allclose(inf.dfbs[i], dfb / np.sqrt(s2w * np.diag(vb_del)), rtol=1e-9)
        assert inf.tau2_del[i] == pytest.approx(r.tau2, rel=1e-12, abs=1e-15)
    assert inf.dfbs.shape == (k, p)
    assert inf.to_frame().columns.tolist()[-3:] == ["dfbs_intrcpt", "dfbs_ablat", "inf"]


def test_rstandard_of_a_meta_regression_matches_the_k_by_k_formula():
    yi, vi, ablat = _bcg_ablat()
    res = rma(yi, vi, mods=ablat[:, None], method="DL")
    W = np.diag(1 / (vi + res.tau2))
    X = res.X
    ImH = np.eye(res.k) - X @ np.linalg.inv(X.T @ W @ X) @ X.T @ W
    ve = ImH @ np.diag(vi + res.tau2) @ ImH.T
    marginal = rstandard(res)
    np.testing.assert_allclose(marginal.resid, yi - X @ res.beta, rtol=1e-12)
    np.testing.assert_allclose(marginal.se, np.sqrt(np.diag(ve)), rtol=1e-10)
    conditional = rstandard(res, type="conditional")
    li = res.tau2 / (res.tau2 + vi)
    np.testing.assert_allclose(conditional.resid, yi - (li * yi + (1 - li) * (X @ res.beta)), rtol=1e-12)
    hat = np.diag(np.eye(res.k) - ImH)
    np.testing.assert_allclose(conditional.se, np.sqrt(vi**2 / (vi + res.tau2) * (1 - hat)), rtol=1e-10)
    with pytest.raises(InputError, match="type"):
        rstandard(res, type="pearson")


def test_blup_shrinks_towards_the_fitted_value_and_uses_t_under_knha():
    yi, vi, ablat = _bcg_ablat()
    res = rma(yi, vi, mods=ablat[:, None], method="REML", test="knha")
    b = blup(res, level=90)
    li = res.tau2 / (res.tau2 + vi)
    fitted = res.X @ res.beta
    np.testing.assert_allclose(b.pred, li * yi + (1 - li) * fitted, rtol=1e-12)
    # the BLUP lies between the observed effect and the fitted value
    assert np.all((b.pred - yi) * (b.pred - fitted) <= 1e-15)
    crit = stats.t.ppf(0.95, res.k - res.p)
    np.testing.assert_allclose(b.pi_ub - b.pred, crit * b.se, rtol=1e-12)
    assert b.level == 90
    fe = blup(rma(yi, vi, method="FE"))  # tau2 = 0: no shrinkage towards the data, the pooled estimate
    assert np.allclose(fe.pred, fe.pred[0])


def test_a_planted_outlier_is_flagged(rng):
    vi = rng.uniform(0.02, 0.05, 20)
    yi = rng.normal(0.3, np.sqrt(vi))
    yi[7] = 3.0
    inf = influence(rma(yi, vi, method="REML"))
    assert inf.is_infl[7] and inf.inf_flag[7] == "*"
    assert abs(inf.rstudent[7]) > 5 and np.argmax(np.abs(inf.rstudent)) == 7


def test_diagnostics_refuse_models_they_do_not_apply_to():
    yi, vi, ablat = _bcg_ablat()
    with pytest.raises(InputError, match="without moderators"):
        leave1out(rma(yi, vi, mods=ablat[:, None]))
    two = rma(yi[:2], vi[:2], method="REML")
    loo = leave1out(two)  # leaving one of two studies is metafor's k = 1 model
    np.testing.assert_allclose(loo.estimate, yi[1::-1])
    np.testing.assert_allclose(loo.tau2, 0.0)
    np.testing.assert_allclose(loo.H2, 1.0)
    with pytest.raises(TooFewStudiesError):
        influence(_single())


def _single():
    from regrow.meta._influence import single_study_fit
    from regrow.meta._tau2 import Control

    return single_study_fit(0.2, 0.1, method="REML", level=95, control=Control())
