"""Port of metafor 3.8-1 tests/testthat/test_misc_residuals.r (rma.uni, rma.mh and rma.peto parts;
the rma.mv block is category mv, counted on its own line: its cluster-level and studentized residuals are
not ported)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from harness import block, col, data, metafor_control

from regrow.meta import escalc, residuals, rma, rma_mh, rma_mv, rma_peto, rstandard, rstudent

FILE = "test_misc_residuals.r"


def _six(measure="RR"):
    b = data("dat.bcg").iloc[:6]
    cells = dict(ai=col(b, "tpos"), bi=col(b, "tneg"), ci=col(b, "cpos"), di=col(b, "cneg"))
    return escalc(measure, **cells), cells, b


@block("residuals are correct for rma().")
def uni(c):
    es, _, _ = _six()
    res = rma(es.yi, es.vi, control=metafor_control())
    c.checks({12: residuals(res), 13: rstandard(res).z, 14: rstudent(res).z})
    res = rma(es.yi, es.vi, method="EE")
    c.check(17, np.sum(residuals(res, type="pearson") ** 2))
    c.check(18, np.sum(residuals(res, type="cholesky") ** 2))


@block("rstudent() yields the same results as a mean shift outlier model for rma().")
def mean_shift(c):
    es, _, b = _six()
    trial1 = (col(b, "trial") == 1).astype(float)
    for test, line in (("z", 31), ("knha", 38)):
        res = rma(es.yi, es.vi, mods={"trial1": trial1}, test=test)
        c.checks({line: res.beta[1], line + 1: res.se[1]})


@block("residuals are correct for rma.mh().")
def mh(c):
    es, cells, _ = _six()
    res = rma_mh(**cells, measure="RR")
    c.check(62, es.yi - res.beta)
    c.check(63, rstandard(res).z)
    c.check(64, rstudent(res).z)


@block("residuals are correct for rma.peto().")
def peto(c):
    es, cells, _ = _six("PETO")
    res = rma_peto(**cells)
    c.check(73, es.yi - res.beta)
    c.check(74, rstandard(res).z)
    c.check(75, rstudent(res).z)


def _bcg_mv(**kw):
    b = data("dat.bcg")
    es = escalc("RR", ai=col(b, "tpos"), bi=col(b, "tneg"), ci=col(b, "cpos"), di=col(b, "cneg"), **kw)
    keep = slice(None) if "subset" not in kw else kw["subset"]
    frame = pd.DataFrame(
        {"yi": es.yi, "vi": es.vi, "ablat": col(b, "ablat")[keep], "trial": b["trial"].to_numpy()[keep]}
    )
    return frame


@block("residuals are correct for rma.mv().")
def mv(c):
    d = _bcg_mv(subset=np.arange(6))
    res = rma_mv("yi", "vi", random="~ 1 | trial", data=d)
    c.check(48, residuals(res))
    assert np.allclose(residuals(res), d["yi"].to_numpy() - res.beta[0], rtol=1e-12)
    c.check(49, rstandard(res).z)
