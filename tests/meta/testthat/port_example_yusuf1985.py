"""Port of metafor 3.8-1 tests/testthat/test_analysis_example_yusuf1985.r (the llplot() block is not
ported: regrow.meta has no log-likelihood plot)."""

from __future__ import annotations

import numpy as np
from harness import block, col, data

from regrow.meta import escalc, rma, rma_peto

FILE = "test_analysis_example_yusuf1985.r"


def _table6():
    d = data("dat.yusuf1985")
    return d[d["table"].astype(str) == "6"].reset_index(drop=True)


@block("results are correct for the analysis using Peto's method.")
def peto(c):
    d = _table6()
    res = c.warns(
        29, lambda: rma_peto(ai=col(d, "ai"), n1i=col(d, "n1i"), ci=col(d, "ci"), n2i=col(d, "n2i"))
    )
    sav = res.predict(transf=np.exp)
    c.check(37, [sav.pred, sav.ci_lb, sav.ci_ub])


@block("results are correct for the analysis using the inverse-variance method.")
def inverse_variance(c):
    d = _table6()
    es = c.warns(
        43,
        lambda: escalc("PETO", ai=col(d, "ai"), n1i=col(d, "n1i"), ci=col(d, "ci"), n2i=col(d, "n2i"), add=0),
    )
    res = c.warns(46, lambda: rma(es.yi, es.vi, method="EE"))
    sav = res.predict(transf=np.exp)
    c.check(51, [sav.pred, sav.ci_lb, sav.ci_ub])
