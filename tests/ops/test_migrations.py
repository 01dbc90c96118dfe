"""Migrations tested from every earlier schema version: for each Alembic revision (walked from the scripts, so
a new revision is covered the day it lands), a database is created at that revision, every table gets rows
that fit its reflected columns and references, the database is upgraded to head, and every row is still
there with its values, changed only where a migration promises it (0002: ``photo.stored_path`` becomes
``file_name`` = ``<sha256><suffix>``; 0003: counts get their provenance; 0004: site names become canonical).
"""

from __future__ import annotations

import hashlib

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, and_, select

from regrow import journal as jr
from regrow.journal._engine import _alembic_config

REVISIONS = [
    s.revision for s in reversed(list(ScriptDirectory.from_config(_alembic_config()).walk_revisions()))
]
HEAD = REVISIONS[-1]

#: Raw site names and what 0004 makes of them (its synonym table).
SITES = {"Crown": "vertex", " Top  of head ": "vertex", "Left_Temple": "left temple"}
SITE_COLUMNS = {("measurement", "site"), ("photo", "site"), ("treatment_session", "area")}
#: Old photo paths' suffixes and the stored suffix 0002 gives them (unknown ones become .jpg).
OLD_SUFFIXES = {".JPEG": ".jpg", ".tiff": ".tif", ".weird": ".jpg"}


def _before(revision: str, migration: str) -> bool:
    """True when a database at ``revision`` still has ``migration`` to run."""
    return REVISIONS.index(revision) < REVISIONS.index(migration)


def _sha(i: int) -> str:
    return hashlib.sha256(bytes([i])).hexdigest()


def _override(table: str, column: str, i: int):
    if (table, column) in SITE_COLUMNS:
        return list(SITES)[i % 3]
    if table == "photo" and column == "sha256":
        return _sha(i)
    if table == "photo" and column == "stored_path":  # revision 0001: an absolute path
        return f"/home/someone/.local/share/regrow/photos/{_sha(i)}{list(OLD_SUFFIXES)[i % 3]}"
    if table == "photo" and column == "file_name":
        return f"{_sha(i)}.png"
    if table == "measurement" and column == "source":
        return ["manual", "image", "manual"][i % 3]
    return ...


def _expected(revision: str, table: str, row: dict) -> dict:
    """What each inserted row must read at head: its values, renamed or rewritten where a migration says."""
    expected = dict(row)
    if _before(revision, "0002") and table == "photo":
        stored = expected.pop("stored_path")
        suffix = stored[stored.rindex(".") :]
        expected["file_name"] = f"{row['sha256']}{OLD_SUFFIXES[suffix]}"
    if _before(revision, "0003") and table == "measurement":
        manual, image = row["source"] == "manual", row["source"] == "image"
        expected["count_source"] = "manual" if manual else "automatic"
        expected["manual_count"] = row["hair_count"] if manual else None
        expected["automatic_count"] = row["hair_count"] if image else None
        expected.update(dict.fromkeys(["corrected_count", "count_se", "review_status", "review_reason"]))
    if _before(revision, "0003") and table == "plan":
        expected.update(effective_from=None, supersedes_id=None)
    if _before(revision, "0004"):
        for t, column in SITE_COLUMNS:
            if t == table and expected.get(column) is not None:
                expected[column] = SITES[expected[column]]
    return expected


def test_the_walk_covers_every_revision_in_order():
    assert REVISIONS[:4] == ["0001", "0002", "0003", "0004"]
    assert ScriptDirectory.from_config(_alembic_config()).get_current_head() == HEAD


@pytest.mark.parametrize("revision", REVISIONS)
def test_rows_written_at_every_revision_survive_the_upgrade_to_head(revision, fresh_url, ops):
    engine = jr.make_engine(fresh_url())
    try:
        jr.upgrade(engine, revision)
        old = MetaData()
        old.reflect(bind=engine)
        rows = ops.build_rows(old, 3, _override)
        assert set(rows) == set(old.tables) - {"alembic_version"} and all(len(r) == 3 for r in rows.values())
        with engine.begin() as connection:
            ops.insert_rows(connection, old, rows)

        jr.upgrade(engine)

        assert jr.current_revision(engine) == HEAD
        head = MetaData()
        head.reflect(bind=engine)
        assert set(jr.Base.metadata.tables) <= set(head.tables)
        with engine.connect() as connection:
            for name, inserted in rows.items():
                table = head.tables[name]  # no table is lost
                key = [c.name for c in old.tables[name].primary_key.columns]
                for row in inserted:
                    found = (
                        connection.execute(select(table).where(and_(*(table.c[k] == row[k] for k in key))))
                        .mappings()
                        .one()
                    )
                    expected = _expected(revision, name, row)
                    assert {c: found[c] for c in expected} == expected, (name, row)
    finally:
        engine.dispose()
