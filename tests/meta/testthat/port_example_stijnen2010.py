"""Port of metafor 3.8-1 tests/testthat/test_analysis_example_stijnen2010.r (the rma.glmm blocks are out of
scope)."""

from __future__ import annotations

import numpy as np
from harness import block, col, data

from regrow.meta import rma

FILE = "test_analysis_example_stijnen2010.r"


def _check(c, res, first: int, transf: str, sqrt_tau2: bool = False) -> None:
    tmp = res.predict(transf=transf)
    tau = np.sqrt(res.tau2) if sqrt_tau2 else res.tau2
    c.checks({first: res.beta, first + 1: res.se, first + 2: tau, first + 4: tmp.pred, first + 5: tmp.ci_lb,
              first + 6: tmp.ci_ub})  # fmt: skip


@block("results for the normal-normal model are correct (measure=='PLO')")
def plo(c):
    d = data("dat.nielweise2007")
    _check(c, rma(measure="PLO", xi=col(d, "ci"), ni=col(d, "n2i")), 17, "transf.ilogit")
    _check(c, rma(measure="PLO", xi=col(d, "ai"), ni=col(d, "n1i")), 28, "transf.ilogit")


@block("results for the normal-normal model are correct (measure=='OR')")
def odds_ratio(c):
    d = data("dat.nielweise2007")
    res = c.warns(68, lambda: rma(measure="OR", ai=col(d, "ai"), n1i=col(d, "n1i"), ci=col(d, "ci"),
                                  n2i=col(d, "n2i"), drop00=True))  # fmt: skip
    _check(c, res, 71, "exp", sqrt_tau2=True)


def _n2008():
    d = data("dat.nielweise2008")
    return {
        "x1i": col(d, "x1i"),
        "t1i": col(d, "t1i") / 1000,
        "x2i": col(d, "x2i"),
        "t2i": col(d, "t2i") / 1000,
    }


@block("results for the normal-normal model are correct (measure=='IRLN')")
def irln(c):
    d = _n2008()
    _check(c, rma(measure="IRLN", xi=d["x2i"], ti=d["t2i"]), 130, "exp")
    _check(c, rma(measure="IRLN", xi=d["x1i"], ti=d["t1i"]), 141, "exp")


@block("results for the normal-normal model are correct (measure=='IRR')")
def irr(c):
    _check(c, rma(measure="IRR", **_n2008()), 184, "exp", sqrt_tau2=True)
