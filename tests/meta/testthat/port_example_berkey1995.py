"""Port of metafor 3.8-1 tests/testthat/test_analysis_example_berkey1995.r."""

from __future__ import annotations

import numpy as np
from harness import block, col, data

from regrow.meta import anova, escalc, rma

FILE = "test_analysis_example_berkey1995.r"


def _dat():
    d = data("dat.bcg")
    es = escalc("RR", ai=col(d, "tpos"), bi=col(d, "tneg"), ci=col(d, "cpos"), di=col(d, "cneg"))
    tp, tn, cp, cn = (col(d, k) for k in ("tpos", "tneg", "cpos", "cneg"))
    vi = np.sum(tn / tp) / (13 * (tn + tp)) + np.sum(cn / cp) / (13 * (cn + cp))
    return d, es.yi, vi


@block("results are correct for the random-effects model.")
def random_effects(c):
    _, yi, vi = _dat()
    res = rma(yi, vi, method="EB")
    c.checks({24: res.beta, 25: res.se, 26: res.tau2})


@block("results are correct for the mixed-effects meta-regression model.")
def mixed_effects(c):
    d, yi, vi = _dat()
    re = rma(yi, vi, method="EB")
    me = rma(yi, vi, mods={"I(ablat - 33.46)": col(d, "ablat") - 33.46}, method="EB")
    c.checks({40: me.beta, 41: me.se, 42: me.tau2})
    tmp = c.warns(43, lambda: anova(re, me))
    c.check(44, tmp.R2)
    c.check(50, me.predict(newmods=np.array([33.46, 42]) - 33.46, transf="exp").pred)


@block("results are correct for the fixed-effects meta-regression model.")
def fixed_effects(c):
    d, yi, vi = _dat()
    fe = rma(yi, vi, mods={"I(ablat - 33.46)": col(d, "ablat") - 33.46}, method="FE")
    c.checks({60: fe.beta, 61: fe.se})
    c.check(67, fe.predict(newmods=np.array([33.46, 42]) - 33.46, transf="exp").pred)
