"""Port of metafor 3.8-1 tests/testthat/test_misc_rma_uni.r."""

from __future__ import annotations

import numpy as np
import pandas as pd
from harness import block, col, data, metafor_control

from regrow.meta import Control, escalc, rma

FILE = "test_misc_rma_uni.r"


def _bcg():
    d = data("dat.bcg")
    es = escalc("RR", ai=col(d, "tpos"), bi=col(d, "tneg"), ci=col(d, "cpos"), di=col(d, "cneg"))
    d["yi"], d["vi"] = es.yi, es.vi
    return d, es


@block("rma() correctly handles a formula for the 'yi' argument")
def yi_formula(c):
    d, _ = _bcg()
    res1 = rma("yi ~ ablat", "vi", data=d, control=metafor_control())
    res2 = rma("yi", "vi", mods="~ ablat", data=d, control=metafor_control())
    assert np.allclose(res1.beta, res2.beta)
    c.check(13, res1.beta)


@block("rma() correctly handles an 'escalc' object")
def escalc_object(c):
    d, es = _bcg()
    assert np.allclose(rma(es).beta, rma("yi", "vi", data=d).beta)
    c.check(21, rma(es).beta)


@block("rma() works with method='DLIT' and method='SJIT'")
def dlit_sjit(c):
    _, es = _bcg()
    # metafor's control=list(maxiter=500) keeps its default threshold 1e-5
    c.check(28, rma(es, method="DLIT", control=Control(threshold=1e-5, maxiter=500)).tau2)
    c.check(30, rma(es, method="SJIT").tau2)


@block("rma() works directly with input for measure='SMD'")
def smd(c):
    d = data("dat.normand1999")
    args = {k: col(d, k) for k in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")}
    es = escalc("SMD", subset=[0, 1, 2, 3], **args)
    c.check(41, rma(es).tau2)
    c.check(42, rma(measure="SMD", data=d, subset=[0, 1, 2, 3], **{k: k for k in args}).tau2)


@block("rma() works directly with input for measure='PCOR'")
def pcor(c):
    d = pd.DataFrame({"ti": [4.61, 6.19, 4.07, -0.77, 1.16], "ni": [218, 232, 156, 382, 259],
                      "mi": [4, 7, 6, 19, 15]})  # fmt: skip
    c.check(57, rma(escalc("PCOR", ti=d["ti"], ni=d["ni"], mi=d["mi"])).tau2)
    c.check(58, rma(measure="PCOR", ti="ti", ni="ni", mi="mi", data=d).tau2)


@block("rma() works directly with input for measure='MN'")
def mn(c):
    d = data("dat.normand1999")
    c.check(69, rma(escalc("MN", mi=d["m1i"], sdi=d["sd1i"], ni=d["n1i"])).tau2)
    c.check(70, rma(measure="MN", mi="m1i", sdi="sd1i", ni="n1i", data=d).tau2)


@block("rma() works directly with input for measure='SMCR'")
def smcr(c):
    d = pd.DataFrame({"m_pre": [30.6, 23.5, 0.5, 53.4, 35.6], "m_post": [38.5, 26.8, 0.7, 75.9, 36.0],
                      "sd_pre": [15.0, 3.1, 0.1, 14.5, 4.7], "ni": [20, 50, 9, 10, 14],
                      "ri": [0.47, 0.64, 0.77, 0.89, 0.44]})  # fmt: skip
    args = {"m1i": "m_post", "m2i": "m_pre", "sd1i": "sd_pre", "ni": "ni", "ri": "ri"}
    c.check(88, rma(escalc("SMCR", **{k: d[v] for k, v in args.items()})).tau2)
    c.check(89, rma(measure="SMCR", data=d, **args).tau2)


@block("rma() works directly with input for measure='AHW'")
def ahw(c):
    d = data("dat.bonett2010")
    c.check(100, rma(escalc("AHW", ai=d["ai"], mi=d["mi"], ni=d["ni"])).tau2)
    c.check(101, rma(measure="AHW", ai="ai", mi="mi", ni="ni", data=d).tau2)
