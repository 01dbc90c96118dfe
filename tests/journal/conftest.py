"""Journal fixtures: engines on the fresh databases of ``tests/conftest.py`` (``backend``, ``fresh_url``,
``db_url``: SQLite and, marked ``postgres``, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from regrow.journal import make_engine, open_journal, session_scope, snapshot


@pytest.fixture
def engine(db_url):
    """An engine on a fresh, migrated journal."""
    eng = open_journal(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def raw_engine(db_url):
    """An engine on a fresh, unmigrated database."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def _snapshot_at(url: str) -> dict:
    engine = open_journal(url)
    try:
        with session_scope(engine) as session:
            return snapshot(session)
    finally:
        engine.dispose()


@pytest.fixture
def snapshot_at() -> Callable[[str], dict]:
    """Everything in the journal at a URL, as :func:`regrow.journal.snapshot` (opened and closed per call)."""
    return _snapshot_at
