"""Port of metafor 3.8-1 tests/testthat/test_analysis_example_viechtbauer2007b.r."""

from __future__ import annotations

import numpy as np
from harness import block, col, data

from regrow.meta import escalc, rma

FILE = "test_analysis_example_viechtbauer2007b.r"
ROWS = [*range(6, 10), *range(12, 25)]


def _dat():
    d = data("dat.linde2005").iloc[ROWS].reset_index(drop=True)
    es = escalc("RR", ai=col(d, "ai"), ci=col(d, "ci"), n1i=col(d, "n1i"), n2i=col(d, "n2i"))
    d["dosage"] = d["dosage"] * 7 / 1000
    return d, es


@block("results are correct for the CIs.")
def cis(c):
    _, es = _dat()
    s = es.summary(transf="exp")
    c.checks({20: s["ci_lb"][[12, 16]], 22: s["ci_ub"][[12, 16]]})


@block("results are correct for the equal-effects model.")
def equal_effects(c):
    _, es = _dat()
    res = rma(es.yi, es.vi, method="EE")
    sav = res.predict(transf="exp")
    c.checks({33: [sav.pred, sav.ci_lb, sav.ci_ub], 34: res.QE})


@block("results are correct for the random-effects model.")
def random_effects(c):
    _, es = _dat()
    res = rma(es.yi, es.vi, method="DL")
    sav = res.predict(transf="exp")
    c.checks({45: [sav.pred, sav.ci_lb, sav.ci_ub], 47: [sav.pi_lb, sav.pi_ub], 48: res.tau2})


@block("results are correct for the mixed-effects model.")
def mixed_effects(c):
    d, es = _dat()
    dose = col(d, "dosage") * col(d, "duration") - 34
    base = col(d, "baseline") - 20
    mods = {"I(dosage - 34)": dose, "I(baseline - 20)": base, "I(dosage - 34):I(baseline - 20)": dose * base}
    res = rma(es.yi, es.vi, mods=mods, method="DL")
    c.checks({58: res.tau2, 59: res.R2})
    c.check(67, np.column_stack([res.beta, res.se, res.zval, res.pval]).ravel(order="F"))
    for line, b in ((72, 12.5), (75, 23.6)):
        sav = res.predict(newmods=[0, b - 20, 0], transf="exp")
        c.check(line, [sav.pred, sav.ci_lb, sav.ci_ub])
    fits = []
    for method in ("HS", "HE", "DL", "GENQ", "SJ", "DLIT", "SJIT", "PM", "ML", "REML", "EB"):
        extra = {"weights": col(d, "n1i") + col(d, "n2i")} if method == "GENQ" else {}
        fits.append(rma(es.yi, es.vi, mods=mods, method=method, **extra))
    c.check(117, [f.tau2 for f in fits])
    c.check(118, [f.se_tau2 for f in fits])
