"""The public surface of rma_mv, vcalc and network meta-analysis, the purity of their modules, and the
completeness of the metafor reference checks."""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

import numpy as np
import pytest
from mv_refs import MV_PUBLIC, REFS

import regrow.meta

SRC = Path(regrow.meta.__file__).resolve().parent
MODULES = sorted(p for p in SRC.glob("*.py") if p.name.startswith(("_mv", "_network", "_vcalc")))
#: Top-level imports allowed in these modules (matplotlib, pandas and scipy submodules load inside functions).
ALLOWED = {
    "__future__",
    "collections.abc",
    "dataclasses",
    "typing",
    "pathlib",
    "re",
    "numpy",
    "regrow.errors",
}

#: Reference sections checked elsewhere: module name -> its CHECKED set.
CHECKING_MODULES = ("test_mv_metafor", "test_mv_inference", "test_mv_vcalc", "test_network_metafor")
#: Sections deliberately not compared (with the reason); none at present.
NOT_CHECKED: dict[tuple[str, str], str] = {}


def test_public_names_are_exported_and_documented():
    assert set(regrow.meta.__all__) >= MV_PUBLIC
    for name in MV_PUBLIC:
        obj = getattr(regrow.meta, name)
        if callable(obj):
            assert (obj.__doc__ or "").strip(), name
            if not isinstance(obj, type):
                assert "Returns\n" in obj.__doc__, f"{name}: numpydoc Returns section"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_modules_import_only_numpy_at_top_level(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            assert module in ALLOWED or module.startswith("regrow.meta."), f"{path.name}: {module}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                assert alias.name in ALLOWED, f"{path.name}: {alias.name}"


def test_every_reference_section_is_checked():
    checked: set[tuple[str, str]] = set()
    for name in CHECKING_MODULES:
        checked |= importlib.import_module(name).CHECKED
    missing = []
    for path in sorted(REFS.glob("*.json")):
        for section in json.loads(path.read_text()):
            key = (path.stem, section)
            if section in ("metafor", "metadat"):
                continue  # version stamps
            if key not in checked and key not in NOT_CHECKED:
                missing.append(key)
    assert missing == []


def test_docstring_example_runs():
    res = regrow.meta.rma_mv(
        [0.2, 0.4, 0.1, 0.5, 0.3, 0.6],
        [0.02, 0.03, 0.02, 0.04, 0.03, 0.02],
        random="~ 1 | study/es",
        data={"study": [1, 1, 2, 2, 3, 3], "es": [1, 2, 1, 2, 1, 2]},
    )
    assert res.s_names == ["study", "study/es"]
    assert np.all(res.sigma2 >= 0) and res.k == 6
    d = res.to_dict()
    assert d["sigma2"][0]["name"] == "study" and d["coefficients"][0]["name"] == "intrcpt"


@pytest.mark.parametrize("module", ["_mv", "_vcalc", "_network"])
def test_docstring_examples_in_the_modules_run(module):
    import doctest

    mod = importlib.import_module(f"regrow.meta.{module}")
    failures, tried = doctest.testmod(mod, verbose=False)
    assert tried > 0 and failures == 0
