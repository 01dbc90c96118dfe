"""escalc against metafor 3.8-1: every reference analysis whose yi/vi come from an escalc call.

The call is read from each analysis JSON (``meta.escalc_call``), so the test recomputes exactly what
``make_refs.R`` ran, from the raw ``data/*.csv``, and compares with both the ``*_escalc.csv`` file and the
JSON ``escalc`` block (all written with %.17g).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from regrow.meta._escalc import escalc, escalc_frame

RTOL = 1e-10
CALL = re.compile(r"^escalc\((?P<args>.*)\)$")


def _parse_call(call: str) -> tuple[str, dict[str, str], str, slice | None]:
    """``escalc(measure="OR", ai=tpos, ..., data=dat.bcg[1:3,])`` -> measure, columns, dataset, rows."""
    match = CALL.match(call.strip())
    assert match, call
    measure = re.search(r'measure="(\w+)"', call).group(1)
    data = re.search(r"data=(dat\.\w+)(?:\[(\d+):(\d+),\])?", call)
    rows = slice(int(data.group(2)) - 1, int(data.group(3))) if data.group(2) else None
    columns = {
        arg: col
        for arg, col in re.findall(r"(\w+)=([\w.]+)", match.group("args"))
        if arg not in ("measure", "data")
    }
    return measure, columns, data.group(1), rows


def _escalc_analyses(shared_dir):
    index = json.loads((shared_dir / "metafor" / "index.json").read_text())
    out = []
    for name, entry in index["analyses"].items():
        path = shared_dir / "metafor" / entry["file"]
        if not path.exists():  # some analyses are kept back as independent checks
            continue
        meta = json.loads(path.read_text())["meta"]
        if meta["escalc_call"].startswith("escalc("):
            out.append(name)
    return out


def test_reference_set_covers_the_measures(shared_dir):
    names = _escalc_analyses(shared_dir)
    measures = {
        _parse_call(json.loads((shared_dir / "metafor" / f"{n}.json").read_text())["meta"]["escalc_call"])[0]
        for n in names
    }
    # the references in shared/metafor/ that come from escalc (hackshaw/raudenbush give yi, vi directly)
    assert measures == {"OR", "RR", "RD", "MD", "SMD", "ZCOR"}
    assert "bcg_RR_k3" in names


@pytest.mark.parametrize(
    "analysis",
    ["bcg_OR", "bcg_RR", "bcg_RD", "bcg_RR_k3", "normand1999_MD", "normand1999_SMD", "molloy2014_ZCOR"],
)
def test_escalc_matches_metafor(shared_dir, analysis):
    ref_json = json.loads((shared_dir / "metafor" / f"{analysis}.json").read_text())
    measure, columns, dataset, rows = _parse_call(ref_json["meta"]["escalc_call"])
    data = pd.read_csv(shared_dir / "metafor" / "data" / f"{dataset}.csv")
    if rows is not None:
        data = data.iloc[rows].reset_index(drop=True)

    framed = escalc_frame(data, measure, columns)
    direct = escalc(measure, **{arg: data[col] for arg, col in columns.items()})
    ref_csv = pd.read_csv(shared_dir / "metafor" / f"{analysis}_escalc.csv")
    block = ref_json["escalc"]

    assert block["measure"] == measure
    assert len(direct) == len(ref_csv) == ref_json["meta"]["k_rows"]
    for got in (framed["yi"].to_numpy(), direct.yi):
        np.testing.assert_allclose(got, ref_csv["yi"], rtol=RTOL, atol=0)
        np.testing.assert_allclose(got, np.array(block["yi"], dtype=float), rtol=RTOL, atol=0)
    for got in (framed["vi"].to_numpy(), direct.vi):
        np.testing.assert_allclose(got, ref_csv["vi"], rtol=RTOL, atol=0)
        np.testing.assert_allclose(got, np.array(block["vi"], dtype=float), rtol=RTOL, atol=0)
    np.testing.assert_allclose(direct.sei, ref_csv["sei"], rtol=RTOL, atol=0)
    np.testing.assert_array_equal(direct.ni, np.array(block["ni"], dtype=float))
    assert direct.complete.all()
    # the per-study z-based CI metafor prints is yi +/- 1.959964 sei
    np.testing.assert_allclose(
        direct.yi - 1.959963984540054 * direct.sei, block["ci.lb"], rtol=1e-9, atol=1e-12
    )
