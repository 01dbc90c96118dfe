"""Port of metafor 3.8-1 tests/testthat/test_analysis_example_gleser2009.r: the effect sizes (in scope) and
the multivariate rma.mv fits with known sampling covariances (category mv, counted on their own line)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from harness import block

from regrow.meta import escalc, rma_mv

FILE = "test_analysis_example_gleser2009.r"
STUDY = np.array([1, 1, 2, 3, 3, 3])
TRT = np.array([1, 2, 1, 1, 2, 3])
AI = np.array([40.0, 40, 10, 150, 150, 150])
N1I = np.array([1000.0, 1000, 200, 2000, 2000, 2000])
CI = np.array([100.0, 150, 15, 40, 80, 50])
N2I = np.array([4000.0, 4000, 400, 1000, 1000, 1000])
PCI = AI / N1I  # the shared (control) group of each study


def _es(measure):
    return escalc(measure, ai=AI, ci=CI, n1i=N1I, n2i=N2I)


def _block_v(study, vi, within):
    """bldiag() of per-study matrices: ``within(rows)`` off the diagonal, vi on it."""
    V = np.zeros((len(vi), len(vi)))
    for s in pd.unique(study):
        rows = np.flatnonzero(study == s)
        V[np.ix_(rows, rows)] = within(rows)
    V[np.diag_indices_from(V)] = vi
    return V


def _fit(yi, V, mods="~ factor(trt) - 1", **cols):
    d = pd.DataFrame({"yi": yi, **cols})
    return rma_mv("yi", V, mods=mods, data=d)


def _binary(c, measure, cov, lines, scale=1.0):
    es = _es(measure)
    c.check(lines[0], es.yi * scale)
    V = _block_v(STUDY, es.vi, lambda rows: np.full((len(rows), len(rows)), cov(rows[0])))
    res = _fit(es.yi, V, trt=TRT)
    c.check(lines[1], res.beta * scale)
    c.check(lines[2], (res.vb * (10**6 if measure == "RD" else 1)).ravel(order="F"))
    c.check(lines[3], res.QE)


@block("results are correct for the multiple-treatment studies example with risk differences.")
def rd(c):
    _binary(c, "RD", lambda i: PCI[i] * (1 - PCI[i]) / N1I[i], (24, 37, 43, 46))


@block("results are correct for the multiple-treatment studies example with log odds ratios.")
def lor(c):
    _binary(c, "OR", lambda i: 1 / (N1I[i] * PCI[i] * (1 - PCI[i])), (55, 68, 74, 77))


@block("results are correct for the multiple-treatment studies example with log risk ratios.")
def lrr(c):
    _binary(c, "RR", lambda i: (1 - PCI[i]) / (N1I[i] * PCI[i]), (86, 99, 105, 108))


@block(
    "results are correct for the multiple-treatment studies example with difference of arcsine transformed risks."
)
def arcsine(c):
    es = _es("AS")
    c.check(117, es.yi * 2)
    V = _block_v(STUDY, es.vi, lambda rows: np.full((len(rows), len(rows)), 1 / (4 * N1I[rows[0]])))
    res = _fit(es.yi, V, trt=TRT)
    c.checks({130: res.beta * 2, 136: (res.vb * 2**2).ravel(order="F"), 139: res.QE})


@block("results are correct for the multiple-treatment studies example with standardized mean differences.")
def smd(c):
    study = np.array([1, 1, 2, 3, 4, 4])
    trt = np.array([1, 2, 1, 1, 1, 2])
    m1i = np.array([7.87, 4.35, 9.32, 8.08, 7.44, 5.34])
    m2i = np.array([-1.36, -1.36, 0.98, 1.17, 0.45, 0.45])
    sdpi = np.array([4.2593, 4.2593, 2.8831, 3.1764, 2.9344, 2.9344])
    n1i = np.array([25.0, 22, 38, 50, 30, 30])
    n2i = np.array([25.0, 25, 40, 50, 30, 30])
    Ni = np.array([n1i[study == s].sum() + n2i[study == s][0] for s in study])
    yi = (m1i - m2i) / sdpi
    vi = 1 / n1i + 1 / n2i + yi**2 / (2 * Ni)
    c.check(161, yi)
    V = _block_v(study, vi, lambda rows: 1 / n2i[rows[0]] + np.outer(yi[rows], yi[rows]) / (2 * Ni[rows[0]]))
    res = _fit(yi, V, trt=trt)
    c.checks({174: res.beta, 179: res.vb.ravel(order="F"), 182: res.QE})


@block("results are correct for the multiple-endpoint studies example with standardized mean differences.")
def endpoints(c):
    school = np.repeat(np.arange(1, 8), 2)
    outcome = np.tile(["math", "reading"], 7)
    m1i = np.array([2.3, 2.5, 2.4, 1.3, 2.5, 2.4, 3.3, 1.7, 1.1, 2.0, 2.8, 2.1, 1.7, 0.6])
    m2i = np.array([10.3, 6.6, 9.7, 3.1, 8.7, 3.7, 7.5, 8.5, 2.2, 2.1, 3.8, 1.4, 1.8, 3.9])
    sdpi = np.array([8.2, 7.3, 8.3, 8.9, 8.5, 8.3, 7.7, 9.8, 9.1, 10.4, 9.6, 7.9, 9.2, 10.2])
    ri = np.repeat([0.55, 0.43, 0.57, 0.66, 0.51, 0.59, 0.49], 2)
    n1i = np.repeat([22.0, 21, 26, 18, 38, 42, 39], 2)
    n2i = np.repeat([24.0, 21, 23, 18, 36, 42, 38], 2)
    yi = np.round((m2i - m1i) / sdpi, 3)
    vi = np.round(1 / n1i + 1 / n2i + yi**2 / (2 * (n1i + n2i)), 4)
    prod = np.repeat([np.prod(yi[school == s]) for s in range(1, 8)], 2)
    covi = np.round((1 / n1i + 1 / n2i) * ri + (prod / (2 * (n1i + n2i))) * ri**2, 4)
    V = _block_v(
        school, vi, lambda rows: np.array([[vi[rows[0]], covi[rows[1]]], [covi[rows[0]], vi[rows[1]]]])
    )
    res = _fit(yi, V, mods="~ outcome - 1", outcome=outcome)
    c.checks({212: res.beta, 217: res.vb.ravel(order="F"), 220: res.QE})
