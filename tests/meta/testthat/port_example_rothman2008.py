"""Port of metafor 3.8-1 tests/testthat/test_analysis_example_rothman2008.r (rma.glmm parts are out of
scope)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from harness import block

from regrow.meta import escalc, rma_mh, to_long, to_table

FILE = "test_analysis_example_rothman2008.r"

T151 = pd.DataFrame(
    {"age": ["Age <55", "Age 55+"], "ai": [8, 22], "bi": [98, 76], "ci": [5, 16], "di": [115, 69]}
)
T152 = pd.DataFrame({
    "age": ["35-44", "45-54", "55-64", "65-74", "75-84"],
    "x1i": [32, 104, 206, 186, 102],
    "t1i": np.array([52407, 43248, 28612, 12663, 5317]) / 10000,
    "x2i": [2, 12, 28, 28, 31],
    "t2i": np.array([18790, 10673, 5710, 2585, 1462]) / 10000,
})  # fmt: skip
T155 = pd.DataFrame({"age": ["<35", "35+"], "ai": [3, 1], "bi": [9, 3], "ci": [104, 5], "di": [1059, 86]})


def _tab(d):
    return {k: d[k].to_numpy(float) for k in ("ai", "bi", "ci", "di")}


def _rates(d):
    return {k: d[k].to_numpy(float) for k in ("x1i", "x2i", "t1i", "t2i")}


def _sums(args):
    return {k: [float(np.sum(v))] for k, v in args.items()}


def _flat(table):
    return table.values.transpose(2, 1, 0).ravel()


def _matrix(frame):
    return frame.to_numpy(dtype=object).ravel(order="F")


def _summary(es, keys=("yi", "vi", "sei", "zi"), transf=None):
    s = es.summary(transf=transf)
    return np.column_stack([s[k] for k in keys]).ravel(order="F")


def _mh_check(c, res, lines, extra=()):
    values = [res.beta, res.ci_lb, res.ci_ub, res.QE, res.QEp]
    values += [getattr(res, name) for name in extra]
    for line, v in zip(lines, values, strict=True):
        c.check(line, v)


@block("the to.table() function works.")
def table(c):
    c.check(27, _flat(to_table("OR", slab=T151["age"], rows=["Tolbutamide", "Placebo"], cols=["Dead", "Surviving"],
                               **_tab(T151))))  # fmt: skip
    tmp = to_table(
        "IRR", slab=T152["age"], rows=["Smokers", "Nonsmokers"], cols=["Deaths", "Years"], **_rates(T152)
    )
    c.check(171, _flat(tmp))
    tmp = to_table("OR", slab=T155["age"], rows=["Down Syndrome", "Control"],
                   cols=["Spermicide Use", "No Spermicide"], **_tab(T155))  # fmt: skip
    c.check(323, _flat(tmp))


@block("the to.long() function works.")
def long(c):
    c.check(41, _matrix(to_long("OR", data=T151, slab=T151["age"], **_tab(T151))))
    c.check(190, _matrix(to_long("IRR", data=T152, slab=T152["age"], **_rates(T152))))
    c.check(339, _matrix(to_long("OR", data=T155, slab=T155["age"], **_tab(T155))))


@block("the stratum-specific and crude risk differences are computed correctly.")
def risk_differences(c):
    c.check(54, _summary(escalc("RD", **_tab(T151))))
    c.check(63, _summary(escalc("RD", **_sums(_tab(T151)))))


@block("the stratum-specific and crude risk ratios are computed correctly.")
def risk_ratios(c):
    keys = ("yi", "ci_lb", "ci_ub")
    c.check(76, _summary(escalc("RR", **_tab(T151)), keys, "exp"))
    c.check(85, _summary(escalc("RR", **_sums(_tab(T151))), keys, "exp"))


@block("results are correct for Mantel-Haenszel method.")
def mantel_haenszel(c):
    _mh_check(c, rma_mh(measure="RD", level=90, **_tab(T151)), range(95, 100))
    _mh_check(c, rma_mh(measure="RR", level=90, **_tab(T151)), range(105, 110))
    _mh_check(c, rma_mh(measure="OR", correct=False, level=90, **_tab(T151)), range(118, 129),
              ("CO", "COp", "MH", "MHp", "TA", "TAp"))  # fmt: skip
    _mh_check(c, rma_mh(measure="IRD", level=90, **_rates(T152)), range(243, 248))
    _mh_check(c, rma_mh(measure="IRR", level=90, **_rates(T152)), range(252, 259), ("MH", "MHp"))
    res = rma_mh(measure="IRR", level=90, correct=False, **_rates(T152))
    c.checks({266: res.MH, 267: res.MHp})
    _mh_check(c, rma_mh(measure="OR", correct=False, level=90, **_tab(T155)), range(348, 359),
              ("CO", "COp", "MH", "MHp", "TA", "TAp"))  # fmt: skip


@block("the stratum-specific and crude rate differences are computed correctly.")
def rate_differences(c):
    c.check(203, _summary(escalc("IRD", **_rates(T152))))
    c.check(212, _summary(escalc("IRD", **_sums(_rates(T152)))))


@block("the stratum-specific and crude rate ratios are computed correctly.")
def rate_ratios(c):
    keys = ("yi", "ci_lb", "ci_ub")
    c.check(225, _summary(escalc("IRR", **_rates(T152)), keys, "exp"))
    c.check(234, _summary(escalc("IRR", **_sums(_rates(T152))), keys, "exp"))
