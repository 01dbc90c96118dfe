"""Port of metafor 3.8-1 tests/testthat/test_analysis_example_berkey1998.r (all category mv, counted on their
own line of the summary)."""

from __future__ import annotations

import numpy as np
from harness import block, data

from regrow.meta import lrt_mv, rma_mv

FILE = "test_analysis_example_berkey1998.r"
RANDOM = "~ outcome | trial"


def _dat():
    d = data("dat.berkey1998")
    d["year_c"] = d["year"] - 1983  # I(year - 1983)
    V = np.zeros((len(d), len(d)))
    for trial in d["trial"].unique():
        rows = np.flatnonzero(d["trial"].to_numpy() == trial)
        V[np.ix_(rows, rows)] = d.loc[rows, ["v1i", "v2i"]].to_numpy()
    return d, V


def _fit(mods="~ outcome - 1", struct="UN", **kw):
    d, V = _dat()
    return rma_mv("yi", V, mods=mods, random=RANDOM, struct=struct, data=d, method="ML", **kw)


@block("results are correct for the multiple outcomes random-effects model.")
def random_effects(c):
    res = _fit()
    c.checks({22: res.beta, 23: res.se, 24: res.tau2, 25: res.rho})


@block("results are correct for the multiple outcomes mixed-effects (meta-regression) model.")
def mixed_effects(c):
    res = _fit(mods="~ outcome + outcome:year_c - 1")
    c.checks({35: res.beta, 36: res.se, 37: res.tau2, 38: res.rho})
    c.check(42, res.rho * np.sqrt(res.tau2[0] * res.tau2[1]))
    d, _ = _dat()
    pd_ = (d["outcome"] == "PD").to_numpy(float)
    X = np.column_stack([1 - pd_, pd_, d["year_c"], pd_ * d["year_c"]])  # R's outcome * I(year - 1983) - 1
    res = _fit(mods=X, intercept=False, mod_names=["outcomeAL", "outcomePD", "year_c", "outcomePD:year_c"])
    c.checks({48: res.beta, 49: res.se, 50: res.pval})


@block("results are correct when testing var-cov structures against each other with LRTs.")
def lrts(c):
    c.check(63, lrt_mv(_fit(struct="CS"), _fit()).pval)
    c.check(71, lrt_mv(_fit(rho=0), _fit()).pval)
