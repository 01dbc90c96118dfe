"""Port of metafor 3.8-1 tests/testthat/test_analysis_example_vanhouwelingen2002.r (rma.uni parts)."""

from __future__ import annotations

import numpy as np
from harness import block, col, data

from regrow.meta import confint_profile, escalc, rma

FILE = "test_analysis_example_vanhouwelingen2002.r"


def _dat():
    d = data("dat.colditz1994")
    es = escalc("OR", ai=col(d, "tpos"), bi=col(d, "tneg"), ci=col(d, "cpos"), di=col(d, "cneg"))
    return es.yi, es.vi, d


@block("results for the equal-effects model are correct.")
def ee(c):
    yi, vi, _ = _dat()
    tmp = rma(yi, vi, method="EE").predict(transf="exp")
    c.checks({24: tmp.pred, 25: tmp.ci_lb, 26: tmp.ci_ub})


@block("results for the random-effects model are correct.")
def re(c):
    yi, vi, _ = _dat()
    res = rma(yi, vi, method="ML")
    tmp = res.predict(transf="exp")
    c.checks({36: tmp.pred, 37: tmp.ci_lb, 38: tmp.ci_ub, 39: res.tau2})
    pl = confint_profile(res)
    c.checks({43: pl.tau2.ci_lb, 44: pl.tau2.ci_ub})
    qp = res.confint()
    c.checks({48: qp.tau2.ci_lb, 49: qp.tau2.ci_ub})
    tmp = rma(yi, vi, method="ML", test="knha").predict(transf="exp")
    c.checks({56: tmp.ci_lb, 57: tmp.ci_ub})


@block("the prediction interval is correct.")
def pi(c):
    yi, vi, _ = _dat()
    res = rma(yi, vi, method="ML")
    c.check(104, res.beta[0] + np.array([-1, 1]) * 1.959963984540054 * np.sqrt(res.tau2))
    tmp = res.predict()
    c.checks({110: tmp.pi_lb, 111: tmp.pi_ub})


@block("results for the meta-regression analyses are correct.")
def metareg(c):
    yi, vi, d = _dat()
    res = rma(yi, vi, mods={"ablat": col(d, "ablat")}, method="ML")
    c.checks({183: res.beta, 184: res.se, 185: res.tau2, 186: res.R2})
