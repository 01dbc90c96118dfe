"""Port of metafor 3.8-1 tests/testthat/test_misc_influence.r (rma.uni, rma.mh and rma.peto parts)."""

from __future__ import annotations

import numpy as np
from harness import block, col, data

from regrow.meta import cooks_distance, escalc, hatvalues, influence, leave1out, rma, rma_mh, rma_peto

FILE = "test_misc_influence.r"


def _bcg():
    b = data("dat.bcg")
    es = escalc("RR", ai=col(b, "tpos"), bi=col(b, "tneg"), ci=col(b, "cpos"), di=col(b, "cneg"))
    return es.yi, es.vi, b


def _l1o_fields(inf, with_tau2=True):
    out = {name: getattr(inf, attr)[0] for name, attr in (("estimate", "estimate"), ("se", "se"), ("zval", "zval"),
           ("pval", "pval"), ("ci.lb", "ci_lb"), ("ci.ub", "ci_ub"), ("Q", "Q"), ("Qp", "Qp"), ("I2", "I2"), ("H2", "H2"))}  # fmt: skip
    if with_tau2:
        out["tau2"] = inf.tau2[0]
    return out


@block("influence() works for rma().")
def infl(c):
    yi, vi, _ = _bcg()
    res = rma(yi, vi)
    sav = influence(res)
    fields = {
        "inf.rstudent": sav.rstudent[0], "inf.dffits": sav.dffits[0], "inf.cook.d": sav.cook_d[0],
        "inf.cov.r": sav.cov_r[0], "inf.tau2.del": sav.tau2_del[0], "inf.QE.del": sav.QE_del[0],
        "inf.hat": sav.hat[0], "inf.weight": sav.weight[0], "dfbs.intrcpt": sav.dfbs[0, 0],
        "is.infl": bool(sav.is_infl[0]), "tau2": res.tau2, "QE": res.QE, "k": res.k, "p": res.p,
    }  # fmt: skip
    c.check_fields(19, fields)


@block("leave1out() works for rma().")
def l1o(c):
    yi, vi, _ = _bcg()
    c.check_fields(32, _l1o_fields(leave1out(rma(yi, vi))))


@block("leave1out() works for rma.mh().")
def l1o_mh(c):
    b = data("dat.bcg")
    res = rma_mh(col(b, "tpos"), col(b, "tneg"), col(b, "cpos"), col(b, "cneg"), measure="RR")
    c.check_fields(45, _l1o_fields(leave1out(res), with_tau2=False))


@block("leave1out() works for rma.peto().")
def l1o_peto(c):
    b = data("dat.bcg")
    res = rma_peto(col(b, "tpos"), col(b, "tneg"), col(b, "cpos"), col(b, "cneg"))
    c.check_fields(58, _l1o_fields(leave1out(res), with_tau2=False))


@block("model.matrix() works for rma().")
def model_matrix(c):
    yi, vi, b = _bcg()
    c.check(69, rma(yi, vi, mods={"ablat": col(b, "ablat")}).X.ravel(order="F"))


@block("hatvalues() works for rma().")
def hat(c):
    yi, vi, b = _bcg()
    res = rma(yi, vi, mods={"ablat": col(b, "ablat")})
    c.check(78, hatvalues(res))
    c.check(81, hatvalues(res, type="matrix")[:3, :3].ravel(order="F"))


@block("cooks.distance() works for rma().")
def cooks(c):
    yi, vi, b = _bcg()
    c.check(102, cooks_distance(rma(yi, vi, mods={"ablat": col(b, "ablat")})))


@block("influence() correctly works with 'na.omit' and 'na.pass'.")
def na(c):
    yi, vi, b = _bcg()
    yi, vi, ablat = yi.copy(), vi.copy(), col(b, "ablat").copy()
    yi[1], vi[2], ablat[4] = np.nan, np.nan, np.nan
    trial12 = (col(b, "trial") == 12).astype(float)
    res = c.warns(128, lambda: rma(yi, vi, mods={"ablat": ablat, "trial12": trial12}))
    sav = influence(res, na_action="omit")
    c.checks({131: len(sav.rstudent), 132: np.isnan(sav.rstudent).sum(), 133: np.isnan(sav.hat).sum(),
              134: np.isnan(sav.dfbs[:, 0]).sum()})  # fmt: skip
    res = c.warns(138, lambda: rma(yi, vi, mods={"ablat": ablat, "trial12": trial12}))
    sav = influence(res, na_action="pass")
    c.checks({141: len(sav.rstudent), 142: np.isnan(sav.rstudent).sum(), 143: np.isnan(sav.hat).sum(),
              144: np.isnan(sav.dfbs[:, 0]).sum()})  # fmt: skip


@block("'infonly' argument works correctly with influence().")
def infonly(c):
    yi, vi, _ = _bcg()
    inf = influence(rma(yi, vi, method="EE"))
    c.check(156, len(inf.rstudent))
    c.check(158, int(np.sum(inf.is_infl)))
