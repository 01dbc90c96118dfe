"""Port of metafor 3.8-1 tests/testthat/test_tips_regression_with_rma.r: with all vi = 0, a REML fit with the
Knapp-Hartung test is ordinary least squares. The R test compares lm() with metafor's rma(); here regrow's
rma() is compared with metafor's (the expectation recorded from R)."""

from __future__ import annotations

from harness import block, col, data

from regrow.meta import (
    Control,
    cooks_distance,
    dfbetas,
    fitted,
    hatvalues,
    influence,
    loglik,
    rma,
    rstandard,
    rstudent,
    vcov,
)

FILE = "test_tips_regression_with_rma.r"
MODS = ("Air.Flow", "Water.Temp", "Acid.Conc.")


@block("results for rma() and lm() match for method='FE'.")
def ols(c):
    d = data("stackloss")
    y = col(d, "stack.loss")
    res = rma(y, 0 * y, mods={m: col(d, m) for m in MODS}, test="knha", control=Control(remlf=False))
    inf = influence(res)
    c.checks(
        {
            18: loglik(res),
            21: res.beta,
            24: vcov(res).ravel(order="F"),
            27: fitted(res),
            30: rstandard(res).z,
            33: rstudent(res).z,
            36: hatvalues(res),
            39: inf.dffits,
            42: inf.cov_r,
            45: dfbetas(res).ravel(order="F"),
            48: cooks_distance(res) / res.p,
        }
    )
