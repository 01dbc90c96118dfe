"""Port of metafor 3.8-1 tests/testthat/test_misc_aggregate.r (the V from an rma.mv fit, lines 42-43, needs
E2's rma.mv)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from harness import block, data

from regrow.meta import aggregate

FILE = "test_misc_aggregate.r"


def _block_corr(vi, cluster, corr):
    """What metafor's vcalc(vi, cluster, ...) gives: sqrt(vi_i vi_j) times corr(i, j) within clusters."""
    vi = np.asarray(vi, float)
    same = np.equal.outer(cluster, cluster)
    R = np.where(same, corr, 0.0)
    np.fill_diagonal(R, 1.0)
    return np.sqrt(np.outer(vi, vi)) * R


@block("aggregate() works correctly for 'dat.konstantopoulos2011'.")
def konstantopoulos(c):
    d = data("dat.konstantopoulos2011")
    agg = aggregate(d, cluster="district", struct="ID", addk=True)
    c.checks({12: agg["yi"], 13: agg["vi"]})
    agg = aggregate(d, cluster="district", struct="ID", weighted=False, subset=d["district"].to_numpy() != 12)
    c.checks({17: agg["yi"], 18: agg["vi"]})


@block("aggregate() works correctly for 'dat.assink2016'.")
def assink(c):
    d = data("dat.assink2016")
    agg = aggregate(d, cluster="study", rho=0.6)
    c.checks({29: agg["yi"], 30: agg["vi"]})
    V = _block_corr(d["vi"], d["study"].to_numpy(), 0.6)
    agg = aggregate(d, cluster="study", V=V)
    c.checks({35: agg["yi"], 36: agg["vi"]})


def _ishak():
    d = data("dat.ishak2007")
    rows = []
    for t in range(1, 5):
        part = d[["study", f"y{t}i", f"v{t}i"]].rename(columns={f"y{t}i": "yi", f"v{t}i": "vi"})
        rows.append(part.assign(time=t))
    long = pd.concat(rows).sort_values(["study", "time"], kind="stable")
    return long[long["yi"].notna()].reset_index(drop=True)


@block("aggregate() works correctly for 'dat.ishak2007'.")
def ishak(c):
    d = _ishak()
    agg = aggregate(d, cluster="study", struct="CAR", time="time", phi=0.9)
    c.checks({58: agg["yi"], 59: agg["vi"]})
    t = d["time"].to_numpy(float)
    V = _block_corr(d["vi"], d["study"].to_numpy(), 0.9 ** np.abs(np.subtract.outer(t, t)))
    agg = aggregate(d, cluster="study", V=V)
    c.checks({64: agg["yi"], 65: agg["vi"]})
