"""Port of metafor 3.8-1 tests/testthat/test_misc_confint.r. ``confint(res, fixed=TRUE, transf=exp)``'s
fixed part is the back-transformed estimate and CI, here from ``predict(transf=exp)``."""

from __future__ import annotations

import numpy as np
from harness import block, col, data

from regrow.meta import escalc, rma, rma_mh, rma_peto

FILE = "test_misc_confint.r"


def _tables():
    b = data("dat.bcg")
    return {"ai": col(b, "tpos"), "bi": col(b, "tneg"), "ci": col(b, "cpos"), "di": col(b, "cneg")}


def _fixed(res):
    p = res.predict(transf=np.exp)
    return np.array([p.pred, p.ci_lb, p.ci_ub], dtype=float).ravel()


@block("confint() works correctly for 'rma.uni' objects.")
def uni(c):
    es = escalc("RR", **_tables())
    res = rma(es.yi, es.vi, method="DL")
    ci = res.confint()
    c.check(13, _fixed(res))
    c.check(14, [ci.tau2.estimate, ci.tau2.ci_lb, ci.tau2.ci_ub])
    c.check(15, [ci.I2.estimate, ci.I2.ci_lb, ci.I2.ci_ub])
    c.check(16, [ci.H2.estimate, ci.H2.ci_lb, ci.H2.ci_ub])
    est = [_fixed(res)[0], ci.tau2.estimate, ci.tau.estimate, ci.I2.estimate, ci.H2.estimate]
    c.check(19, np.round(est, 4))


@block("confint() works correctly for 'rma.mh' objects.")
def mh(c):
    c.check(28, _fixed(rma_mh(measure="RR", **_tables())))


@block("confint() works correctly for 'rma.peto' objects.")
def peto(c):
    c.check(37, _fixed(rma_peto(**_tables())))
