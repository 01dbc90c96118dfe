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


def test_progress_on_a_density_too_large_to_square_is_one_line(db, capsys):
    # 10 hairs in 1e-300 cm2 is stored (no plausibility bound yet) and is 1e301 hairs/cm2: its square overflows.
    for date, count, area in (("2025-01-06", "10", "1e-300"), ("2025-04-06", "150", "1")):
        args = [
            "measurement",
            "add",
            "--date",
            date,
            "--site",
            "vertex",
            "--count",
            count,
            "--area-cm2",
            area,
        ]
        assert main(args) == 0
    capsys.readouterr()
    assert main(["progress", "--start", "2025-01-06"]) == 2
    line = _one_error_line(capsys)
    assert "'vertex'" in line and "2025-01-06" in line and "1e+301" in line
