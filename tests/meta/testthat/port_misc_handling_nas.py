"""Port of metafor 3.8-1 tests/testthat/test_misc_handling_nas.r (the rma.uni parts)."""

from __future__ import annotations

import numpy as np
from harness import block

from regrow.meta import (
    blup,
    cooks_distance,
    dfbetas,
    fitted,
    hatvalues,
    leave1out,
    ranef,
    residuals,
    rma,
    rstandard,
    rstudent,
    simulate,
    weights,
)

FILE = "test_misc_handling_nas.r"
YI = [np.nan, 1, 3, 2, 5, 4, 6]
VI = [1, np.nan, 1, 1, 1, 1, 1]
XI = [0, 1, np.nan, 3, 4, 5, 6]


def _methods(c, res, line, coef):
    step = 18 if coef == 0 else 17
    for mode, start in (("omit", line), ("pass", line + step), ("exclude", line + 2 * step)):
        c.check(start, fitted(res, na_action=mode))
        c.check(start + 1, residuals(res, na_action=mode))
        c.check(start + 2, res.predict(na_action=mode).pred)
        c.check(start + 3, blup(res, na_action=mode).pred)
        c.check(start + 4, cooks_distance(res, na_action=mode))
        c.check(start + 5, dfbetas(res, na_action=mode)[:, coef])
        c.check(start + 6, hatvalues(res, na_action=mode))
        if coef == 0:
            c.check(start + 7, leave1out(res, na_action=mode).estimate)
        off = 1 if coef == 0 else 0
        c.check(start + 7 + off, ranef(res, na_action=mode).pred)
        c.check(start + 8 + off, rstandard(res, na_action=mode).resid)
        c.check(start + 9 + off, rstudent(res, na_action=mode).resid)
        c.check(start + 10 + off, simulate(res, seed=1234, na_action=mode).shape[0])
        c.check(start + 11 + off, weights(res, na_action=mode))


@block("NAs are correctly handled by various method functions for rma.uni() intercept-only models.")
def intercept_only(c):
    res = c.warns(11, lambda: rma(YI, VI))
    c.check(13, res.k)
    _methods(c, res, 17, 0)


@block("NAs are correctly handled by various method functions for rma.uni() meta-regression models.")
def metareg(c):
    res = c.warns(73, lambda: rma(YI, VI, mods={"xi": XI}))
    c.check(75, res.k)
    _methods(c, res, 79, 1)
