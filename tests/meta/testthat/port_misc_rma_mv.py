"""Port of metafor 3.8-1 tests/testthat/test_misc_rma_mv.r (category mv, counted on its own line). Not ported:
user weights ``W=``, the ``R=`` (phylogenetic correlation) argument, ``cvvc=`` and the choice of optimizer
(rma_mv has none of these), and negative or missing sampling variances, which rma_mv refuses with an
InputError instead of metafor's warning."""

from __future__ import annotations

import pandas as pd
from harness import block, col, data

from regrow.meta import escalc, rma_mv

FILE = "test_misc_rma_mv.r"


def _dat():
    b = data("dat.bcg")
    es = escalc("RR", ai=col(b, "tpos"), bi=col(b, "tneg"), ci=col(b, "cpos"), di=col(b, "cneg"))
    return pd.DataFrame({"yi": es.yi, "vi": es.vi, "ablat": col(b, "ablat"), "trial": b["trial"]})


@block("rma.mv() correctly handles a formula for the 'yi' argument")
def formula(c):
    d = _dat()
    res1 = rma_mv("yi ~ ablat", "vi", random="~ 1 | trial", data=d)
    res2 = rma_mv("yi", "vi", mods="~ ablat", random="~ 1 | trial", data=d)
    c.same(13, res1.beta, res2.beta)


@block("rma.mv() works correctly with test='t'")
def t_test(c):
    c.check(88, rma_mv("yi", "vi", random="~ 1 | trial", data=_dat(), test="t").pval)
