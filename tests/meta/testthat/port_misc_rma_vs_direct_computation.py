"""Port of metafor 3.8-1 tests/testthat/test_misc_rma_vs_direct_computation.r (the direct matrix
computations are the expectations recorded from R)."""

from __future__ import annotations

from harness import block, col, data

from regrow.meta import escalc, fitted, hatvalues, residuals, rma

FILE = "test_misc_rma_vs_direct_computation.r"


@block("results match (FE model).")
def fe(c):
    b = data("dat.bcg")
    es = escalc("RR", ai=col(b, "tpos"), bi=col(b, "tneg"), ci=col(b, "cpos"), di=col(b, "cneg"))
    res = rma(es.yi, es.vi, mods={"ablat": col(b, "ablat"), "year": col(b, "year")}, method="FE")
    c.checks(
        {
            20: res.beta,
            21: res.vb.ravel(order="F"),
            25: fitted(res),
            29: hatvalues(res, type="matrix").ravel(order="F"),
            33: residuals(res),
        }
    )
