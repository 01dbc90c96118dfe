"""Review fixes: journal commands refuse bad output paths and huge numbers with one line, exit 2."""

from __future__ import annotations

import pytest
from test_journal_cli import run, run_json, setup_journal

from regrow import journal as jr


def _one_error_line(err: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.mark.parametrize("count", ["99999999999999999999", "9" * 400])
def test_a_huge_needle_count_is_refused_before_the_database(capsys, db_url, snapshot_at, count):
    before = snapshot_at(db_url)
    args = ["device", "add", "--name", "r", "--kind", "roller", "--needle-length-mm", "1", "--needle-count"]
    rc, _, err = run(capsys, db_url, *args, count)
    assert rc == 2 and "needle_count" in _one_error_line(err) and "[1, 2000]" in err and "Source:" in err
    assert snapshot_at(db_url) == before


def test_schedule_ics_and_export_out_that_cannot_be_written(capsys, db_url, tmp_path):
    setup_journal(capsys, db_url)
    rc, _, err = run(capsys, db_url, "schedule", "--ics", str(tmp_path))  # a folder, not a file
    assert rc == 2 and "--ics" in _one_error_line(err)
    a_file = tmp_path / "note.txt"
    a_file.write_text("x", encoding="utf-8")
    for fmt in ("archive", "csv"):
        rc, _, err = run(capsys, db_url, "export", "--out", str(a_file), "--format", fmt)
        assert rc == 2 and "--out" in _one_error_line(err)
    assert a_file.read_text(encoding="utf-8") == "x"


def test_profile_delete_removes_the_photo_its_overlay_and_its_sidecar(capsys, db_url, tmp_path):
    setup_journal(capsys, db_url)
    photos = tmp_path / "photos"
    store = jr.PhotoStore(photos)
    with store.writing():
        name = store.put(b"scalp", ".jpg")
        store.put_derived(name[:64], "overlay", b"overlay")
        store.put_derived(name[:64], "sidecar", b"{}")
    files = store.files_of(name)
    assert len(files) == 3
    keep = photos / "notes-of-mine.txt"  # not a name regrow writes: left alone
    keep.write_bytes(b"other")
    engine = jr.open_journal(db_url)
    try:
        with jr.session_scope(engine) as s:
            me = jr.get_or_create_default_person(s)
            jr.add_photo(
                s,
                person_id=me.id,
                taken_at="2025-01-06",
                site="vertex",
                file_name=name,
                sha256=name[:64],
                width=10,
                height=10,
            )
    finally:
        engine.dispose()  # a pooled PostgreSQL connection left to the GC warns in a later test
    out = run_json(capsys, db_url, "profile", "delete", "--yes", "--photos-dir", str(photos))
    assert not any(f.exists() for f in files)
    assert out["photo_files_removed"] == 3
    assert keep.exists()
