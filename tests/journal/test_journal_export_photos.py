"""An export holds the photo files too (health data must be exportable), and import puts them back."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from test_journal_cli import run

from regrow import journal as jr


def _store_photo(db_url, path, content: bytes) -> int:
    path.write_bytes(content)
    engine = jr.open_journal(db_url)
    with jr.session_scope(engine) as session:
        me = jr.get_or_create_default_person(session)
        photo = jr.add_photo(
            session,
            person_id=me.id,
            taken_at="2026-10-01T09:00",
            site="vertex",
            stored_path=str(path),
            sha256=hashlib.sha256(content).hexdigest(),
            width=4,
            height=3,
        )
        photo_id = photo.id
    engine.dispose()
    return photo_id


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_copies_photo_files_and_import_restores_them(capsys, db_url, fresh_url, tmp_path, fmt):
    photo = tmp_path / "store" / "vertex.png"
    photo.parent.mkdir()
    content = b"\x89PNG fake image bytes"
    photo_id = _store_photo(db_url, photo, content)
    out = tmp_path / "export"
    rc, stdout, err = run(capsys, db_url, "export", "--out", str(out), "--format", fmt, "--json")
    assert rc == 0, err
    body = json.loads(stdout)
    (copy,) = body["photo_files"]
    assert body["missing_photo_files"] == []
    assert (out / "photos").is_dir()
    assert Path(copy).read_bytes() == content
    assert str(photo_id) in copy

    photo.unlink()  # the original is gone (a new machine, a lost disk)
    source = body["files"][0] if fmt == "json" else str(out)
    rc, stdout, err = run(capsys, fresh_url(), "import", source, "--json")
    assert rc == 0, err
    assert json.loads(stdout)["photo_files_restored"] == 1
    assert photo.read_bytes() == content


def test_a_tampered_photo_copy_is_not_restored(capsys, db_url, fresh_url, tmp_path):
    photo = tmp_path / "vertex.png"
    _store_photo(db_url, photo, b"original")
    out = tmp_path / "export"
    rc, stdout, _ = run(capsys, db_url, "export", "--out", str(out), "--json")
    (copy,) = json.loads(stdout)["photo_files"]
    Path(copy).write_bytes(b"something else")
    photo.unlink()
    target = fresh_url()
    rc, _, err = run(capsys, target, "import", json.loads(stdout)["files"][0])
    assert rc == 2 and "SHA-256 does not match" in err
    assert not photo.exists()
    engine = jr.open_journal(target)
    with jr.session_scope(engine) as session:
        assert jr.snapshot(session)["photo"] == []  # nothing imported either
    engine.dispose()


def test_a_missing_photo_file_is_reported_not_fatal(capsys, db_url, tmp_path):
    photo = tmp_path / "gone.png"
    _store_photo(db_url, photo, b"x")
    photo.unlink()
    rc, _, err = run(capsys, db_url, "export", "--out", str(tmp_path / "e"))
    assert rc == 0
    assert "no longer exists" in err
