"""Report fixtures: an example journal (``fill_demo``, measured synthetic photos) and thin journals, on
SQLite and (marked ``postgres``) PostgreSQL."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from report_pdf_tools import DEMO_NAME, DEMO_TODAY, PHOTO_SHIFT_PX

from regrow import journal as jr

PG_ENV = "REGROW_TEST_DATABASE_URL"


@pytest.fixture(autouse=True)
def _weasyprint(needs_weasyprint) -> None:
    """Every report test draws or reads a PDF: WeasyPrint and Pango are needed (see ``needs_weasyprint``)."""


@dataclass
class Journal:
    """A journal on disk: its URL, engine, photo store and patient."""

    url: str
    engine: Any
    store: Any
    person_id: int
    root: Path


def _demo(root: Path, **options: Any) -> Journal:
    from regrow.web._demo import fill_demo
    from regrow.web._service import JournalService

    url = f"sqlite:///{root / 'journal.sqlite'}"
    engine = jr.open_journal(url)
    service = JournalService(engine, photos_dir=root / "photos")
    fill_demo(service, today=DEMO_TODAY, seed=11, **options)
    with jr.session_scope(engine) as session:
        person = jr.get_or_create_default_person(session)
        person.display_name = DEMO_NAME
        person_id = person.id
    return Journal(url, engine, service.store, person_id, root)


@pytest.fixture(scope="module")
def demo_journal(tmp_path_factory) -> Iterator[Journal]:
    """The example journal of ``regrow serve --demo`` over 4 months with hand counts (two per site and
    visit; fast), its person named :data:`DEMO_NAME`. Shared by a module's tests, which only read it."""
    journal = _demo(tmp_path_factory.mktemp("demo"), months=4, images=False, replicates=2)
    yield journal
    journal.engine.dispose()


@pytest.fixture(scope="module")
def demo_photo_journal(tmp_path_factory) -> Iterator[Journal]:
    """The example journal with measured synthetic photos (as ``regrow serve --demo``), over 3 months."""
    journal = _demo(tmp_path_factory.mktemp("demo-photos"), months=3, images=True, replicates=1)
    yield journal
    journal.engine.dispose()


@pytest.fixture
def photo_journal(tmp_path) -> Iterator[Journal]:
    """Two photos of the vertex (the same synthetic scalp, the second taken 12 px lower and 20 px further
    right) and one of the frontal site; hand counts on the same days; no plan."""
    from PIL import Image

    from regrow.measure import synthesize

    big = synthesize(shape=(500, 680), um_per_px=8.0, unit_density_per_cm2=60.0, seed=5).image
    dy, dx = PHOTO_SHIFT_PX
    shots = [
        ("vertex", "2026-01-05", big[:480, :640]),
        ("vertex", "2026-03-02", big[dy : dy + 480, dx : dx + 640]),
        ("frontal", "2026-03-02", big[:480, 20:660]),
    ]
    engine = jr.open_journal(f"sqlite:///{tmp_path / 'photos.sqlite'}")
    store = jr.PhotoStore(tmp_path / "photos")
    with jr.session_scope(engine) as session, store.writing():
        person_id = jr.create_person(session, display_name="Kim Photo").id
        for site, day, rgb in shots:
            buf = io.BytesIO()
            Image.fromarray(rgb).save(buf, format="PNG")
            data = buf.getvalue()
            photo = jr.add_photo(
                session,
                person_id=person_id,
                taken_at=f"{day}T10:00",
                site=site,
                file_name=store.put(data, ".png"),
                sha256=hashlib.sha256(data).hexdigest(),
                width=640,
                height=480,
            )
            jr.add_measurement(
                session,
                person_id=person_id,
                taken_at=day,
                site=site,
                hair_count=30,
                area_cm2=0.2,
                photo_id=photo.id,
                um_per_px=8.0,
            )
    yield Journal("", engine, store, person_id, tmp_path)
    engine.dispose()


@pytest.fixture
def empty_url(db_url) -> str:
    """A fresh, empty journal URL: SQLite and, marked ``postgres``, PostgreSQL (``db_url`` of tests/conftest.py)."""
    return db_url


@pytest.fixture
def thin_journal(empty_url, tmp_path) -> Iterator[Journal]:
    """A patient with one hand count and nothing else: no profile, no plan, no sessions, no photos."""
    engine = jr.open_journal(empty_url)
    with jr.session_scope(engine) as session:
        person = jr.create_person(session, display_name="Robin Thin")
        jr.add_measurement(
            session, person_id=person.id, taken_at="2026-03-02", site="vertex", hair_count=61, area_cm2=0.5
        )
        person_id = person.id
    yield Journal(empty_url, engine, jr.PhotoStore(tmp_path / "photos"), person_id, tmp_path)
    engine.dispose()
