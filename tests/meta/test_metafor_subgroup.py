"""Subgroup analysis against metafor 3.8-1 (``run_subgroup`` in make_refs.R): every number of every
``subgroup.<variable>`` block, for every estimator, plus closed-form checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from metafor_refs import (
    ABS_TOL,
    CLOSED_FORM_RTOL,
    analysis_names,
    load_dataset,
    load_reference,
    ref_value,
    reference_yi_vi,
    rtol_for,
)
from scipy import stats

from regrow.errors import InputError
from regrow.meta._subgroup import subgroup

CHECKED_SECTIONS = {"subgroup"}

#: Reference keys that are R-only labels or aliases: ``cr.lb``/``cr.ub`` (metafor's credibility interval) are
#: the prediction interval, ``QM_F`` is QM under knha; ``pred.type`` is the constant "location".
ALIAS = {"cr.lb": "pi_lb", "cr.ub": "pi_ub", "QM_F": "QM"}
SKIP = {"pred.type"}
#: I^2 and H^2 amplify R's boundary tau^2 (~1e-11 where the exact value is 0): absolute tolerances in their
#: own units (percentage points, ratio).
BOUNDARY_ATOL = {"I2": 1e-6, "H2": 1e-8}


def _cases():
    return [
        (n, g)
        for n in analysis_names()
        if "subgroup" in load_reference(n)
        for g in load_reference(n)["subgroup"]
    ]


def _compare(ours, ref, *, rtol: float, path: str, checked: list[str]) -> None:
    """Walk the reference dict and compare every leaf with ours (keys: dots -> underscores)."""
    if isinstance(ref, dict):
        assert isinstance(ours, dict), f"{path}: expected a mapping"
        for key, value in ref.items():
            if key in SKIP:
                continue
            mine = ALIAS.get(key, key.replace(".", "_"))
            assert mine in ours, f"{path}: no {mine!r} (reference {key!r})"
            _compare(ours[mine], value, rtol=rtol, path=f"{path}.{key}", checked=checked)
        return
    if isinstance(ref, str) or (isinstance(ref, list) and ref and isinstance(ref[0], str)):
        assert ours == ref, path
        checked.append(path)
        return
    ref_arr = np.array([ref_value(v) for v in np.atleast_1d(np.asarray(ref, dtype=object))], dtype=float)
    ours_arr = np.array(
        [np.nan if v is None else v for v in np.atleast_1d(np.asarray(ours, dtype=object))], dtype=float
    )
    assert ours_arr.shape == ref_arr.shape, path
    atol = BOUNDARY_ATOL.get(path.rsplit(".", 1)[-1], ABS_TOL)
    np.testing.assert_allclose(ours_arr, ref_arr, rtol=rtol, atol=atol, equal_nan=True, err_msg=path)
    checked.append(path)


@pytest.mark.parametrize(("name", "variable"), _cases())
def test_subgroup_matches_metafor(name, variable):
    ref_all = load_reference(name)
    ref = ref_all["subgroup"][variable]
    yi, vi = reference_yi_vi(name)
    keep = np.isfinite(yi) & np.isfinite(vi)
    groups = load_dataset(ref_all["meta"]["dataset"])[variable].to_numpy()[keep]
    checked: list[str] = []
    for method in ref["separate_tau2"]:
        res = subgroup(yi[keep], vi[keep], groups, method=method, variable=variable).to_dict()
        head = {key: ref[key] for key in ("variable", "levels", "n_per_level", "group_per_study")}
        _compare(res, head, rtol=CLOSED_FORM_RTOL, path=f"{name}.{variable}", checked=checked)
        rtol = rtol_for(method)
        _compare(
            res["separate_tau2"],
            ref["separate_tau2"][method],
            rtol=rtol,
            path=f"{name}.{variable}.separate_tau2.{method}",
            checked=checked,
        )
        _compare(
            res["common_tau2"],
            ref["common_tau2"][method],
            rtol=rtol,
            path=f"{name}.{variable}.common_tau2.{method}",
            checked=checked,
        )
    knha = subgroup(yi[keep], vi[keep], groups, method="REML", test="knha", variable=variable).to_dict()
    _compare(
        knha["common_tau2"]["moderator_test"],
        ref["common_tau2_knha_REML"],
        rtol=rtol_for("REML"),
        path=f"{name}.{variable}.common_tau2_knha_REML",
        checked=checked,
    )
    assert set(ref) == {
        "variable",
        "levels",
        "n_per_level",
        "group_per_study",
        "separate_tau2",
        "common_tau2",
        "common_tau2_knha_REML",
    }
    assert len(checked) > 100


def test_every_subgroup_reference_is_checked():
    assert len(_cases()) >= 7


def test_fixed_effect_q_between_equals_the_meta_regression_qm():
    """Under FE the two tests for subgroup differences coincide (Borenstein & Higgins 2013)."""
    yi, vi = reference_yi_vi("bcg_RR")
    alloc = load_dataset("dat.bcg")["alloc"]
    sg = subgroup(yi, vi, alloc, method="FE", variable="alloc")
    assert sg.differences.Q_between == pytest.approx(sg.common.QM, rel=1e-10)
    w = 1 / vi
    for j, level in enumerate(sg.levels):
        rows = (alloc == level).to_numpy()
        mean = np.sum(w[rows] * yi[rows]) / np.sum(w[rows])
        assert sg.separate[level].estimate == pytest.approx(mean, rel=1e-12)
        assert sg.common.beta[j] == pytest.approx(mean, rel=1e-10)
    assert sg.differences.pval == pytest.approx(stats.chi2.sf(sg.differences.Q_between, 2))
    assert sg.to_frame().index.tolist() == ["alternate", "random", "systematic"]
    assert sg.common.model.coef_names == ["intrcpt", "allocrandom", "allocsystematic"]


def test_one_study_subgroup_is_metafor_k1_model_and_levels_follow_r_order():
    yi, vi = reference_yi_vi("bcg_RR")
    groups = [3] * 6 + [10] * 6 + [2]  # numeric labels sort numerically, as R's factor does
    sg = subgroup(yi, vi, groups, method="REML")
    assert sg.levels == ["2", "3", "10"]
    one = sg.separate["2"]
    assert one.k == 1 and one.tau2 == 0.0 and one.QE == 0.0 and one.QEp == 1.0 and one.H2 == 1.0
    assert one.estimate == yi[12] and one.se == pytest.approx(np.sqrt(vi[12]))
    assert one.warnings
    cat = pd.Series(pd.Categorical(["b"] * 7 + ["a"] * 6, categories=["b", "a"]))
    assert subgroup(yi, vi, cat, method="DL").levels == ["b", "a"]


def test_subgroup_rejects_bad_groups():
    yi, vi = reference_yi_vi("bcg_RR")
    with pytest.raises(InputError, match="two different subgroups"):
        subgroup(yi, vi, ["a"] * 13)
    with pytest.raises(InputError, match="row 4"):
        subgroup(yi, vi, ["a", "b", "a", None] + ["b"] * 9)
    with pytest.raises(InputError, match="12 values"):
        subgroup(yi, vi, ["a", "b"] * 6)
    with pytest.raises(InputError, match="positive"):
        subgroup(yi, -vi, ["a", "b"] * 6 + ["a"])
