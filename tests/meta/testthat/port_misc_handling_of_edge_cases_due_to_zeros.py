"""Port of metafor 3.8-1 tests/testthat/test_misc_handling_of_edge_cases_due_to_zeros.r (the rma.glmm
lines, and the lines the extraction filed with them, are category glmm)."""

from __future__ import annotations

import numpy as np
from harness import block

from regrow.meta import rma_mh, rma_peto

FILE = "test_misc_handling_of_edge_cases_due_to_zeros.r"


def _run(c, ai, bi, ci, di, first, beta_checks):
    t = {
        "ai": np.array(ai, float),
        "bi": np.array(bi, float),
        "ci": np.array(ci, float),
        "di": np.array(di, float),
    }
    c.raises(first - 2, lambda: rma_peto(**t))
    for offset, measure in ((0, "OR"), (2, "RR"), (4, "RD")):
        res = c.warns(first + offset, lambda m=measure: rma_mh(measure=m, **t))
        kind = beta_checks[measure]
        if kind == "na":
            c.check(first + offset + 1, bool(np.isnan(res.beta)))
        else:
            c.check(first + offset + 1, res.beta)


@block("rma.peto(), rma.mh(), and rma.glmm() handle outcome1 never occurring properly.")
def outcome1(c):
    _run(
        c,
        [0, 0, 0, 0],
        [10, 15, 20, 25],
        [0, 0, 0, 0],
        [10, 10, 30, 20],
        16,
        {"OR": "na", "RR": "na", "RD": 0},
    )


@block("rma.peto(), rma.mh(), and rma.glmm() handle outcome2 never occurring properly.")
def outcome2(c):
    _run(
        c, [10, 15, 20, 25], [0, 0, 0, 0], [10, 10, 30, 20], [0, 0, 0, 0], 38, {"OR": "na", "RR": 0, "RD": 0}
    )
