"""Hardening review items 3-8: atomic migrations, foreign and newer journals, private files, lock waits
without SQL in messages, secure deletion, text limits and ids that cannot name a row."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from test_journal_cli import run, run_json

from regrow import journal as jr
from regrow.errors import InputError, NotFoundError, StorageError
from regrow.journal import _engine
from regrow.journal._engine import _alembic_config

REVISIONS = [
    s.revision for s in reversed(list(ScriptDirectory.from_config(_alembic_config()).walk_revisions()))
]


def _bytes(path: Path) -> bytes:
    return path.read_bytes()


# --- migrations ------------------------------------------------------------------------------------------


def test_a_failed_migration_leaves_the_file_byte_identical(tmp_path):
    path = tmp_path / "old.sqlite"
    engine = jr.make_engine(f"sqlite:///{path}")
    jr.upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO person (id, display_name, is_default, created_at) VALUES (1, 'me', 1, '2025-01-01')"
            )
        )
        # A leftover table of the batch migration's name makes revision 0002 fail half-way.
        conn.execute(text("CREATE TABLE _alembic_tmp_photo (x INTEGER)"))
    engine.dispose()
    before = _bytes(path)
    with pytest.raises(StorageError, match="nothing was changed") as info:
        jr.open_journal(f"sqlite:///{path}")
    assert "CREATE" not in str(info.value) and "INSERT" not in str(info.value)
    assert _bytes(path) == before
    check = sqlite3.connect(path)
    try:
        assert check.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
    finally:
        check.close()


@pytest.mark.parametrize("tables", [["notes"], ["person"], ["person", "device", "photo"]])
def test_a_foreign_sqlite_file_is_refused_and_untouched(tmp_path, tables):
    path = tmp_path / "foreign.sqlite"
    conn = sqlite3.connect(path)
    for name in tables:
        conn.execute(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, v TEXT)")
        conn.execute(f"INSERT INTO {name} (v) VALUES ('keep')")
    conn.commit()
    conn.close()
    before = _bytes(path)
    with pytest.raises(StorageError, match="not a regrow journal"):
        jr.open_journal(f"sqlite:///{path}")
    assert _bytes(path) == before
    assert not Path(f"{path}-wal").exists()


def test_a_journal_from_a_newer_regrow_is_refused_and_untouched(tmp_path, capsys):
    path = tmp_path / "journal.sqlite"
    jr.open_journal(f"sqlite:///{path}").dispose()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE alembic_version SET version_num = '9999_future'")
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = _bytes(path)
    rc, _, err = run(capsys, f"sqlite:///{path}", "today")
    assert rc == 2 and "newer regrow (revision 9999_future); upgrade regrow" in err and "Traceback" not in err
    assert _bytes(path) == before


@pytest.mark.parametrize("start", REVISIONS[:-1])
def test_upgrade_from_every_earlier_revision_matches_the_models(tmp_path, start):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = jr.make_engine(f"sqlite:///{tmp_path / 'j.sqlite'}")
    try:
        jr.upgrade(engine, start)
        jr.upgrade(engine)
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), jr.Base.metadata) == []
    finally:
        engine.dispose()


def test_upgrade_from_0001_turns_stored_paths_into_names_and_keeps_every_row(tmp_path):
    path = tmp_path / "j.sqlite"
    engine = jr.make_engine(f"sqlite:///{path}")
    jr.upgrade(engine, "0001")
    sha = "ab" * 32
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO person VALUES (1, 'me', 1, '2025-01-01 00:00:00')"))
        conn.execute(
            text(
                "INSERT INTO photo VALUES (1, 1, '2025-01-02 09:00:00', 'vertex', :p, :s, 640, 480, "
                "'2025-01-02 09:00:00')"
            ),
            {"p": f"/home/me/.local/share/regrow/photos/{sha}.JPEG", "s": sha},
        )
        conn.execute(
            text(
                "INSERT INTO measurement (id, person_id, taken_at, site, hair_count, area_cm2, photo_id, source, "
                "quality_flags, replicate, created_at) VALUES (1, 1, '2025-01-02 09:00:00', 'vertex', 15, 0.1, 1, "
                "'image', '[]', 0, '2025-01-02 09:00:00')"
            )
        )
    jr.upgrade(engine)
    with jr.session_scope(engine) as session:
        snap = jr.snapshot(session)
    engine.dispose()
    assert snap["photo"][0]["file_name"] == f"{sha}.jpg"
    assert snap["measurement"][0]["photo_id"] == 1 and snap["measurement"][0]["hair_count"] == 15


# --- files are private ------------------------------------------------------------------------------------


def test_the_journal_and_its_files_are_private_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        folder = tmp_path / "data" / "regrow"
        engine = jr.open_journal(f"sqlite:///{folder / 'journal.sqlite'}")
        store = jr.PhotoStore(folder / "photos")
        with store.writing():
            name = store.put(b"photo bytes", ".jpg")
            store.put_derived(name[:64], "overlay", b"png")
            store.put_derived(name[:64], "sidecar", b"{}")
        with jr.session_scope(engine) as session:
            jr.add_note(session, person_id=jr.get_or_create_default_person(session).id, text="hello")
        files = {p: stat.S_IMODE(p.stat().st_mode) for p in folder.rglob("*") if p.is_file()}
        folders = {p: stat.S_IMODE(p.stat().st_mode) for p in [folder, *folder.rglob("*")] if p.is_dir()}
        engine.dispose()
    finally:
        os.umask(old)
    assert {p.name for p in files} >= {"journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm", name}
    assert {p: m for p, m in files.items() if m != 0o600} == {}
    assert {p: m for p, m in folders.items() if m != 0o700} == {}


# --- locks ------------------------------------------------------------------------------------------------


def _hold_write_lock(path: Path, seconds: float, started: threading.Event) -> None:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO note (person_id, written_at, text) VALUES (1, '2025-01-01', 'held')")
    started.set()
    time.sleep(seconds)
    conn.execute("COMMIT")
    conn.close()


def test_a_writer_waits_for_another_writer_instead_of_failing(tmp_path, capsys):
    path = tmp_path / "j.sqlite"
    url = f"sqlite:///{path}"
    run_json(capsys, url, "profile", "set", "--sex", "male")
    started = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 2.0, started))
    holder.start()
    started.wait(10)
    t0 = time.monotonic()
    rc, _, err = run(capsys, url, "profile", "set", "--sex", "female")
    waited = time.monotonic() - t0
    holder.join()
    assert rc == 0, err
    assert waited >= 1.0  # it queued behind the other writer
    profile = run_json(capsys, url, "profile", "show")["profile"]
    assert profile["sex"] == "female"


def test_a_lock_that_outlasts_the_wait_gives_a_plain_message(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(_engine, "BUSY_TIMEOUT_S", 0.3)
    path = tmp_path / "j.sqlite"
    url = f"sqlite:///{path}"
    run_json(capsys, url, "profile", "set", "--sex", "male")
    started = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 3.0, started))
    holder.start()
    started.wait(10)
    rc, _, err = run(capsys, url, "profile", "set", "--sex", "female")
    holder.join()
    assert rc == 2
    assert "The journal is busy" in err and "Nothing was written" in err
    for sql in ("UPDATE", "INSERT", "SELECT", "[SQL", "parameters"):
        assert sql not in err


# --- secure deletion ----------------------------------------------------------------------------------------


def test_delete_everything_leaves_no_trace_in_the_database_files(tmp_path, capsys):
    path = tmp_path / "j.sqlite"
    url = f"sqlite:///{path}"
    marker = "UNMISTAKABLE-health-note-7f3a"
    run_json(capsys, url, "profile", "set", "--hair-colour", "dark")
    engine = jr.open_journal(url)
    with jr.session_scope(engine) as session:
        pid = jr.get_or_create_default_person(session).id
        for _ in range(50):
            jr.add_note(session, person_id=pid, text=marker * 20)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()
    run_json(capsys, url, "profile", "delete", "--yes", "--photos-dir", str(tmp_path / "photos"))
    for file in path.parent.glob("j.sqlite*"):
        assert marker.encode() not in file.read_bytes(), file


# --- text and ids -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["device", "add", "--name", "roll\x00er", "--kind", "roller", "--needle-length-mm", "0.5"], "name"),
        (
            ["device", "add", "--name", "pen\u202egnp.exe", "--kind", "pen", "--needle-length-mm", "0.5"],
            "name",
        ),
        (["device", "add", "--name", "x" * 201, "--kind", "pen", "--needle-length-mm", "0.5"], "name"),
    ],
)
def test_names_with_control_characters_or_too_long_are_refused(capsys, db_url, snapshot_at, args, field):
    before = snapshot_at(db_url)
    rc, _, err = run(capsys, db_url, *args)
    assert rc == 2 and f"Invalid {field}" in err and "Traceback" not in err
    assert len(err) < 400  # a 10 MB value is not echoed back
    assert snapshot_at(db_url) == before


def test_a_ten_megabyte_notes_field_is_refused_with_its_limit(capsys, db_url, snapshot_at):
    dev = run_json(
        capsys, db_url, "device", "add", "--name", "r", "--kind", "roller", "--needle-length-mm", "0.5"
    )["device"]
    before = snapshot_at(db_url)
    rc, _, err = run(
        capsys,
        db_url,
        "log",
        "session",
        "--device",
        str(dev["id"]),
        "--at",
        "2025-01-06T20:00",
        "--notes",
        "n" * 10_000_000,
    )
    assert rc == 2 and "Invalid notes" in err and "at most 5000 characters" in err and len(err) < 400
    assert snapshot_at(db_url) == before


def test_every_text_limit_is_the_same_table_and_fits_its_column():
    from regrow.journal._fields import TEXT_MAX_CHARS

    # columns holding a code from a fixed list (checked by check_choice, not as free text)
    coded = {
        ("device", "kind"),
        ("adjunct_dose", "kind"),
        ("hair_correction", "action"),
        ("change", "action"),
    }
    checked = 0
    for model in jr.TABLES:
        for column in model.__table__.columns:
            length = getattr(column.type, "length", None)
            if (
                column.key in TEXT_MAX_CHARS
                and length is not None
                and (model.__tablename__, column.key) not in coded
            ):
                assert TEXT_MAX_CHARS[column.key] <= length, (model.__tablename__, column.key)
                checked += 1
    assert checked >= 15


def test_multiline_notes_keep_newlines_but_not_nul(engine):
    with jr.session_scope(engine) as session:
        pid = jr.get_or_create_default_person(session).id
        assert jr.add_note(session, person_id=pid, text="line one\nline two\ttabbed").text.count("\n") == 1
        with pytest.raises(InputError, match="U\\+0000"):
            jr.add_note(session, person_id=pid, text="bad\x00note")


@pytest.mark.parametrize("row_id", [2**63, 99999999999999999999999, 0, -1, True])
def test_ids_that_cannot_name_a_row_are_not_found(engine, row_id):
    with jr.session_scope(engine) as session:
        pid = jr.get_or_create_default_person(session).id
        with pytest.raises(NotFoundError):
            jr.get_photo(session, person_id=pid, photo_id=row_id)
        with pytest.raises(NotFoundError):
            jr.get_device(session, person_id=pid, device_id=row_id)
