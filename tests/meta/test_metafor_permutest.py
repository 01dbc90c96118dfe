"""Permutation tests: metafor 3.8-1's exact sign-flip references, the batched refits against the obvious loop
of single refits, exact meta-regression tests against a brute-force enumeration, and the random test."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from metafor_refs import (
    CLOSED_FORM_RTOL,
    analysis_names,
    assert_close,
    load_dataset,
    load_reference,
    reference_yi_vi,
    rtol_for,
)

from regrow.errors import InputError, TooFewStudiesError
from regrow.meta._permutest import (
    MAX_EXACT_PERMUTATIONS,
    _multiset_permutations,
    _stats_batched,
    _stats_loop,
    permutest,
)
from regrow.meta._rma import rma

CHECKED_SECTIONS = {"permutest_exact_REML"}

METHODS = ("FE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")
#: The batch and the loop run the same arithmetic in another order; PM's roots are found to tol = 1e-12
#: by different algorithms (Newton here, Brent in the core), so allow 1e-9 on the statistics.
FAST_SLOW_RTOL = 1e-9


@pytest.mark.parametrize("name", [n for n in analysis_names() if "permutest_exact_REML" in load_reference(n)])
def test_exact_sign_flip_test_matches_metafor(name):
    ref = load_reference(name)["permutest_exact_REML"]
    yi, vi = reference_yi_vi(name)
    pt = permutest(rma(yi, vi, method="REML"), iter="exact")
    assert pt.exact and pt.iterations == 2**yi.size and pt.n_failed == 0
    # an exact p-value is a count over 2^k: compare it exactly (as a float ratio)
    assert_close(pt.pval, ref["pval"], rtol=CLOSED_FORM_RTOL, what=f"{name}.pval")
    assert_close(pt.zval, ref["zval"], rtol=rtol_for("REML"), what=f"{name}.zval")
    assert pt.pval_perm == {"intrcpt": pytest.approx(ref["pval"])}
    assert pt.QMp == pytest.approx(ref["pval"])  # QM = z^2 for one coefficient


def _synthetic(rng, k=14):
    x1 = rng.normal(size=k)
    x2 = rng.choice([0.0, 1.0], size=k)
    vi = rng.uniform(0.01, 0.2, size=k)
    yi = 0.2 + 0.15 * x1 + rng.normal(scale=np.sqrt(vi + 0.04))
    return yi, vi, np.column_stack([x1, x2])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("test", ["z", "knha", "adhoc"])
def test_batched_refits_equal_the_loop_of_single_refits(rng, method, test):
    yi, vi, mods = _synthetic(rng)
    res = rma(yi, vi, mods=mods, method=method, test=test)
    perms = np.argsort(rng.random((25, yi.size)), axis=1)
    fast = _stats_batched(res, yi[perms], vi[perms])
    slow = _stats_loop(res, yi[perms], vi[perms])
    np.testing.assert_allclose(fast[0], slow[0], rtol=FAST_SLOW_RTOL, atol=1e-12)
    np.testing.assert_allclose(fast[1], slow[1], rtol=FAST_SLOW_RTOL, atol=1e-12)
    signs = rng.choice([-1.0, 1.0], size=(25, yi.size))
    res0 = rma(yi, vi, method=method, test=test)
    fast = _stats_batched(res0, signs * yi, np.broadcast_to(vi, signs.shape))
    slow = _stats_loop(res0, signs * yi, np.broadcast_to(vi, signs.shape))
    np.testing.assert_allclose(fast[0], slow[0], rtol=FAST_SLOW_RTOL, atol=1e-12)


def _brute_force_exact(yi, vi, X, method):
    """p-values over every distinct arrangement of the rows of X, each refitted from scratch."""
    seen, zs, qms = set(), [], []
    for perm in itertools.permutations(range(yi.size)):
        key = X[list(perm)].tobytes()
        if key in seen:
            continue
        seen.add(key)
        r = rma(yi, vi, mods=X[list(perm), 1:], method=method)
        zs.append(r.zval)
        qms.append(r.QM)
    obs = rma(yi, vi, mods=X[:, 1:], method=method)
    tol = math.sqrt(np.finfo(float).eps)
    pval = np.mean(np.abs(np.array(zs)) >= np.abs(obs.zval) - tol, axis=0)
    return pval, np.mean(np.array(qms) >= obs.QM - tol), len(seen)


@pytest.mark.parametrize("method", ["FE", "DL"])
def test_exact_meta_regression_test_equals_brute_force(method):
    """7 BCG trials and a factor with repeated rows: 7! / (2! 2! 3!) = 210 distinct arrangements."""
    yi, vi = reference_yi_vi("bcg_RR")
    alloc = load_dataset("dat.bcg")["alloc"].to_numpy()
    rows = [0, 1, 2, 3, 4, 6, 7]
    res = rma(yi[rows], vi[rows], mods=pd.DataFrame({"alloc": alloc[rows]}), method=method)
    pt = permutest(res, iter="exact")
    pval, qmp, n = _brute_force_exact(yi[rows], vi[rows], res.X, method)
    counts = np.unique(alloc[rows], return_counts=True)[1]
    assert n == pt.iterations == math.factorial(7) // math.prod(math.factorial(c) for c in counts)
    np.testing.assert_allclose(pt.pval, pval, rtol=1e-12)
    assert pt.QMp == pytest.approx(qmp, rel=1e-12)


def test_exact_test_is_automatic_when_iter_covers_all_permutations():
    yi, vi = reference_yi_vi("normand1999_MD")  # k = 9: 512 sign vectors <= 1000
    pt = permutest(rma(yi, vi, method="REML"), iter=1000, seed=1)
    assert pt.exact and pt.iterations == 512 and pt.seed is None
    assert pt.pval[0] == pytest.approx(load_reference("normand1999_MD")["permutest_exact_REML"]["pval"])


def test_ml_local_maximum_check_matches_metafor():
    """metafor's ll0check sets tau2 = 0 when the likelihood at 0 beats the Fisher-scoring root; 143 of these
    5040 refits need it. metafor 3.8-1 values from (R 4.2.2):
    ``dat <- escalc("RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)[1:7,]``;
    ``permutest(rma(yi, vi, mods=~ablat+year, data=dat, method="ML", control=list(threshold=1e-12,
    tol=1e-12, maxiter=10000)), exact=TRUE)`` -> pval 0.1944444 0.09623016 0.1936508, QMp 0.2140873."""
    yi, vi = reference_yi_vi("bcg_RR")
    bcg = load_dataset("dat.bcg").iloc[:7]
    pt = permutest(rma(yi[:7], vi[:7], mods=bcg[["ablat", "year"]], method="ML"), iter="exact")
    assert pt.iterations == 5040
    np.testing.assert_allclose(pt.pval, [980 / 5040, 485 / 5040, 976 / 5040])
    np.testing.assert_allclose(
        [pt.pval[0], pt.pval[1], pt.pval[2], pt.QMp], [0.1944444, 0.09623016, 0.1936508, 0.2140873], atol=5e-8
    )


def test_random_test_is_seeded_counts_the_data_and_agrees_with_the_exact_test():
    yi, vi = reference_yi_vi("bcg_RR")
    res = rma(yi, vi, method="REML")
    exact = permutest(res, iter="exact").pval[0]
    calls = []
    a = permutest(res, iter=3000, seed=7, progress=lambda done, total: calls.append((done, total)))
    b = permutest(res, iter=3000, seed=7)
    assert not a.exact and a.iterations == 3000 and a.seed == 7
    np.testing.assert_array_equal(a.pval, b.pval)
    np.testing.assert_array_equal(a.zval_perm[0], res.zval)  # the observed data are permutation 1
    assert calls[-1] == (3000, 3000)
    se = math.sqrt(exact * (1 - exact) / 3000)
    assert abs(a.pval[0] - exact) < 4 * se + 1 / 3000


def test_random_meta_regression_test_agrees_with_the_exact_one():
    yi, vi = reference_yi_vi("bcg_RR")
    alloc = load_dataset("dat.bcg")["alloc"].to_numpy()
    res = rma(yi, vi, mods=pd.DataFrame({"alloc": alloc}), method="DL")
    exact = permutest(res, iter="exact")  # 13! / (2! 7! 4!) = 25740 arrangements
    assert exact.iterations == 25740
    rand = permutest(res, iter=4000, seed=3)
    se = np.sqrt(exact.pval * (1 - exact.pval) / 4000)
    assert np.all(np.abs(rand.pval - exact.pval) < 4 * se + 1 / 4000)
    assert abs(rand.QMp - exact.QMp) < 4 * math.sqrt(exact.QMp * (1 - exact.QMp) / 4000) + 1 / 4000
    out = rand.to_dict()
    assert [c["name"] for c in out["coefficients"]] == ["intrcpt", "allocrandom", "allocsystematic"]
    assert out["coefficients"][1]["pval_perm"] == rand.pval[1]


def test_multiset_permutations_are_all_distinct_arrangements():
    classes = np.array([0, 1, 1, 2, 0, 1])
    arr = _multiset_permutations(classes)
    assert arr.shape == (math.factorial(6) // (2 * 6 * 1), 6)
    assert len({tuple(a) for a in arr}) == arr.shape[0]
    assert {tuple(a) for a in arr} == set(itertools.permutations(classes.tolist()))


def test_bad_iter_and_oversized_exact_tests_are_refused():
    yi, vi = reference_yi_vi("bcg_RR")
    res = rma(yi, vi, method="DL")
    for bad in (1, 0, "all", True, 2.5):
        with pytest.raises(InputError, match="iter"):
            permutest(res, iter=bad)
    rng = np.random.default_rng(1)
    big = rma(rng.normal(size=21), np.full(21, 0.1), method="DL")
    assert MAX_EXACT_PERMUTATIONS < 2**21
    with pytest.raises(InputError, match="exact"):
        permutest(big, iter="exact")
    from regrow.meta._influence import single_study_fit

    with pytest.raises(TooFewStudiesError):
        permutest(single_study_fit(0.3, 0.1, method="REML", level=95, control=res.control))
