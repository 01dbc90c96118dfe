"""FHIR fixtures: a realistic journal person (the demo filler plus every kind of record and photos) on SQLite
and PostgreSQL, and the normalisations the round-trip tests compare with.

The database fixtures (``backend``, ``fresh_url``) are the shared ones of tests/conftest.py.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from PIL import Image

from regrow import journal as jr

#: The last day of the example history (fixed, so every run builds the same journal).
TODAY = dt.date(2026, 6, 30)


def png_bytes(seed: int, shape: tuple[int, int] = (48, 64)) -> bytes:
    """A small seeded noise image as PNG."""
    pixels = np.random.default_rng(seed).integers(0, 256, size=(*shape, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def fill_extras(engine: Any, store: jr.PhotoStore, person_id: int) -> None:
    """Every kind of record the demo does not make: photos with overlays, counts of all provenances, a
    flagged value, corrections, notes, acknowledgements, a plan edit, a retired device, all doses."""
    with store.writing(), jr.session_scope(engine) as s:
        jr.add_note(
            s,
            person_id=person_id,
            text="First visit.\nScalp calm; baseline photos taken.",
            written_at="2026-05-02T09:15",
        )
        plan = jr.get_active_plan(s, person_id=person_id)
        jr.edit_plan(s, person_id=person_id, fields={"photo_interval_weeks": 6}, effective_from="2026-06-01")
        session_row = jr.list_sessions(s, person_id=person_id)[-1]
        jr.add_acknowledgement(
            s,
            person_id=person_id,
            rule_id="device.age_limit",
            reason="New roller on order.",
            action="continue",
            session_id=session_row.id,
            plan_id=plan.id,
            finding_message="Roller older than 6 weeks.",
            acknowledged_at="2026-06-10T20:00",
        )
        for kind, strength, amount in (
            ("prp", None, "4 mL"),
            ("finasteride", "1 mg", None),
            ("other", None, None),
        ):
            jr.add_dose(
                s,
                person_id=person_id,
                kind=kind,
                taken_at="2026-06-12T09:00",
                strength=strength,
                amount=amount,
                notes=f"{kind} note",
            )
        jr.add_event(
            s,
            person_id=person_id,
            kind="pinpoint bleeding",
            severity="moderate",
            onset_at="2026-06-14T21:00",
            session_id=session_row.id,
        )
        for index, site in enumerate(("vertex", "crown")):
            data = png_bytes(index)
            name = store.put(data, ".png")
            store.put_derived(name[:64], "overlay", png_bytes(100 + index, (12, 16)))
            store.put_derived(name[:64], "sidecar", json.dumps({"hairs": 40 + index}).encode())
            photo = jr.add_photo(
                s,
                person_id=person_id,
                taken_at=f"2026-06-20T10:0{index}",
                site=site,
                file_name=name,
                sha256=name[:64],
                width=64,
                height=48,
                new_site=True,
            )
            m = jr.add_measurement(
                s,
                person_id=person_id,
                taken_at=f"2026-06-20T10:0{index}",
                site=site,
                area_cm2=0.44,
                hair_count=40 + index,
                diameter_um=61.5,
                terminal_count=30,
                vellus_count=10 + index,
                photo_id=photo.id,
                source="image",
                quality_flags=["low_contrast"] if index else [],
                um_per_px=8.0,
                camera="Test trichoscope",
                count_se=2.5,
                notes="Measured.",
                new_site=True,
            )
            m.manual_count = 44
            jr.add_correction(s, person_id=person_id, photo_id=photo.id, action="add", x_px=10.5, y_px=20.0)
        flagged = jr.add_measurement(
            s,
            person_id=person_id,
            taken_at="2026-06-21",
            site="vertex",
            area_cm2=1.0,
            hair_count=300,
            allow_duplicate=True,
        )
        flagged.review_status, flagged.review_reason = "flagged", "Far above the previous visit."


@pytest.fixture
def make_journal(fresh_url, tmp_path) -> Callable[..., tuple[Any, jr.PhotoStore, str]]:
    """A factory of fresh, migrated journals on this test's backend: (engine, photo store, URL)."""
    engines = []
    counter = iter(range(1000))

    def make() -> tuple[Any, jr.PhotoStore, str]:
        url = fresh_url()
        engine = jr.open_journal(url)
        engines.append(engine)
        return engine, jr.PhotoStore(tmp_path / f"photos-{next(counter)}"), url

    yield make
    for engine in engines:
        engine.dispose()


def _fill_source(engine: Any, store: jr.PhotoStore) -> int:
    from regrow.web._demo import fill_demo
    from regrow.web._service import JournalService

    service = JournalService(engine, photos_dir=store.root)
    fill_demo(service, months=2, today=TODAY, images=False, replicates=2, seed=7)
    with jr.session_scope(engine) as s:
        me = jr.get_or_create_default_person(s).id
        other = jr.create_person(s, display_name="Another patient")
        jr.add_note(
            s, person_id=other.id, text="Not exported with the example person.", written_at="2026-01-01"
        )
    fill_extras(engine, store, me)
    return me


@pytest.fixture
def source(make_journal) -> tuple[Any, jr.PhotoStore, int]:
    """A journal holding another person and the example person (demo history plus every record kind)."""
    engine, store, _ = make_journal()
    return engine, store, _fill_source(engine, store)


@pytest.fixture(scope="session")
def example(tmp_path_factory) -> tuple[Any, jr.PhotoStore, int, dict[str, Any]]:
    """The example journal on SQLite, built once: (engine, photo store, person id, its bundle). Read only:
    tests that change it use :func:`source`."""
    from regrow.fhir import export_bundle

    folder = tmp_path_factory.mktemp("example")
    engine = jr.open_journal(f"sqlite:///{folder / 'journal.sqlite'}")
    try:
        store = jr.PhotoStore(folder / "photos")
        me = _fill_source(engine, store)
        with jr.session_scope(engine) as s:
            bundle = export_bundle(s, store, me)
        yield engine, store, me, bundle
    finally:
        engine.dispose()


@pytest.fixture
def example_bundle(example) -> dict[str, Any]:
    """A copy of the example person's bundle (the bad-input tests edit it)."""
    return copy.deepcopy(example[3])


def normalise_bundle(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """The entries with every full URL and resource id replaced by the entry's position."""
    text = json.dumps(bundle["entry"])
    for index, entry in enumerate(bundle["entry"]):
        url = entry["fullUrl"]
        text = text.replace(url, f"entry-{index}").replace(url.removeprefix("urn:uuid:"), f"entry-{index}")
    return json.loads(text)


def normalise_snapshot(snapshot: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """A person's snapshot without row ids: each reference becomes the position of the row it names."""
    positions = {
        table: {row["id"]: index for index, row in enumerate(rows)}
        for table, rows in snapshot.items()
        if rows and "id" in rows[0]
    }
    out = {}
    for table, rows in snapshot.items():
        if table == "change":  # the undo history is not exported (docs/fhir.md)
            continue
        model = {m.__tablename__: m for m in jr.TABLES}[table]
        plain = []
        for row in rows:
            row = {k: v for k, v in row.items() if k not in ("id", "person_id")}
            for column in model.__table__.columns:
                for key in column.foreign_keys:
                    target = key.column.table.name
                    if target != "person" and row.get(column.key) is not None:
                        row[column.key] = positions[target][row[column.key]]
            plain.append(row)
        out[table] = plain
    return out
