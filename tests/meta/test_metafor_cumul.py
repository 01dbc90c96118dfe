"""Cumulative meta-analysis against metafor 3.8-1 (every column of ``cumul_REML`` / ``cumul_FE``) and closed
forms."""

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

from regrow.errors import InputError
from regrow.meta._cumul import cumul
from regrow.meta._rma import rma

CHECKED_SECTIONS = {"cumul_REML", "cumul_FE"}

#: metafor names the p-value column of cumul() ``pvals``.
RENAME = {"pvals": "pval"}
#: I^2 and H^2 amplify R's boundary tau^2 (~1e-11 where the exact value is 0); absolute tolerances in their
#: own units (percentage points, ratio).
BOUNDARY_ATOL = {"I2": 1e-6, "H2": 1e-8}


def _cases():
    return [
        (name, section)
        for name in analysis_names()
        for section in ("cumul_REML", "cumul_FE")
        if section in load_reference(name)
    ]


@pytest.mark.parametrize(("name", "section"), _cases())
def test_cumul_matches_metafor(name, section):
    ref = load_reference(name)
    block = ref[section]
    method = section.removeprefix("cumul_")
    yi, vi = reference_yi_vi(name)
    keep = np.isfinite(yi) & np.isfinite(vi)
    data = load_dataset(ref["meta"]["dataset"].split("[")[0].split(" ")[0])
    order = data[block["order_by"]].to_numpy()[keep]
    ours = cumul(rma(yi[keep], vi[keep], method=method), order=order)
    out = ours.to_dict()
    # metafor's default slab is the row number: the reference slab column is the order of entry
    assert [str(i + 1) for i in ours.order] == block["slab"]
    for key, values in block.items():
        if key in ("slab", "order_by"):
            continue
        field = RENAME.get(key, key.replace(".", "_"))
        assert field in out, f"{name}.{section}: no {field}"
        assert_close(
            out[field],
            values,
            rtol=rtol_for(method),
            atol=BOUNDARY_ATOL.get(field, ABS_TOL),
            what=f"{name}.{section}.{key}",
        )


def test_every_cumul_reference_is_checked():
    assert len(_cases()) >= 4


def test_fixed_effect_cumulation_is_the_running_weighted_mean():
    yi, vi = reference_yi_vi("bcg_RR")
    year = load_dataset("dat.bcg")["year"].to_numpy()
    out = cumul(rma(yi, vi, method="FE"), order=year, decreasing=True)
    idx = out.order
    w = 1 / vi[idx]
    mean = np.cumsum(w * yi[idx]) / np.cumsum(w)
    np.testing.assert_allclose(out.estimate, mean, rtol=CLOSED_FORM_RTOL)
    np.testing.assert_allclose(out.se, 1 / np.sqrt(np.cumsum(w)), rtol=CLOSED_FORM_RTOL)
    np.testing.assert_allclose(out.pval, 2 * stats.norm.sf(np.abs(mean) * np.sqrt(np.cumsum(w))), rtol=1e-9)
    assert out.tau2 is None
    # decreasing years, ties kept in data order (R's order(decreasing = TRUE) is stable)
    assert np.all(np.diff(year[idx]) <= 0)
    for y in np.unique(year):
        tied = idx[year[idx] == y]
        assert list(tied) == sorted(tied)


def test_first_row_is_metafor_single_study_model():
    yi, vi = reference_yi_vi("bcg_RR")
    out = cumul(rma(yi, vi, method="REML", test="knha"))
    assert out.estimate[0] == pytest.approx(yi[0], rel=1e-14)
    assert out.se[0] == pytest.approx(np.sqrt(vi[0]))
    assert out.pval[0] == pytest.approx(2 * stats.norm.sf(abs(yi[0]) / np.sqrt(vi[0])))  # z, as k = 1
    assert (out.tau2[0], out.Q[0], out.Qp[0], out.I2[0], out.H2[0]) == (0.0, 0.0, 1.0, 0.0, 1.0)
    full = rma(yi, vi, method="REML", test="knha")
    assert out.estimate[-1] == pytest.approx(full.beta[0], rel=1e-12)
    assert out.to_frame().shape == (yi.size, 11)


def test_cumul_rejects_bad_orders_and_moderators():
    yi, vi = reference_yi_vi("bcg_RR")
    res = rma(yi, vi)
    with pytest.raises(InputError, match="order has 3 values"):
        cumul(res, order=[1, 2, 3])
    with pytest.raises(InputError, match="row 2"):
        cumul(res, order=[1.0, np.nan] + [3.0] * 11)
    with pytest.raises(InputError, match="without moderators"):
        cumul(rma(yi, vi, mods=np.arange(13.0)))
    by_label = cumul(res, order=[f"s{i:02d}" for i in range(13)][::-1])
    assert list(by_label.order) == list(range(12, -1, -1))
