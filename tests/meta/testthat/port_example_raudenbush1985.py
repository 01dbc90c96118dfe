"""Port of metafor 3.8-1 tests/testthat/test_analysis_example_raudenbush1985.r (the profile plots are not
ported; they draw without asserting)."""

from __future__ import annotations

import numpy as np
from harness import block, col, data

from regrow.meta import blup, ranef, rma

FILE = "test_analysis_example_raudenbush1985.r"


@block("results are correct for the random-effects model.")
def re(c):
    d = data("dat.raudenbush1985")
    res = rma(col(d, "yi"), col(d, "vi"))
    c.checks({18: res.tau2, 19: res.beta, 20: res.QE, 21: res.zval})
    tmp = blup(res)
    c.checks({29: tmp.pred, 30: tmp.pi_lb, 31: tmp.pi_ub})
    tmp = ranef(res)
    c.checks({36: tmp.pred, 37: tmp.pi_lb, 38: tmp.pi_ub})


@block("results are correct for the mixed-effects model.")
def me(c):
    d = data("dat.raudenbush1985")
    weeks = col(d, "weeks")
    res = rma(col(d, "yi"), col(d, "vi"), mods={"weeks.c": np.where(weeks > 3, 3, weeks)})
    c.checks({68: res.tau2, 69: res.beta, 70: res.QE, 71: res.zval})
    tmp = blup(res)
    c.checks({77: tmp.pred, 78: tmp.pi_lb, 79: tmp.pi_ub})
    tmp = ranef(res)
    c.checks({84: tmp.pred, 85: tmp.pi_lb, 86: tmp.pi_ub})
    tmp = res.predict()
    c.checks({92: tmp.pred, 93: tmp.ci_lb, 94: tmp.ci_ub})
