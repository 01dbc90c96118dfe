"""`--json` on the commands that gained it for issue #18, and one-line errors instead of tracebacks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from regrow.cli import main
from regrow.evidence import EXPORT_COLUMNS


def _json(capsys, args):
    rc = main(args)
    out = capsys.readouterr()
    assert rc == 0, out.err
    return json.loads(out.out)


def test_evidence_path_json_names_both_files(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    body = _json(capsys, ["evidence", "path", "--json"])
    assert body["user_copy_exists"] is False
    assert body["user_copy"].startswith(str(tmp_path)) and body["bundled"].endswith("evidence.yaml")


def test_evidence_export_json_rows_equal_the_csv(capsys, tmp_path):
    body = _json(capsys, ["evidence", "export", "--json"])
    assert body["columns"] == list(EXPORT_COLUMNS) and len(body["rows"]) >= 3
    assert main(["evidence", "export", "--csv", str(tmp_path / "e.csv")]) == 0
    capsys.readouterr()
    import csv

    with open(tmp_path / "e.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["study_id"] for r in rows] == [r["study_id"] for r in body["rows"]]
    for text, parsed in zip(rows, body["rows"], strict=True):
        assert float(text["yi"]) == parsed["yi"] and float(text["vi"]) == parsed["vi"]


def test_evidence_export_to_a_missing_folder_is_one_line(capsys):
    rc = main(["evidence", "export", "--csv", "/nonexistent-folder/e.csv"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and err.count("\n") == 1


def test_meta_measures_and_escalc_json(capsys, tmp_path):
    assert "RR" in _json(capsys, ["meta", "measures", "--json"])["measures"]
    data = tmp_path / "b.csv"
    data.write_text("ai,bi,ci,di\n4,119,11,128\n0,10,,12\n")
    body = _json(
        capsys,
        [
            "meta",
            "escalc",
            str(data),
            "-m",
            "RR",
            "--ai",
            "ai",
            "--bi",
            "bi",
            "--ci",
            "ci",
            "--di",
            "di",
            "--json",
        ],
    )
    first, second = body["rows"]
    # log risk ratio and its variance, by hand: log((a/(a+b)) / (c/(c+d))), 1/a - 1/(a+b) + 1/c - 1/(c+d)
    assert first["yi"] == pytest.approx(np.log((4 / 123) / (11 / 139)), rel=1e-12)
    assert first["vi"] == pytest.approx(1 / 4 - 1 / 123 + 1 / 11 - 1 / 139, rel=1e-12)
    assert second["yi"] is None and body["incomplete_rows"] == [2]


def test_measure_overlay_in_an_impossible_folder_is_one_line(capsys, tmp_path):
    image = tmp_path / "x.png"
    Image.fromarray(np.full((64, 80, 3), 180, np.uint8)).save(image)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    rc = main(["measure", str(image), "--um-per-px", "2.76", "--overlay", str(blocker / "sub")])
    err = capsys.readouterr().err
    assert rc == 2 and "--overlay" in err and "Traceback" not in err and err.count("\n") == 1


def _strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


@pytest.mark.parametrize(
    "data_file",
    ["protocol/rules.yaml", "journal/plausibility.yaml", "journal/sites.yaml", "measure/devices.yaml"],
)
def test_shipped_sources_cite_what_a_reader_can_look_up(data_file):
    from pathlib import Path

    import yaml

    import regrow

    data = yaml.safe_load((Path(regrow.__file__).parent / data_file).read_text(encoding="utf-8"))
    texts = list(_strings(data))
    assert texts
    # our research notes are not shipped: a source shown to people must not send them there
    assert [t for t in texts if "clinical-notes" in t or "hair-imaging-notes" in t or "../shared" in t] == []
