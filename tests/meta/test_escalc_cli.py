"""``regrow meta escalc``: CSV in, CSV with yi/vi out, checked against metafor's reference file."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from regrow.cli.meta_escalc import register_escalc
from regrow.errors import DataFileError, InputError

BCG = ["--ai", "tpos", "--bi", "tneg", "--ci", "cpos", "--di", "cneg"]


@pytest.fixture
def meta_app() -> typer.Typer:
    """A stand-in for the lead's ``regrow meta`` sub-app."""
    app = typer.Typer()

    @app.callback()
    def _meta() -> None:
        """Meta-analysis."""

    register_escalc(app)
    return app


def test_round_trip_to_file_matches_metafor(meta_app, shared_dir, tmp_path):
    out = tmp_path / "bcg_or.csv"
    data = shared_dir / "metafor" / "data" / "dat.bcg.csv"
    result = CliRunner().invoke(meta_app, ["escalc", str(data), "--measure", "OR", *BCG, "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out)
    original = pd.read_csv(data)
    assert list(written.columns) == [*original.columns, "yi", "vi"]
    pd.testing.assert_frame_equal(written[original.columns], original)
    ref = pd.read_csv(shared_dir / "metafor" / "bcg_OR_escalc.csv")
    # full precision: the written text round-trips to metafor's %.17g doubles
    np.testing.assert_allclose(written["yi"], ref["yi"], rtol=1e-15, atol=0)
    np.testing.assert_allclose(written["vi"], ref["vi"], rtol=1e-15, atol=0)


def test_stdout_and_options(meta_app, shared_dir):
    data = shared_dir / "metafor" / "data" / "dat.normand1999.csv"
    args = ["escalc", str(data), "-m", "SMD", "--vtype", "UB"]
    for arg in ("m1i", "m2i", "sd1i", "sd2i", "n1i", "n2i"):
        args += [f"--{arg}", arg]
    result = CliRunner().invoke(meta_app, args)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.stdout))
    ref = pd.read_csv(shared_dir / "metafor" / "normand1999_SMD_escalc.csv")
    np.testing.assert_allclose(frame["yi"], ref["yi"], rtol=1e-12)  # yi does not depend on vtype
    assert (frame["vi"] > ref["vi"]).all()  # UB adds (1 - (m-2)/(m c^2)) g^2 > g^2 / (2n) here


def test_zero_cells_and_missing_rows_warn(meta_app, tmp_path):
    data = tmp_path / "trials.csv"
    data.write_text("study,e1,n1,e2,n2\nA,0,20,3,20\nB,4,20,8,20\nC,,20,2,20\n")
    result = CliRunner().invoke(
        meta_app,
        [
            "escalc",
            str(data),
            "-m",
            "OR",
            "--ai",
            "e1",
            "--n1i",
            "n1",
            "--ci",
            "e2",
            "--n2i",
            "n2",
            "--to",
            "all",
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert frame.loc[1, "yi"] == pytest.approx(np.log(4.5 * 12.5 / (16.5 * 8.5)), rel=1e-12)
    assert np.isnan(frame.loc[2, "yi"])
    assert "1 of 3 studies have no effect size (data rows 3)" in result.stderr


def test_missing_column_is_a_data_file_error(meta_app, shared_dir):
    data = shared_dir / "metafor" / "data" / "dat.bcg.csv"
    result = CliRunner().invoke(meta_app, ["escalc", str(data), "-m", "RR", *BCG[:-1], "cnegx"])
    assert isinstance(result.exception, DataFileError)
    assert "column 'cnegx' (for di) not found" in str(result.exception)


def test_bad_cell_and_unknown_measure(meta_app, tmp_path):
    data = tmp_path / "trials.csv"
    data.write_text("study,r,n\nA,0.3,40\nB,0.2,n/a?\n")
    result = CliRunner().invoke(meta_app, ["escalc", str(data), "-m", "ZCOR", "--ri", "r", "--ni", "n"])
    assert isinstance(result.exception, DataFileError)
    assert "column 'n' (ni), data row 2: 'n/a?' is not a number" in str(result.exception)
    result = CliRunner().invoke(meta_app, ["escalc", str(data), "-m", "FOO", "--ri", "r", "--ni", "n"])
    assert isinstance(result.exception, InputError)
    assert "Invalid measure 'FOO'" in str(result.exception)


def test_missing_file(meta_app, tmp_path):
    result = CliRunner().invoke(meta_app, ["escalc", str(tmp_path / "nope.csv"), "-m", "OR"])
    assert isinstance(result.exception, DataFileError)
    assert "file not found" in str(result.exception)
