"""Port of metafor 3.8-1 tests/testthat/test_analysis_example_lipsey2001.r."""

from __future__ import annotations

import numpy as np
from harness import block, coef_table

from regrow.meta import anova, rma

FILE = "test_analysis_example_lipsey2001.r"
YI = np.array([-0.33, 0.32, 0.39, 0.31, 0.17, 0.64, -0.33, 0.15, -0.02, 0.00])
VI = np.array([0.084, 0.035, 0.017, 0.034, 0.072, 0.117, 0.102, 0.093, 0.012, 0.067])
RANDOM = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1.0])
INTENSITY = np.array([7, 3, 7, 5, 7, 7, 4, 4, 5, 6.0])


@block("results are correct for the equal-effects model.")
def ee(c):
    res = rma(YI, VI, method="EE")
    c.checks({22: coef_table(res), 23: res.QE, 24: res.QEp})


@block("results are correct for the random-effects model.")
def re(c):
    res = rma(YI, VI, method="DL")
    c.checks({33: coef_table(res), 34: res.tau2})


@block("results are correct for the ANOVA-type analysis.")
def anova_type(c):
    res = rma(YI, VI, mods={"random": RANDOM}, method="FE")
    res0 = rma(YI, VI, method="EE", subset=RANDOM == 0)
    res1 = rma(YI, VI, method="EE", subset=RANDOM == 1)
    tmp = res.predict(newmods=[0, 1])
    rows = np.column_stack([tmp.pred, tmp.se, tmp.ci_lb, tmp.ci_ub])
    c.checks({49: rows[0], 50: rows[1], 51: res.QM, 52: res.QMp, 53: res.QE, 54: res.QEp, 55: res0.QE,
              56: res0.QEp, 57: res1.QE, 58: res1.QEp})  # fmt: skip


@block("results are correct for the meta-regression analysis (fixed-effects with moderators model).")
def fe_metareg(c):
    res = rma(YI, VI, mods={"random": RANDOM, "intensity": INTENSITY}, method="FE")
    c.checks({74: coef_table(res), 75: res.QM, 76: res.QMp, 77: res.QE, 78: res.QEp})


@block("results are correct for the meta-regression analysis (mixed-effects model).")
def me_metareg(c):
    res = rma(YI, VI, mods={"random": RANDOM, "intensity": INTENSITY}, method="DL")
    c.checks({94: coef_table(res), 95: res.QM, 96: res.QMp, 97: res.tau2})


@block("results are correct for the comutation of R^2 via the anova() function.")
def r2(c):
    me = rma(YI, VI, mods={"random": RANDOM, "intensity": INTENSITY}, method="DL")
    re_ = rma(YI, VI, method="DL")
    tmp = c.warns(105, lambda: anova(re_, me))
    c.check(107, tmp.R2)
