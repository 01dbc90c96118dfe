"""Henmi-Copas confidence interval (``hc``) against metafor 3.8-1 and an independent numerical solution.

The 3PSM step-function selection model is checked in ``test_metafor_selmodel.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from metafor_refs import ITERATIVE_RTOL, analysis_names, assert_close, load_reference, reference_yi_vi
from scipy import optimize, stats

from regrow.errors import InputError
from regrow.meta._rma import rma
from regrow.meta._selection import _zeroin, hc

CHECKED_SECTIONS = {"pubbias.henmi_copas_DL"}

HC = [n for n in analysis_names() if "henmi_copas_DL" in load_reference(n).get("pubbias", {})]


@pytest.mark.parametrize("name", HC)
def test_hc_matches_metafor(name):
    ref = load_reference(name)["pubbias"]["henmi_copas_DL"]
    yi, vi = reference_yi_vi(name)
    keep = np.isfinite(yi)
    res = hc(rma(yi[keep], vi[keep], method="DL"))
    for field in ("beta", "se", "ci_lb", "ci_ub", "tau2", "se_rma"):
        assert_close(
            getattr(res, field),
            ref[field.replace("_lb", ".lb").replace("_ub", ".ub").replace("se_rma", "se.rma")],
            rtol=ITERATIVE_RTOL,
            what=f"{name} {field}",
        )
    assert_close(res.beta_rma, ref["beta.rma"][0][0], rtol=ITERATIVE_RTOL, what=f"{name} beta.rma")


def test_hc_bound_solves_the_defining_equation_on_a_grid(rng):
    k = 10
    vi = rng.uniform(0.01, 0.2, k)
    yi = rng.normal(0.3, np.sqrt(vi + 0.04))
    res = hc(rma(yi, vi, method="DL"))
    w = 1 / vi
    W1, W2, W3, W4 = w.sum(), (w**2).sum() / w.sum(), (w**3).sum() / w.sum(), (w**4).sum() / w.sum()
    tau2, VR = res.tau2, 1 + res.tau2 * W2
    r = np.linspace(1e-6, 12, 24001)

    def lhs(t):
        rr = r[r >= t]
        sr = np.sqrt(VR) * rr
        eq = (k - 1) + tau2 * (W1 - W2) + tau2**2 * (sr**2 / VR**2 - 1 / VR) * (W3 - W2**2)
        vq = (
            2 * (k - 1)
            + 4 * tau2 * (W1 - W2)
            + 2 * tau2**2 * (W1 * W2 - 2 * W3 + W2**2)
            + 4 * tau2**2 * (sr**2 / VR**2 - 1 / VR) * (W3 - W2**2)
            + 4 * tau2**3 * (sr**2 / VR**2 - 1 / VR) * (W4 - 2 * W2 * W3 + W2**3)
            + 2 * tau2**4 * (1 / VR**2 - 2 * sr**2 / VR**3) * (W3 - W2**2) ** 2
        )
        f = (W1 / W2 - 1) * ((rr / t) ** 2 - 1) + (k - 1)
        return np.trapezoid(stats.gamma.cdf(f, a=eq**2 / vq, scale=vq / eq) * stats.norm.pdf(rr), rr) - 0.025

    t0 = optimize.brentq(lhs, 0.05, 2.0, xtol=1e-10)
    assert_close(res.ci_ub - res.beta, np.sqrt(VR) * t0 * res.se, rtol=1e-3)
    assert_close(res.beta, np.sum(w * yi) / W1, rtol=1e-12)


def test_zeroin_finds_roots_like_uniroot():
    # uniroot(function(x) x^2 - 2, c(0, 2), tol = 1e-12)$root
    assert_close(_zeroin(lambda x: x * x - 2, 0.0, 2.0, tol=1e-12), np.sqrt(2), rtol=1e-11)
    with pytest.raises(Exception, match="sign"):
        _zeroin(lambda x: x * x + 1, 0.0, 2.0)


def test_hc_errors():
    with pytest.raises(InputError):
        hc(rma([0.1, 0.3, 0.35, 0.6], [0.01, 0.02, 0.015, 0.03], mods=np.array([1.0, 2, 3, 4])))
