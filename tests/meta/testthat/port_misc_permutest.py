"""Port of metafor 3.8-1 tests/testthat/test_misc_permutest.r."""

from __future__ import annotations

import numpy as np
from harness import block, col, data

from regrow.meta import escalc, permutest, rma

FILE = "test_misc_permutest.r"
RNG = "a random permutation test drawn with R's random numbers (set.seed(1234))"


def _dat():
    d = data("dat.hine1989")
    return escalc("RD", n1i=col(d, "n1i"), n2i=col(d, "n2i"), ai=col(d, "ai"), ci=col(d, "ci"))


@block("permutest() gives correct results for a random-effects model.")
def random_effects(c):
    es = _dat()
    res = rma(es.yi, es.vi)
    sav = permutest(res)
    c.check(23, sav.pval)
    c.check(31, [res.beta[0], res.se[0], res.zval[0], sav.pval[0], sav.ci_lb[0], sav.ci_ub[0]])
    c.not_portable(36, RNG)
    c.not_portable(39, RNG)


@block("permutest() gives correct results for a mixed-effects model.")
def mixed_effects(c):
    es = _dat()
    res = rma(es.yi, es.vi, mods={"mod": [3, 1, 2, 2, 4, 5]})
    sav = permutest(res)
    c.check(56, sav.pval)
    c.not_portable(61, RNG)
    c.not_portable(63, RNG)


@block("permutest() gives correct results for example in Follmann & Proschan (1999).")
def follmann_proschan(c):
    ai = np.array([173, 157, 131, 56, 52, 36, 62, 2])
    n1i = np.array([5331, 1906, 4541, 2051, 424, 1149, 6582, 88])
    ci = np.array([210, 193, 121, 84, 65, 42, 20, 2])
    n2i = np.array([5296, 1900, 4516, 2030, 422, 1129, 1663, 30])
    es = escalc("PETO", ai=ai, n1i=n1i, ci=ci, n2i=n2i)
    res = rma(es.yi, es.vi, method="DL")
    sav = permutest(res, permci=True, stat="coef")
    c.checks({88: sav.pval, 89: sav.ci_lb, 90: sav.ci_ub})
