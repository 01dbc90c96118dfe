"""Engines, migrations and transactions: ``make_engine``, ``open_journal``, ``session_scope``.

No engine exists at import time; every caller builds one from a URL so tests and the CLI can switch
between SQLite and PostgreSQL per call.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from regrow.errors import InputError, RegrowError, StorageError

__all__ = [
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
    import platformdirs

    data_dir = Path(platformdirs.user_data_dir("regrow", appauthor=False))
    return f"sqlite:///{data_dir / 'journal.sqlite'}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # pragma: no cover - trivial
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str | None = None) -> Engine:
    """Build an engine for a journal URL (SQLite or PostgreSQL); nothing is created or migrated.

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
    url = url or default_database_url()
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
        return create_engine(parsed, pool_pre_ping=True)
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        try:
            engine = create_engine(parsed)
        except NoSuchModuleError as exc:  # pragma: no cover - sqlite is always there
            raise InputError.invalid("database URL", url, "a sqlite:/// or postgresql:// URL") from exc
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    raise InputError.invalid("database URL", url, "a sqlite:/// or postgresql+psycopg:// URL")


def _alembic_config():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS_DIR))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the journal schema up to ``revision`` with the bundled Alembic migrations.

    Parameters
    ----------
    engine : sqlalchemy.Engine
    revision : str
        Target revision, ``"head"`` by default.

    Raises
    ------
    StorageError
        The database cannot be reached or the migration failed (nothing is half-applied: each migration
        runs in a transaction).
    """
    from alembic import command

    config = _alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except OperationalError as exc:
        raise StorageError(f"Cannot open the journal database {engine.url!r}: {exc.orig}") from exc
    except SQLAlchemyError as exc:
        raise StorageError(f"Migrating the journal database failed: {exc}") from exc


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at, or ``None`` for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return MigrationContext.configure(connection).get_current_revision()


def open_journal(url: str | None = None) -> Engine:
    """Open (creating and migrating as needed) the journal at ``url``.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL; ``$REGROW_DATABASE_URL`` or the SQLite default when omitted.

    Returns
    -------
    sqlalchemy.Engine
        An engine whose schema is at the newest migration.
    """
    engine = make_engine(url)
    upgrade(engine)
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
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except RegrowError:
        session.rollback()
        raise
    except SQLAlchemyError as exc:
        session.rollback()
        raise StorageError(f"The journal transaction failed and nothing was written: {exc}") from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
