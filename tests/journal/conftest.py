"""Journal fixtures: a fresh database per test on SQLite and (marked ``postgres``) on PostgreSQL.

PostgreSQL comes from ``REGROW_TEST_DATABASE_URL`` (``.ci/setup-postgres.sh`` starts one). Without it the
PostgreSQL cases are skipped, unless ``REGROW_REQUIRE_POSTGRES=1``, where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from regrow.journal import make_engine, open_journal, session_scope, snapshot

PG_ENV = "REGROW_TEST_DATABASE_URL"
REQUIRE_ENV = "REGROW_REQUIRE_POSTGRES"


def _postgres_admin_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {PG_ENV} is not set; run `source .ci/setup-postgres.sh`")
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (set by .ci/setup-postgres.sh)")
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request) -> str:
    """The database backend of this test run."""
    return request.param


@pytest.fixture
def fresh_url(backend, tmp_path) -> Iterator[Callable[[], str]]:
    """A factory of URLs of new, empty databases on this test's backend (dropped afterwards)."""
    created: list[str] = []
    counter = iter(range(1_000_000))
    admin = None
    if backend == "postgres":
        base = make_url(_postgres_admin_url())
        try:
            admin = create_engine(base.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # a configured but unreachable server is a failure, never a skip
            pytest.fail(f"PostgreSQL at {PG_ENV}={base!r} is not reachable: {exc}")

    def make() -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'journal-{next(counter)}.sqlite'}"
        name = f"regrow_t_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return base.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)

    try:
        yield make
    finally:
        if admin is not None:
            try:
                with admin.connect() as conn:
                    for name in created:
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            finally:
                admin.dispose()  # always: a pooled connection left to the GC is a ResourceWarning later


@pytest.fixture
def db_url(fresh_url) -> str:
    """URL of one fresh database."""
    return fresh_url()


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
