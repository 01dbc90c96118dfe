"""Cluster-robust inference (``robust(..., adjust=TRUE)``) against metafor 3.8-1 and a brute force."""

from __future__ import annotations

import numpy as np
import pytest
from metafor_refs import (
    ITERATIVE_RTOL,
    analysis_names,
    assert_close,
    load_dataset,
    load_reference,
    reference_yi_vi,
)
from scipy import stats

from regrow.errors import InputError, TooFewStudiesError
from regrow.meta._rma import fit_arrays, rma
from regrow.meta._robust import robust

CASES = [
    (n, m)
    for n in analysis_names()
    for m, block in load_reference(n).get("metareg", {}).items()
    if "robust_REML" in block
]
CHECKED_SECTIONS = {"metareg.*.robust_REML"}


@pytest.mark.parametrize(("name", "mod"), CASES)
def test_robust_matches_metafor(name, mod):
    block = load_reference(name)["metareg"][mod]
    ref = block["robust_REML"]
    yi, vi = reference_yi_vi(name)
    rows = np.array(block["rows_used"]) - 1
    X = np.array(block["X"], dtype=float)
    res = fit_arrays(yi[rows], vi[rows], X, block["X_colnames"], method="REML")
    cluster = load_dataset(load_reference(name)["meta"]["dataset"])[ref["cluster"]].to_numpy()[rows]
    out = robust(res, cluster, adjust=ref["adjust"])
    names = block["X_colnames"]
    for mine, theirs in (
        ("beta", "beta"),
        ("se", "se"),
        ("tval", "tval"),
        ("pval", "pval"),
        ("ci_lb", "ci.lb"),
        ("ci_ub", "ci.ub"),
    ):
        assert_close(
            getattr(out, mine), [ref[theirs][n] for n in names], rtol=ITERATIVE_RTOL, what=f"{mod} {theirs}"
        )
    assert out.dfs == ref["dfs"] and out.QMdf == (len(names) - 1, ref["dfs"])
    assert_close(out.QM, ref["QM"], rtol=ITERATIVE_RTOL, what="QM")
    assert_close(out.QMp, ref["QMp"], rtol=ITERATIVE_RTOL, what="QMp")
    assert_close(out.vb, np.array(ref["vb"], float), rtol=ITERATIVE_RTOL, what="vb")
    assert out.vbest == "CR1" and out.to_frame().shape == (len(names), 7)


def test_robust_equals_explicit_sandwich_with_clusters(rng):
    k = 30
    vi = rng.uniform(0.01, 0.1, k)
    x = rng.normal(size=k)
    yi = 0.2 + 0.3 * x + rng.normal(0, np.sqrt(vi + 0.05))
    cluster = np.repeat(np.arange(10), 3)
    res = rma(yi, vi, mods=x[:, None], method="DL")
    out = robust(res, cluster, adjust=True)
    # brute force with k x k matrices: V = (n/(n-p)) B M B', B = (X'WX)^-1 X'W, M = blockdiag(e e')
    X = res.X
    W = np.diag(1 / (vi + res.tau2))
    B = np.linalg.inv(X.T @ W @ X) @ X.T @ W
    e = yi - X @ res.beta
    M = np.zeros((k, k))
    for c in np.unique(cluster):
        idx = np.flatnonzero(cluster == c)
        M[np.ix_(idx, idx)] = np.outer(e[idx], e[idx])
    V = 10 / 8 * B @ M @ B.T
    assert_close(out.vb, V, rtol=1e-10)
    assert out.dfs == 8
    assert_close(out.pval, 2 * stats.t.sf(np.abs(res.beta / np.sqrt(np.diag(V))), 8), rtol=1e-10)
    unadjusted = robust(res, cluster, adjust=False)
    assert_close(unadjusted.vb, V * 8 / 10, rtol=1e-10) and unadjusted.vbest == "CR0"


def test_robust_errors():
    res = rma([0.1, 0.3, 0.35, 0.6], [0.01, 0.02, 0.015, 0.03], method="DL")
    with pytest.raises(InputError, match="cluster"):
        robust(res, [1, 2, 3])
    with pytest.raises(InputError, match="missing"):
        robust(res, [1, 2, None, 4])
    with pytest.raises(TooFewStudiesError):
        robust(res, [1, 1, 1, 1])
