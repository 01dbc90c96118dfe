"""Backup -> drop -> restore gives back every row of every table and every photo file, on SQLite and
PostgreSQL, across backends, from an older schema revision, and under a concurrent writer."""

from __future__ import annotations

import hashlib
import json
import threading
import zipfile

import pytest
from sqlalchemy import MetaData, func, select, text

from regrow import journal as jr
from regrow.errors import InputError


def test_backup_drop_restore_gives_back_every_row_and_photo(fresh_url, tmp_path, ops):
    source = fresh_url()
    store = jr.PhotoStore(tmp_path / "photos")
    facts = ops.populate(source, store)
    rows_before, files_before = ops.dump(source), ops.files(store)
    summary = ops.backup(source, store, tmp_path / "backup.zip")

    assert set(summary.rows) == set(jr.Base.metadata.tables)  # every table of the schema, none named here
    assert set(summary.rows.values()) == {3}
    assert summary.photo_files == 3 and summary.trash_files == 1 and summary.missing_photo_files == []
    assert summary.revision == ops.revision(source)
    assert oct(summary.path.stat().st_mode & 0o777) == "0o600"
    with zipfile.ZipFile(summary.path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert {n for n in archive.namelist() if n.startswith("trash/")} == {f"trash/{facts['trashed']}"}
    assert manifest["tables"]["person"]["rows"] == 3 and manifest["backend"] == summary.backend

    target = fresh_url()  # the drop: a new, empty database and an empty photo folder
    new_store = jr.PhotoStore(tmp_path / "photos-restored")
    restored = ops.restore(target, new_store, summary.path)

    assert restored.rows == summary.rows and restored.photo_files_written == 3 and restored.trash_files == 1
    assert ops.dump(target) == rows_before
    assert ops.files(new_store) == files_before
    engine = jr.open_journal(target)  # at head, and new ids continue after the restored ones
    try:
        with jr.session_scope(engine) as session:
            top = session.scalar(select(func.max(jr.Note.id)))
            person = session.scalar(select(jr.Person.id))
            assert jr.add_note(session, person_id=person, text="after the restore").id > top
        assert new_store.from_trash(facts["trashed"])  # undo of the deletion still finds its files
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("direction", ["sqlite-to-postgres", "postgres-to-sqlite"])
def test_a_backup_restores_on_the_other_backend(direction, postgres_urls, tmp_path, ops):
    sqlite_url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    source, target = (
        (sqlite_url, postgres_urls()) if direction == "sqlite-to-postgres" else (postgres_urls(), sqlite_url)
    )
    store = jr.PhotoStore(tmp_path / "photos")
    ops.populate(source, store)
    summary = ops.backup(source, store, tmp_path / "backup.zip")
    new_store = jr.PhotoStore(tmp_path / "restored")
    ops.restore(target, new_store, summary.path)
    assert ops.dump(target) == ops.dump(source)
    assert ops.files(new_store) == ops.files(store)


def test_an_older_revision_restores_into_this_regrow_and_is_upgraded(fresh_url, tmp_path, ops):
    source = fresh_url()
    engine = jr.make_engine(source)
    jr.upgrade(engine, "0003")
    metadata = MetaData()
    metadata.reflect(bind=engine)

    def override(table: str, column: str, i: int):
        if (table, column) in (("measurement", "site"), ("photo", "site")):
            return "Crown"  # 0004 makes it "vertex"
        if table == "photo" and column in ("file_name", "sha256"):  # rows whose files are gone
            sha = hashlib.sha256(bytes([i])).hexdigest()
            return sha if column == "sha256" else f"{sha}.jpg"
        return ...

    rows = ops.build_rows(metadata, 2, override)
    with engine.begin() as connection:
        ops.insert_rows(connection, metadata, rows)
    store = jr.PhotoStore(tmp_path / "photos")
    summary = jr.backup_journal(engine, store, tmp_path / "old.zip")
    engine.dispose()
    assert summary.revision == "0003" and summary.missing_photo_files  # the generic photos have no files

    target = fresh_url()
    jr.open_journal(target).dispose()  # an empty journal at head: its empty schema is replaced by 0003's
    restored = ops.restore(target, jr.PhotoStore(tmp_path / "new"), summary.path)
    engine = jr.open_journal(target)
    engine.dispose()
    head = ops.revision(target)
    assert restored.revision_restored == "0003" and restored.revision_now == head != "0003"
    engine = jr.make_engine(target)
    try:
        with engine.connect() as connection:
            sites = connection.execute(text("SELECT DISTINCT site FROM measurement")).scalars().all()
            count = connection.execute(text("SELECT count(*) FROM measurement")).scalar()
    finally:
        engine.dispose()
    assert sites == ["vertex"] and count == 2


def test_restore_refuses_a_database_that_is_not_empty_and_changes_nothing(fresh_url, tmp_path, ops):
    source = fresh_url()
    store = jr.PhotoStore(tmp_path / "photos")
    ops.populate(source, store)
    archive = ops.backup(source, store, tmp_path / "backup.zip").path

    target = fresh_url()
    engine = jr.open_journal(target)
    with jr.session_scope(engine) as session:
        jr.add_note(session, person_id=jr.get_or_create_default_person(session).id, text="mine")
    engine.dispose()
    target_store = jr.PhotoStore(tmp_path / "target-photos")
    rows_before, files_before = ops.dump(target), ops.files(target_store)

    with pytest.raises(InputError, match=r"not empty .*nothing was changed.*--replace"):
        ops.restore(target, target_store, archive)
    assert ops.dump(target) == rows_before and ops.files(target_store) == files_before

    # --replace wipes and restores in one transaction; the old journal's files are swept
    ops.restore(target, target_store, archive, replace=True)
    assert ops.dump(target) == ops.dump(source)
    assert ops.files(target_store) == ops.files(store)


def test_a_backup_taken_while_another_thread_writes_is_one_committed_state(fresh_url, tmp_path, ops):
    url = fresh_url()
    engine = jr.open_journal(url)
    with jr.session_scope(engine) as session:
        person = jr.get_or_create_default_person(session).id
    insert_note = text(
        "INSERT INTO note (person_id, written_at, text) VALUES (:p, '2025-01-01 00:00:00', :t)"
    )
    insert_dose = text(
        "INSERT INTO adjunct_dose (person_id, kind, taken_at) VALUES (:p, 'other', '2025-01-01')"
    )
    with engine.begin() as connection:  # enough rows that the backup takes a while
        connection.execute(insert_note, [{"p": person, "t": "x" * 200} for _ in range(4000)])
        connection.execute(insert_dose, [{"p": person}] * 4000)
    stop = threading.Event()
    commits: list[int] = []

    def writer() -> None:  # each transaction adds one note and one dose: the counts move together
        while not stop.is_set():
            with engine.begin() as connection:
                connection.execute(insert_note, {"p": person, "t": "during"})
                connection.execute(insert_dose, {"p": person})
            commits.append(1)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(commits) < 3:  # the writer is running
            stop.wait(0.01)
        started = len(commits)
        summary = jr.backup_journal(engine, jr.PhotoStore(tmp_path / "photos"), tmp_path / "live.zip")
        during = len(commits) - started
    finally:
        stop.set()
        thread.join()
        engine.dispose()
    assert during > 0, "the writer committed nothing while the backup ran; the test proves nothing"
    assert summary.rows["note"] == summary.rows["adjunct_dose"]
    assert 4000 + started <= summary.rows["note"] <= 4000 + started + during
    target = fresh_url()
    ops.restore(target, jr.PhotoStore(tmp_path / "restored"), summary.path)
    engine = jr.make_engine(target)
    with engine.connect() as connection:
        notes = connection.execute(text("SELECT count(*) FROM note")).scalar()
        doses = connection.execute(text("SELECT count(*) FROM adjunct_dose")).scalar()
    engine.dispose()
    assert notes == doses == summary.rows["note"]


def test_a_write_committed_in_the_middle_of_the_backup_is_not_in_it(fresh_url, tmp_path, ops, monkeypatch):
    """Deterministic: while the first row is being written into the backup, another connection commits a
    note and a dose. The backup holds the state before that commit (both absent), the database after it."""
    import regrow.journal._backup as backup_module

    url = fresh_url()
    store = jr.PhotoStore(tmp_path / "photos")
    ops.populate(url, store)
    before = {name: len(rows) for name, rows in ops.dump(url).items()}
    engine = jr.make_engine(url)
    with engine.connect() as connection:
        person = connection.execute(text("SELECT min(id) FROM person")).scalar()
    original, fired = backup_module.encode_value, []

    def encode_and_write(kind, value):
        if not fired:
            fired.append(True)
            with engine.begin() as connection:
                connection.execute(
                    text(
                        "INSERT INTO note (person_id, written_at, text) VALUES (:p, '2025-01-01 00:00:00', 'x')"
                    ),
                    {"p": person},
                )
                connection.execute(
                    text(
                        "INSERT INTO adjunct_dose (person_id, kind, taken_at) VALUES (:p, 'other', '2025-01-01')"
                    ),
                    {"p": person},
                )
        return original(kind, value)

    monkeypatch.setattr(backup_module, "encode_value", encode_and_write)
    try:
        summary = jr.backup_journal(engine, store, tmp_path / "mid.zip")
    finally:
        engine.dispose()
    assert fired
    assert summary.rows["note"] == before["note"] and summary.rows["adjunct_dose"] == before["adjunct_dose"]
    after = ops.dump(url)
    assert (
        len(after["note"]) == before["note"] + 1 and len(after["adjunct_dose"]) == before["adjunct_dose"] + 1
    )
