"""Port of metafor 3.8-1 tests/testthat/test_misc_weights.r (rma.mv blocks are E2's)."""

from __future__ import annotations

import numpy as np
from harness import block, col, data

from regrow.meta import escalc, rma, rma_mh, rma_peto, weights

FILE = "test_misc_weights.r"
W13 = np.arange(1, 14, dtype=float)


def _bcg():
    d = data("dat.bcg")
    return escalc("RR", ai=col(d, "tpos"), bi=col(d, "tneg"), ci=col(d, "cpos"), di=col(d, "cneg"))


def _uni(c, method, lines):
    es = _bcg()
    res = rma(es.yi, es.vi, method=method)
    c.check(lines[0], weights(res))
    c.check(lines[1], np.diag(weights(res, type="matrix")))
    c.check(lines[2], weights(rma(es.yi, es.vi, method=method, weights=W13)))
    c.check(lines[3], weights(rma(es.yi, es.vi, method=method, weighted=False)))
    c.check(lines[4], weights(rma(es.yi, es.vi, method="FE", weighted=False, weights=W13)))


@block("weights are correct for rma() with method='FE'.")
def fe(c):
    _uni(c, "FE", (15, 18, 24, 30, 36))


@block("weights are correct for rma() with method='DL'.")
def dl(c):
    _uni(c, "DL", (48, 51, 57, 63, 69))


def _mh_pair(c, res, lines, log_scale):
    sav = weights(res)
    yi = np.exp(res.yi) if log_scale else res.yi
    c.check(lines[0], float(np.sum(yi * sav / 100)))
    tmp = np.diag(weights(res, type="matrix"))
    c.check(lines[1], sav)
    assert np.allclose(sav, tmp / tmp.sum() * 100)


@block("weights are correct for rma.mh() with measure='RD/RR/OR'.")
def mh_tables(c):
    d = data("dat.bcg")
    tab = {"ai": col(d, "tpos"), "bi": col(d, "tneg"), "ci": col(d, "cpos"), "di": col(d, "cneg")}
    # metafor's assertion compares coef(res) with the weighted mean of the study effects
    for measure, lines, log_scale in (("RD", (106, 108), False), ("RR", (112, 114), True),
                                      ("OR", (118, 120), True)):  # fmt: skip
        _mh_pair(c, rma_mh(measure=measure, **tab), lines, log_scale)


@block("weights are correct for rma.mh() with measure='IRD/IRR'.")
def mh_rates(c):
    d = data("dat.nielweise2008")
    args = {k: col(d, k) for k in ("x1i", "t1i", "x2i", "t2i")}
    _mh_pair(c, rma_mh(measure="IRD", **args), (130, 132), False)
    _mh_pair(c, rma_mh(measure="IRR", **args), (136, 138), True)


@block("weights are correct for rma.peto().")
def peto(c):
    d = data("dat.bcg")
    res = rma_peto(col(d, "tpos"), col(d, "tneg"), col(d, "cpos"), col(d, "cneg"))
    _mh_pair(c, res, (148, 150), False)
