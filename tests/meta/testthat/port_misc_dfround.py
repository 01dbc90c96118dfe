"""Port of metafor 3.8-1 tests/testthat/test_misc_dfround.r."""

from __future__ import annotations

from harness import block, data

from regrow.meta import dfround

FILE = "test_misc_dfround.r"


@block("dfround() works correctly.")
def rounding(c):
    d = data("dat.raudenbush1985")
    assert list(d.columns)[-2:] == ["yi", "vi"] and d.shape[1] == 10
    d = dfround(d, [None] * 8 + [2, 3])
    c.checks({12: d["yi"].to_numpy(), 13: d["vi"].to_numpy()})
