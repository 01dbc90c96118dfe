"""Port of metafor 3.8-1 tests/testthat/test_misc_tes.r."""

from __future__ import annotations

from harness import block, col, data

from regrow.meta import escalc, rma, tes

FILE = "test_misc_tes.r"


@block("tes() works correctly for 'dat.dorn2007'.")
def dorn(c):
    d = data("dat.dorn2007")
    es = escalc("RR", ai=col(d, "x.a"), n1i=col(d, "n.a"), ci=col(d, "x.p"), n2i=col(d, "n.p"))
    sav = tes(es.yi, es.vi, test="chi2")
    c.checks({14: sav.O, 15: sav.E, 16: sav.X2, 17: sav.pval})
    c.check(20, tes(es, test="chi2").pval)
    c.check(23, tes(es, test="binom").pval)
    c.check(28, tes(es, test="exact").pval)
    sav = tes(rma(es.yi, es.vi, method="EE"), test="chi2")
    c.checks({33: sav.O, 34: sav.E, 35: sav.X2, 36: sav.pval})
