"""Review fixes: `regrow measure` checks --overlay and --csv before measuring and never shows a traceback."""

from __future__ import annotations

import numpy as np
from PIL import Image

from regrow.cli import main


def _image(tmp_path):
    p = tmp_path / "scalp.png"
    Image.fromarray((np.random.default_rng(0).random((64, 64, 3)) * 255).astype("uint8")).save(p)
    return p


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_overlay_that_is_a_file(tmp_path, capsys):
    a_file = tmp_path / "note.txt"
    a_file.write_text("x", encoding="utf-8")
    args = ["measure", str(_image(tmp_path)), "--um-per-px", "5.5", "--quiet", "--overlay", str(a_file)]
    assert main(args) == 2
    assert "--overlay" in _one_error_line(capsys)


def test_csv_that_is_a_folder_or_in_a_missing_folder(tmp_path, capsys):
    img = _image(tmp_path)
    assert main(["measure", str(img), "--um-per-px", "5.5", "--quiet", "--csv", str(tmp_path)]) == 2
    assert "--csv" in _one_error_line(capsys)
    missing = tmp_path / "no" / "such" / "m.csv"
    assert main(["measure", str(img), "--um-per-px", "5.5", "--quiet", "--csv", str(missing)]) == 0
    assert missing.is_file()  # the folder is made, as for --overlay
