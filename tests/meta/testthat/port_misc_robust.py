"""Port of metafor 3.8-1 tests/testthat/test_misc_robust.r (the rma.uni blocks; rma.mv ones are E2's)."""

from __future__ import annotations

import numpy as np
from harness import block, col, data

from regrow.meta import escalc, rma, robust

FILE = "test_misc_robust.r"


def _bcg():
    d = data("dat.bcg")
    es = escalc("RR", ai=col(d, "tpos"), bi=col(d, "tneg"), ci=col(d, "cpos"), di=col(d, "cneg"))
    return d, es


def _pred(c, lines, tmp):
    for line, v in zip(lines, (tmp.pred, tmp.ci_lb, tmp.ci_ub, tmp.pi_lb, tmp.pi_ub), strict=True):
        c.check(line, v)


@block("robust() works correctly for 'rma' objects.")
def intercept_only(c):
    d, es = _bcg()
    res = rma(es.yi, es.vi)
    trial = d["trial"].to_numpy()
    sav = robust(res, cluster=trial)
    c.checks({14: sav.vb.ravel(), 15: sav.dfs, 16: sav.zval})
    _pred(c, range(19, 24), sav.predict(transf="exp"))
    sav = robust(res, cluster=trial, adjust=False)
    c.checks({26: sav.vb.ravel(), 27: sav.dfs, 28: sav.zval})
    sav = robust(res, cluster=trial, clubSandwich=True)
    c.checks({31: sav.vb.ravel(), 32: sav.dfs, 33: sav.zval})
    _pred(c, range(36, 41), sav.predict(transf="exp"))
    res = rma(es.yi, es.vi, weights=1)
    sav = robust(res, cluster=trial)
    c.checks({45: sav.vb.ravel(), 46: sav.dfs, 47: sav.zval})


@block("robust() works correctly for 'rma' objects with moderators.")
def moderators(c):
    d, es = _bcg()
    trial = d["trial"].to_numpy()
    res = rma(es.yi, es.vi, mods={"ablat": col(d, "ablat"), "year": col(d, "year")})
    sav = robust(res, cluster=trial)
    c.checks({58: sav.se, 59: sav.dfs, 60: sav.zval, 61: sav.QM})
    _pred(c, range(64, 69), sav.predict(newmods=[30, 1970], transf="exp"))
    sav = robust(res, cluster=trial, clubSandwich=True)
    c.checks({71: sav.se, 72: sav.dfs, 73: sav.zval, 74: sav.QM, 75: list(sav.QMdf), 76: sav.QMp})
    tmp = sav.anova()
    c.checks({79: tmp.QM, 80: list(tmp.QMdf), 81: tmp.QMp})
    _pred(c, range(84, 89), sav.predict(newmods=[30, 1970], transf="exp"))
    res = rma(es.yi, es.vi, mods={"ablat": col(d, "ablat"), "alloc": d["alloc"].tolist()})
    sav = robust(res, cluster=trial, clubSandwich=True)
    X = np.array([[0, 10, 1, 0], [0, 50, 1, 0]], float)
    tmp = sav.anova(X=X)
    c.checks({94: tmp.se, 95: tmp.ddf, 96: tmp.zval, 97: tmp.QM, 98: list(tmp.QMdf), 99: tmp.QMp})
    sav1 = robust(res, cluster=trial)
    tmp1 = sav1.anova(X=X)
    sav2 = robust(
        res, cluster=trial, clubSandwich=True, vcov="CR1p", coef_test="naive-tp", wald_test="Naive-Fp"
    )
    tmp2 = sav2.anova(X=X)
    # expect_equivalent(tmp1$x, tmp2$x): the recorded value is metafor's tmp2 (the clubSandwich route)
    assert np.allclose(tmp1.se, tmp2.se) and np.allclose(tmp1.QM, tmp2.QM)
    c.checks({105: tmp2.se, 106: tmp2.ddf, 107: tmp2.zval, 108: tmp2.QM, 109: list(tmp2.QMdf), 110: tmp2.QMp})
    p1 = sav1.predict(newmods=[30, 1, 0], transf="exp")
    p2 = sav2.predict(newmods=[30, 1, 0], transf="exp")
    for line, a, b in zip(range(114, 119), (p1.pred, p1.ci_lb, p1.ci_ub, p1.pi_lb, p1.pi_ub),
                          (p2.pred, p2.ci_lb, p2.ci_ub, p2.pi_lb, p2.pi_ub), strict=True):  # fmt: skip
        assert np.allclose(a, b)
        c.check(line, b)
