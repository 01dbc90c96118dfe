"""Shared fixtures: the reference folders beside the checkout and seeded random generators."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO_ROOT = Path(__file__).resolve().parents[1]
#: ``../shared`` beside the checkout (CI clones the project with shared/ next to it).
SHARED_DIR = Path(os.environ.get("REGROW_SHARED_DIR", REPO_ROOT.parent / "shared"))

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _private_user_folders(tmp_path_factory, monkeypatch):
    """No test writes into the real user data folder: it and the photo folder default live in a temp dir.

    (A PostgreSQL journal's photo folder defaults to the user data folder, which a test must never touch.)
    """
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("REGROW_PHOTOS_DIR", str(home / "photos"))
    monkeypatch.delenv("REGROW_DATABASE_URL", raising=False)


@pytest.fixture
def shared_dir() -> Path:
    """The shared reference folder; fails loudly (never skips) when it is missing."""
    if not SHARED_DIR.is_dir():
        pytest.fail(f"../shared not found at {SHARED_DIR}; set REGROW_SHARED_DIR")
    return SHARED_DIR


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator so every random test is repeatable."""
    return np.random.default_rng(20261124)


# --- fresh databases on SQLite and (marked ``postgres``) PostgreSQL ---------------------------------------
# PostgreSQL comes from ``REGROW_TEST_DATABASE_URL`` (``.ci/setup-postgres.sh`` starts one). Without it the
# PostgreSQL cases are skipped, unless ``REGROW_REQUIRE_POSTGRES=1``, where they fail.

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
def postgres_urls() -> Iterator[Callable[[], str]]:
    """A factory of URLs of new, empty PostgreSQL databases (dropped afterwards)."""
    created: list[str] = []
    admin = None

    def make() -> str:
        nonlocal admin
        base = make_url(_postgres_admin_url()).set(drivername="postgresql+psycopg")
        if admin is None:
            try:
                admin = create_engine(base, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(text("SELECT 1"))
            except Exception as exc:  # a configured but unreachable server is a failure, never a skip
                pytest.fail(f"PostgreSQL at {PG_ENV}={base!r} is not reachable: {exc}")
        name = f"regrow_t_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return base.set(database=name).render_as_string(hide_password=False)

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
def fresh_url(backend, tmp_path, postgres_urls) -> Callable[[], str]:
    """A factory of URLs of new, empty databases on this test's backend (dropped afterwards)."""
    counter = iter(range(1_000_000))

    def make() -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'journal-{next(counter)}.sqlite'}"
        return postgres_urls()

    return make


@pytest.fixture
def db_url(fresh_url) -> str:
    """URL of one fresh database."""
    return fresh_url()


@pytest.fixture
def needs_weasyprint() -> None:
    """WeasyPrint with its Pango library (the consult report): a skip without it, a failure when
    ``REGROW_REQUIRE_PDF_TOOLS=1`` (``.ci/setup-pdf.sh`` installs Pango and sets it)."""
    from regrow.errors import MissingExtraError
    from regrow.report._render import import_weasyprint

    try:
        import_weasyprint()
    except MissingExtraError as exc:
        if os.environ.get("REGROW_REQUIRE_PDF_TOOLS") == "1":
            pytest.fail(f"REGROW_REQUIRE_PDF_TOOLS=1 but {exc}")
        pytest.skip(f"the consult report needs WeasyPrint and Pango: {exc} (run `source .ci/setup-pdf.sh`)")
