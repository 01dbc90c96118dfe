"""Fail-safe N beyond metafor 3.8-1's own tests (those are in testthat/port_misc_fsn.py).

The ``type="General"`` numbers are the expectations in metafor 4's tests/testthat/test_misc_fsn.r
(github.com/wviechtb/metafor, commit 71ae8f5a); the Fisher and Binomial numbers were computed with R 4.2:
``fsn(yi, vi, test="Fisher")`` (metafor 3.8-1) and metafor 4's Binomial loop over ``binom.test``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "testthat"))
from harness import col, data

from regrow.errors import InputError, TooFewStudiesError
from regrow.meta import escalc, fsn, rma


def _dat(name):
    d = data(name)
    if name == "dat.mcdaniel1994":
        es = escalc("ZCOR", ri=col(d, "ri"), ni=col(d, "ni"))
        return es.yi, es.vi
    return col(d, "yi"), col(d, "vi")


@pytest.mark.parametrize(
    ("name", "approx", "exact"),
    [("dat.raudenbush1985", 0, 0), ("dat.hackshaw1998", 112, 119), ("dat.mcdaniel1994", 6068, 6068)],
)
def test_general_matches_metafor4(name, approx, exact):
    yi, vi = _dat(name)
    res = fsn(yi, vi, type="General")
    assert res.fsnum == approx and res.method == "REML"
    assert fsn(yi, vi, type="General", exact=True).fsnum == exact
    assert fsn(yi, vi, type="REM").fsnum == approx  # metafor 3.8's name
    if approx:
        # the N added studies make the model non-significant
        assert res.pval < 0.05 <= res.pval_fsn


def test_general_on_a_model_and_with_target():
    yi, vi = _dat("dat.raudenbush1985")
    res = fsn(rma(yi, vi), target=0.05)
    assert res.type == "General" and res.fsnum == 12
    assert res.est_fsn == pytest.approx(0.05, abs=0.005) and res.est_fsn <= 0.05
    yi, vi = _dat("dat.mcdaniel1994")
    assert fsn(rma(yi, vi)).fsnum == 6068


def test_fisher_and_binomial_match_r():
    yi, vi = _dat("dat.hackshaw1998")
    assert fsn(yi, vi, pool="fisher").fsnum == 100
    yi, vi = _dat("dat.mcdaniel1994")
    assert fsn(yi, vi, pool="Fisher").fsnum == 3153
    res = fsn(yi, vi, type="Binomial")
    assert res.fsnum == 3652 and res.pval == pytest.approx(3.221413e-24, rel=1e-6)


def test_orwin_without_variances_and_subset():
    yi = np.array([0.2, 0.4, 0.3, 0.1])
    assert fsn(yi, type="Orwin", target=0.05).fsnum == 16
    assert fsn(yi, type="Orwin", target=0.05, subset=[0, 1]).fsnum == 10


def test_bad_input():
    yi, vi = np.array([0.2, 0.4, 0.3]), np.array([0.01, 0.02, 0.03])
    with pytest.raises(InputError, match="needs vi"):
        fsn(yi, type="Rosenberg")
    with pytest.raises(InputError, match="pool"):
        fsn(yi, vi, pool="tippett")
    with pytest.raises(InputError, match="moderators"):
        fsn(rma(yi, vi, mods=np.array([1.0, 2.0, 4.0])))
    with pytest.raises(TooFewStudiesError):
        fsn(yi[:1], vi[:1])
