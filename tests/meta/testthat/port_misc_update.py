"""Port of metafor 3.8-1 tests/testthat/test_misc_update.r (the rma.mv and rma.glmm blocks are categories
mv and glmm). The R test compares an updated fit with the same model fitted directly."""

from __future__ import annotations

import numpy as np
from harness import block, col, data

from regrow.meta import escalc, rma, update

FILE = "test_misc_update.r"


def _stats(res):
    ll = res.fit_stats[res.method if res.method in ("ML", "REML") else "ML"]["ll"]
    return np.concatenate(
        [
            res.beta,
            res.se,
            res.ci_lb,
            res.ci_ub,
            res.vb.ravel(),
            [res.tau2, res.se_tau2, res.QE, res.QM, res.I2, ll],
        ]
    )


@block("update() works for rma().")
def uni(c):
    b = data("dat.bcg")
    es = escalc("RR", ai=col(b, "tpos"), bi=col(b, "tneg"), ci=col(b, "cpos"), di=col(b, "cneg"))
    res1 = rma(es.yi, es.vi, method="EE")
    res2 = update(res1, method="DL")
    res3 = rma(es.yi, es.vi, method="DL")
    res4 = update(res3, mods={"ablat": col(b, "ablat")})
    res5 = rma(es.yi, es.vi, mods={"ablat": col(b, "ablat")}, method="DL")
    assert res4.coef_names == res5.coef_names == ["intrcpt", "ablat"]
    c.same(20, _stats(res2), _stats(res3))
    c.same(21, _stats(res4), _stats(res5))
