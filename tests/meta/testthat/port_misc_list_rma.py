"""Port of metafor 3.8-1 tests/testthat/test_misc_list_rma.r (head/tail/as.data.frame/as.matrix of a
'list.rma': the first or last rows of the per-study results)."""

from __future__ import annotations

import numpy as np
from harness import block, col, data

from regrow.meta import escalc, rma, rstandard

FILE = "test_misc_list_rma.r"


def _es():
    b = data("dat.bcg")
    return b, escalc("RR", ai=col(b, "tpos"), bi=col(b, "tneg"), ci=col(b, "cpos"), di=col(b, "cneg"))


@block("head.list.rma() works correctly.")
def head(c):
    _, es = _es()
    r = rstandard(rma(es.yi, es.vi)).to_frame().head(4)
    c.check_fields(15, {"resid": r["resid"], "se": r["se"], "z": r["z"], "slab": np.arange(1, 5)})


@block("tail.list.rma() works correctly.")
def tail(c):
    _, es = _es()
    r = rstandard(rma(es.yi, es.vi)).to_frame().tail(4)
    c.check_fields(27, {"resid": r["resid"], "se": r["se"], "z": r["z"], "slab": np.arange(10, 14)})


@block("as.data.frame.list.rma() works correctly.")
def as_frame(c):
    b, es = _es()
    p = rma(es.yi, es.vi, mods={"ablat": col(b, "ablat")}).predict()
    frame = np.column_stack([p.pred, p.se])[:3]
    c.check(41, frame.ravel(order="F"))


@block("as.matrix.list.rma() works correctly.")
def as_matrix(c):
    b, es = _es()
    p = rma(es.yi, es.vi, mods={"ablat": col(b, "ablat")}).predict()
    c.check(55, np.column_stack([p.pred, p.se])[:3].ravel(order="F"))
