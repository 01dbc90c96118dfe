"""Port of metafor 3.8-1 tests/testthat/test_misc_reporter.r: the model it reports on fits without error
(reporter() itself, which writes an R Markdown report, is skipped on CRAN and has no regrow counterpart)."""

from __future__ import annotations

from harness import block, col, data

from regrow.meta import escalc, rma

FILE = "test_misc_reporter.r"


@block("reporter() works correctly for 'rma.uni' objects.")
def fits(c):
    b = data("dat.bcg")
    es = escalc("RR", ai=col(b, "tpos"), bi=col(b, "tneg"), ci=col(b, "cpos"), di=col(b, "cneg"))
    c.runs(10, lambda: rma(es.yi, es.vi))
