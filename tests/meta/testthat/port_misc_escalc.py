"""Port of metafor 3.8-1 tests/testthat/test_misc_escalc.r."""

from __future__ import annotations

import numpy as np
from harness import block, col, data

from regrow.meta import escalc, escalc_frame

FILE = "test_misc_escalc.r"
BCG = {"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"}
MEANS = {k: k for k in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")}


def _means(df, rows):
    d = df.iloc[rows]
    return {k: col(d, k) for k in MEANS}


@block("escalc() works correctly for measure='RR'")
def rr(c):
    dat = escalc_frame(data("dat.bcg"), "RR", BCG)
    c.check(11, dat["yi"][0])
    c.check(12, dat["vi"][0])


@block("escalc() works correctly for measure='PHI/YUQ/YUY/RTET/PBIT/OR2D/OR2DN'")
def phi(c):
    line = 22
    for m in ("PHI", "YUQ", "YUY", "RTET", "PBIT", "OR2D", "OR2DN"):
        sav = escalc(m, ai=135, bi=15, ci=40, di=10).summary()
        c.check(line, sav["yi"])
        c.check(line + 1, sav["sei"])
        line += 5


@block("escalc() works correctly for measure='SMD/SMDH/ROM'")
def smd(c):
    args = _means(data("dat.normand1999"), range(4))
    for line, m in ((62, "SMD"), (66, "SMDH"), (70, "ROM")):
        sav = escalc(m, **args)
        c.check(line, sav.yi)
        c.check(line + 1, sav.vi)


@block("escalc() works correctly for measure='CVR/VR'")
def cvr(c):
    args = _means(data("dat.normand1999"), [0])
    dat = escalc("CVR", **args)
    c.check(80, dat.yi[0])
    c.check(81, dat.vi[0])
    dat = escalc("VR", **{k: args[k] for k in ("sd1i", "n1i", "sd2i", "n2i")})
    c.check(86, dat.yi[0])
    c.check(87, dat.vi[0])


@block("escalc() works correctly for measure='RPB/RBIS'")
def rpb(c):
    x = np.array([20, 31, 18, 22, 30, 16, 28, 24, 23, 27, 1, 4, 8, 15, 9, 11, 11, 6, 8, 4], dtype=float)
    y = np.array([3, 3, 4, 5, 6, 4, 7, 6, 5, 4, 3, 5, 1, 5, 2, 4, 6, 4, 2, 4], dtype=float)
    xb = x > np.median(x)
    args = dict(
        m1i=y[xb].mean(),
        sd1i=y[xb].std(ddof=1),
        n1i=xb.sum(),
        m2i=y[~xb].mean(),
        sd2i=y[~xb].std(ddof=1),
        n2i=(~xb).sum(),
    )
    for line, m in ((98, "RPB"), (102, "RBIS")):
        sav = escalc(m, **args)
        c.check(line, sav.yi)
        c.check(line + 1, sav.vi)


@block("escalc() works correctly for measure='D2ORL/D2ORN'")
def d2or(c):
    args = _means(data("dat.gibson2002"), range(4))
    for line, m in ((112, "D2ORL"), (116, "D2ORN")):
        sav = escalc(m, **args)
        c.check(line, sav.yi)
        c.check(line + 1, sav.vi)


@block("escalc() works correctly for measure='COR/UCOR/ZCOR'")
def cor(c):
    d = data("dat.mcdaniel1994").iloc[[0, 12, 32, 101]]
    ri, ni = col(d, "ri"), col(d, "ni")
    sav = escalc("COR", ri=ri, ni=ni)
    c.check(126, sav.yi)
    c.check(127, sav.vi)
    sav = escalc("UCOR", ri=ri, ni=ni)
    c.check(130, sav.yi)
    c.check(131, sav.vi)
    c.check(134, escalc("UCOR", ri=ri, ni=ni, vtype="UB").vi)
    sav = escalc("ZCOR", ri=ri, ni=ni)
    c.check(137, sav.yi)
    c.check(138, sav.vi)


@block("escalc() works correctly for measure='PCOR/ZPCOR/SPCOR'")
def pcor(c):
    ti, ni, mi = [4.61, 6.19, 4.07, -0.77, 1.16], [218, 232, 156, 382, 259], [4, 7, 6, 19, 15]
    r2i = [0.240, 0.455, 0.500, 0.327, 0.117]
    for line, m, extra in ((151, "PCOR", {}), (155, "ZPCOR", {}), (159, "SPCOR", {"r2i": r2i})):
        dat = escalc(m, ti=ti, ni=ni, mi=mi, **extra)
        c.check(line, dat.yi[0])
        c.check(line + 1, dat.vi[0])


@block("escalc() works correctly for measure='MC/SMCRH'")
def mc(c):
    args = dict(m1i=26, m2i=22, sd1i=np.sqrt(30), sd2i=np.sqrt(20), ni=60, ri=0.7)
    for line, m in ((167, "MC"), (171, "SMCRH")):
        dat = escalc(m, **args)
        c.check(line, dat.yi)
        c.check(line + 1, dat.vi)


@block("escalc() works correctly for measure='PAS'")
def pas(c):
    dat = escalc("PAS", xi=10, ni=20)
    c.check(179, dat.yi)
    c.check(180, dat.vi)


@block("escalc() works correctly for measure='IRS/IRFT'")
def irs(c):
    for line, m in ((187, "IRS"), (191, "IRFT")):
        dat = escalc(m, xi=10, ti=20)
        c.check(line, dat.yi)
        c.check(line + 1, dat.vi)


@block("escalc() works correctly for measure='ROMC'")
def romc(c):
    dat = escalc("ROMC", m1i=26, m2i=22, sd1i=np.sqrt(30), sd2i=np.sqrt(20), ni=60, ri=0.7)
    c.check(199, dat.yi)
    c.check(200, dat.vi)


def _mp(c, measure, line):
    dat = escalc(measure, ai=20, bi=10, ci=5, di=20)
    c.check(line, dat.yi)
    c.check(line + 1, dat.vi)


@block("escalc() works correctly for measure='MPRD'")
def mprd(c):
    _mp(c, "MPRD", 207)


@block("escalc() works correctly for measure='MPRR'")
def mprr(c):
    _mp(c, "MPRR", 215)


@block("escalc() works correctly for measure='MPOR'")
def mpor(c):
    _mp(c, "MPOR", 224)


@block("escalc() works correctly for measure='MPORC'")
def mporc(c):
    _mp(c, "MPORC", 232)


@block("escalc() works correctly for measure='MPPETO'")
def mppeto(c):
    _mp(c, "MPPETO", 240)


@block("escalc() works correctly for measure='IRSD'")
def irsd(c):
    dat = escalc("IRSD", x1i=10, x2i=6, t1i=20, t2i=20)
    c.check(248, dat.yi)
    c.check(249, dat.vi)


@block("escalc() works correctly for measure='MNLN/CVLN/SDLN'")
def mnln(c):
    for line, m in ((256, "MNLN"), (260, "CVLN")):
        dat = escalc(m, mi=10, sdi=2, ni=20)
        c.check(line, dat.yi)
        c.check(line + 1, dat.vi)
    dat = escalc("SDLN", sdi=2, ni=20)
    c.check(264, dat.yi)
    c.check(265, dat.vi)


def _two_outcomes():
    bcg = data("dat.bcg")
    dat = escalc_frame(bcg, "RR", BCG, var_names=("y1", "v1"))
    return escalc_frame(dat, "OR", BCG, var_names=("y2", "v2"))


@block("'var.names' argument works correctly for 'escalc' objects.")
def var_names(c):
    dat = _two_outcomes()
    c.check(274, list(dat.columns[-4:]))
    c.check(275, dat.attrs["yi_names"])
    c.check(276, dat.attrs["vi_names"])
    c.check(277, dat.attrs["escalc"]["y1"]["measure"])
    c.check(278, dat.attrs["escalc"]["y2"]["measure"])


@block("summary() of 'escalc' objects works correctly with the 'out.names' argument.")
def summary_names(c):
    bcg = data("dat.bcg")
    s1 = escalc("RR", **{k: col(bcg, v) for k, v in BCG.items()}).summary()
    s2 = escalc("OR", **{k: col(bcg, v) for k, v in BCG.items()}).summary()
    c.check(318, [s1["zi"][0], s1["sei"][0], s1["ci_lb"][0], s1["ci_ub"][0]])
    c.check(319, [s2["zi"][0], s2["sei"][0], s2["ci_lb"][0], s2["ci_ub"][0]])


@block("'subset' and 'include' arguments work correctly in 'escalc'.")
def subset_include(c):
    all_ = data("dat.bcg")
    all_.loc[0, "tpos"] = np.nan
    rows = [0, 1, 2, 3]
    dat = escalc_frame(all_, "RR", BCG, subset=rows)
    c.check(333, dat["yi"].to_numpy())
    dat = escalc_frame(all_, "RR", BCG, subset=rows, include=[0, 1, 2])
    c.check(336, dat["yi"].to_numpy())
    c.check(337, dat.attrs["escalc"]["yi"]["ni"])
    dat = escalc_frame(all_, "RR", BCG, subset=rows, include=[0, 1, 2], add_measure=True)
    c.check(340, list(dat["measure"]))
    dat.attrs["escalc"]["yi"]["ni"][2] = 1
    dat = escalc_frame(dat, "OR", BCG, include=[2, 3], add_measure=True)
    c.check(343, dat["yi"].to_numpy())
    c.check(344, list(dat["measure"]))
    c.check(345, dat.attrs["escalc"]["yi"]["ni"])
    dat = escalc_frame(all_, "RR", BCG, subset=rows, include=[0, 1, 2], add_measure=True)
    dat.attrs["escalc"]["yi"]["ni"][2] = 1
    dat = escalc_frame(dat, "OR", BCG, include=[2, 3], replace=False, add_measure=True)
    c.check(350, dat["yi"].to_numpy())
    c.check(351, list(dat["measure"]))
    c.check(352, dat.attrs["escalc"]["yi"]["ni"])
    dat = escalc_frame(all_, "RR", BCG, subset=rows, include=[0, 1, 2], append=False, add_measure=True)
    c.check(355, dat["yi"].to_numpy())
    c.check(356, list(dat["measure"]))
