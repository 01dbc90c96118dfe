"""Port of metafor 3.8-1 tests/testthat/test_analysis_example_henmi2010.r."""

from __future__ import annotations

from harness import block, col, data

from regrow.meta import escalc, hc, rma

FILE = "test_analysis_example_henmi2010.r"


def _es():
    d = data("dat.lee2004")
    return escalc("OR", ai=col(d, "ai"), n1i=col(d, "n1i"), ci=col(d, "ci"), n2i=col(d, "n2i"))


@block("results are correct for the random-effects model.")
def random_effects(c):
    es = _es()
    res = rma(es.yi, es.vi, method="DL")
    c.checks({21: res.tau2, 22: res.beta, 23: res.ci_lb, 24: res.ci_ub})


@block("results are correct for the Henmi & Copas method.")
def henmi_copas(c):
    es = _es()
    sav = hc(rma(es.yi, es.vi, method="DL"))
    c.checks({38: sav.beta, 39: sav.ci_lb, 40: sav.ci_ub})
