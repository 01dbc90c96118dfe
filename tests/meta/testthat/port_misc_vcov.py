"""Port of metafor 3.8-1 tests/testthat/test_misc_vcov.r (the rma.mv block is category mv, counted on its own
line)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from harness import block, col, data, metafor_control

from regrow.meta import escalc, rma, rma_mv, vcov

FILE = "test_misc_vcov.r"


@block("vcov() works correctly for 'rma.uni' objects.")
def uni(c):
    b = data("dat.bcg")
    es = escalc("RR", ai=col(b, "tpos"), bi=col(b, "tneg"), ci=col(b, "cpos"), di=col(b, "cneg"))
    res = rma(es.yi, es.vi, mods={"ablat": col(b, "ablat")}, control=metafor_control())
    c.check(12, vcov(res).ravel(order="F"))
    c.check(13, np.diag(vcov(res, type="obs")))
    c.check(14, vcov(res, type="fitted")[0, :])
    c.check(15, vcov(res, type="resid")[0, :])


@block("vcov() works correctly for 'rma.mv' objects.")
def mv(c):
    b = data("dat.bcg")
    es = escalc("RR", ai=col(b, "tpos"), bi=col(b, "tneg"), ci=col(b, "cpos"), di=col(b, "cneg"))
    d = pd.DataFrame({"yi": es.yi, "vi": es.vi, "ablat": col(b, "ablat"), "trial": b["trial"]})
    res = rma_mv("yi", "vi", mods="~ ablat", random="~ 1 | trial", data=d)
    c.check(24, vcov(res).ravel(order="F"))
    c.check(25, np.diag(vcov(res, type="obs")))
    c.check(26, vcov(res, type="fitted")[0, :])
    c.check(27, vcov(res, type="resid")[0, :])
