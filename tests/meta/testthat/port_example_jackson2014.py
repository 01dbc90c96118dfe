"""Port of metafor 3.8-1 tests/testthat/test_analysis_example_jackson2014.r (the assertions recorded: the
Wald-type interval for tau^2 on the log scale)."""

from __future__ import annotations

import numpy as np
from harness import block

from regrow.meta import rma

FILE = "test_analysis_example_jackson2014.r"


def _log_wald(res):
    return np.exp(np.log(res.tau2) + np.array([-1.96, 1.96]) * (1 / res.tau2 * res.se_tau2))


@block("confint() gives correct results for example 1 in Jackson et al. (2014).")
def example1(c):
    yi = [0.0267, 0.8242, 0.3930, 2.4405, 2.1401, 1.2528, 2.4849, 0.3087, 1.4246, 0.1823, 1.1378, 1.2321, 2.0695,
          4.0237, 1.4383, 1.6021]  # fmt: skip
    vi = [0.1285, 0.0315, 0.0931, 2.0967, 1.0539, 0.1602, 1.0235, 0.0218, 0.5277, 0.0556, 0.3304, 0.1721, 0.4901,
          2.0200, 0.3399, 0.1830]  # fmt: skip
    xi = [0.0] * 10 + [1.0] * 6
    ci = _log_wald(rma(yi, vi, mods={"xi": xi}))
    c.checks({24: ci[0], 25: ci[1]})


@block("confint() gives correct results for example 2 in Jackson et al. (2014).")
def example2(c):
    yi = [0.54, 0.4, 0.64, 0.365, 0.835, 0.02, 0.12, 0.085, 1.18, 0.08, 0.18, 0.325, 0.06, 0.715, 0.065, 0.245,
          0.24, 0.06, 0.19]  # fmt: skip
    vi = [0.0176, 0.019, 0.0906, 0.0861, 0.0063, 0.0126, 0.0126, 0.0041, 0.0759, 0.0126, 0.0104, 0.0242, 0.0026,
          0.2629, 0.0169, 0.0156, 0.0481, 0.0084, 0.0044]  # fmt: skip
    xi = [1986, 1987, 1988, 1988, 1998, 1999, 2000, 2000, 2000, 2001, 2001, 2001, 2002, 2002, 2002, 2002, 2003,
          2003, 2003]  # fmt: skip
    ci = _log_wald(rma(yi, vi, mods={"xi": np.asarray(xi, float)}))
    c.checks({66: ci[0], 67: ci[1]})
