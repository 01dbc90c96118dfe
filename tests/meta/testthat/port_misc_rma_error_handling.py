"""Port of metafor 3.8-1 tests/testthat/test_misc_rma_error_handling.r."""

from __future__ import annotations

import numpy as np
from harness import block, col, data

from regrow.meta import escalc, rma

FILE = "test_misc_rma_error_handling.r"


@block("rma() handles NAs correctly.")
def nas(c):
    b = data("dat.bcg")
    es = escalc("RR", ai=col(b, "tpos"), bi=col(b, "tneg"), ci=col(b, "cpos"), di=col(b, "cneg"))
    yi = es.yi.copy()
    yi[:2] = np.nan
    res = c.warns(14, lambda: rma(yi, es.vi))
    c.checks({16: res.k, 17: res.k_all, 18: len(res.yi), 19: len(res.yi_all), 20: res.not_na})
