"""Port of metafor 3.8-1 tests/testthat/test_misc_fsn.r."""

from __future__ import annotations

from harness import block, col, data

from regrow.meta import escalc, fsn

FILE = "test_misc_fsn.r"


@block("confint() gives correct results for the 'expectancy data' in Becker (2005).")
def expectancy(c):
    d = data("dat.raudenbush1985")
    yi, vi = col(d, "yi"), col(d, "vi")
    c.check(11, fsn(yi, vi).fsnum)
    c.check(18, fsn(yi, vi, pool="fisher").fsnum)
    c.check(21, fsn(yi, type="Orwin", target=0.05).fsnum)
    c.check(28, fsn(yi, vi, type="Rosenberg").fsnum)
    c.not_portable(
        36, "metafor 3.8's type='REM' is a simulation with R's random numbers (metafor 4: 'General')"
    )


@block("confint() gives correct results for the 'passive smoking data' in Becker (2005).")
def passive_smoking(c):
    d = data("dat.hackshaw1998")
    yi, vi = col(d, "yi"), col(d, "vi")
    c.check(44, fsn(yi, vi).fsnum)
    c.check(48, fsn(yi, type="Orwin", target=0.049).fsnum)
    c.check(53, fsn(yi, vi, type="Rosenberg").fsnum)


@block("confint() gives correct results for the 'interview data' in Becker (2005).")
def interview(c):
    d = data("dat.mcdaniel1994")
    es = escalc("ZCOR", ri=col(d, "ri"), ni=col(d, "ni"))
    c.check(62, fsn(es.yi, es.vi).fsnum)
    c.check(66, fsn(es.yi, type="Orwin", target=0.15).fsnum)
    c.check(71, fsn(es.yi, es.vi, type="Rosenberg").fsnum)
