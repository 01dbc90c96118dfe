"""Port of metafor 3.8-1 tests/testthat/test_analysis_example_gleser2009.r: the effect sizes of the
multiple-treatment studies example (the rma.mv fits in the same blocks are category mv)."""

from __future__ import annotations

import numpy as np
from harness import block

from regrow.meta import escalc

FILE = "test_analysis_example_gleser2009.r"
AI = np.array([40.0, 40, 10, 150, 150, 150])
N1I = np.array([1000.0, 1000, 200, 2000, 2000, 2000])
CI = np.array([100.0, 150, 15, 40, 80, 50])
N2I = np.array([4000.0, 4000, 400, 1000, 1000, 1000])


def _es(measure):
    return escalc(measure, ai=AI, ci=CI, n1i=N1I, n2i=N2I)


@block("results are correct for the multiple-treatment studies example with risk differences.")
def rd(c):
    c.check(24, _es("RD").yi)


@block("results are correct for the multiple-treatment studies example with log odds ratios.")
def lor(c):
    c.check(55, _es("OR").yi)


@block("results are correct for the multiple-treatment studies example with log risk ratios.")
def lrr(c):
    c.check(86, _es("RR").yi)


@block(
    "results are correct for the multiple-treatment studies example with difference of arcsine transformed risks."
)
def arcsine(c):
    c.check(117, _es("AS").yi * 2)
