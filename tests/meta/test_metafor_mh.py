"""Mantel-Haenszel, Peto and RevMan-style MH + DL against metafor 3.8-1, plus independent checks."""

from __future__ import annotations

import numpy as np
import pytest
from metafor_refs import (
    CLOSED_FORM_RTOL,
    COEF_FIELDS,
    analysis_names,
    assert_close,
    load_dataset,
    load_reference,
)
from statsmodels.stats.contingency_tables import StratifiedTable

from regrow.errors import EstimationError, InputError
from regrow.meta._mh import revman_mh_dl, rma_mh, rma_peto

CHECKED_SECTIONS = {"mh_peto.mh", "mh_peto.peto", "mh_peto.revman_style_MH_DL"}

MH = [n for n in analysis_names() if "mh_peto" in load_reference(n)]
#: the 2x2 columns of each dataset (make_refs.R: spec$twobytwo)
TABLES = {"dat.bcg": ("tpos", "tneg", "cpos", "cneg")}
#: our field -> metafor's
FIELDS = {
    "beta": "beta",
    "se": "se",
    "zval": "zval",
    "pval": "pval",
    "ci_lb": "ci.lb",
    "ci_ub": "ci.ub",
    "tau2": "tau2",
    "I2": "I2",
    "H2": "H2",
    "QE": "QE",
    "QEp": "QEp",
    "CO": "CO",
    "COp": "COp",
    "MH": "MH",
    "MHp": "MHp",
    "BD": "BD",
    "BDp": "BDp",
    "TA": "TA",
    "TAp": "TAp",
    "yi": "yi",
    "vi": "vi",
    "weights_pct": "weights_pct",
}


def _cells(name: str):
    dataset = load_reference(name)["meta"]["dataset"]
    data = load_dataset(dataset)
    return [data[c].to_numpy(float) for c in TABLES[dataset]]


def _compare(ours, ref: dict, what: str) -> None:
    for mine, theirs in FIELDS.items():
        if theirs not in ref:
            assert getattr(ours, mine) is None, f"{what} {mine}"
            continue
        value = ref[theirs]["intrcpt"] if isinstance(ref[theirs], dict) else ref[theirs]
        if value is None:
            assert getattr(ours, mine) is None or np.isnan(getattr(ours, mine)), f"{what} {mine}"
        else:
            assert_close(getattr(ours, mine), value, rtol=CLOSED_FORM_RTOL, what=f"{what} {theirs}")
    assert (ours.k, ours.k_yi, ours.k_pos, ours.k_eff) == (
        ref["k"],
        ref["k.yi"],
        ref["k.pos"],
        ref["k.eff"],
    ), what
    assert ours.measure == ref["measure"] and ref["method"] == "FE", what
    # metafor's add/to/drop00 pairs: (study-level yi, pooled estimate); the pooled estimate uses raw counts
    assert (ours.add, ours.to, ours.drop00) == (ref["add"][0], ref["to"][0], ref["drop00"][0]), what
    assert (ref["add"][1], ref["to"][1], ref["drop00"][1]) == (0, "none", False), what
    if "correct" in ref:
        assert ours.correct == ref["correct"], what
    assert ref["call"].startswith(("rma.mh(", "rma.peto(")), what


@pytest.mark.parametrize(
    ("name", "measure"), [(n, m) for n in MH for m in load_reference(n)["mh_peto"]["mh"]]
)
def test_mh_matches_metafor(name, measure):
    ref = load_reference(name)["mh_peto"]["mh"][measure]
    _compare(rma_mh(*_cells(name), measure=measure), ref, f"{name} MH {measure}")


@pytest.mark.parametrize("name", MH)
def test_peto_matches_metafor(name):
    res = rma_peto(*_cells(name))
    assert res.method == "PETO"
    _compare(res, load_reference(name)["mh_peto"]["peto"], f"{name} Peto")


@pytest.mark.parametrize(
    ("name", "measure"), [(n, m) for n in MH for m in load_reference(n)["mh_peto"]["revman_style_MH_DL"]]
)
def test_revman_matches_reference(name, measure):
    ref = load_reference(name)["mh_peto"]["revman_style_MH_DL"][measure]
    res = revman_mh_dl(*_cells(name), measure=measure)
    assert (res.measure, res.k, res.df) == (ref["measure"], ref["k"], ref["df"])
    for mine, theirs in (
        ("Q_MH", "Q_MH"),
        ("tau2", "tau2"),
        *COEF_FIELDS,
        ("I2", "I2"),
        ("weights_pct", "weights_pct"),
    ):
        assert_close(
            getattr(res, mine), ref[theirs], rtol=CLOSED_FORM_RTOL, what=f"{name} {measure} {theirs}"
        )
    assert "DERIVED" in ref["note"]


def test_mh_odds_ratio_and_tests_equal_statsmodels(rng):
    tables = rng.integers(3, 60, size=(8, 2, 2)).astype(float)
    ai, bi, ci, di = tables[:, 0, 0], tables[:, 0, 1], tables[:, 1, 0], tables[:, 1, 1]
    res = rma_mh(ai, bi, ci, di, measure="OR")
    st = StratifiedTable(np.transpose(tables, (1, 2, 0)))
    assert_close(res.beta, st.logodds_pooled, rtol=1e-10)
    assert_close(res.se, st.logodds_pooled_se, rtol=1e-10)
    null = st.test_null_odds(correction=True)
    assert_close(res.MH, null.statistic, rtol=1e-10)
    assert_close(res.MHp, null.pvalue, rtol=1e-10)
    bd = st.test_equal_odds(adjust=True)  # Breslow-Day with Tarone's adjustment
    assert_close(res.TA, bd.statistic, rtol=1e-8)
    assert_close(res.TAp, bd.pvalue, rtol=1e-8)


def test_single_table_and_closed_forms():
    # one table: the MH odds ratio and risk ratio are the table's own; Peto's is (O - E) / V
    res = rma_mh([10], [20], [5], [25], measure="OR")
    assert_close(res.beta, np.log(10 * 25 / (20 * 5)), rtol=1e-12)
    rr = rma_mh([10], [20], [5], [25], measure="RR")
    assert_close(rr.beta, np.log((10 / 30) / (5 / 30)), rtol=1e-12)
    rd = rma_mh([10], [20], [5], [25], measure="RD")
    assert_close(rd.beta, 10 / 30 - 5 / 30, rtol=1e-12)
    assert_close(rd.se, np.sqrt((10 / 30) * (20 / 30) / 30 + (5 / 30) * (25 / 30) / 30), rtol=1e-12)
    peto = rma_peto([10], [20], [5], [25])
    V = 15 * 45 * 0.5 * 0.5 / 59
    assert_close(peto.beta, (10 - 7.5) / V, rtol=1e-12)
    assert res.QE == 0 and res.k_yi == 1


def test_zero_cells_match_metafor():
    # values printed by metafor 3.8-1: rma.mh / rma.peto(ai=c(0,3,0,4), bi=c(10,7,10,6), ci=c(2,0,0,5),
    # di=c(8,10,5,5)); table 3 has no events in either group (dropped from yi by drop00)
    cells = ([0, 3, 0, 4], [10, 7, 10, 6], [2, 0, 0, 5], [8, 10, 5, 5])
    mh = rma_mh(*cells, measure="OR")
    assert_close(mh.yi, [-1.8207470, 2.2823824, -0.4054651], rtol=1e-6)
    assert_close(mh.vi, [2.6128852, 2.5142857, 0.8166667], rtol=1e-6)
    assert_close([mh.beta, mh.QE, mh.BD, mh.TA], [0.0, 3.541935, 5.953654, 5.953654], rtol=1e-6, atol=1e-12)
    assert (mh.k, mh.k_yi, mh.k_pos) == (4, 3, 3)
    assert_close(mh.weights_pct, [40, 0, 0, 60], rtol=1e-12)
    peto = rma_peto(*cells)
    assert_close(peto.yi, [-1.4736842, 1.7500000, -0.3838384], rtol=1e-6)
    assert_close([peto.beta, peto.QE], [0.0, 5.655971], rtol=1e-6, atol=1e-12)
    assert_close(peto.weights_pct, [19.35484, 27.41935, 0.0, 53.22581], rtol=1e-6)


def test_errors():
    with pytest.raises(InputError, match="ai"):
        rma_mh([-1], [2], [3], [4])
    with pytest.raises(InputError, match="measure"):
        rma_mh([1], [2], [3], [4], measure="HR")
    with pytest.raises(InputError, match="bi"):
        rma_mh([1, 2], None, [3, 4], [5, 6])
    with pytest.raises(EstimationError, match="never occurred"):
        rma_peto([0, 0], [5, 6], [0, 0], [7, 8])
    rd = rma_mh([1, 2], [5, 6], [0, 1], [7, 8], n1i=None, measure="RR")
    assert np.isfinite(rd.beta)
    assert rma_mh([1, np.nan], [5, 6], [1, 1], [7, 8]).warnings
