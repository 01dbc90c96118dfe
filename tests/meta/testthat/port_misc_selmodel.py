"""Port of metafor 3.8-1 tests/testthat/test_misc_selmodel.r."""

from __future__ import annotations

import numpy as np
from harness import block, col, data, metafor_control

from regrow.meta import escalc, rma, selmodel

FILE = "test_misc_selmodel.r"


@block("results are correct for a step function model.")
def step_function(c):
    d = data("dat.hackshaw1998")
    res = rma(col(d, "yi"), col(d, "vi"), control=metafor_control())
    sav = selmodel(res, type="stepfun", steps=(0.05, 0.10, 0.50, 1.00))
    c.checks({19: sav.delta, 20: sav.se_delta, 21: sav.LRT, 22: sav.LRTdf, 23: sav.tau2})
    tmp = sav.confint()
    for line, ci in zip(range(30, 34), tmp, strict=True):
        c.check(line, [ci.estimate, ci.ci_lb, ci.ci_ub])


@block("results are correct for the beta function model.", slow=True)
def beta_function(c):
    yi = np.array([1.01, 0.82, 0.59, 0.44, 0.84, 0.73, 1.12, 0.04, 0.24, 0.32, 1.04, 1.31, 0.59, 0.66, 0.62, 0.47,
                   1.08, 0.98, 0.26, 0.39, 0.60, 0.94, 0.11])  # fmt: skip
    sei = np.array([0.52, 0.46, 0.23, 0.18, 0.29, 0.29, 0.36, 0.37, 0.15, 0.40, 0.32, 0.57, 0.29, 0.19, 0.31, 0.27,
                    0.32, 0.32, 0.18, 0.18, 0.31, 0.53, 0.27])  # fmt: skip
    xi = np.array([1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1], float)
    res = rma(yi, sei**2, method="ML", control=metafor_control())
    sav = selmodel(res, type="beta", delta=(1, 1))
    c.check(54, sav.ll - res.fit_stats["ML"]["ll"] + res.fit_stats["ML"]["ll"])
    sav = selmodel(res, type="beta")
    c.checks({59: sav.delta, 60: sav.se_delta, 61: sav.LRT, 62: sav.LRTdf, 63: sav.tau2})
    res = rma(yi, sei**2, mods={"xi": xi}, method="ML", control=metafor_control())
    sav = selmodel(res, type="beta")
    c.checks(
        {74: sav.delta, 75: sav.se_delta, 76: sav.LRT, 77: sav.LRTdf, 78: sav.tau2, 79: sav.beta, 80: sav.se}
    )


def _preston():
    ai = [4, 0, 34, 7, 6, 1, 0, 11, 2, 0, 0, 33]
    n1i = [19, 18, 341, 71, 45, 94, 22, 88, 82, 33, 15, 221]
    ci = [5, 0, 50, 16, 5, 8, 0, 12, 7, 0, 1, 43]
    n2i = [19, 18, 334, 69, 44, 96, 22, 82, 84, 30, 20, 218]
    return escalc("OR", ai=ai, n1i=n1i, ci=ci, n2i=n2i, drop00=True)


@block("results are correct for the various exponential function models.", slow=True)
def exponential(c):
    dat = _preston()
    res = c.warns(100, lambda: rma(dat, method="EE"))
    alt = "less"
    types = ("halfnorm", "negexp", "logistic", "power")
    sav = [selmodel(res, type=t, alternative=alt) for t in types]
    c.check(109, [s.delta[0] for s in sav])
    c.check(110, [s.se_delta[0] for s in sav])
    c.check(116, sav[0].profile().ll)
    sav = [selmodel(res, type=t, prec="sei", alternative=alt, scaleprec=False) for t in types]
    c.check(123, [s.delta[0] for s in sav])
    c.check(124, [s.se_delta[0] for s in sav])
    sav = [selmodel(res, type=t, prec="sei", alternative=alt, steps=0.05, hessian_r=8 if t == "power" else 6)
           for t in types]  # fmt: skip
    c.check(131, [s.delta[0] for s in sav])
    c.check(132, [s.se_delta[0] for s in sav])
    sav = selmodel(res, type="negexppow", alternative=alt)
    c.checks({135: sav.delta, 136: sav.se_delta})


@block("results are correct for a pirori chosen step function models.")
def a_priori(c):
    steps = [0.005, 0.01, 0.05, 0.10, 0.25, 0.35, 0.50, 0.65, 0.75, 0.90, 0.95, 0.99, 0.995, 1]
    tab = [
        [1, 0.99, 0.95, 0.80, 0.75, 0.65, 0.60, 0.55, 0.50, 0.50, 0.50, 0.50, 0.50, 0.50],
        [1, 0.99, 0.90, 0.75, 0.60, 0.50, 0.40, 0.35, 0.30, 0.25, 0.10, 0.10, 0.10, 0.10],
        [1, 0.99, 0.95, 0.90, 0.80, 0.75, 0.60, 0.60, 0.75, 0.80, 0.90, 0.95, 0.99, 1.00],
        [1, 0.99, 0.90, 0.75, 0.60, 0.50, 0.25, 0.25, 0.50, 0.60, 0.75, 0.90, 0.99, 1.00],
    ]
    d = data("dat.cohen1981")
    es = escalc("ZCOR", ri=col(d, "ri"), ni=col(d, "ni"))
    res = rma(es.yi, es.vi, method="ML", control=metafor_control())
    sav = [selmodel(res, type="stepfun", steps=steps, delta=x, defmap=True) for x in tab]
    c.check(159, [float(s.beta[0]) for s in sav])
    c.check(160, [s.tau2 for s in sav])
