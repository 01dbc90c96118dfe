"""Port of metafor 3.8-1 tests/testthat/test_analysis_example_normand1999.r."""

from __future__ import annotations

import numpy as np
from harness import block, col, data

from regrow.meta import escalc, rma

FILE = "test_analysis_example_normand1999.r"


def _fits(c, yi, vi, lines):
    for method, line in lines:
        res = rma(yi, vi, method=method)
        c.checks({line: res.beta, line + 1: res.ci_lb, line + 2: res.ci_ub})
        if method != "EE":
            c.check(line + 3, res.tau2)


@block("results are correct for the first example (using dat.hine1989).")
def hine(c):
    d = data("dat.hine1989")
    es = escalc("RD", n1i=col(d, "n1i"), n2i=col(d, "n2i"), ai=col(d, "ai"), ci=col(d, "ci"))
    yi, vi = es.yi * 100, es.vi * 100**2
    c.checks({21: yi, 22: vi})
    s = escalc("RD", n1i=col(d, "n1i"), n2i=col(d, "n2i"), ai=col(d, "ai"), ci=col(d, "ci")).summary()
    c.checks({28: s["ci_lb"] * 100, 29: s["ci_ub"] * 100})
    _fits(c, yi, vi, (("EE", 35), ("REML", 43), ("DL", 52)))


@block("results are correct for the second example (using dat.normand1999).")
def normand(c):
    d = data("dat.normand1999")
    n1, n2, sd1, sd2 = col(d, "n1i"), col(d, "n2i"), col(d, "sd1i"), col(d, "sd2i")
    sdpi = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n1 + n2 - 2))
    es = escalc("MD", m1i=col(d, "m1i"), sd1i=sdpi, n1i=n1, m2i=col(d, "m2i"), sd2i=sdpi, n2i=n2)
    c.checks({68: es.yi, 69: es.vi})
    s = es.summary()
    c.checks({75: s["ci_lb"], 76: s["ci_ub"]})
    _fits(c, es.yi, es.vi, (("EE", 82), ("DL", 90), ("REML", 99)))
