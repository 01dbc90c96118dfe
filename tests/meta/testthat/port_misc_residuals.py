"""Port of metafor 3.8-1 tests/testthat/test_misc_residuals.r (rma.uni, rma.mh and rma.peto parts)."""

from __future__ import annotations

import numpy as np
from harness import block, col, data, metafor_control

from regrow.meta import escalc, residuals, rma, rma_mh, rma_peto, rstandard, rstudent

FILE = "test_misc_residuals.r"


def _six(measure="RR"):
    b = data("dat.bcg").iloc[:6]
    cells = dict(ai=col(b, "tpos"), bi=col(b, "tneg"), ci=col(b, "cpos"), di=col(b, "cneg"))
    return escalc(measure, **cells), cells, b


@block("residuals are correct for rma().")
def uni(c):
    es, _, _ = _six()
    res = rma(es.yi, es.vi, control=metafor_control())
    c.checks({12: residuals(res), 13: rstandard(res).z, 14: rstudent(res).z})
    res = rma(es.yi, es.vi, method="EE")
    c.check(17, np.sum(residuals(res, type="pearson") ** 2))
    c.check(18, np.sum(residuals(res, type="cholesky") ** 2))


@block("rstudent() yields the same results as a mean shift outlier model for rma().")
def mean_shift(c):
    es, _, b = _six()
    trial1 = (col(b, "trial") == 1).astype(float)
    for test, line in (("z", 31), ("knha", 38)):
        res = rma(es.yi, es.vi, mods={"trial1": trial1}, test=test)
        c.checks({line: res.beta[1], line + 1: res.se[1]})


@block("residuals are correct for rma.mh().")
def mh(c):
    es, cells, _ = _six()
    res = rma_mh(**cells, measure="RR")
    c.check(62, es.yi - res.beta)
    c.check(63, rstandard(res).z)
    c.check(64, rstudent(res).z)


@block("residuals are correct for rma.peto().")
def peto(c):
    es, cells, _ = _six("PETO")
    res = rma_peto(**cells)
    c.check(73, es.yi - res.beta)
    c.check(74, rstandard(res).z)
    c.check(75, rstudent(res).z)
