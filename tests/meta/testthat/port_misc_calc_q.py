"""Port of metafor 3.8-1 tests/testthat/test_misc_calc_q.r.

The Q statistic must not depend on the order of the studies: the R test draws 100 orders with R's random
numbers; here 100 orders are drawn with numpy's (seeded), which tests the same property against the same
expected value.
"""

from __future__ import annotations

from itertools import permutations

import numpy as np
from harness import block, col, data

from regrow.meta import escalc, rma

FILE = "test_misc_calc_q.r"

G = (  # Newtonian gravitational constant: (G, uG), CODATA 2018 inputs as in the R test
    (6.67248, 0.00043), (6.6729, 0.00050), (6.67398, 0.00070), (6.674255, 0.000092), (6.67559, 0.00027),
    (6.67422, 0.00098), (6.67387, 0.00027), (6.67222, 0.00087), (6.67425, 0.00012), (6.67349, 0.00018),
    (6.67554, 0.00016), (6.67191, 0.00099), (6.67435, 0.00013), (6.674184, 0.000078), (6.674484, 0.000077),
    (6.67260, 0.00025),
)  # fmt: skip
H = (  # Planck constant: (h, uh), as in the R test
    (6.626073000, 6.70e-06), (6.626065800, 8.80e-06), (6.626068400, 3.60e-06), (6.626068200, 1.30e-06),
    (6.626067000, 4.20e-06), (6.626071000, 1.10e-05), (6.626068910, 5.80e-07), (6.626069890, 2.00e-07),
    (6.626069100, 2.00e-06), (6.626071200, 1.30e-06), (6.626070150, 1.30e-07), (6.626068800, 1.70e-06),
    (6.626069360, 3.80e-07), (6.626070133, 6.00e-08), (6.626070410, 3.80e-07), (6.626070059, 1.65e-07),
    (6.626069200, 1.60e-06), (6.626070404, 7.92e-08),
)  # fmt: skip


def _q_over_orders(rows, orders):
    arr = np.asarray(rows, dtype=float)
    qe, qep = [], []
    for order in orders:
        tmp = arr[list(order)]
        res = rma(tmp[:, 0], sei=tmp[:, 1], method="DL")
        qe.append(res.QE)
        qep.append(res.QEp)
    return qe, qep


@block("computation is correct for 'dat.bcg'.")
def bcg(c):
    b = data("dat.bcg")
    es = escalc("RR", ai=col(b, "tpos"), bi=col(b, "tneg"), ci=col(b, "cpos"), di=col(b, "cneg"))
    res = rma(es.yi, es.vi)
    c.checks({12: res.QE, 13: res.QEp})
    res = rma(es.yi, es.vi, mods={"ablat": col(b, "ablat")})
    c.checks({16: res.QE, 17: res.QEp})


@block("the computation is correct for measurements of the Planck constant.")
def planck3(c):
    rows = ((6.62607013300, 6.00e-08), (6.62607005883, 1.65e-07), (6.62606993400, 8.90e-08))
    qe, qep = _q_over_orders(rows, permutations(range(3)))
    c.checks({53: qe, 54: qep})


@block("the computation is correct for measurements of the Newtonian gravitational constant.")
def newton(c):
    rng = np.random.default_rng(1234)
    qe, qep = _q_over_orders(G, [rng.permutation(len(G)) for _ in range(100)])
    c.checks({91: qe, 92: qep})


@block("the computation is correct for measurements Planck constant.")
def planck18(c):
    rng = np.random.default_rng(1234)
    qe, qep = _q_over_orders(H, [rng.permutation(len(H)) for _ in range(100)])
    c.checks({131: qe, 132: qep})
