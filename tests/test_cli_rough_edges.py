"""Rough edges a newcomer met (issue #18): one-line errors for impossible paths and hosts, plain dose
quantities, the near-name check on edits, adherence in words, a progress chart with nothing to draw."""

from __future__ import annotations

import json

import pytest

from regrow.cli import main


def _err(capsys, args) -> tuple[int, str]:
    rc = main(args)
    return rc, capsys.readouterr().err


@pytest.fixture
def journal(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'j.sqlite'}"
    monkeypatch.setenv("REGROW_DATABASE_URL", url)
    monkeypatch.setenv("REGROW_PHOTOS_DIR", str(tmp_path / "photos"))
    return tmp_path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p, "not a folder"),
        (lambda p: (p / "text.txt").write_text("hello") and p / "text.txt", "not a SQLite database"),
        (lambda p: (p / "file").write_text("x") and p / "file" / "j.sqlite", "folder that can be created"),
    ],
)
def test_a_journal_path_that_cannot_be_a_journal_is_one_line(capsys, tmp_path, make, message):
    path = make(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    rc, err = _err(capsys, ["today", "--db", f"sqlite:///{path}"])
    assert rc == 2 and message in err and "Traceback" not in err and err.count("\n") == 1
    assert sorted(tmp_path.rglob("*")) == before  # nothing created or changed


def test_an_unwritable_output_path_is_one_line_not_a_traceback(capsys, journal):
    blocker = journal / "file"
    blocker.write_text("x")
    for args in (
        ["evidence", "--html", str(blocker / "report")],
        ["photo", "labels", str(blocker / "labels")],
    ):
        rc, err = _err(capsys, args)
        assert rc == 2 and err.startswith("error: ") and err.count("\n") == 1, (args, err)


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--host", "999.1.1.1"], "--host"), (["--port", "70000"], "--port")],
)
def test_serve_refuses_an_impossible_address_before_starting(capsys, journal, args, message):
    rc, err = _err(capsys, ["serve", *args])
    assert rc == 2 and message in err and "running" not in err


def test_a_dose_strength_states_a_quantity(capsys, journal):
    rc, err = _err(capsys, ["log", "dose", "--kind", "minoxidil", "--strength", "abc"])
    assert rc == 2 and "strength" in err and "5%" in err
    assert main(["log", "dose", "--kind", "minoxidil", "--strength", "5%", "--amount", "1 mL"]) == 0


def _add_measurement(capsys) -> None:
    args = [
        "measurement",
        "add",
        "--site",
        "vertex",
        "--count",
        "20",
        "--area-cm2",
        "0.1",
        "--date",
        "2025-01-06",
    ]
    assert main(args) == 0
    capsys.readouterr()


def test_editing_a_site_to_a_near_name_needs_confirmation(capsys, journal):
    _add_measurement(capsys)
    rc, err = _err(capsys, ["measurement", "edit", "1", "--set", "site=vertx"])
    assert rc == 2 and "did you mean 'vertex'" in err
    assert main(["measurement", "edit", "1", "--set", "site=vertx", "--new-site", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["site"] == "vertx"


def test_progress_chart_with_nothing_to_draw_says_why(capsys, journal):
    _add_measurement(capsys)
    plot = journal / "progress.png"
    assert main(["progress", "--plot", str(plot)]) == 0  # strict warnings: no empty-legend warning either
    assert plot.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("command", [["meta", "rma"], ["evidence", "import"]])
def test_a_folder_or_device_given_as_a_data_file_is_named_as_such(capsys, tmp_path, command):
    rc, err = _err(capsys, [*command, str(tmp_path)])
    assert rc == 2 and "is a folder, not a file" in err
    rc, err = _err(capsys, [*command, "/dev/null"])
    assert rc == 2 and "not a regular file" in err


def test_a_missing_value_is_called_missing_not_none(capsys, tmp_path):
    from PIL import Image

    image = tmp_path / "x.png"
    Image.new("RGB", (32, 32)).save(image)
    rc, err = _err(capsys, ["measure", str(image)])
    assert rc == 2 and "Missing calibration" in err and "None" not in err


def test_history_shows_numbers_as_a_person_reads_them(capsys, journal):
    _add_measurement(capsys)
    assert main(["measurement", "edit", "1", "--set", "diameter_um=71.234567"]) == 0
    capsys.readouterr()
    assert main(["history"]) == 0
    out = capsys.readouterr().out
    assert "diameter_um empty -> 71.23" in out and "71.2345" not in out and "None" not in out
