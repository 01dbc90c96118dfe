"""Port of metafor 3.8-1 tests/testthat/test_misc_replmiss.r."""

from __future__ import annotations

import numpy as np
from harness import block

from regrow.meta import replmiss

FILE = "test_misc_replmiss.r"


@block("replmiss() works correctly.")
def repl(c):
    var1 = [1, 2, 3, 4, None, 6, None, 8, 9, 10]
    var2 = np.arange(1.0, 11.0)
    c.check(12, replmiss(var1, 0))
    c.check(13, replmiss(var1, var2))
    c.raises(14, lambda: replmiss(var1, np.arange(1, 10)))
