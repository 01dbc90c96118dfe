"""Helpers shared by the evidence CLI tests (import as ``from cli_helpers import ...``; the test folder is on
``sys.path``)."""

from __future__ import annotations


def one_error_line(capsys) -> str:
    """The single ``error: ...`` line a failed command printed to stderr (and no traceback)."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]
