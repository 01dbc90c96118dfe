"""Port of metafor 3.8-1 tests/testthat/test_misc_rma_uni_ls.r (rma.uni location-scale parts)."""

from __future__ import annotations

import numpy as np
from harness import block, col, data

from regrow.meta import escalc, rma

FILE = "test_misc_rma_uni_ls.r"


def _bcg():
    b = data("dat.bcg")
    es = escalc("RR", ai=col(b, "tpos"), bi=col(b, "tneg"), ci=col(b, "cpos"), di=col(b, "cneg"))
    return es.yi, es.vi, b


@block("location-scale model results are correct for in intercept-only model")
def intercept(c):
    yi, vi, _ = _bcg()
    res1 = rma(yi, vi, test="knha")
    res2 = rma(yi, vi, scale={}, test="t")
    res3 = rma(yi, vi, scale={}, link="identity", test="t")
    c.checks({14: np.exp(res2.alpha_coef), 15: res3.alpha_coef})
    del res1


@block("location-scale model results are correct for a categorical predictor")
def categorical(c):
    yi, vi, b = _bcg()
    alloc = list(b["alloc"])
    res1 = rma(yi, vi, mods={"alloc": alloc}, scale={"alloc": alloc}, scale_intercept=False)
    res2 = rma(yi, vi, mods={"alloc": alloc}, scale={"alloc": alloc}, scale_intercept=False, link="identity")
    c.checks({26: np.exp(res1.alpha_coef), 27: np.exp(res1.alpha_coef)})
    del res2


@block("location-scale model results are correct for a continuous predictor")
def continuous(c):
    d = data("dat.laopaiboon2015")
    es = escalc("RR", ai=col(d, "ai"), n1i=col(d, "n1i"), ci=col(d, "ci"), n2i=col(d, "n2i"))
    ni = col(d, "n1i") + col(d, "n2i")
    # (the R test adds 2 to the "study" == "Whitlock" row, but the data has no "study" column: no change)
    inv = {"I(1/ni)": 1 / ni}

    def summary(res):
        return np.exp([res.beta[0], res.ci_lb[0], res.ci_ub[0]])

    res = rma(es.yi, es.vi, scale=inv, scale_intercept=False, link="identity", method="ML")
    c.checks({39: res.alpha_coef, 40: summary(res)})
    res = rma(es.yi, es.vi, scale=inv, link="identity", method="ML")
    c.checks({43: res.alpha_coef, 44: summary(res)})
    res = rma(es.yi, es.vi, scale=inv, scale_intercept=False)
    c.checks({47: res.alpha_coef, 48: summary(res)})
    res = rma(es.yi, es.vi, scale=inv)
    c.checks({51: res.alpha_coef, 52: summary(res)})
    beta = [res.beta, res.se, res.zval, res.pval, res.ci_lb, res.ci_ub]
    alpha = [res.alpha_coef, res.se_alpha, res.zval_alpha, res.pval_alpha, res.ci_lb_alpha, res.ci_ub_alpha]
    c.check(58, np.concatenate([np.concatenate(beta), np.column_stack(alpha).ravel(order="F")]))
    c.check(61, res.Z.ravel(order="F"))
    c.check(64, res.scale_fitted())
