"""The small metafor tools added for the test-suite port: tes(), update(), vec2mat(), replmiss(), dfround(),
the sampling densities, and regtest() on effect sizes (values against metafor are in tests/meta/testthat)."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

from regrow.errors import InputError
from regrow.meta import (
    density_cor,
    density_smd,
    density_zcor,
    dfround,
    regtest,
    replmiss,
    rma,
    tes,
    update,
    vec2mat,
)

YI = np.array([0.42, 0.10, 0.61, 0.25, 0.80, -0.05, 0.33])
VI = np.array([0.04, 0.02, 0.05, 0.03, 0.09, 0.02, 0.04])


def test_tes_exact_pvalue_is_the_sum_over_subsets_of_significant_studies():
    res = tes(YI, VI, test="exact")
    k, power = res.k, res.power
    brute = 0.0
    for j in range(res.O, k + 1):
        for sel in combinations(range(k), j):
            mask = np.zeros(k, bool)
            mask[list(sel)] = True
            brute += np.prod(power[mask]) * np.prod(1 - power[~mask])
    assert res.pval == pytest.approx(brute, rel=1e-12)
    n_significant = int(np.sum(np.abs(YI / np.sqrt(VI)) >= 1.959963984540054))
    assert n_significant == res.O


def test_tes_rejects_bad_options():
    with pytest.raises(InputError, match="test"):
        tes(YI, VI, test="fisher")
    with pytest.raises(InputError, match="alpha"):
        tes(YI, VI, alpha=1.5)
    with pytest.raises(InputError, match="vi"):
        tes(YI)


def test_update_refits_with_changed_arguments_and_keeps_the_rest():
    x = np.arange(7.0)
    res = rma(YI, VI, mods={"x": x}, method="ML", test="knha")
    same = update(res)
    assert same.method == "ML" and same.test == "knha" and same.coef_names == res.coef_names
    np.testing.assert_allclose(same.beta, res.beta, rtol=1e-12)
    dl = update(res, method="DL", mods=None)
    np.testing.assert_allclose(dl.beta, rma(YI, VI, method="DL", test="knha").beta, rtol=1e-12)
    with pytest.raises(InputError, match="yi"):
        update(res, yi=YI)


def test_vec2mat_fills_the_lower_triangle_by_column_and_mirrors_it():
    m = vec2mat([1, 2, 3], corr=True)
    np.testing.assert_array_equal(m, [[1, 1, 2], [1, 1, 3], [2, 3, 1]])
    with pytest.raises(InputError, match="square"):
        vec2mat([1, 2, 3, 4])
    with pytest.raises(InputError, match="dimnames"):
        vec2mat([1, 2, 3], dimnames=["a", "b"])


def test_replmiss_and_dfround():
    np.testing.assert_array_equal(replmiss([1, None, 3], [9, 8, 7]), [1, 8, 3])
    with pytest.raises(InputError, match="y has 2 values"):
        replmiss([1, None, 3], [1, 2])
    df = pd.DataFrame({"name": ["a", "b"], "x": [1.23456, 2.5], "y": [0.125, 3.14159]})
    out = dfround(df, [None, 2, 1])
    assert out["name"].tolist() == ["a", "b"]
    assert out["x"].tolist() == [1.23, 2.5] and out["y"].tolist() == [0.1, 3.1]
    with pytest.raises(InputError, match="digits"):
        dfround(df, [1, 2])


@pytest.mark.parametrize(
    ("density", "lower", "upper"),
    [
        (lambda x: density_smd(x, 12, 15, 0.4), -6.0, 6.0),
        (lambda x: density_cor(x, 20, 0.5), -1.0, 1.0),
        (lambda x: density_zcor(x, 20, 0.5), -6.0, 6.0),
    ],
)
def test_densities_integrate_to_one(density, lower, upper):
    total, _ = integrate.quad(density, lower, upper, limit=200)
    assert total == pytest.approx(1.0, abs=1e-6)


def test_density_zcor_needs_a_true_correlation():
    with pytest.raises(InputError, match="rho"):
        density_zcor(0.5, 20)


def test_regtest_on_effect_sizes_fits_the_reml_model_first():
    assert regtest(YI, VI).stat == pytest.approx(regtest(rma(YI, VI, method="REML")).stat, rel=1e-12)
