"""Operations fixtures: a generic row builder that fills every table of any schema revision (reflected, so new
tables are covered without naming them), and an independent dump of every row of every table for equality
checks. Fresh databases (``backend``, ``fresh_url``, ``postgres_urls``) come from tests/conftest.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Integer, MetaData, String, Text, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.schema import sort_tables_and_constraints

from regrow import journal as jr

PG_ENV = "REGROW_TEST_DATABASE_URL"
REQUIRE_ENV = "REGROW_REQUIRE_POSTGRES"
VERSION_TABLE = "alembic_version"


# --- a generic row builder --------------------------------------------------------------------------------

#: Float values whose decimal form is long or extreme: they must come back bit for bit.
FLOATS = (0.1, 1 / 3, -2.5e-300, 1.7976931348623157e308, 123456.78901234567)


def ordered_tables(metadata: MetaData) -> list:
    """The reflected tables, referenced ones first (the alembic version table left out)."""
    return [
        t
        for t, _ in sort_tables_and_constraints(list(metadata.tables.values()))
        if t is not None and t.name != VERSION_TABLE
    ]


def build_rows(
    metadata: MetaData, n: int = 3, override: Callable[[str, str, int], Any] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """``n`` rows for every table of ``metadata``, with values fitting each column's type and references.

    Row ``i`` of a table refers to row ``i`` of the referenced table (a self-reference to the row before);
    nullable columns are NULL in every third row; ``override(table, column, i)`` may return a value (any
    other return than ``...`` wins).
    """
    rows: dict[str, list[dict[str, Any]]] = {}
    for table in ordered_tables(metadata):
        out = []
        for i in range(n):
            row = {}
            for column in table.columns:
                value = override(table.name, column.name, i) if override else ...
                if value is ...:
                    value = _value(table, column, i, rows, n)
                row[column.name] = value
            out.append(row)
        rows[table.name] = out
    return rows


def _value(table, column, i: int, rows: dict[str, list[dict[str, Any]]], n: int) -> Any:
    if column.foreign_keys:
        target = next(iter(column.foreign_keys)).column
        if target.table.name == table.name:
            return None if i == 0 else _pk(table, column, i - 1)
        return rows[target.table.name][i][target.name]
    if column.primary_key and isinstance(column.type, Integer):
        return _pk(table, column, i)
    if column.nullable and i % 3 == 2:
        return None
    kind = column.type
    if isinstance(kind, JSON):
        return [{"a": [1, 2.5, "é\n"], "b": None, "c": True}, None, [0.1, {"x": []}]][i % 3]
    if isinstance(kind, Boolean):
        return i % 2 == 0
    if isinstance(kind, DateTime):
        return dt.datetime(2025, 3, 1 + i, 8, 30, 15, 123456 + i)
    if isinstance(kind, Date):
        return dt.date(2024, 2, 28 + i % 2)
    if isinstance(kind, Float):
        return FLOATS[i % len(FLOATS)]
    if isinstance(kind, Integer):
        return 7 + 13 * i
    if isinstance(kind, String | Text):
        text = f"{column.name[:6]}{i}é'\""
        length = getattr(kind, "length", None)
        return text[:length] if length else f"{table.name}.{column.name} #{i}\nline 2 ‘quoted’"
    raise AssertionError(f"no test value for {table.name}.{column.name} of type {kind!r}")


def _pk(table, column, i: int) -> int:
    """Explicit, non-contiguous ids (restores must keep them, and sequences must continue after them)."""
    return 10 * (i + 1) + len(table.name)


def insert_rows(connection, metadata: MetaData, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Insert ``rows`` (from :func:`build_rows`) in dependency order."""
    for table in ordered_tables(metadata):
        if rows.get(table.name):
            connection.execute(table.insert(), rows[table.name])


def photo_bytes(i: int) -> bytes:
    """Distinct small 'photo' contents (the store never decodes them)."""
    return hashlib.sha512(f"photo {i}".encode()).digest() * (50 + i)


# --- an independent dump ----------------------------------------------------------------------------------


def dump(url: str) -> dict[str, list[tuple]]:
    """Every row of every table as Python values, sorted; JSON columns as (is SQL NULL, value)."""
    from sqlalchemy import select

    engine = create_engine(
        make_url(url).set(drivername="postgresql+psycopg") if url.startswith("postgres") else url
    )
    try:
        metadata = MetaData()
        with engine.connect() as connection:
            metadata.reflect(bind=connection)
            out = {}
            for table in metadata.tables.values():  # the alembic version table too
                columns = sorted(table.columns, key=lambda c: c.name)
                result = connection.execute(
                    select(*columns, *[c.is_(None) for c in columns if isinstance(c.type, JSON)])
                ).all()
                out[table.name] = sorted((tuple(r) for r in result), key=repr)
            return out
    finally:
        engine.dispose()


# --- journals, backups and restores on URLs ------------------------------------------------------------


def files(store: jr.PhotoStore) -> dict[str, str]:
    """SHA-256 of every file in the photo folder and its trash (the lock file left out)."""
    root = Path(store.root)
    if not root.is_dir():
        return {}
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def backup(url: str, store: jr.PhotoStore, path: Path | str) -> jr.BackupSummary:
    """:func:`regrow.journal.backup_journal` on a URL (the engine disposed afterwards)."""
    engine = jr.make_engine(url)
    try:
        return jr.backup_journal(engine, store, path)
    finally:
        engine.dispose()


def restore(url: str, store: jr.PhotoStore, path: Path, **kwargs) -> jr.RestoreSummary:
    """:func:`regrow.journal.restore_journal` on a URL (the engine disposed afterwards)."""
    engine = jr.make_engine(url)
    try:
        return jr.restore_journal(engine, store, path, **kwargs)
    finally:
        engine.dispose()


def revision(url: str) -> str | None:
    engine = jr.make_engine(url)
    try:
        return jr.current_revision(engine)
    finally:
        engine.dispose()


def populate(url: str, store: jr.PhotoStore, *, n: int = 3) -> dict[str, str]:
    """A journal at head with ``n`` rows in every table; photo rows backed by files (the first with its
    overlay and sidecar), one photo deleted with its files in the trash and its deletion in the history."""
    engine = jr.open_journal(url)
    try:
        deleted = photo_bytes(99)
        with store.writing():
            names = [store.put(photo_bytes(i), ".jpg") for i in range(n)]
            store.put_derived(names[0][:64], "overlay", b"\x89PNG overlay")
            store.put_derived(names[0][:64], "sidecar", b'{"hairs": 3}')
            trashed = store.put(deleted, ".png")
            store.to_trash(trashed)
            store.path(trashed).unlink()

        def override(table: str, column: str, i: int):
            if table == "photo" and column == "file_name":
                return names[i]
            if table == "photo" and column == "sha256":
                return names[i][:64]
            if table == "change" and i == 0:
                old = {"id": 999, "file_name": trashed, "sha256": trashed[:64], "site": "vertex"}
                recent = dt.datetime.now().replace(microsecond=0)  # undo can still restore it (TRASH_DAYS)
                change = {"table_name": "photo", "action": "delete", "old": old, "new": None}
                return {**change, "at": recent, "undo_of": None}.get(column, ...)
            return ...

        metadata = MetaData()
        metadata.reflect(bind=engine)
        rows = build_rows(metadata, n, override)
        with engine.begin() as connection:
            insert_rows(connection, metadata, rows)
    finally:
        engine.dispose()
    return {"trashed": trashed}


@pytest.fixture
def ops():
    """The helpers above, for test modules (conftest modules are not imported by name)."""
    import types

    return types.SimpleNamespace(
        build_rows=build_rows,
        insert_rows=insert_rows,
        ordered_tables=ordered_tables,
        photo_bytes=photo_bytes,
        dump=dump,
        FLOATS=FLOATS,
        files=files,
        populate=populate,
        backup=backup,
        restore=restore,
        revision=revision,
    )
