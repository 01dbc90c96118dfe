"""Port of metafor 3.8-1 tests/testthat/test_misc_transf.r."""

from __future__ import annotations

import numpy as np
from harness import block

from regrow.meta import transf

FILE = "test_misc_transf.r"


@block("transformations work correctly.")
def transformations(c):
    c.checks({
        9: transf("rtoz", 0.5), 10: transf("ztor", transf("rtoz", 0.5)),
        12: transf("logit", 0.1), 13: transf("ilogit", transf("logit", 0.1)),
        15: transf("arcsin", 0.1), 16: transf("iarcsin", transf("arcsin", 0.1)),
        18: transf("pft", 0.1, ni=10), 19: transf("ipft", transf("pft", 0.1, ni=10), ni=10),
        20: transf("ipft.hm", transf("pft", 0.1, ni=10), targs={"ni": [10]}),
        22: transf("isqrt", 0.1),
        24: transf("irft", 0.1, ti=10), 25: transf("iirft", transf("irft", 0.1, ti=10), ti=10),
        27: transf("ahw", 0.9), 28: transf("iahw", transf("ahw", 0.9)),
        30: transf("abt", 0.9), 31: transf("iabt", transf("abt", 0.9)),
        33: transf("ztor.int", transf("rtoz", 0.5), targs={"tau2": 0}),
        34: transf("ztor.int", transf("rtoz", 0.5), targs={"tau2": 0.1}),
        36: transf("exp.int", np.log(0.5), targs={"tau2": 0}),
        37: transf("exp.int", np.log(0.5), targs={"tau2": 0.1}),
        38: transf("exp.int", np.log(0.5), targs={"tau2": 0.1, "lower": -10, "upper": 10}),
        40: transf("ilogit.int", transf("logit", 0.1), targs={"tau2": 0}),
        41: transf("ilogit.int", transf("logit", 0.1), targs={"tau2": 0.1}),
    })  # fmt: skip
