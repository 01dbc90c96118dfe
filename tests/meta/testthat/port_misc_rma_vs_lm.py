"""Port of metafor 3.8-1 tests/testthat/test_misc_rma_vs_lm.r (the rma.mv block is category mv): with all
vi = 0, the REML random-effects model is lm(yi ~ 1); the expectations are lm()'s values recorded from R."""

from __future__ import annotations

from harness import block, col, data

from regrow.meta import escalc, rma

FILE = "test_misc_rma_vs_lm.r"


@block("results for rma() and lm() match.")
def uni(c):
    d = data("dat.molloy2014")
    es = escalc("ZCOR", ri=col(d, "ri"), ni=col(d, "ni"))
    res = rma(es.yi, 0 * es.vi)
    c.checks({15: res.beta, 18: res.se})
