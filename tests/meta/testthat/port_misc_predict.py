"""Port of metafor 3.8-1 tests/testthat/test_misc_predict.r."""

from __future__ import annotations

import numpy as np
from harness import block, col, data, metafor_control

from regrow.meta import escalc, rma

FILE = "test_misc_predict.r"


def _fields(p):
    return {
        "pred": p.pred,
        "se": p.se,
        "ci.lb": p.ci_lb,
        "ci.ub": p.ci_ub,
        "pi.lb": p.pi_lb,
        "pi.ub": p.pi_ub,
    }


@block("predict() correctly matches named vectors in 'newmods'")
def named(c):
    b = data("dat.bcg")
    es = escalc("RR", ai=col(b, "tpos"), bi=col(b, "tneg"), ci=col(b, "cpos"), di=col(b, "cneg"))
    alloc = ["system" if a == "systematic" else a for a in b["alloc"]]
    res = rma(es.yi, es.vi, mods={"ablat": col(b, "ablat"), "alloc": alloc}, control=metafor_control())
    orders = [{"abl": 30, "ran": 0, "sys": 1}, {"abl": 30, "sys": 1, "ran": 0}, {"ran": 0, "abl": 30, "sys": 1},
              {"sys": 1, "abl": 30, "ran": 0}, {"ran": 0, "sys": 1, "abl": 30}, {"sys": 1, "ran": 0, "abl": 30}]  # fmt: skip
    for line, nm in zip(range(20, 26), orders, strict=True):
        c.check_fields(line, _fields(res.predict(newmods=nm)))
    bad = [[30, 0], [30, 0, 0, 0], {"abl": 30, "random": 0}, {"abl": 30, "alloc": 0, "sys": 1},
           {"abl": 30, "ran": 0, "year": 1970}, {"abl": 30, "ran": 0, "sys": 1, "rand": 1}]  # fmt: skip
    for line, nm in zip((27, 28, 29, 30, 31, 33), bad, strict=True):
        c.raises(line, lambda nm=nm: res.predict(newmods=nm))
    ablat, year = col(b, "ablat"), col(b, "year")
    res = rma(
        es.yi,
        es.vi,
        mods={"ablat": ablat, "year": year, "ablat:year": ablat * year},
        control=metafor_control(),
    )
    for line, nm in zip((41, 42, 43, 44), ({"ablat": 30, "year": 1970, "ablat:year": 30 * 1970},
                        {"ablat:year": 30 * 1970, "year": 1970, "ablat": 30}, {"ab": 30, "ye": 1970, "ablat:": 30 * 1970},
                        {"ablat:": 30 * 1970, "ye": 1970, "ab": 30}), strict=True):  # fmt: skip
        c.check_fields(line, _fields(res.predict(newmods=nm)))


@block("predict() gives correct results when vcov=TRUE")
def vcov(c):
    b = data("dat.bcg")
    es = escalc("RR", ai=col(b, "tpos"), bi=col(b, "tneg"), ci=col(b, "cpos"), di=col(b, "cneg"))
    sav = rma(es.yi, es.vi).predict(vcov=True)
    c.check(54, np.sqrt(sav.vcov).ravel())
    sav = rma(es.yi, es.vi, mods={"ablat": col(b, "ablat")}).predict(vcov=True)
    c.check(58, np.sqrt(np.diag(sav.vcov)))
