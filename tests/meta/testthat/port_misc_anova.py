"""Port of metafor 3.8-1 tests/testthat/test_misc_anova.r."""

from __future__ import annotations

import numpy as np
from harness import block, col, data

from regrow.meta import anova, escalc, rma

FILE = "test_misc_anova.r"


def _bcg():
    b = data("dat.bcg")
    es = escalc("RR", ai=col(b, "tpos"), bi=col(b, "tneg"), ci=col(b, "cpos"), di=col(b, "cneg"))
    return es.yi, es.vi, b


@block("anova() works correctly for comparing nested models.")
def nested(c):
    yi, vi, b = _bcg()
    sav = anova(rma(yi, vi, method="ML"), rma(yi, vi, mods={"ablat": col(b, "ablat")}, method="ML"))
    c.checks({15: sav.LRT, 16: sav.LRT})
    r1, r2 = rma(yi, vi, method="REML"), rma(yi, vi, mods={"ablat": col(b, "ablat")}, method="REML")
    sav = c.warns(20, lambda: anova(r1, r2))
    c.checks({22: sav.LRT, 23: sav.LRT})


@block("anova() works correctly when using the 'btt' argument.")
def btt(c):
    yi, vi, b = _bcg()
    mods = {"ablat": col(b, "ablat"), "alloc": list(b["alloc"])}
    res = rma(yi, vi, mods=mods)
    sav = anova(res, btt=[2, 3])
    c.checks({34: sav.QM, 35: sav.QMp, 36: sav.QM})
    sav = anova(res, btt="alloc")
    c.checks({41: sav.QM, 42: sav.QMp, 43: sav.QM})
    res = rma(yi, vi, mods=mods, test="knha")
    sav = anova(res, btt=[2, 3])
    c.checks({49: sav.QM, 50: sav.QMp, 51: sav.QM})
    sav = anova(res, btt=[[1], [2, 3]])
    c.checks({56: [s.QM for s in sav], 57: [s.QMp for s in sav], 58: [s.QM for s in sav]})
    res = rma(yi, vi, mods={**mods, "year": col(b, "year")}, test="knha")
    sav = anova(res, btt=["ablat", "alloc", "year"])
    c.check(62, [s.QM for s in sav])


@block("anova() works correctly when using the 'X' argument.")
def contrasts(c):
    yi, vi, b = _bcg()
    mods = {"ablat": col(b, "ablat"), "alloc": list(b["alloc"])}
    res = rma(yi, vi, mods=mods)
    X = np.array([[1, 10, 0, 0], [1, 30, 0, 0], [1, 50, 0, 0]], dtype=float)
    sav = anova(res, X=X)
    c.checks({74: sav.zval, 75: sav.zval})
    sav = anova(res, X=X, rhs=-0.10)
    c.checks({79: sav.zval, 80: sav.zval})
    res = rma(yi, vi, mods=mods, test="knha")
    sav = anova(res, X=[[1, 10, 0, 0], [1, 10, 1, 0], [1, 10, 0, 1]])
    c.checks({86: sav.zval, 87: sav.zval, 88: sav.QM, 89: sav.QMp})
