"""Engines, migrations and transactions: ``make_engine``, ``open_journal``, ``session_scope``.

No engine exists at import time; every caller builds one from a URL so tests and the CLI can switch
between SQLite and PostgreSQL per call.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from regrow.errors import InputError, RegrowError, StorageError

from ._private import private_dir, private_file

__all__ = [
    "BUSY_TIMEOUT_S",
    "DATABASE_URL_ENV",
    "default_database_url",
    "make_engine",
    "open_journal",
    "session_scope",
    "upgrade",
]

#: Environment variable naming the journal database (a SQLAlchemy URL).
DATABASE_URL_ENV = "REGROW_DATABASE_URL"
_MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def default_database_url() -> str:
    """The journal URL: ``$REGROW_DATABASE_URL`` or a SQLite file in the user's data directory.

    Returns
    -------
    str
        A SQLAlchemy URL, e.g. ``sqlite:////home/me/.local/share/regrow/journal.sqlite``.
    """
    url = os.environ.get(DATABASE_URL_ENV)
    if url:
        return url
    return f"sqlite:///{_default_data_dir() / 'journal.sqlite'}"


#: How long a write waits for another writer (CLI and web at once) before giving up, in seconds. Journal
#: transactions last milliseconds; 20 s covers a slow disk or a long import without hanging forever.
BUSY_TIMEOUT_S = 20.0


def _sqlite_connect(dbapi_connection, _record) -> None:  # pragma: no cover - exercised by every test
    # Take transaction control away from the sqlite3 module (it would BEGIN only before DML, leaving DDL
    # outside the transaction); the "begin" listener emits the BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    # Deleted rows are overwritten with zeros, not left in free pages (health data; PRODUCT.md "Privacy").
    cursor.execute("PRAGMA secure_delete=ON")
    # WAL + FULL: a committed transaction survives a crash or a power cut.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _sqlite_begin(connection) -> None:  # pragma: no cover - every test
    # IMMEDIATE takes the write lock at the start, so two writers queue (busy_timeout) instead of one of
    # them failing at once with "database is locked" when it upgrades a read lock to a write lock.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_path(url) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def _sqlite_engine(parsed) -> Engine:
    path = _sqlite_path(parsed)
    if path is not None:
        _check_sqlite_path(path)
        try:
            private_dir(path.parent, tighten=path.parent == _default_data_dir())
            private_file(path)  # SQLite gives its -wal and -shm files the database file's mode
        except OSError as exc:  # a read-only or virtual file system, no permission, a file in the way
            raise InputError.invalid(
                "journal", str(path), f"a file in a folder that can be created ({exc.strerror or exc})"
            ) from exc
    try:
        engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_S})
    except NoSuchModuleError as exc:  # pragma: no cover - sqlite is always there
        raise InputError.invalid("database URL", str(parsed), "a sqlite:/// or postgresql:// URL") from exc
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


#: The first bytes of every SQLite 3 database file (https://www.sqlite.org/fileformat.html, 1.3).
_SQLITE_MAGIC = b"SQLite format 3\x00"


def _check_sqlite_path(path: Path) -> None:
    """Refuse a journal path that is a folder or an existing file that is not a SQLite database."""
    if path.is_dir():
        raise InputError.invalid("journal", str(path), "a database file, not a folder")
    if path.is_file() and path.stat().st_size > 0:
        try:
            with open(path, "rb") as fh:
                head = fh.read(len(_SQLITE_MAGIC))
        except OSError as exc:
            raise InputError.invalid("journal", str(path), f"a readable file ({exc.strerror})") from exc
        if head != _SQLITE_MAGIC:
            raise InputError.invalid(
                "journal", str(path), "a regrow journal (this file is not a SQLite database)"
            )


def _default_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("regrow", appauthor=False))


def make_engine(url: str | None = None) -> Engine:
    """Build an engine for a journal URL (SQLite or PostgreSQL); no table is created or migrated.

    SQLite engines run every transaction as ``BEGIN IMMEDIATE`` with a busy timeout of
    :data:`BUSY_TIMEOUT_S` (concurrent writers wait instead of failing), foreign keys on, ``secure_delete``
    on and ``synchronous=FULL``; the database file is created with mode 0600 in a 0700 folder.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL (``sqlite:///path``, ``postgresql+psycopg://user@host:port/db``); defaults to
        :func:`default_database_url`. ``postgresql://`` is read as ``postgresql+psycopg://``.

    Returns
    -------
    sqlalchemy.Engine

    Raises
    ------
    InputError
        The URL cannot be parsed or names an unsupported backend.
    MissingExtraError
        PostgreSQL was asked for but ``psycopg`` is not installed.
    """
    parsed = _parse_url(url or default_database_url())
    if parsed.get_backend_name() == "postgresql":
        return create_engine(parsed, pool_pre_ping=True)
    return _sqlite_engine(parsed)


def _parse_url(url: str):
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InputError.invalid(
            "database URL", url, "a SQLAlchemy URL such as sqlite:///journal.sqlite"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            from regrow.errors import MissingExtraError

            raise MissingExtraError("psycopg", "postgres") from exc
        return parsed
    if backend != "sqlite":
        raise InputError.invalid("database URL", url, "a sqlite:/// or postgresql+psycopg:// URL")
    return parsed


def _alembic_config():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS_DIR))
    return config


def _where(engine: Engine) -> str:
    """The journal's location for messages (no password)."""
    return engine.url.render_as_string(hide_password=True)


def _check_schema_owner(connection, engine: Engine, config) -> None:
    """Refuse a database that is not a regrow journal, or one written by a newer regrow; touch nothing."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    tables = set(inspect(connection).get_table_names())
    if not tables:
        return
    if "alembic_version" not in tables:
        listing = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise StorageError(
            f"{_where(engine)} is not a regrow journal (it holds other tables: {listing}); nothing was "
            "changed. Point --db or REGROW_DATABASE_URL at a regrow journal or a new file."
        )
    revision = MigrationContext.configure(connection).get_current_revision()
    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    if revision is not None and revision not in known:
        raise StorageError(
            f"This journal was written by a newer regrow (revision {revision}); upgrade regrow "
            "(pip install -U regrow) to open it. Nothing was changed."
        )


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the journal schema up to ``revision`` with the bundled Alembic migrations, all or nothing.

    Every pending migration runs in one transaction: on SQLite (which has transactional DDL) a failed
    migration leaves the file exactly as it was, ``alembic_version`` included.

    Parameters
    ----------
    engine : sqlalchemy.Engine
    revision : str
        Target revision, ``"head"`` by default.

    Raises
    ------
    StorageError
        The database cannot be reached, is not a regrow journal, was written by a newer regrow, or a
        migration failed (nothing is half-applied). The message never contains SQL.
    """
    from alembic import command

    config = _alembic_config()
    sqlite = engine.dialect.name == "sqlite"
    try:
        connection = engine.connect()
    except OperationalError as exc:
        raise StorageError(f"Cannot open the journal database {_where(engine)}: {_reason(exc)}") from exc
    try:
        with connection:
            raw = connection.connection.dbapi_connection if sqlite else None
            if raw is not None and revision == "head" and _sqlite_revision(raw) == _head(config):
                return  # nothing to do: no write lock taken, so opening never waits for a writer
            if raw is not None:
                # Batch migrations copy and drop tables; with foreign keys on, a DROP would fire ON DELETE
                # actions. The keys are checked before the commit instead (PRAGMA foreign_key_check).
                raw.execute("PRAGMA foreign_keys=OFF")
            try:
                with connection.begin():
                    _check_schema_owner(connection, engine, config)
                    config.attributes["connection"] = connection
                    command.upgrade(config, revision)
                    if raw is not None:
                        _check_foreign_keys(connection, engine)
            finally:
                if raw is not None:
                    raw.execute("PRAGMA foreign_keys=ON")
    except SQLAlchemyError as exc:
        if _is_busy(exc):
            raise StorageError(
                f"The journal {_where(engine)} is busy (another regrow program kept it locked for over "
                f"{BUSY_TIMEOUT_S:g} s); nothing was changed, try again."
            ) from exc
        raise StorageError(
            f"Migrating the journal database {_where(engine)} failed ({_reason(exc)}); nothing was changed."
        ) from exc


def _sqlite_revision(raw) -> str | None:
    """The revision stamped in a SQLite journal, read outside any transaction (WAL readers never wait)."""
    try:
        row = raw.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:  # no such table (new or foreign file): the migration path decides
        return None
    return None if row is None else row[0]


def _head(config) -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config).get_current_head()


def _check_foreign_keys(connection, engine: Engine) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise StorageError(
            f"Migrating {_where(engine)} would break {len(broken)} references (first in table "
            f"{broken[0][0]!r}); nothing was changed."
        )


def _reason(exc: SQLAlchemyError) -> str:
    """The database's own words for an error, without the SQL statement or its parameters."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc.__class__.__name__).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


def _is_busy(exc: SQLAlchemyError) -> bool:
    message = str(getattr(exc, "orig", "") or "").lower()
    return "database is locked" in message or "database is busy" in message or "lock timeout" in message


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at, or ``None`` for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return MigrationContext.configure(connection).get_current_revision()


def open_journal(url: str | None = None) -> Engine:
    """Open (creating and migrating as needed) the journal at ``url``.

    A new or upgraded SQLite journal is switched to write-ahead logging (readers never wait for a writer;
    the mode is stored in the file) only after its migrations succeeded.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL; ``$REGROW_DATABASE_URL`` or the SQLite default when omitted.

    Returns
    -------
    sqlalchemy.Engine
        An engine whose schema is at the newest migration.

    Raises
    ------
    StorageError
        See :func:`upgrade`.
    """
    engine = make_engine(url)
    try:
        upgrade(engine)
        if engine.dialect.name == "sqlite" and _sqlite_path(engine.url) is not None:
            with engine.connect() as connection:
                dbapi = connection.connection.dbapi_connection
                mode = dbapi.execute("PRAGMA journal_mode").fetchone()[0]
                if str(mode).lower() != "wal":
                    dbapi.execute("PRAGMA journal_mode=WAL")
    except BaseException:
        engine.dispose()
        raise
    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit when the block ends, roll back everything when it raises.

    Parameters
    ----------
    engine : sqlalchemy.Engine

    Yields
    ------
    sqlalchemy.orm.Session

    Raises
    ------
    StorageError
        The database failed; nothing from the block was written. Domain errors (``RegrowError``) raised
        inside the block propagate unchanged after the rollback.
    """
    from ._history import JournalSession

    factory = sessionmaker(bind=engine, class_=JournalSession, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except RegrowError:
        session.rollback()
        raise
    except SQLAlchemyError as exc:
        session.rollback()
        if _is_busy(exc):
            raise StorageError(
                f"The journal is busy: another regrow program kept it locked for over {BUSY_TIMEOUT_S:g} s. "
                "Nothing was written; try again when it has finished."
            ) from exc
        raise StorageError(
            f"The journal transaction failed and nothing was written ({_reason(exc)})."
        ) from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
