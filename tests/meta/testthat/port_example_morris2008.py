"""Port of metafor 3.8-1 tests/testthat/test_analysis_example_morris2008.r."""

from __future__ import annotations

import numpy as np
from harness import block

from regrow.meta import escalc
from regrow.meta._escalc_core import hedges_correction

FILE = "test_analysis_example_morris2008.r"

T = {"m_pre": [30.6, 23.5, 0.5, 53.4, 35.6], "m_post": [38.5, 26.8, 0.7, 75.9, 36.0],
     "sd_pre": [15.0, 3.1, 0.1, 14.5, 4.7], "sd_post": [11.6, 4.1, 0.1, 4.4, 4.6],
     "ni": [20, 50, 9, 10, 14], "ri": [0.47, 0.64, 0.77, 0.89, 0.44]}  # fmt: skip
C = {"m_pre": [23.1, 24.9, 0.6, 55.7, 34.8], "m_post": [19.7, 25.3, 0.6, 60.7, 33.4],
     "sd_pre": [13.8, 4.1, 0.2, 17.3, 3.1], "sd_post": [14.8, 3.3, 0.2, 17.9, 6.9],
     "ni": [20, 42, 9, 11, 14], "ri": [0.47, 0.64, 0.77, 0.89, 0.44]}  # fmt: skip
T = {k: np.array(v, float) for k, v in T.items()}
C = {k: np.array(v, float) for k, v in C.items()}


@block("calculations of escalc() are correct for measure='SMCR'.")
def smcr(c):
    t = escalc("SMCR", m1i=T["m_post"], m2i=T["m_pre"], sd1i=T["sd_pre"], ni=T["ni"], ri=T["ri"])
    k = escalc("SMCR", m1i=C["m_post"], m2i=C["m_pre"], sd1i=C["sd_pre"], ni=C["ni"], ri=C["ri"])
    c.checks({34: t.yi, 35: t.vi, 36: k.yi, 37: k.vi, 43: t.yi - k.yi, 46: t.vi + k.vi})
    sd_pool = np.sqrt(
        ((T["ni"] - 1) * T["sd_pre"] ** 2 + (C["ni"] - 1) * C["sd_pre"] ** 2) / (T["ni"] + C["ni"] - 2)
    )
    yi = (
        hedges_correction(T["ni"] + C["ni"] - 2)
        * ((T["m_post"] - T["m_pre"]) - (C["m_post"] - C["m_pre"]))
        / sd_pool
    )
    vi = 2 * (1 - T["ri"]) * (1 / T["ni"] + 1 / C["ni"]) + yi**2 / (2 * (T["ni"] + C["ni"]))
    c.checks({56: yi, 59: vi})


@block("calculations of escalc() are correct for measure='SMCC'.")
def smcc(c):
    args = {"m1i": "m_post", "m2i": "m_pre", "sd1i": "sd_post", "sd2i": "sd_pre", "ni": "ni", "ri": "ri"}
    t = escalc("SMCC", **{a: T[b] for a, b in args.items()})
    k = escalc("SMCC", **{a: C[b] for a, b in args.items()})
    c.checks({70: t.yi, 71: t.vi, 72: k.yi, 73: k.vi, 79: t.yi - k.yi, 80: t.vi + k.vi})
