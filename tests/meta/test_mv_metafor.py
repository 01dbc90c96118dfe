"""rma_mv against metafor 3.8-1's rma.mv on the metadat examples (references in refs_mv/, see mv_refs.py)."""

from __future__ import annotations

import numpy as np
import pytest
from mv_refs import check_default, check_fit, load, ref

from regrow.meta import rma_mv


def _konstantopoulos(**kw):
    d = load("konstantopoulos2011")
    d["year_c"] = d["year"] - 1990
    return rma_mv(d["yi"], d["vi"], data=d, **kw)


def _berkey(**kw):
    d = load("berkey1998")
    return rma_mv(d["yi"], np.array(ref("berkey1998")["V"]), data=d, **kw)


def _assink(V=None, **kw):
    d = load("assink2016")
    return rma_mv(d["yi"], d["vi"] if V is None else V, data=d, **kw)


def _ishak(**kw):
    d = load("ishak2007")
    return rma_mv(d["yi"], np.array(ref("ishak2007")["V_phi097"]), data=d, **kw)


ML = "~ 1 | district/school"
BERKEY = {"mods": "~ outcome - 1", "random": "~ outcome | trial"}
ASSINK = "~ 1 | study/esid"
ISHAK = {"mods": "~ factor(time) - 1", "random": "~ time | study"}

#: (reference file, section) -> the same model in regrow.
CASES = {
    ("konstantopoulos2011", "re_study"): lambda: _konstantopoulos(random="~ 1 | study"),
    ("konstantopoulos2011", "ml_reml"): lambda: _konstantopoulos(random=ML),
    ("konstantopoulos2011", "ml_ml"): lambda: _konstantopoulos(random=ML, method="ML"),
    ("konstantopoulos2011", "mv_cs"): lambda: _konstantopoulos(random="~ school | district"),
    ("konstantopoulos2011", "ml_year"): lambda: _konstantopoulos(mods="~ year_c", random=ML),
    ("konstantopoulos2011", "ml_year_t"): lambda: _konstantopoulos(mods="~ year_c", random=ML, test="t"),
    ("konstantopoulos2011", "ml_year_contain"): lambda: _konstantopoulos(
        mods="~ year_c", random=ML, dfs="contain"
    ),
    ("konstantopoulos2011", "ml_sigma2_fixed"): lambda: _konstantopoulos(random=ML, sigma2=[0, None]),
    ("konstantopoulos2011", "crossed"): lambda: _konstantopoulos(random=["~ 1 | district", "~ 1 | school"]),
    ("konstantopoulos2011", "ee"): lambda: _konstantopoulos(method="EE"),
    ("berkey1998", "un"): lambda: _berkey(struct="UN", **BERKEY),
    ("berkey1998", "un_year_ml"): lambda: _berkey(
        mods="~ outcome + outcome:year_c - 1", random="~ outcome | trial", struct="UN", method="ML"
    ),
    ("berkey1998", "struct_CS"): lambda: _berkey(struct="CS", **BERKEY),
    ("berkey1998", "struct_HCS"): lambda: _berkey(struct="HCS", **BERKEY),
    ("berkey1998", "struct_ID"): lambda: _berkey(struct="ID", **BERKEY),
    ("berkey1998", "struct_DIAG"): lambda: _berkey(struct="DIAG", **BERKEY),
    ("berkey1998", "struct_CS_rho_fixed"): lambda: _berkey(struct="CS", rho=0.5, **BERKEY),
    ("assink2016", "ml"): lambda: _assink(random=ASSINK),
    ("assink2016", "mod_pubstatus"): lambda: _assink(mods="~ pubstatus", random=ASSINK),
    ("assink2016", "mod_year"): lambda: _assink(mods="~ year", random=ASSINK),
    ("assink2016", "mod_deltype"): lambda: _assink(mods="~ deltype", random=ASSINK),
    ("assink2016", "mod_year_deltype"): lambda: _assink(mods="~ year + deltype", random=ASSINK),
    ("assink2016", "ml_V"): lambda: _assink(V=np.array(ref("assink2016")["V_rho06"]), random=ASSINK),
    ("ishak2007", "struct_AR"): lambda: _ishak(struct="AR", **ISHAK),
    ("ishak2007", "struct_HAR"): lambda: _ishak(struct="HAR", **ISHAK),
    ("ishak2007", "struct_CAR"): lambda: _ishak(struct="CAR", **ISHAK),
}
CHECKED = set(CASES)


@pytest.fixture(scope="module")
def fits():
    return {}


def _fit(fits, key):
    if key not in fits:
        fits[key] = CASES[key]()
    return fits[key]


@pytest.mark.parametrize("key", sorted(CASES), ids=lambda k: f"{k[0]}-{k[1]}")
def test_fit_matches_metafor(fits, key):
    check_fit(_fit(fits, key), ref(key[0])[key[1]], label="/".join(key))


@pytest.mark.parametrize(
    "key", sorted(k for k in CASES if "default" in ref(k[0])[k[1]]), ids=lambda k: "/".join(k)
)
def test_fit_matches_metafor_default_control(fits, key):
    check_default(_fit(fits, key), ref(key[0])[key[1]], label="/".join(key))


def test_multivariate_cs_equals_multilevel_model(fits):
    """Konstantopoulos (2011): tau^2 of the CS model is the sum of the two multilevel variances, rho the ICC."""
    ml = _fit(fits, ("konstantopoulos2011", "ml_reml"))
    mv = _fit(fits, ("konstantopoulos2011", "mv_cs"))
    assert mv.tau2[0] == pytest.approx(ml.sigma2.sum(), rel=1e-6)
    assert mv.rho[0] == pytest.approx(ml.sigma2[0] / ml.sigma2.sum(), rel=1e-5)


def test_car_with_equally_spaced_times_equals_ar(fits):
    ar = _fit(fits, ("ishak2007", "struct_AR"))
    car = _fit(fits, ("ishak2007", "struct_CAR"))
    assert car.tau2[0] == pytest.approx(ar.tau2[0], rel=1e-6)
    assert car.rho[0] == pytest.approx(ar.rho[0], rel=1e-6)
    assert car.fit_stats["REML"]["ll"] == pytest.approx(ar.fit_stats["REML"]["ll"], abs=1e-9)


def test_one_level_model_equals_rma(fits):
    """``~ 1 | study`` with one row per study is rma()'s random-effects model."""
    from regrow.meta import rma

    d = load("konstantopoulos2011")
    uni = rma(d["yi"], d["vi"], method="REML")
    mv = _fit(fits, ("konstantopoulos2011", "re_study"))
    assert mv.sigma2[0] == pytest.approx(uni.tau2, rel=1e-6)
    assert mv.beta[0] == pytest.approx(uni.beta[0], rel=1e-7)
    assert mv.se[0] == pytest.approx(uni.se[0], rel=1e-6)
    assert mv.fit_stats["REML"]["ll"] == pytest.approx(uni.fit_stats["REML"]["ll"], abs=1e-8)


def test_data_frame_input_gives_the_same_fit(fits):
    pd = pytest.importorskip("pandas")
    d = load("assink2016")
    frame = pd.DataFrame(d)
    res = rma_mv("yi", "vi", mods="~ deltype", random=ASSINK, data=frame)
    np.testing.assert_allclose(res.beta, _fit(fits, ("assink2016", "mod_deltype")).beta, rtol=1e-12)


def test_column_moderators_give_the_formula_fit(fits):
    d = load("assink2016")
    by_columns = rma_mv(
        d["yi"], d["vi"], mods={"year": d["year"], "deltype": d["deltype"]}, random=ASSINK, data=d
    )
    by_formula = _fit(fits, ("assink2016", "mod_year_deltype"))
    assert by_columns.coef_names == by_formula.coef_names
    np.testing.assert_allclose(by_columns.beta, by_formula.beta, rtol=1e-10)


def test_summary_names_the_components(fits):
    text = _fit(fits, ("berkey1998", "un")).summary()
    assert "inner factor: outcome (nlvls = 2; struct = UN)" in text
    assert "outcomeAL" in text and "tau^2.1 (AL)" in text
