"""Port of metafor 3.8-1 tests/testthat/test_analysis_example_miller1978.r (the forest plot at the end is
not an assertion)."""

from __future__ import annotations

import numpy as np
from harness import block

from regrow.meta import escalc, rma, transf

FILE = "test_analysis_example_miller1978.r"
XI, NI = np.array([3.0, 6, 10, 1]), np.array([11.0, 17, 21, 6])


def _es():
    return escalc("PFT", xi=XI, ni=NI)


@block("calculations of escalc() for measure='PFT' are correct.")
def pft(c):
    es = _es()
    c.checks({17: es.yi * 2, 18: es.vi * 4})


@block("results are correct for the equal-effects model using unweighted estimation.")
def unweighted(c):
    es = _es()
    res = rma(es.yi, es.vi, method="EE", weighted=False)
    c.check(27, res.predict(transf=lambda x: x * 2).pred)
    c.check(30, res.predict(transf="ipft.hm", targs={"ni": NI}).pred)


@block("results are correct for the equal-effects model using weighted estimation.")
def weighted(c):
    es = _es()
    res = rma(es.yi, es.vi, method="EE")
    c.check(39, res.predict(transf=lambda x: x * 2).pred)
    c.check(42, res.predict(transf="ipft.hm", targs={"ni": NI}).pred)


@block("results are correct when there are proportions of 0 and 1.")
def zero_one(c):
    ni = np.array([10.0, 10])
    es = escalc("PFT", xi=np.array([0.0, 10]), ni=ni, add=0)
    c.check(54, transf("ipft", es.yi, ni=ni))


@block("back-transformations work as intended for individual studies and the model estimate.")
def back(c):
    xi, ni = np.array([0.0, 4, 9, 16, 20]), np.array([10.0, 10, 15, 20, 20])
    es = escalc("PFT", xi=xi, ni=ni, add=0)
    c.check(67, transf("ipft", es.yi, ni=ni))
    pred = rma(es.yi, es.vi, method="EE").predict(transf="ipft.hm", targs={"ni": ni})
    c.checks({73: pred.pred, 74: pred.ci_lb, 75: pred.ci_ub})
