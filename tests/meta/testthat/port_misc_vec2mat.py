"""Port of metafor 3.8-1 tests/testthat/test_misc_vec2mat.r."""

from __future__ import annotations

import numpy as np
from harness import block

from regrow.meta import vec2mat

FILE = "test_misc_vec2mat.r"


@block("vec2mat() works correctly.")
def v2m(c):
    c.check(10, vec2mat(np.arange(1, 7), corr=False).ravel(order="F"))
    c.check(13, vec2mat(np.round(np.arange(0.2, 0.75, 0.1), 1), corr=True).ravel(order="F"))
    c.check(16, vec2mat(np.arange(1, 11), diag=True).ravel(order="F"))
    sav = vec2mat(np.arange(1, 7), corr=False, dimnames=["A", "B", "C", "D"])
    assert list(sav.index) == list(sav.columns) == ["A", "B", "C", "D"]
    c.check(19, sav.to_numpy().ravel(order="F"))
