"""Port of metafor 3.8-1 tests/testthat/test_misc_rma_vs_lm.r (the rma.mv block is category mv, counted on
its own line): with all
vi = 0, the REML random-effects model is lm(yi ~ 1); the expectations are lm()'s values recorded from R."""

from __future__ import annotations

import numpy as np
import pandas as pd
from harness import block, col, data

from regrow.meta import confint_mv, escalc, rma, rma_mv

FILE = "test_misc_rma_vs_lm.r"


@block("results for rma() and lm() match.")
def uni(c):
    d = data("dat.molloy2014")
    es = escalc("ZCOR", ri=col(d, "ri"), ni=col(d, "ni"))
    res = rma(es.yi, 0 * es.vi)
    c.checks({15: res.beta, 18: res.se})


@block("results for rma.mv() and lm() match.")
def mv(c):
    d = data("dat.molloy2014")
    es = escalc("ZCOR", ri=col(d, "ri"), ni=col(d, "ni"))
    frame = pd.DataFrame({"yi": es.yi, "v0": 0 * es.vi, "id": np.arange(1, len(es.yi) + 1)})
    # fitted twice in R (sparse=FALSE and sparse=TRUE); regrow has one code path, checked against both
    for first in (31, 44):
        res = rma_mv("yi", "v0", random="~ 1 | id", data=frame)
        ci = confint_mv(res)[0]
        c.checks({first: res.beta, first + 3: res.se, first + 7: [ci.ci_lb, ci.ci_ub]})
