"""Port of metafor 3.8-1 tests/testthat/test_misc_to_long_table_wide.r."""

from __future__ import annotations

import numpy as np
import pandas as pd
from harness import block, col, data

from regrow.meta import to_long, to_table, to_wide

FILE = "test_misc_to_long_table_wide.r"
ROWS4 = [0, 1, 2, 3]
DAT_T = {
    "m_pre": [30.6, 23.5, 0.5, 53.4, 35.6],
    "m_post": [38.5, 26.8, 0.7, 75.9, 36.0],
    "sd_pre": [15.0, 3.1, 0.1, 14.5, 4.7],
    "sd_post": [11.6, 4.1, 0.1, 4.4, 4.6],
    "ni": [20, 50, 9, 10, 14],
    "ri": [0.47, 0.64, 0.77, 0.89, 0.44],
}


def _flat(table) -> np.ndarray:
    return table.values.transpose(2, 1, 0).ravel()


def _means():
    d = data("dat.normand1999")
    return {k: col(d, k) for k in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")}


@block("to.long() works correctly for measure='MD'")
def long_md(c):
    sav = to_long("MD", subset=ROWS4, **_means())
    c.check(15, sav[["study", "group", "mean", "sd", "n"]].to_numpy().ravel(order="F"))


@block("to.table() works correctly for measure='MD'")
def table_md(c):
    c.check(26, _flat(to_table("MD", subset=ROWS4, **_means())))


@block("to.long() works correctly for measure='COR'")
def long_cor(c):
    d = data("dat.molloy2014")
    sav = to_long("COR", ri=col(d, "ri"), ni=col(d, "ni"), subset=ROWS4)
    c.check(38, sav[["study", "r", "n"]].to_numpy().ravel(order="F"))


@block("to.table() works correctly for measure='COR'")
def table_cor(c):
    d = data("dat.molloy2014")
    c.check(49, _flat(to_table("COR", ri=col(d, "ri"), ni=col(d, "ni"), subset=ROWS4)))


@block("to.long() works correctly for measure='PR'")
def long_pr(c):
    d = data("dat.debruin2009")
    sav = to_long("PR", xi=col(d, "xi"), ni=col(d, "ni"), subset=ROWS4)
    c.check(61, sav[["study", "out1", "out2"]].to_numpy().ravel(order="F"))


@block("to.table() works correctly for measure='PR'")
def table_pr(c):
    d = data("dat.debruin2009")
    c.check(72, _flat(to_table("PR", xi=col(d, "xi"), ni=col(d, "ni"), subset=ROWS4)))


@block("to.long() works correctly for measure='IR'")
def long_ir(c):
    d = data("dat.hart1999")
    sav = to_long("IR", xi=col(d, "x1i"), ti=col(d, "t1i"), subset=ROWS4)
    c.check(84, np.concatenate([col(d, "trial")[:4], sav["events"], sav["ptime"]]))


@block("to.table() works correctly for measure='IR'")
def table_ir(c):
    d = data("dat.hart1999")
    c.check(95, _flat(to_table("IR", xi=col(d, "x1i"), ti=col(d, "t1i"), subset=ROWS4)))


@block("to.long() works correctly for measure='MN'")
def long_mn(c):
    d = data("dat.normand1999")
    sav = to_long("MN", mi=col(d, "m1i"), sdi=col(d, "sd1i"), ni=col(d, "n1i"), subset=ROWS4)
    c.check(107, np.concatenate([col(d, "study")[:4], sav["mean"], sav["sd"], sav["n"]]))


@block("to.table() works correctly for measure='MN'")
def table_mn(c):
    d = data("dat.normand1999")
    c.check(118, _flat(to_table("MN", mi=col(d, "m1i"), sdi=col(d, "sd1i"), ni=col(d, "n1i"), subset=ROWS4)))


def _smcr():
    return {
        "m1i": DAT_T["m_post"],
        "m2i": DAT_T["m_pre"],
        "sd1i": DAT_T["sd_pre"],
        "ni": DAT_T["ni"],
        "ri": DAT_T["ri"],
    }


@block("to.long() works correctly for measure='SMCR'")
def long_smcr(c):
    sav = to_long("SMCR", subset=[1, 2, 3], **_smcr())
    c.check(138, sav[["study", "mean1", "mean2", "sd1", "n", "r"]].to_numpy().ravel(order="F"))


@block("to.table() works correctly for measure='SMCR'")
def table_smcr(c):
    c.check(147, _flat(to_table("SMCR", subset=[1, 2, 3], **_smcr())))


@block("to.long() works correctly for measure='ARAW'")
def long_alpha(c):
    d = data("dat.bonett2010")
    sav = to_long("AHW", ai=col(d, "ai"), mi=col(d, "mi"), ni=col(d, "ni"), subset=ROWS4)
    c.check(159, np.concatenate([col(d, "study")[:4], sav["alpha"], sav["m"], sav["n"]]))


@block("to.table() works correctly for measure='ARAW'")
def table_alpha(c):
    d = data("dat.bonett2010")
    c.check(170, _flat(to_table("AHW", ai=col(d, "ai"), mi=col(d, "mi"), ni=col(d, "ni"), subset=ROWS4)))


@block("to.wide() works correctly.")
def wide(c):
    dl = data("dat.hasselblad1998")
    dc = to_wide(dl, study="study", grp="trt", ref="no_contact", grpvars=["trt", "xi", "ni"])
    c.checks({179: dc["xi.1"], 180: dc["xi.2"], 181: list(dc["comp"]), 182: list(dc["design"])})
    dl["trt"] = pd.Categorical(
        dl["trt"], categories=["no_contact", "ind_counseling", "grp_counseling", "self_help"]
    )
    dc = to_wide(
        dl,
        study="study",
        grp="trt",
        grpvars=["authors", "year", "trt", "xi", "ni"],
        postfix=(".T", ".C"),
        minlen=1,
    )
    c.checks({187: dc["xi.T"], 188: dc["xi.C"], 189: list(dc["comp"]), 190: list(dc["design"])})
