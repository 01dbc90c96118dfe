"""Review fixes: `regrow measurement import` of a non-UTF-8 file and `regrow progress` on absurd densities."""

from __future__ import annotations

import pytest

from regrow import journal as jr
from regrow.cli import main


@pytest.fixture
def db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    monkeypatch.setenv(jr.DATABASE_URL_ENV, url)
    return url


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_measurement_import_of_a_non_utf8_file(db, tmp_path, capsys):
    bad = tmp_path / "m.csv"
    bad.write_bytes(b"\xff\xfe\x00date,site\x80\n")
    assert main(["measurement", "import", str(bad)]) == 2
    assert "not a UTF-8 text file" in _one_error_line(capsys)


def test_nan_in_a_csv_says_a_finite_number(db, tmp_path, capsys):
    bad = tmp_path / "m.csv"
    bad.write_text("date,site,count,area_cm2\n2025-01-06,vertex,10,nan\n", encoding="utf-8")
    assert main(["measurement", "import", str(bad)]) == 2
    assert "must be a finite number >= 0" in _one_error_line(capsys)


def test_a_density_too_large_to_square_is_refused_when_stored(db, capsys):
    # 10 hairs in 1e-300 cm2 would be 1e301 hairs/cm2 (its square overflows the model): the plausibility
    # rules refuse it at the door, naming the counted area's bound and its source.
    args = [
        "measurement",
        "add",
        "--date",
        "2025-01-06",
        "--site",
        "vertex",
        "--count",
        "10",
        "--area-cm2",
        "1e-300",
    ]
    assert main(args) == 2
    line = _one_error_line(capsys)
    assert "hair_count" in line and "600 hairs per cm²" in line and "Source:" in line
