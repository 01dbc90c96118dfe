"""Review fixes: bad files and arguments for `regrow evidence` and `regrow meta` give one line and exit 2."""

from __future__ import annotations

import numpy as np
import pytest

from regrow.cli import main
from regrow.errors import EstimationError
from regrow.meta import rma

NOT_UTF8 = b"\xff\xfe\x00bad\x80\n"


@pytest.fixture(autouse=True)
def _user_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("REGROW_EVIDENCE_FILE", str(tmp_path / "user" / "evidence.yaml"))


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_evidence_import_of_a_non_utf8_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "studies.yaml"
    bad.write_bytes(NOT_UTF8)
    assert main(["evidence", "import", str(bad)]) == 2
    assert "not a UTF-8 text file" in _one_error_line(capsys)
    assert not (tmp_path / "user" / "evidence.yaml").exists()


def test_evidence_import_of_broken_yaml_is_one_line_with_its_line_number(tmp_path, capsys):
    bad = tmp_path / "studies.yaml"
    bad.write_text("garbage: [\n", encoding="utf-8")
    assert main(["evidence", "import", str(bad)]) == 2
    assert "not valid YAML/JSON at line 2" in _one_error_line(capsys)


def test_evidence_data_option_with_a_non_utf8_file(tmp_path, capsys):
    bad = tmp_path / "data.yaml"
    bad.write_bytes(NOT_UTF8)
    assert main(["evidence", "--data", str(bad)]) == 2
    assert "not a UTF-8 text file" in _one_error_line(capsys)


BASE = [
    "evidence", "add", "--id", "X9", "--author", "Test A", "--url", "https://example.org/x",
    "--n1", "10", "--n2", "10",
]  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "flag"),
    [
        # events typed for a continuous outcome used to vanish silently from the stored study
        (
            [
                "--comparison",
                "mn_prp_vs_mn_density",
                "--outcome",
                "d",
                "--unit",
                "hairs/cm2",
                "--events1",
                "5",
                "--events2",
                "3",
            ],
            "--events1",
        ),
        (
            [
                "--comparison",
                "mn_prp_vs_prp_responders",
                "--outcome",
                "r",
                "--unit",
                "events",
                "--value-type",
                "proportion",
                "--events1",
                "5",
                "--events2",
                "3",
                "--sd2",
                "2",
            ],
            "--sd2",
        ),
    ],
)
def test_evidence_add_never_drops_a_typed_number(tmp_path, capsys, extra, flag):
    assert main([*BASE, *extra]) == 2
    assert flag in _one_error_line(capsys)
    assert not (tmp_path / "user" / "evidence.yaml").exists()


def test_escalc_out_in_a_missing_folder_or_a_folder(tmp_path, capsys):
    data = tmp_path / "t.csv"
    data.write_text("ai,bi,ci,di\n5,10,3,12\n4,9,2,11\n", encoding="utf-8")
    cols = ["--ai", "ai", "--bi", "bi", "--ci", "ci", "--di", "di"]
    for out in (tmp_path / "no" / "such" / "x.csv", tmp_path):
        assert main(["meta", "escalc", str(data), "-m", "OR", *cols, "-o", str(out)]) == 2
        assert "--out" in _one_error_line(capsys)
    assert main(["meta", "escalc", str(tmp_path), "-m", "OR", *cols]) == 2
    assert "cannot read the file" in _one_error_line(capsys)


def test_weights_that_overflow_are_an_estimation_error_not_a_zero_division(tmp_path, capsys):
    # 1/vi = 1e300 makes the sum of squared weights overflow: I2 = tau2 / (tau2 + vt) would be 0/0.
    with pytest.raises(EstimationError, match="sampling variances"):
        rma(np.array([0.1, 0.2, 0.3]), np.array([0.1, 1e-300, 0.2]))
    data = tmp_path / "ext.csv"
    data.write_text("yi,vi\n0.1,0.1\n0.2,1e-300\n0.3,1e300\n", encoding="utf-8")
    assert main(["meta", "fit", str(data)]) == 2
    assert "sampling variances" in _one_error_line(capsys)
