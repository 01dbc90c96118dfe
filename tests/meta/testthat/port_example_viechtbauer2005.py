"""Port of metafor 3.8-1 tests/testthat/test_analysis_example_viechtbauer2005.r."""

from __future__ import annotations

from harness import block

from regrow.meta import rma

FILE = "test_analysis_example_viechtbauer2005.r"
METHODS = ("HS", "HE", "DL", "ML", "REML", "EB", "SJ")


def _table(c, yi, vi, first_line):
    fits = [rma(yi, vi, method=m) for m in METHODS]
    c.checks(
        {
            first_line: [f.tau2 for f in fits],
            first_line + 1: [f.I2 for f in fits],
            first_line + 2: [f.H2 for f in fits],
            first_line + 3: [f.se_tau2 for f in fits],
        }
    )


@block("results are correct for example 1.")
def example1(c):
    yi = [-0.581, 0.530, 0.771, 1.031, 0.553, 0.295, 0.078, 0.573, -0.176, -0.232]
    vi = [0.023, 0.052, 0.060, 0.115, 0.095, 0.203, 0.200, 0.211, 0.051, 0.040]
    _table(c, yi, vi, 33)


@block("results are correct for example 2.")
def example2(c):
    yi = [0.100, -0.162, -0.090, -0.049, -0.046, -0.010, -0.431, -0.261, 0.134, 0.019, 0.175, 0.056, 0.045,
          0.103, 0.121, -0.482, 0.290, 0.342]  # fmt: skip
    vi = [0.016, 0.015, 0.050, 0.050, 0.032, 0.052, 0.036, 0.024, 0.034, 0.033, 0.031, 0.034, 0.039, 0.167,
          0.134, 0.096, 0.016, 0.035]  # fmt: skip
    _table(c, yi, vi, 65)
