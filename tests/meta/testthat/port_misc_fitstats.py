"""Port of metafor 3.8-1 tests/testthat/test_misc_fitstats.r (the rma.mv block is E2's)."""

from __future__ import annotations

import numpy as np
from harness import block, col, data

from regrow.meta import aic, bic, deviance, df_residual, escalc, fitstats, loglik, nobs, rma
from regrow.meta._dist import norm_pdf

FILE = "test_misc_fitstats.r"


def _dnorm_log(x, mean, sd):
    return np.log(norm_pdf((np.asarray(x) - mean) / sd) / sd)


@block("fit statistics are correct for rma.uni().")
def uni(c):
    d = data("dat.bcg")
    es = escalc("RR", ai=col(d, "tpos"), bi=col(d, "tneg"), ci=col(d, "cpos"), di=col(d, "cneg"))
    res1 = rma(es.yi, es.vi, method="ML")
    res2 = rma(es.yi, es.vi, mods={"ablat": col(d, "ablat")}, method="ML")
    ll = np.sum(_dnorm_log(es.yi, res1.beta[0], np.sqrt(es.vi + res1.tau2)))
    sat = np.sum(_dnorm_log(es.yi, es.yi, np.sqrt(es.vi)))
    c.checks({17: loglik(res1), 18: ll, 21: deviance(res1), 22: -2 * (ll - sat), 25: aic(res1), 26: -2 * ll + 4,
              32: bic(res1), 33: -2 * ll + 2 * np.log(res1.k)})  # fmt: skip
    c.check(29, aic(res1, res2).to_numpy().ravel(order="F"))
    c.check(36, bic(res1, res2).to_numpy().ravel(order="F"))
    c.check(39, fitstats(res1).to_numpy().ravel())
    c.check(42, fitstats(res1, res2).to_numpy().ravel(order="F"))
    c.checks({45: nobs(res1), 48: df_residual(res1)})
