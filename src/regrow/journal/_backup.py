"""Backup and restore of a whole journal (every table, every photo file) as one consistent snapshot.

:func:`backup_journal` reads every table inside one read transaction (PostgreSQL: ``REPEATABLE READ, READ
ONLY``; SQLite: the online backup API copies the database into memory in one step, so writers never wait)
while holding the photo folder's shared lock (no sweep removes a file the snapshot references until the copy
is done), and writes one ZIP file (layout in :mod:`regrow.journal._backup_format`) to a temporary name that is
renamed into place: a half-written backup never exists under the final name.

:func:`restore_journal` verifies the whole backup first (every checksum, every name), then, in ONE
transaction: creates the schema at the backup's Alembic revision, inserts every row in dependency order with
its id, upgrades to the newest revision (a backup of an older regrow restores into a newer one), resets
PostgreSQL sequences, places the photo files through :class:`~regrow.journal.PhotoStore` (names rebuilt from
hashes) and commits. Any failure rolls everything back and removes the files it placed.

Tables are never named here: everything in the database (reflected) is backed up, and the restore reflects
what the migrations create, so the clinic tables of a newer schema are included without a change.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    MetaData,
    Table,
    Text,
    cast,
    create_engine,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy import (
    table as sql_table,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool
from sqlalchemy.schema import sort_tables_and_constraints

from regrow.errors import InputError, RegrowError, StorageError

from ._backup_format import (
    CHECKSUMS,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    PHOTOS_DIR,
    TABLES_DIR,
    TRASH_DIR,
    BackupArchive,
    column_kind,
    derived_kind,
    encode_value,
    is_photo_name,
    open_backup,
)
from ._engine import _alembic_config, _check_foreign_keys, _head, _is_busy, _reason, _sqlite_path, _where
from ._models import Base
from ._photo_store import TRASH, PhotoStore

__all__ = ["BackupSummary", "RestoreSummary", "backup_journal", "restore_journal", "verify_backup"]

VERSION_TABLE = "alembic_version"
_BATCH_ROWS = 1000


@dataclass(frozen=True)
class BackupSummary:
    """What :func:`backup_journal` wrote."""

    path: Path
    revision: str
    backend: str
    created_at: str
    rows: dict[str, int]
    photo_files: int
    trash_files: int
    size_bytes: int
    missing_photo_files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "file": str(self.path),
            "alembic_revision": self.revision,
            "backend": self.backend,
            "created_at": self.created_at,
            "rows": self.rows,
            "photo_files": self.photo_files,
            "trash_files": self.trash_files,
            "size_bytes": self.size_bytes,
            "missing_photo_files": self.missing_photo_files,
        }


@dataclass(frozen=True)
class RestoreSummary:
    """What :func:`restore_journal` restored (or, with ``check_only``, would restore)."""

    revision_restored: str
    revision_now: str
    rows: dict[str, int]
    photo_files_written: int
    photo_files_present: int
    trash_files: int
    replaced: bool
    checked_only: bool = False
    missing_photo_files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "alembic_revision_of_backup": self.revision_restored,
            "alembic_revision_now": self.revision_now,
            "rows": self.rows,
            "photo_files_written": self.photo_files_written,
            "photo_files_present": self.photo_files_present,
            "trash_files": self.trash_files,
            "replaced": self.replaced,
            "checked_only": self.checked_only,
            "missing_photo_files": self.missing_photo_files,
        }


# --- backup ------------------------------------------------------------------------------------------------


def backup_journal(engine: Engine, store: PhotoStore, path: str | os.PathLike[str]) -> BackupSummary:
    """Write a consistent backup of the journal at ``engine`` and its photo folder to ``path``.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        A SQLite or PostgreSQL journal (any schema revision this regrow knows; it is not migrated).
    store : PhotoStore
        The journal's photo folder.
    path : path-like
        The backup file (mode 0600); a folder (existing, or named with a trailing ``/``) gets
        ``regrow-backup-<UTC timestamp>.zip`` inside it.
        An existing file is replaced atomically, only once the new backup is complete.

    Returns
    -------
    BackupSummary

    Raises
    ------
    StorageError
        The database cannot be read, is not a regrow journal, or holds a column type a backup cannot store;
        no file is left behind.
    """
    created = dt.datetime.now(dt.UTC).replace(microsecond=0)
    target = Path(path)
    if str(path).endswith(("/", os.sep)):  # a folder that does not exist yet
        target.mkdir(parents=True, exist_ok=True)
    if target.is_dir():
        target = target / f"regrow-backup-{created.strftime('%Y%m%dT%H%M%SZ')}.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
            sums: list[str] = []
            # The shared lock keeps sweeps (which remove unreferenced files) away until the files are copied.
            with store.writing():
                with _snapshot(engine) as connection:
                    revision, tables = _write_tables(connection, archive, sums)
                    photos, trash = _photo_names(connection, tables)
                missing, trashed = _write_files(archive, sums, store, photos, trash)
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "regrow_version": _regrow_version(),
                "alembic_revision": revision,
                "backend": engine.dialect.name,
                "created_at": created.isoformat().replace("+00:00", "Z"),
                "tables": tables,
                "photo_files": len(photos) - len(missing),
                "trash_files": trashed,
                "missing_photo_files": missing,
            }
            _write_member(archive, MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode(), sums)
            archive.writestr(CHECKSUMS, "".join(sums))
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return BackupSummary(
        path=target,
        revision=revision,
        backend=engine.dialect.name,
        created_at=manifest["created_at"],
        rows={name: entry["rows"] for name, entry in tables.items()},
        photo_files=manifest["photo_files"],
        trash_files=manifest["trash_files"],
        size_bytes=target.stat().st_size,
        missing_photo_files=missing,
    )


@contextlib.contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose reads all see one committed state of the journal."""
    try:
        if engine.dialect.name == "sqlite":
            with _sqlite_snapshot(engine) as connection:
                yield connection
            return
        with engine.connect() as connection:
            connection = connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            with connection.begin():
                yield connection
    except (SQLAlchemyError, sqlite3.Error) as exc:
        reason = _reason(exc) if isinstance(exc, SQLAlchemyError) else str(exc)
        raise StorageError(
            f"Reading the journal {_where(engine)} for a backup failed ({reason}); no backup was written."
        ) from exc


@contextlib.contextmanager
def _sqlite_snapshot(engine: Engine) -> Iterator[Connection]:
    """An in-memory copy made by SQLite's online backup API (one step: one consistent read, writers go on)."""
    copy = sqlite3.connect(":memory:", check_same_thread=False)
    try:
        source = engine.raw_connection()
        try:
            source.driver_connection.backup(copy)
        finally:
            source.close()
        memory = create_engine("sqlite://", creator=lambda: copy, poolclass=StaticPool)
        try:
            with memory.connect() as connection:
                yield connection
        finally:
            memory.dispose()
    finally:
        copy.close()


def _write_tables(
    connection: Connection, archive: zipfile.ZipFile, sums: list[str]
) -> tuple[str, dict[str, Any]]:
    """Write every table of the snapshot; return its revision and the manifest's table entries."""
    names = set(inspect(connection).get_table_names())
    if VERSION_TABLE not in names:
        raise StorageError(
            "The database is not a regrow journal (it has no schema revision); no backup was written."
        )
    revision = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    if revision is None:
        raise StorageError("The journal has no schema revision stamped; no backup was written.")
    if revision == _head(_alembic_config()):
        absent = sorted(set(Base.metadata.tables) - names)
        if absent:
            raise StorageError(
                f"The journal is at revision {revision} but lacks tables {absent}; no backup was written."
            )
    metadata = MetaData()
    metadata.reflect(bind=connection, only=sorted(names - {VERSION_TABLE}))
    tables: dict[str, Any] = {}
    for table in _ordered(metadata):
        kinds = {column.name: column_kind(table, column) for column in table.columns}
        columns = [cast(c, Text).label(c.name) if kinds[c.name] == "json" else c for c in table.columns]
        order = list(table.primary_key.columns) or list(table.columns)
        result = connection.execution_options(stream_results=True, yield_per=_BATCH_ROWS).execute(
            select(*columns).order_by(*order)
        )
        count = 0
        digest = hashlib.sha256()
        member = f"{TABLES_DIR}/{table.name}.jsonl"
        with archive.open(member, "w") as out:
            for row in result.mappings():
                line = (
                    json.dumps({k: encode_value(kinds[k], row[k]) for k in kinds}, ensure_ascii=False) + "\n"
                )
                data = line.encode("utf-8")
                out.write(data)
                digest.update(data)
                count += 1
        sums.append(f"{digest.hexdigest()}  {member}\n")
        tables[table.name] = {"rows": count, "columns": kinds}
    return str(revision), tables


def _ordered(metadata: MetaData) -> list[Table]:
    """The tables, referenced ones first (no warning for reference cycles: restore handles those)."""
    return [
        table
        for table, _fkcs in sort_tables_and_constraints(list(metadata.tables.values()))
        if table is not None
    ]


def _photo_names(connection: Connection, tables: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The stored names of the live photos, and of the deleted photos whose trashed files undo may use."""
    if "file_name" not in tables.get("photo", {}).get("columns", {}):
        return [], []
    query = text("SELECT file_name FROM photo ORDER BY id")
    live = [name for name in dict.fromkeys(connection.execute(query).scalars()) if is_photo_name(str(name))]
    deleted: list[str] = []
    if "change" in tables:
        history = text(
            "SELECT CAST(old AS TEXT), CAST(new AS TEXT) FROM change WHERE table_name = 'photo' ORDER BY id"
        )
        for old, new in connection.execute(history):
            before = json.loads(old) if old is not None else None
            after = json.loads(new) if new is not None else None
            name = before.get("file_name") if isinstance(before, dict) and after is None else None
            if isinstance(name, str) and is_photo_name(name) and name not in live:
                deleted.append(name)
    return live, list(dict.fromkeys(deleted))


def _write_files(
    archive: zipfile.ZipFile, sums: list[str], store: PhotoStore, photos: list[str], trash: list[str]
) -> tuple[list[str], int]:
    """Copy the photo files (and trashed files) into the backup; return the names whose file is missing or
    damaged (its content no longer has the SHA-256 its name says) and the number of trashed photos copied."""
    missing = []
    trashed = 0
    for name in photos:
        files = store.files_of(name)
        if (
            not files
            or files[0].name != name
            or not _add_file(archive, sums, PHOTOS_DIR, files[0], name[:64])
        ):
            missing.append(name)
            continue
        for file in files[1:]:
            _add_file(archive, sums, PHOTOS_DIR, file, None)
    for name in trash:
        files = store.trash_files_of(name)
        if files and files[0].name == name and _add_file(archive, sums, TRASH_DIR, files[0], name[:64]):
            trashed += 1
            for file in files[1:]:
                _add_file(archive, sums, TRASH_DIR, file, None)
    return missing, trashed


def _add_file(
    archive: zipfile.ZipFile, sums: list[str], folder: str, file: Path, expected: str | None
) -> bool:
    data = file.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if expected is not None and digest != expected:
        return False
    compress = zipfile.ZIP_DEFLATED if file.suffix == ".json" else zipfile.ZIP_STORED
    archive.writestr(f"{folder}/{file.name}", data, compress_type=compress)
    sums.append(f"{digest}  {folder}/{file.name}\n")
    return True


def _write_member(archive: zipfile.ZipFile, name: str, data: bytes, sums: list[str]) -> None:
    archive.writestr(name, data)
    sums.append(f"{hashlib.sha256(data).hexdigest()}  {name}\n")


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _regrow_version() -> str:
    from regrow import __version__

    return __version__


# --- restore -----------------------------------------------------------------------------------------------


def verify_backup(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Check a backup whole without restoring it: checksums, names, every row of every table, photo files.

    Returns
    -------
    dict
        The manifest's facts (revision, backend, created_at, rows per table, photo and trash file counts)
        with ``"verified": True``.

    Raises
    ------
    DataFileError
        What :func:`restore_journal` would refuse.
    """
    with open_backup(path) as backup:
        _check_revision(backup)
        photo_names: set[str] = set()
        for name in backup.tables():
            for _number, row in backup.rows(name):
                _note_photo(name, row, photo_names)
        _check_photo_files(backup, photo_names)
        manifest = backup.manifest
        return {
            "file": str(backup.path),
            "verified": True,
            "format_version": manifest["format_version"],
            "regrow_version": manifest.get("regrow_version"),
            "alembic_revision": manifest["alembic_revision"],
            "backend": manifest.get("backend"),
            "created_at": manifest.get("created_at"),
            "rows": {name: entry["rows"] for name, entry in backup.tables().items()},
            "photo_files": sum(1 for n in backup.files[PHOTOS_DIR] if is_photo_name(n)),
            "trash_files": sum(1 for n in backup.files[TRASH_DIR] if is_photo_name(n)),
            "missing_photo_files": list(manifest.get("missing_photo_files", [])),
        }


def restore_journal(
    engine: Engine, store: PhotoStore, path: str | os.PathLike[str], *, replace: bool = False
) -> RestoreSummary:
    """Restore a backup into an empty database (or, with ``replace``, instead of what it holds).

    Everything happens in one transaction, all or nothing: the backup is verified whole first; the schema is
    created at the backup's revision; every row is inserted with its id in dependency order; the schema is
    upgraded to the newest revision; PostgreSQL sequences continue after the restored ids; photo files are
    placed through ``store`` (names rebuilt from their SHA-256) before the commit, and removed again when
    anything fails.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The target database (SQLite or PostgreSQL; the backup may come from either).
    store : PhotoStore
        The target photo folder.
    path : path-like
        The backup file.
    replace : bool
        Drop every journal table first, in the same transaction. Without it a database holding any row is
        refused and left exactly as it was.

    Returns
    -------
    RestoreSummary

    Raises
    ------
    DataFileError
        The backup is damaged, truncated, edited or crafted (nothing was restored).
    InputError
        The database is not empty and ``replace`` is false (nothing was changed).
    StorageError
        The database is not a regrow journal, was written by a newer regrow, or the restore failed in the
        database (nothing was changed).
    """
    with open_backup(path) as backup:
        revision = _check_revision(backup)
        placed: list[Path] = []
        try:
            with store.writing(), _write_transaction(engine) as connection:
                _check_target(connection, engine, replace=replace)
                _drop_journal(connection)
                _migrate(connection, revision)
                photo_names = _insert_all(connection, backup, revision)
                _reset_sequences(connection)
                _migrate(connection, "head")
                _reset_sequences(connection)
                if engine.dialect.name == "sqlite":
                    _check_foreign_keys(connection, engine)
                _check_photo_files(backup, photo_names)
                written, present, trashed = _place_files(backup, store, photo_names, placed)
        except BaseException:
            for file in placed:
                file.unlink(missing_ok=True)
            raise
        rows = {name: entry["rows"] for name, entry in backup.tables().items()}
        missing = list(backup.manifest.get("missing_photo_files", []))
    if replace:
        from ._archive import sweep_photos
        from ._photo_store import EXCLUSIVE_WAIT_S

        sweep_photos(engine, store, wait_s=EXCLUSIVE_WAIT_S)
    _use_wal(engine)
    return RestoreSummary(
        revision_restored=revision,
        revision_now=_head(_alembic_config()),
        rows=rows,
        photo_files_written=written,
        photo_files_present=present,
        trash_files=trashed,
        replaced=replace,
        missing_photo_files=missing,
    )


def _check_revision(backup: BackupArchive) -> str:
    from alembic.script import ScriptDirectory

    revision = backup.manifest["alembic_revision"]
    known = {script.revision for script in ScriptDirectory.from_config(_alembic_config()).walk_revisions()}
    if revision not in known:
        raise backup.fail(
            f"it holds schema revision {revision!r}, which this regrow does not know (a newer regrow wrote it; "
            "upgrade regrow to restore it)"
        )
    return revision


@contextlib.contextmanager
def _write_transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction; on SQLite foreign keys are checked before the commit instead of per statement
    (batch migrations copy and drop tables, which would fire ON DELETE actions)."""
    sqlite = engine.dialect.name == "sqlite"
    try:
        with engine.connect() as connection:
            raw = connection.connection.dbapi_connection if sqlite else None
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=OFF")
            try:
                with connection.begin():
                    yield connection
            finally:
                if raw is not None:
                    raw.execute("PRAGMA foreign_keys=ON")
    except RegrowError:
        raise
    except SQLAlchemyError as exc:
        if _is_busy(exc):
            raise StorageError(
                f"The journal {_where(engine)} is busy (another program holds it); nothing was restored. Stop "
                "the server and try again."
            ) from exc
        raise StorageError(
            f"Restoring into {_where(engine)} failed ({_reason(exc)}); nothing was changed."
        ) from exc


def _check_target(connection: Connection, engine: Engine, *, replace: bool) -> None:
    """Refuse a database that is not a regrow journal, or (without ``replace``) one that holds any row."""
    from alembic.script import ScriptDirectory

    names = set(inspect(connection).get_table_names())
    if not names:
        return
    if VERSION_TABLE not in names:
        listing = ", ".join(sorted(names)[:5]) + (", ..." if len(names) > 5 else "")
        raise StorageError(
            f"{_where(engine)} is not a regrow journal (it holds other tables: {listing}); nothing was changed."
        )
    current = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    known = {script.revision for script in ScriptDirectory.from_config(_alembic_config()).walk_revisions()}
    if current is not None and current not in known:
        raise StorageError(
            f"{_where(engine)} was written by a newer regrow (revision {current}); nothing was changed."
        )
    if replace:
        return
    filled = {}
    for name in sorted(names - {VERSION_TABLE}):
        count = connection.execute(select(func.count()).select_from(sql_table(name))).scalar()
        if count:
            filled[name] = count
    if filled:
        first = next(iter(filled))
        raise InputError(
            f"The database {_where(engine)} is not empty ({sum(filled.values())} rows in {len(filled)} tables, "
            f"e.g. {filled[first]} in {first!r}); nothing was changed. Restore into an empty database, or pass "
            "--replace to wipe it and restore in one transaction.",
            field="db",
        )


def _drop_journal(connection: Connection) -> None:
    """Drop every table (an empty journal of another revision, or with ``replace`` a full one)."""
    names = inspect(connection).get_table_names()
    if not names:
        return
    quote = connection.dialect.identifier_preparer.quote
    postgres = connection.dialect.name == "postgresql"
    functions: list[str] = []
    if postgres:  # functions behind the tables' triggers (e.g. an append-only audit log) go with them
        functions = list(
            connection.execute(
                text(
                    "SELECT DISTINCT p.oid::regprocedure::text FROM pg_trigger t "
                    "JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace"
                )
            ).scalars()
        )
    for name in names:
        connection.execute(text(f"DROP TABLE IF EXISTS {quote(name)}{' CASCADE' if postgres else ''}"))
    for function in functions:
        connection.execute(text(f"DROP FUNCTION IF EXISTS {function}"))


def _migrate(connection: Connection, revision: str) -> None:
    from alembic import command

    config = _alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _reflect(connection: Connection) -> MetaData:
    metadata = MetaData()
    metadata.reflect(bind=connection)
    metadata.remove(metadata.tables[VERSION_TABLE])
    return metadata


def _insert_all(connection: Connection, backup: BackupArchive, revision: str) -> set[str]:
    """Insert every row of the backup into the schema at ``revision``; return the photo rows' file names."""
    metadata = _reflect(connection)
    wanted = backup.tables()
    if set(metadata.tables) != set(wanted):
        odd = sorted(set(metadata.tables) ^ set(wanted))[0]
        raise backup.fail(f"its tables do not match schema revision {revision} (first difference: {odd!r})")
    ordered = sort_tables_and_constraints(list(metadata.tables.values()))
    cyclic = {fkc for table, fkcs in ordered if table is None for fkc in fkcs}
    photo_names: set[str] = set()
    for table, _fkcs in ordered:
        if table is None:
            continue
        if set(table.columns.keys()) != set(wanted[table.name]["columns"]):
            raise backup.fail(f"the columns of table {table.name!r} do not match schema revision {revision}")
        _insert_table(connection, backup, table, cyclic, photo_names)
    return photo_names


def _insert_table(
    connection: Connection, backup: BackupArchive, table: Table, cyclic: set[Any], photo_names: set[str]
) -> None:
    # Self-references (a plan version naming the one it replaced) and reference cycles: insert those columns
    # empty, then set them once every row is in (PostgreSQL checks each reference when the row goes in).
    late = [
        element.parent.name
        for fkc in table.foreign_key_constraints
        if fkc.referred_table is table or fkc in cyclic
        for element in fkc.elements
        if element.parent.nullable
    ]
    key = [column.name for column in table.primary_key.columns]
    batch: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for _number, row in backup.rows(table.name):
        _note_photo(table.name, row, photo_names)
        if late and key and any(row[name] is not None for name in late):
            updates.append({**{f"k_{k}": row[k] for k in key}, **{f"v_{n}": row[n] for n in late}})
            row = {**row, **dict.fromkeys(late)}
        batch.append(row)
        if len(batch) >= _BATCH_ROWS:
            connection.execute(table.insert(), batch)
            batch = []
    if batch:
        connection.execute(table.insert(), batch)
    if updates:
        from sqlalchemy import and_, bindparam

        where = and_(*(table.c[k] == bindparam(f"k_{k}") for k in key))
        statement = table.update().where(where).values({n: bindparam(f"v_{n}") for n in late})
        connection.execute(statement, updates)


def _note_photo(table: str, row: dict[str, Any], photo_names: set[str]) -> None:
    if table == "photo" and isinstance(row.get("file_name"), str) and is_photo_name(row["file_name"]):
        photo_names.add(row["file_name"])


def _reset_sequences(connection: Connection) -> None:
    """PostgreSQL: every serial or identity sequence continues after the largest id (ids were explicit)."""
    if connection.dialect.name != "postgresql":
        return
    quote = connection.dialect.identifier_preparer.quote
    for table in _reflect(connection).tables.values():
        for column in table.primary_key.columns:
            sequence = connection.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": quote(table.name), "c": column.name}
            ).scalar()
            if sequence is None:
                continue
            top = connection.execute(select(func.max(table.c[column.name]))).scalar()
            connection.execute(
                text("SELECT setval(:s, :v, :called)"),
                {"s": sequence, "v": top or 1, "called": top is not None},
            )


def _check_photo_files(backup: BackupArchive, photo_names: set[str]) -> None:
    """Every photo row has its file in the backup (or is listed as missing), and every file has a row."""
    missing = set(backup.manifest.get("missing_photo_files", []))
    carried = {name for name in backup.files[PHOTOS_DIR] if is_photo_name(name)}
    for name in sorted(carried - photo_names):
        raise backup.fail(f"{PHOTOS_DIR}/{name} belongs to no photo row")
    for name in sorted(photo_names - carried - missing):
        raise backup.fail(f"the file of photo {name!r} is not in the backup")


def _place_files(
    backup: BackupArchive, store: PhotoStore, photo_names: set[str], placed: list[Path]
) -> tuple[int, int, int]:
    """Put the backup's files into the photo folder; ``placed`` collects each new file (removed on failure).

    Names are rebuilt from the bytes' SHA-256 (:meth:`PhotoStore.put`), never taken from the archive.
    """
    written = present = 0
    for name in sorted(set(backup.files[PHOTOS_DIR]) & photo_names):
        target = store.path(name)
        if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == name[:64]:
            present += 1
        else:
            data = backup.read_file(PHOTOS_DIR, name)
            target.unlink(missing_ok=True)  # a damaged copy under the right name is replaced
            if store.put(data, name[64:]) != name:
                raise backup.fail(f"{PHOTOS_DIR}/{name} is not the photo its name says")
            placed.append(target)
            written += 1
    for name in sorted(backup.files[PHOTOS_DIR]):
        derived = derived_kind(name)
        if derived is not None:
            sha, kind = derived
            existed = (store.overlay_path(sha) if kind == "overlay" else store.sidecar_path(sha)).is_file()
            path = store.put_derived(sha, kind, backup.read_file(PHOTOS_DIR, name))
            if not existed:
                placed.append(path)
    trashed = 0
    for name in sorted(backup.files[TRASH_DIR]):
        if is_photo_name(name):
            trashed += 1
        elif derived_kind(name) is None:  # pragma: no cover - open_backup admits no other name
            raise backup.fail(f"{TRASH_DIR}/{name} is not a photo file")
        existed = (store.root / TRASH / name).is_file()
        path = store.put_trash(name, backup.read_file(TRASH_DIR, name))
        if not existed:
            placed.append(path)
    return written, present, trashed


def _use_wal(engine: Engine) -> None:
    """A SQLite journal file goes (back) to write-ahead logging, as :func:`open_journal` leaves it."""
    if engine.dialect.name != "sqlite" or _sqlite_path(engine.url) is None:
        return
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        if str(raw.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
            raw.execute("PRAGMA journal_mode=WAL")
