"""The block-diagonal likelihood of rma_mv against an obvious dense k x k implementation."""

from __future__ import annotations

import numpy as np
import pytest

from regrow.meta._mv_lik import MarginalModel, connected_blocks
from regrow.meta._mv_struct import make_structure


def _dense_ll(y, X, V, s_codes, sigma2, g, G, h, H, *, reml):
    """The textbook (restricted) log-likelihood with the full marginal covariance matrix."""
    k, p = X.shape
    M = V.copy()
    for codes, s2 in zip(s_codes, sigma2, strict=True):
        M += s2 * (codes[:, None] == codes[None, :])
    for term, mat in ((g, G), (h, H)):
        if term is not None:
            _, inner, outer = term
            M += mat[inner[:, None], inner[None, :]] * (outer[:, None] == outer[None, :])
    W = np.linalg.inv(M)
    A = X.T @ W @ X
    b = np.linalg.solve(A, X.T @ W @ y)
    r = y - X @ b
    ll = -0.5 * (np.linalg.slogdet(M)[1] + r @ W @ r)
    if reml:
        return ll - 0.5 * (
            (k - p) * np.log(2 * np.pi) - np.linalg.slogdet(X.T @ X)[1] + np.linalg.slogdet(A)[1]
        )
    return ll - 0.5 * k * np.log(2 * np.pi)


def _check_value_and_gradient(ev, dense, psi) -> None:
    """The block evaluation equals the dense formula, and its gradient the dense central differences."""
    assert ev.ll == pytest.approx(dense(psi), rel=1e-12)
    step = 1e-6
    numeric = np.array(
        [(dense(psi + step * e) - dense(psi - step * e)) / (2 * step) for e in np.eye(psi.size)]
    )
    np.testing.assert_allclose(ev.grad, numeric, rtol=1e-6, atol=1e-7)


@pytest.fixture
def problem(rng):
    """Studies with correlated sampling errors, crossed labs, a CS term and an AR term."""
    k = 40
    study = np.repeat(np.arange(10), 4)
    lab = rng.integers(0, 3, k)  # crossed with study: joins blocks
    outcome = np.tile(np.arange(4), 10)
    V = np.zeros((k, k))
    for s in range(10):
        rows = np.flatnonzero(study == s)
        A = rng.normal(size=(4, 4)) * 0.05
        V[np.ix_(rows, rows)] = A @ A.T + np.diag(rng.uniform(0.01, 0.05, 4))
    X = np.column_stack([np.ones(k), rng.normal(size=k)])
    y = X @ [0.2, 0.1] + rng.normal(0, 0.3, k)
    g = (make_structure("CS", 4, values=None), outcome, study)
    h = (make_structure("AR", 4, values=None), outcome, study)
    return y, X, V, [lab, study], g, h


@pytest.mark.parametrize("reml", [True, False])
def test_blockwise_likelihood_and_gradient_match_the_dense_formula(problem, reml):
    y, X, V, s_codes, g, h = problem
    diag = np.diag(V).copy()
    blocks = []
    for s in range(10):
        rows = np.arange(4 * s, 4 * s + 4)
        blocks.append((rows, V[np.ix_(rows, rows)]))
    model = MarginalModel(y, X, diag, blocks, s_codes, np.full(2, np.nan), g, h, reml=reml)
    psi = np.array([np.log(0.03), np.log(0.02), np.log(0.05), np.arctanh(0.3), np.log(0.04), np.arctanh(0.6)])
    ev = model.evaluate(psi)

    def dense(p):
        sigma2, (gv, gr), (hv, hr) = model.natural(p)
        return _dense_ll(y, X, V, s_codes, sigma2, g, g[0].matrix(gv, gr), h, h[0].matrix(hv, hr), reml=reml)

    _check_value_and_gradient(ev, dense, psi)


def test_unstructured_cholesky_gradient(rng):
    k = 30
    study = np.repeat(np.arange(10), 3)
    outcome = np.tile(np.arange(3), 10)
    X = np.ones((k, 1))
    y = rng.normal(size=k)
    vi = rng.uniform(0.02, 0.1, k)
    g = (make_structure("UN", 3, values=None), outcome, study)
    model = MarginalModel(y, X, vi, [], [], np.zeros(0), g, None, reml=True)
    psi = np.array([0.3, 0.1, -0.05, 0.25, 0.02, 0.2])  # lower-triangular Cholesky entries

    def dense(p):
        _, (gv, gr), _ = model.natural(p)
        return _dense_ll(y, X, np.diag(vi), [], [], g, g[0].matrix(gv, gr), None, None, reml=True)

    ev = model.evaluate(psi)
    _check_value_and_gradient(ev, dense, psi)


def test_connected_blocks_against_breadth_first_search(rng):
    k = 60
    groupings = [rng.integers(0, 25, k), rng.integers(0, 40, k)]
    i, j = rng.integers(0, k, 8), rng.integers(0, k, 8)
    labels = connected_blocks(k, groupings, (i, j))
    adjacency = [set() for _ in range(k)]
    for codes in groupings:
        for a in range(k):
            adjacency[a].update(np.flatnonzero(codes == codes[a]).tolist())
    for a, b in zip(i, j, strict=True):
        adjacency[a].add(int(b))
        adjacency[b].add(int(a))
    seen = np.full(k, -1)
    comp = 0
    for start in range(k):
        if seen[start] >= 0:
            continue
        stack = [start]
        while stack:
            node = stack.pop()
            if seen[node] < 0:
                seen[node] = comp
                stack.extend(adjacency[node])
        comp += 1
    # same partition (labels may differ by renaming)
    assert np.array_equal(labels[:, None] == labels[None, :], seen[:, None] == seen[None, :])
