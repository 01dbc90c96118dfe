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
