"""Port of metafor 3.8-1 tests/testthat/test_misc_rma_ls.r (the location-scale assertions that do not need
rma.mv, profile plots or R's random numbers). metafor's assertions that refit with other optimizers
(Nelder-Mead, BFGS, bobyqa, ...) are checked against regrow's one optimizer."""

from __future__ import annotations

import numpy as np
from harness import block, col, data

from regrow.meta import anova, rma, vif

FILE = "test_misc_rma_ls.r"


def _dat():
    d = data("dat.bangertdrowns2004")
    return d, col(d, "yi"), col(d, "vi")


def _scale3(d):
    return {"grade": col(d, "grade"), "meta": col(d, "meta"), "sqrt(ni)": np.sqrt(col(d, "ni"))}


@block("location-scale model works correctly for an intercept-only model")
def intercept(c):
    _d, yi, vi = _dat()
    res1, res3 = rma(yi, vi), rma(yi, vi, scale={})
    res4 = rma(yi, vi, scale=res3.Z, scale_intercept=False)
    c.checks({16: res1.tau2, 17: np.exp(res3.alpha_coef[0]), 18: np.exp(res4.alpha_coef[0])})


@block("location-scale model works correctly for two subgroups with different tau^2 values")
def subgroups(c):
    d, yi, vi = _dat()
    res2 = rma(yi, vi, scale={"meta": col(d, "meta")})
    c.warns(26, lambda: rma(yi, vi, scale=res2.Z_all, scale_intercept=False))


@block("location-scale model works correctly for a continuous predictor")
def continuous(c):
    d, yi, vi = _dat()
    res1 = rma(yi, vi, scale={"grade": col(d, "grade")})
    c.checks({97: res1.beta, 98: res1.alpha_coef})
    res2 = rma(yi, vi, scale={"grade": col(d, "grade")}, link="identity")
    c.checks({101: res2.alpha_coef, 105: res2.alpha_coef, 106: res2.vi + res2.tau2})


@block("location-scale model works correctly for multiple predictors")
def multiple(c):
    d, yi, vi = _dat()
    res1 = c.warns(153, lambda: rma(yi, vi, scale=_scale3(d)))
    c.checks({154: res1.beta, 155: res1.alpha_coef})
    res2 = c.warns(157, lambda: rma(yi, vi, scale=_scale3(d)))
    c.checks({158: res2.beta, 159: res2.alpha_coef})
    fits = [c.warns(line, lambda: rma(yi, vi, scale=_scale3(d))) for line in range(163, 174)]
    c.check(175, res1.alpha_coef)
    for line, fit in zip(range(176, 186), fits, strict=False):
        c.check(line, fit.alpha_coef)
    c.check(186, fits[-2].alpha_coef)


@block("permutation tests work correctly for a location-scale model")
def perm(c):
    d, yi, vi = _dat()
    c.warns(194, lambda: rma(yi, vi, scale=_scale3(d)))


@block("predict() works correctly for location-scale models")
def predict(c):
    d, yi, vi = _dat()
    meta = col(d, "meta")
    res = c.warns(212, lambda: rma(yi, vi, mods={"meta": meta}, scale={"meta": meta}))
    res0, res1 = rma(yi, vi, subset=meta == 0), rma(yi, vi, subset=meta == 1)
    pred = res.predict()
    p0, p1 = res0.predict(), res1.predict()
    for line, attr in zip(range(220, 226), ("pred", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub"), strict=True):
        c.check(line, getattr(pred, attr)[:2])
    c.check(228, res.predict(newmods=[0, 1]).pred)
    pred = res.predict(newmods=[0, 1], newscale=[0, 1])
    for line, attr in zip(range(232, 238), ("pred", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub"), strict=True):
        c.check(line, getattr(pred, attr))
    c.check(240, res.predict(newscale=[0, 1], transf="exp").pred)
    res = c.warns(242, lambda: rma(yi, vi, mods={"meta": meta}, scale={"meta": meta}, link="identity"))
    c.check(245, res.predict(newscale=[0, 1]).pred)
    del p0, p1


@block("anova() works correctly for location-scale models")
def anova_ls(c):
    d, yi, vi = _dat()
    grade = [str(int(g)) if np.isfinite(g) else None for g in col(d, "grade")]
    mods = {"factor(grade)": grade, "meta": col(d, "meta"), "sqrt(ni)": np.sqrt(col(d, "ni"))}
    res1 = c.warns(253, lambda: rma(yi, vi, mods=mods, scale=mods))
    res0 = c.warns(254, lambda: rma(yi, vi, mods=mods, scale={}))
    sav = anova(res1, res0)
    c.checks({257: sav.LRT, 258: sav.pval})
    sav = anova(res1, btt=[1, 2, 3])
    c.checks({261: sav.QM, 262: sav.QMp})
    sav = anova(res1, att=[1, 2, 3])
    c.checks({265: sav.QS, 266: sav.QSp})
    c.raises(268, lambda: anova(res1, btt=[1, 2, 3], att=[1, 2, 3]))
    sav = anova(res1, X=[0, 1, -1, 0, 0, 0])
    c.checks({271: sav.QM, 272: sav.QMp})
    c.check(274, res1.predict(newmods=[1, -1, 0, 0, 0], intercept=False).pred)
    sav = anova(res1, Z=[0, 1, -1, 0, 0, 0])
    c.checks({277: sav.QS, 278: sav.QSp})
    c.check(280, res1.predict(newscale=[1, -1, 0, 0, 0], intercept=False).pred)
    c.raises(282, lambda: anova(res1, X=[0, 1, -1, 0, 0, 0], Z=[0, 1, -1, 0, 0, 0]))


@block("vif() works correctly for location-scale models")
def vif_ls(c):
    d, yi, vi = _dat()
    res = c.warns(290, lambda: rma(yi, vi, scale=_scale3(d)))
    c.check(292, np.round(vif(res).vifs, 4))
