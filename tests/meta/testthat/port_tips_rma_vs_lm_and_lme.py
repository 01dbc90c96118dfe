"""Port of metafor 3.8-1 tests/testthat/test_tips_rma_vs_lm_and_lme.r. The R test compares metafor's rma()
with lm() and nlme's lme(); here regrow's rma() is compared with the lm()/lme() values recorded from R.

lme's residual scale ``sigma(res.lme)`` enters the R test as a multiplier of vi; it is taken from R (nlme
3.1-162, ``lme(yi ~ 1, random = ~ 1 | study, weights = varFixed(~ vi), method=...)`` on the same data).
"""

from __future__ import annotations

import numpy as np
from harness import block, col, data

from regrow.meta import blup, escalc, rma

FILE = "test_tips_rma_vs_lm_and_lme.r"
SIGMA_LME = {"ML": 1.2614298585959896, "REML": 1.2595482359044228}


def _es():
    d = data("dat.molloy2014")
    return escalc("ZCOR", ri=col(d, "ri"), ni=col(d, "ni"))


@block("results for rma() and lm() match for method='FE'.")
def lm(c):
    es = _es()
    res = rma(es.yi, es.vi, method="EE")
    # lm(yi ~ 1, weights = 1/vi): the residual scale of the weighted fit
    w = 1 / es.vi
    mu = np.sum(w * es.yi) / np.sum(w)
    sigma = np.sqrt(np.sum(w * (es.yi - mu) ** 2) / (len(es.yi) - 1))
    c.checks({18: res.beta, 21: res.se})  # lm: se / sigma(res.lm)
    res = rma(es.yi, es.vi * sigma**2, method="EE")
    c.checks({27: res.beta, 30: res.se})


@block("results for rma() and lme() match for method='ML'.")
def lme_ml(c):
    es = _es()
    res = rma(es.yi, es.vi * SIGMA_LME["ML"] ** 2, method="ML")
    c.checks({45: res.beta, 48: res.se * np.sqrt(res.k / (res.k - res.p)), 51: blup(res).pred})


@block("results for rma() and lme() match for method='REML'.")
def lme_reml(c):
    es = _es()
    res = rma(es.yi, es.vi * SIGMA_LME["REML"] ** 2, method="REML")
    c.checks({66: res.beta, 69: res.se, 72: blup(res).pred})
