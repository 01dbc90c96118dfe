"""``regrow backup`` and ``regrow restore`` through the command line, with ``--json``."""

from __future__ import annotations

import json

from regrow import journal as jr
from regrow.cli import main


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_backup_check_restore_and_refusals_on_the_command_line(fresh_url, tmp_path, ops, capsys):
    source, photos = fresh_url(), tmp_path / "photos"
    ops.populate(source, jr.PhotoStore(photos))

    code, out, err = _run(
        capsys, "backup", "--out", str(tmp_path), "--db", source, "--photos-dir", str(photos), "--json"
    )
    assert code == 0, err
    made = json.loads(out)
    assert made["file"].startswith(str(tmp_path / "regrow-backup-")) and made["file"].endswith("Z.zip")
    assert made["photo_files"] == 3 and made["trash_files"] == 1 and set(made["rows"].values()) == {3}

    code, out, err = _run(capsys, "restore", made["file"], "--check", "--json")
    assert code == 0, err
    checked = json.loads(out)
    assert checked["verified"] is True and checked["rows"] == made["rows"] and checked["photo_files"] == 3

    target, restored_photos = fresh_url(), tmp_path / "restored"
    args = ("--db", target, "--photos-dir", str(restored_photos))
    code, out, err = _run(capsys, "restore", made["file"], *args, "--json")
    assert code == 0, err
    assert json.loads(out)["rows"] == made["rows"]
    assert ops.dump(target) == ops.dump(source)
    assert ops.files(jr.PhotoStore(restored_photos)) == ops.files(jr.PhotoStore(photos))

    code, out, err = _run(capsys, "restore", made["file"], *args, "--json")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: The database") and "--replace" in err

    code, out, err = _run(capsys, "restore", made["file"], *args, "--replace", "--json")
    assert code == 0, err
    assert json.loads(out)["replaced"] is True and ops.dump(target) == ops.dump(source)


def test_text_output_and_bad_input(tmp_path, capsys, ops):
    source = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    ops.populate(source, jr.PhotoStore(tmp_path / "photos"))
    code, out, err = _run(
        capsys,
        "backup",
        "--out",
        str(tmp_path / "b.zip"),
        "--db",
        source,
        "--photos-dir",
        str(tmp_path / "photos"),
    )
    assert code == 0 and out.startswith("Backed up ") and "3 photo files" in out, err

    missing = f"sqlite:///{tmp_path / 'nothing-here.sqlite'}"
    code, out, err = _run(capsys, "backup", "--out", str(tmp_path / "x.zip"), "--db", missing, "--json")
    assert code == 2 and "an existing journal" in err and not (tmp_path / "nothing-here.sqlite").exists()
    assert not (tmp_path / "x.zip").exists()

    not_zip = tmp_path / "notes.zip"
    not_zip.write_text("hello")
    code, out, err = _run(capsys, "restore", str(not_zip), "--db", f"sqlite:///{tmp_path / 'new.sqlite'}")
    assert code == 2 and "notes.zip: not a readable regrow backup" in err and "Traceback" not in err

    code, out, err = _run(capsys, "restore", str(tmp_path / "b.zip"), "--check")
    assert code == 0 and out.startswith("b.zip: intact.")
