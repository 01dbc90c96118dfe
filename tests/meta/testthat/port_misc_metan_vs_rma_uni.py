"""Port of metafor 3.8-1 tests/testthat/test_misc_metan_vs_rma.uni_with_dat.bcg.r."""

from __future__ import annotations

from harness import block, col, data

from regrow.meta import escalc, rma

FILE = "test_misc_metan_vs_rma.uni_with_dat.bcg.r"


def _fit(measure, method):
    bcg = data("dat.bcg")
    es = escalc(measure, ai=col(bcg, "tpos"), bi=col(bcg, "tneg"), ci=col(bcg, "cpos"), di=col(bcg, "cneg"))
    return rma(es.yi, es.vi, method=method)


def _ee(c, measure, line, with_pred=True):
    res = _fit(measure, "EE")
    c.checks({line: res.beta, line + 1: res.ci_lb, line + 2: res.ci_ub, line + 3: res.zval, line + 4: res.QE})
    if with_pred:
        sav = res.predict(transf="exp")
        c.checks({line + 10: sav.pred, line + 11: sav.ci_lb, line + 12: sav.ci_ub})


def _dl(c, measure, line, with_pred=True):
    res = _fit(measure, "DL")
    c.checks({line: res.beta, line + 1: res.ci_lb, line + 2: res.ci_ub, line + 3: res.zval, line + 4: res.tau2,
              line + 5: res.I2})  # fmt: skip
    if with_pred:
        sav = res.predict(transf="exp")
        c.checks({line + 11: sav.pred, line + 12: sav.ci_lb, line + 13: sav.ci_ub})


@block("results match (EE model, measure='RR').")
def ee_rr(c):
    _ee(c, "RR", 15)


@block("results match (RE model w/ DL estimator, measure='RR').")
def dl_rr(c):
    _dl(c, "RR", 39)


@block("results match (EE model, measure='OR').")
def ee_or(c):
    _ee(c, "OR", 64)


@block("results match (RE model w/ DL estimator, measure='OR').")
def dl_or(c):
    _dl(c, "OR", 88)


@block("results match (EE model, measure='RD').")
def ee_rd(c):
    _ee(c, "RD", 113, with_pred=False)


@block("results match (RE model w/ DL estimator, measure='RD').")
def dl_rd(c):
    _dl(c, "RD", 129, with_pred=False)
