"""Port of metafor 3.8-1 tests/testthat/test_misc_formula.r."""

from __future__ import annotations

from harness import block, col, data

from regrow.meta import escalc, formula, rma

FILE = "test_misc_formula.r"


@block("formula() works correctly for 'rma.uni' objects.")
def formulas(c):
    d = data("dat.bcg")
    es = escalc("RR", ai=col(d, "tpos"), bi=col(d, "tneg"), ci=col(d, "cpos"), di=col(d, "cneg"))
    d["yi"], d["vi"] = es.yi, es.vi
    res = rma("yi", "vi", data=d, method="DL")
    c.checks({12: formula(res, type="mods"), 13: formula(res, type="yi")})
    res = rma("yi", "vi", mods="~ ablat", data=d, method="DL")
    c.checks({16: formula(res, type="mods"), 17: formula(res, type="yi")})
    res = rma("yi ~ ablat", "vi", data=d, method="DL")
    c.checks({20: formula(res, type="mods"), 21: formula(res, type="yi")})
    c.raises(23, lambda: formula(res, type="scale"))
