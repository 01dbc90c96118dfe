"""Port of metafor 3.8-1 tests/testthat/test_misc_metan_vs_rma.mh_with_dat.bcg.r (the rma.peto file is in
port_misc_metan_vs_rma_peto.py)."""

from __future__ import annotations

from harness import block, col, data

from regrow.meta import rma_mh

FILE = "test_misc_metan_vs_rma.mh_with_dat.bcg.r"


def _mh(c, measure, line, pred_line=None):
    b = data("dat.bcg")
    res = rma_mh(col(b, "tpos"), col(b, "tneg"), col(b, "cpos"), col(b, "cneg"), measure=measure)
    c.checks({line: res.beta, line + 1: res.ci_lb, line + 2: res.ci_ub, line + 3: res.zval, line + 4: res.QE})
    if pred_line:
        sav = res.predict(transf="exp")
        c.checks({pred_line: sav.pred, pred_line + 1: sav.ci_lb, pred_line + 2: sav.ci_ub})


@block("results match (EE model, measure='RR').")
def rr(c):
    _mh(c, "RR", 13, 23)


@block("results match (EE model, measure='OR').")
def or_(c):
    _mh(c, "OR", 35, 45)


@block("results match (EE model, measure='RD').")
def rd(c):
    _mh(c, "RD", 57)
