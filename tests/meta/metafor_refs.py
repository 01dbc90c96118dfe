"""Loading the metafor 3.8-1 references in ``../shared/metafor`` and comparing against them.

Tolerances (named, and why):

* ``CLOSED_FORM_RTOL = 1e-6``: closed-form results (FE, DL, HE, HS, SJ, escalc, Q statistics) differ from R
  only by floating-point summation order.
* ``ITERATIVE_RTOL = 1e-5``: iterative results (ML, REML, EB, PM, Q-profile and profile-likelihood bounds,
  trim-and-fill) converge to the same root from a different path.
* ``ABS_TOL = 1e-9``: values that are zero in exact arithmetic (tau^2 at the boundary) come out of R as
  1e-14 and the like; relative error is meaningless there.

Import it as ``from metafor_refs import ...`` (the test folder is on ``sys.path``).
Each test module that checks a section of the references declares it in ``CHECKED_SECTIONS`` (a set of
``"section"`` or ``"section.subsection"`` names); ``test_metafor_coverage.py`` fails when a section of any
reference file is neither checked nor listed in its explicit, reasoned exclusions.
"""

from __future__ import annotations

import json
import math
import os
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

CLOSED_FORM_RTOL = 1e-6
ITERATIVE_RTOL = 1e-5
ABS_TOL = 1e-9
CLOSED_FORM_METHODS = {"FE", "DL", "HE", "HS", "SJ"}
#: Our names and metafor's for the coefficient table of a fit (estimate, SE, z test, confidence interval).
COEF_FIELDS = (
    ("beta", "beta"),
    ("se", "se"),
    ("zval", "zval"),
    ("pval", "pval"),
    ("ci_lb", "ci.lb"),
    ("ci_ub", "ci.ub"),
)

#: ``../shared`` beside the checkout, as in ``tests/conftest.py``.
SHARED_DIR = Path(os.environ.get("REGROW_SHARED_DIR", Path(__file__).resolve().parents[2].parent / "shared"))
METAFOR_DIR = SHARED_DIR / "metafor"


def rtol_for(method: str) -> float:
    """The named tolerance for a tau^2 estimator."""
    return CLOSED_FORM_RTOL if method in CLOSED_FORM_METHODS else ITERATIVE_RTOL


@cache
def metafor_index() -> dict:
    path = METAFOR_DIR / "index.json"
    if not path.is_file():
        pytest.fail(f"metafor references missing: {path}")
    return json.loads(path.read_text())


def analysis_names() -> list[str]:
    return sorted(metafor_index()["analyses"])


@cache
def load_reference(name: str) -> dict:
    return json.loads((METAFOR_DIR / metafor_index()["analyses"][name]["file"]).read_text())


@cache
def load_dataset(dataset: str) -> pd.DataFrame:
    """A raw metadat dataset from ``metafor/data`` (e.g. ``dat.bcg``)."""
    return pd.read_csv(METAFOR_DIR / "data" / f"{dataset}.csv")


def reference_yi_vi(name: str) -> tuple[np.ndarray, np.ndarray]:
    ref = load_reference(name)
    yi = np.array([np.nan if v is None else v for v in ref["escalc"]["yi"]], dtype=float)
    vi = np.array([np.nan if v is None else v for v in ref["escalc"]["vi"]], dtype=float)
    return yi, vi


def ref_value(value):
    """Decode the reference number conventions (null -> nan, "Infinity" strings -> inf)."""
    if value is None:
        return math.nan
    if value == "Infinity":
        return math.inf
    if value == "-Infinity":
        return -math.inf
    return value


def assert_close(ours, ref, *, rtol: float, atol: float = ABS_TOL, what: str = "") -> None:
    """Compare numbers or arrays elementwise with the reference (NaN matches null)."""
    raw = np.atleast_1d(np.array(ref, dtype=object))
    ref_arr = np.array([ref_value(v) for v in raw.ravel()], dtype=float).reshape(raw.shape)
    ours_arr = np.atleast_1d(np.asarray(ours, dtype=float))
    assert ours_arr.shape == ref_arr.shape, f"{what}: shape {ours_arr.shape} != reference {ref_arr.shape}"
    np.testing.assert_allclose(ours_arr, ref_arr, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


def reference_path(name: str) -> Path:
    return METAFOR_DIR / metafor_index()["analyses"][name]["file"]


def assert_rma_matches(ours, ref: dict, rtol: float, what: str) -> None:
    """Compare every field metafor reports for an rma fit (an ``rma.uni`` object as the references store it)."""
    names = ref["coef_names"]
    assert ours.coef_names == names, what
    assert ours.k == ref["k"] and ours.p == ref["p"], what
    assert ours.k - ours.p == ref["df_resid"], what
    assert ours.method == ref["method"] and ours.test == ref["test"], what
    assert_close(ours.alpha, ref["level"], rtol=1e-12, what=f"{what} level")
    for ours_name, ref_name in COEF_FIELDS:
        assert_close(
            getattr(ours, ours_name), [ref[ref_name][n] for n in names], rtol=rtol, what=f"{what} {ref_name}"
        )
    assert_close(ours.vb, np.array(ref["vb"], dtype=float), rtol=rtol, what=f"{what} vb")
    for field in ("tau2", "I2", "H2", "s2w", "vt", "QE", "QEp", "QM", "QMp"):
        assert_close(getattr(ours, field), ref[field], rtol=rtol, what=f"{what} {field}")
    # tau = sqrt(tau2): a boundary tau2 of 1e-13 in R is a tau of 3e-7, so the absolute tolerance is sqrt'ed.
    assert_close(ours.tau, ref["tau"], rtol=rtol, atol=np.sqrt(ABS_TOL), what=f"{what} tau")
    if ref["se.tau2"] is None:
        assert ours.method == "FE", what
    else:
        assert_close(ours.se_tau2, ref["se.tau2"], rtol=rtol, what=f"{what} se.tau2")
    if ref["R2"] is None:
        assert ours.R2 is None, what
    else:
        assert_close(ours.R2, ref["R2"], rtol=rtol, atol=1e-6, what=f"{what} R2")
    assert ours.QMdf == tuple(ref["QMdf"]), what
    assert [j + 1 for j in ours.btt] == ref["btt"], what
    expected_ddf = None if ref["ddf"] == [None] else ref["ddf"][0]
    assert ours.ddf == expected_ddf and (ref["dfs"] is None) == (ours.ddf is None), what
    for kind in ("ML", "REML"):
        for stat, value in ref["fit.stats"][kind].items():
            assert_close(ours.fit_stats[kind][stat], value, rtol=rtol, what=f"{what} fit.stats {kind} {stat}")
    assert_close(ours.weights_pct, ref["weights_pct"], rtol=rtol, what=f"{what} weights")
    assert ref["warnings"] is None, f"{what}: reference warned {ref['warnings']}; compare by hand"


def assert_prediction_matches(pred, ref: dict, rtol: float, what: str) -> None:
    """Compare a :class:`Prediction` with metafor's ``predict.rma`` output (``pi.*`` equal to the CI without tau^2)."""
    for ours_name, ref_name in (("pred", "pred"), ("ci_lb", "ci.lb"), ("ci_ub", "ci.ub")):
        assert_close(getattr(pred, ours_name), ref[ref_name], rtol=rtol, what=f"{what} {ref_name}")
    if all(v is None for v in ref["se"]):
        assert pred.se is None, what
    else:
        assert_close(pred.se, ref["se"], rtol=rtol, what=f"{what} se")
    if "pi.lb" in ref:
        assert_close(pred.pi_lb, ref["pi.lb"], rtol=rtol, what=f"{what} pi.lb")
        assert_close(pred.pi_ub, ref["pi.ub"], rtol=rtol, what=f"{what} pi.ub")
        # metafor's cr.* (credibility interval) equals the prediction interval for rma.uni.
        assert_close(pred.pi_lb, ref["cr.lb"], rtol=rtol, what=f"{what} cr.lb")
        assert_close(pred.pi_ub, ref["cr.ub"], rtol=rtol, what=f"{what} cr.ub")
    else:
        # metafor 3.8 drops pi.* for equal/fixed-effects models, where they equal the CI (tau^2 = 0):
        # regrow reports them, equal to the CI, as the issue asks.
        np.testing.assert_array_equal(pred.pi_lb, pred.ci_lb, err_msg=what)
        np.testing.assert_array_equal(pred.pi_ub, pred.ci_ub, err_msg=what)
    assert ref["pred.type"] == "location"
