"""Port of metafor 3.8-1 tests/testthat/test_analysis_example_konstantopoulos2011.r (the rma() blocks; the
rma.mv blocks are category mv)."""

from __future__ import annotations

from harness import block, col, data

from regrow.meta import rma

FILE = "test_analysis_example_konstantopoulos2011.r"


@block("results are correct for the two-level random-effects model fitted with rma().")
def two_level(c):
    d = data("dat.konstantopoulos2011")
    res = rma(col(d, "yi"), col(d, "vi"))
    c.checks({16: res.beta, 17: res.se, 18: res.tau2, 19: res.se_tau2})
    ci = res.confint()
    c.checks({24: ci.tau2.ci_lb, 25: ci.tau2.ci_ub})


@block("results are correct for the two-level mixed-effects model fitted with rma().")
def two_level_mixed(c):
    d = data("dat.konstantopoulos2011")
    year = col(d, "year")
    res = rma(col(d, "yi"), col(d, "vi"), mods={"I(year - mean(year))": year - year.mean()})
    c.checks({34: res.beta, 35: res.se, 36: res.tau2, 37: res.se_tau2})
    ci = res.confint()
    c.checks({41: ci.tau2.ci_lb, 42: ci.tau2.ci_ub})
