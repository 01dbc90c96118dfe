"""Port of metafor 3.8-1 tests/testthat/test_misc_pdfs.r (metafor's internal .dsmd, .dcor, .dzcor)."""

from __future__ import annotations

import numpy as np
from harness import block

from regrow.meta import density_cor, density_smd, density_zcor

FILE = "test_misc_pdfs.r"


@block(".dsmd() works correctly.")
def dsmd(c):
    c.check(10, density_smd(0.5, 15, 15, 0.8, correct=True))
    c.check(13, density_smd(0.5, 15, 15, 0.8, correct=False))


@block(".dcor() works correctly.")
def dcor(c):
    c.check(20, density_cor(0.5, 15, 0.8))


@block(".dzcor() works correctly.")
def dzcor(c):
    c.check(27, density_zcor(0.5, 15, 0.8))
    c.check(30, density_zcor(0.5, 15, zrho=np.arctanh(0.8)))
