"""Port of metafor 3.8-1 tests/testthat/test_misc_pub_bias.r."""

from __future__ import annotations

from harness import block, col, data

from regrow.meta import escalc, ranktest, regtest, rma

FILE = "test_misc_pub_bias.r"


def _es():
    d = data("dat.egger2001")
    return escalc("OR", ai=col(d, "ai"), n1i=col(d, "n1i"), ci=col(d, "ci"), n2i=col(d, "n2i"))


@block("regtest() works correctly for 'rma.uni' objects.")
def egger(c):
    es = _es()
    res = rma(es.yi, es.vi)
    c.check(13, regtest(res).stat)
    c.check(18, regtest(es.yi, es.vi).stat)
    c.check(21, regtest(es).stat)
    c.check(24, regtest(res, model="lm", predictor="sqrtninv", ni=es.ni).stat)
    c.check(27, regtest(es, model="lm", predictor="sqrtninv").stat)
    c.check(30, regtest(es.yi, es.vi, model="lm", predictor="sqrtninv", ni=es.ni).stat)


@block("ranktest() works correctly for 'rma.uni' objects.")
def begg(c):
    es = _es()
    for line, sav in (
        (40, ranktest(rma(es.yi, es.vi))),
        (44, ranktest(es.yi, es.vi)),
        (48, ranktest(es.yi, es.vi)),
    ):
        c.checks({line: sav.tau, line + 1: sav.pval})
