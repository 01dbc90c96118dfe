"""Port of metafor 3.8-1 tests/testthat/test_analysis_example_raudenbush2009.r."""

from __future__ import annotations

import numpy as np
from harness import block, col, data

from regrow.meta import blup, rma, robust

FILE = "test_analysis_example_raudenbush2009.r"
METHODS = ("EE", "ML", "REML", "DL", "HE")


def _dat():
    d = data("dat.raudenbush1985")
    return col(d, "yi"), col(d, "vi"), d


def _table(fits):
    return np.array([[f.tau2, f.beta[0], f.se[0], f.zval[0], f.ci_lb[0], f.ci_ub[0]] for f in fits]).ravel(
        order="F"
    )


@block("results are correct for the equal-effects model.")
def ee(c):
    yi, vi, _ = _dat()
    res = rma(yi, vi, method="EE")
    c.checks({18: res.beta, 19: res.QE, 20: res.zval})


@block("results are correct for the random-effects model.")
def re(c):
    yi, vi, _ = _dat()
    res = rma(yi, vi)
    c.checks({30: res.beta, 31: res.zval, 32: res.tau2})
    tmp = res.predict()
    c.checks({38: tmp.pi_lb, 39: tmp.pi_ub})
    pred = blup(res).pred
    c.check(45, [pred.min(), pred.max()])


@block("results are correct for the mixed-effects model.")
def me(c):
    yi, vi, d = _dat()
    weeks = col(d, "weeks")
    res = rma(yi, vi, mods={"weeks.c": np.where(weeks > 3, 3, weeks)})
    c.checks({58: res.tau2, 59: res.beta, 60: res.QE, 61: res.zval})
    pred = blup(res).pred
    c.check(67, [pred.min(), pred.max()])


@block("results are correct for the random-effects model (conventional approach).")
def conventional(c):
    yi, vi, _ = _dat()
    c.check(87, _table([rma(yi, vi, method=m) for m in METHODS]))


@block("results are correct for the random-effects model (Knapp & Hartung method).")
def knha(c):
    yi, vi, _ = _dat()
    first = c.warns(95, lambda: rma(yi, vi, method="EE", test="knha"))
    c.check(107, _table([first, *[rma(yi, vi, method=m, test="knha") for m in METHODS[1:]]]))


@block("results are correct for the random-effects model (Huber-White method).")
def huber_white(c):
    yi, vi, d = _dat()
    rows = []
    for m in METHODS:
        res = rma(yi, vi, method=m)
        rb = robust(res, cluster=col(d, "study"), adjust=False)
        rows.append([res.tau2, rb.beta[0], rb.se[0], rb.tval[0], rb.ci_lb[0], rb.ci_ub[0]])
    c.check(137, np.array(rows).ravel(order="F"))
