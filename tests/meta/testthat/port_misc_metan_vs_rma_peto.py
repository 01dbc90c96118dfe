"""Port of metafor 3.8-1 tests/testthat/test_misc_metan_vs_rma.peto_with_dat.bcg.r."""

from __future__ import annotations

from harness import block, col, data

from regrow.meta import rma_peto

FILE = "test_misc_metan_vs_rma.peto_with_dat.bcg.r"


@block("results match (EE model, measure='OR').")
def peto(c):
    b = data("dat.bcg")
    res = rma_peto(col(b, "tpos"), col(b, "tneg"), col(b, "cpos"), col(b, "cneg"))
    c.checks({13: res.beta, 14: res.ci_lb, 15: res.ci_ub, 16: res.zval, 17: res.QE})
    sav = res.predict(transf="exp")
    c.checks({23: sav.pred, 24: sav.ci_lb, 25: sav.ci_ub})
