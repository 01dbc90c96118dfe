"""Review fixes: a clinic's rules file that cannot be read gives one DataFileError naming the file."""

from __future__ import annotations

import pytest

from regrow import protocol as pr
from regrow.errors import DataFileError


def test_non_utf8_rules_file(tmp_path):
    bad = tmp_path / "clinic.yaml"
    bad.write_bytes(b"\xff\xfe\x00rules\x80\n")
    with pytest.raises(DataFileError, match=r"clinic\.yaml: not a UTF-8 text file"):
        pr.load_rules(bad)


def test_rules_file_that_is_a_folder(tmp_path):
    with pytest.raises(DataFileError, match="cannot read the rules file"):
        pr.load_rules(tmp_path)


def test_broken_yaml_is_one_line_with_its_line_number(tmp_path):
    bad = tmp_path / "clinic.yaml"
    bad.write_text("rules: [\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="at line 2") as info:
        pr.load_rules(bad)
    assert "\n" not in str(info.value)
