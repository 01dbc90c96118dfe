"""Port of metafor 3.8-1 tests/testthat/test_analysis_example_viechtbauer2007a.r (the profile-likelihood
block is rma.mv, category mv, counted on its own line; the two bootstrap blocks draw R's random numbers and
are skipped on CRAN)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from harness import block, col, data
from scipy.optimize import brentq
from scipy.stats import chi2, gamma

from regrow.meta import confint_mv, escalc, rma, rma_mv

FILE = "test_analysis_example_viechtbauer2007a.r"


def _es():
    d = data("dat.collins1985b")
    return escalc(
        "OR", ai=col(d, "pre.xti"), n1i=col(d, "pre.nti"), ci=col(d, "pre.xci"), n2i=col(d, "pre.nci")
    )


@block("the heterogeneity estimates are correct.")
def estimates(c):
    es = _es()
    c.check(24, [rma(es.yi, es.vi, method=m).tau2 for m in ("DL", "ML", "REML", "SJ")])


@block("CI is correct for the Q-profile method.")
def qprofile(c):
    es = _es()
    ci = rma(es.yi, es.vi, method="DL").confint()
    c.check(33, [ci.tau2.ci_lb, ci.tau2.ci_ub])


@block("CI is correct for the Biggerstaff–Tweedie method.")
def biggerstaff_tweedie(c):
    es = _es()
    res = rma(es.yi, es.vi, method="DL")
    wi = 1 / es.vi
    s1 = wi.sum() - (wi**2).sum() / wi.sum()
    s2 = (wi**2).sum() - 2 * (wi**3).sum() / wi.sum() + (wi**2).sum() ** 2 / wi.sum() ** 2

    def f(tau2, lower_tail):
        exp_q = (res.k - 1) + s1 * tau2
        var_q = 2 * (res.k - 1) + 4 * s1 * tau2 + 2 * s2 * tau2**2
        shape, scale = exp_q**2 / var_q, var_q / exp_q
        p = gamma.cdf(res.QE / scale, shape) if lower_tail else gamma.sf(res.QE / scale, shape)
        return p - 0.025

    c.check(57, [brentq(f, 0, 10, args=(False,)), brentq(f, 0, 10, args=(True,))])


@block("CI is correct for the Wald-type method.")
def wald(c):
    es = _es()
    for line, method in ((92, "ML"), (95, "REML")):
        res = rma(es.yi, es.vi, method=method)
        c.check(line, [res.tau2 - 1.96 * res.se_tau2, res.tau2 + 1.96 * res.se_tau2])


@block("CI is correct for the Sidik-Jonkman method.")
def sidik_jonkman(c):
    es = _es()
    res = rma(es.yi, es.vi, method="SJ")
    df = res.k - 1
    c.check(105, np.array([df * res.tau2 / chi2.ppf(0.975, df), df * res.tau2 / chi2.ppf(0.025, df)]))


@block("CI is correct for the profile likelihood method.")
def profile_likelihood(c):
    es = _es()
    d = pd.DataFrame({"yi": es.yi, "vi": es.vi, "id": np.arange(1, len(es.yi) + 1)})
    for line, method in ((68, "ML"), (72, "REML")):
        ci = confint_mv(rma_mv("yi", "vi", random="~ 1 | id", data=d, method=method))[0]
        c.check(line, [ci.ci_lb, ci.ci_ub])
