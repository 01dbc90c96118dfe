"""Port of metafor 3.8-1 tests/testthat/test_misc_vif.r."""

from __future__ import annotations

from harness import block, col, data, metafor_control

from regrow.meta import rma, vif

FILE = "test_misc_vif.r"
MODS = ("length", "wic", "feedback", "info", "pers", "imag", "meta")


@block("vif() works correctly for 'rma.uni' objects.")
def vifs(c):
    d = data("dat.bangertdrowns2004").dropna(subset=list(MODS)).reset_index(drop=True)
    res = rma(col(d, "yi"), col(d, "vi"), mods={m: col(d, m) for m in MODS}, control=metafor_control())
    c.check(17, vif(res).vifs)
    c.check(22, vif(res).vifs)  # vif(res, table=TRUE): the same VIFs, printed with the coefficient table
    c.check(28, vif(res, btt=[1, 2]).vifs)  # R's btt=2:3 (1-based)
