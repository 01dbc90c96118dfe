"""Storage: migrations match the models, measurements API, transactions, export/import, deletion."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from regrow import journal as jr
from regrow.errors import DataFileError, InputError, NotFoundError
from regrow.journal._engine import _alembic_config


def _fill(engine) -> int:
    """One row or more in every table, with awkward values (unicode, JSON, nulls)."""
    with jr.session_scope(engine) as s:
        me = jr.get_or_create_default_person(s)
        pid = me.id
        jr.set_profile(
            s,
            person_id=pid,
            sex="male",
            birth_year=1988,
            diagnosis="AGA",
            grade_scale="norwood_hamilton",
            grade="III-vertex",
            fitzpatrick_skin_type=3,
            medications=["finasteride 1 mg"],
            diagnosis_confirmed_by_clinician=True,
        )
        jr.set_screening(s, person_id=pid, answers={"pregnancy": False, "isotretinoin": True})
        dev = jr.add_device(
            s,
            person_id=pid,
            name="Dermaroller MF8 – 1.5",
            kind="roller",
            needle_length_mm=1.5,
            needle_count=192,
            first_use="2025-01-06",
        )
        jr.record_disinfection(
            s,
            person_id=pid,
            device_id=dev.id,
            disinfected_at="2025-01-06T19:00",
            method="70% isopropyl alcohol",
        )
        plan = jr.add_plan(
            s,
            person_id=pid,
            name="weekly",
            start_date="2025-01-06",
            length_weeks=24,
            device_id=dev.id,
            needle_length_mm=1.5,
            loading_interval_days=7,
            loading_sessions=4,
            maintenance_interval_days=14,
            minoxidil=True,
            minoxidil_strength_pct=5.0,
            minoxidil_times=["08:00", "20:00"],
            minoxidil_hold_hours=24.0,
            prp_sessions=0,
            prp_interval_days=28,
            photo_interval_weeks=4,
            first_evaluation_week=12,
            decision_week=24,
        )
        sess = jr.add_session(
            s,
            person_id=pid,
            device_id=dev.id,
            performed_at="2025-01-06T20:00",
            plan_id=plan.id,
            passes=4,
            area="vertex",
            area_cm2=25.5,
            endpoint="erythema",
            pain_0_10=3,
            applied_during=["sterile saline"],
            applied_after=[],
            acknowledgements=[{"rule_id": "x.test", "reason": "because", "message": "m"}],
        )
        jr.add_dose(s, person_id=pid, kind="minoxidil", taken_at="2025-01-07T20:30", strength="5%")
        jr.add_event(
            s,
            person_id=pid,
            kind="erythema",
            severity="mild",
            onset_at="2025-01-06T20:30",
            resolved_at="2025-01-07T08:00",
            session_id=sess.id,
        )
        jr.add_note(s, person_id=pid, text='Ünïcode note, with "quotes", commas\nand a newline')
        photo = jr.add_photo(
            s,
            person_id=pid,
            taken_at="2025-01-06T09:00",
            site="vertex",
            file_name=f"{'ab' * 32}.png",
            sha256="ab" * 32,
            width=640,
            height=480,
        )
        jr.add_measurement(
            s,
            person_id=pid,
            taken_at="2025-01-06T09:00",
            site="vertex",
            hair_count=152,
            area_cm2=0.903,
            photo_id=photo.id,
            source="image",
            quality_flags={"blur": 0.1},
            um_per_px=4.25,
            camera="scope",
            replicate=1,
            diameter_um=61.5,
        )
        s.add(
            jr.HairCorrection(
                person_id=pid,
                photo_id=photo.id,
                action="add",
                x_px=12.5,
                y_px=40.0,
                created_at=dt.datetime(2025, 1, 7),
            )
        )
        jr.add_measurement(
            s,
            person_id=pid,
            taken_at=dt.date(2025, 2, 3),
            site="vertex",
            area_cm2=1.0,
            density_per_cm2=150.25,
        )
    return pid


def test_migrations_match_models(raw_engine):
    assert jr.current_revision(raw_engine) is None
    jr.upgrade(raw_engine)
    jr.upgrade(raw_engine)  # idempotent
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert jr.current_revision(raw_engine) == head
    with raw_engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), jr.Base.metadata)
        tables = set(inspect(conn).get_table_names())
    assert diffs == []
    assert {m.__tablename__ for m in jr.TABLES} <= tables


def test_measurement_api(engine):
    with jr.session_scope(engine) as s:
        me = jr.get_or_create_default_person(s)
        assert jr.get_or_create_default_person(s).id == me.id
        jr.add_measurement(
            s,
            person_id=me.id,
            taken_at="2025-03-01T10:00",
            site="vertex",
            hair_count=45,
            area_cm2=0.25,
            replicate=1,
        )
        jr.add_measurement(
            s,
            person_id=me.id,
            taken_at="2025-03-01T10:00",
            site="vertex",
            allow_duplicate=True,
            hair_count=44,
            area_cm2=0.25,
            replicate=0,
        )
        jr.add_measurement(
            s, person_id=me.id, taken_at="2025-02-01", site="frontal", area_cm2=1.0, density_per_cm2=120.0
        )
    with jr.session_scope(engine) as s:
        rows = jr.list_measurements(s, person_id=me.id)
        vertex = jr.list_measurements(s, person_id=me.id, site="vertex")
    assert [(r.site, r.replicate) for r in rows] == [("frontal", 0), ("vertex", 0), ("vertex", 1)]
    assert [r.density_per_cm2 for r in vertex] == [44 / 0.25, 45 / 0.25]  # 176, 180 hairs/cm²
    assert rows[0].hair_count is None and rows[0].quality_flags == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("area_cm2", 0),
        ("hair_count", -1),
        ("taken_at", "01/03/2025"),
        ("source", "guess"),
        ("um_per_px", 0.0),
        ("replicate", 1.5),
    ],
)
def test_measurement_rejects_bad_values_and_writes_nothing(engine, field, value):
    pid = _fill(engine)
    with jr.session_scope(engine) as s:
        before = jr.snapshot(s)
    kwargs = {"taken_at": "2025-03-01", "site": "vertex", "area_cm2": 1.0, "hair_count": 10, field: value}

    def write_note_then_bad_measurement():
        with jr.session_scope(engine) as s:
            jr.add_note(s, person_id=pid, text="written before the failure in the same transaction")
            jr.add_measurement(s, person_id=pid, **kwargs)

    with pytest.raises(InputError, match=field):
        write_note_then_bad_measurement()
    with jr.session_scope(engine) as s:
        assert jr.snapshot(s) == before


def test_unknown_photo_and_device_are_not_found(engine):
    with jr.session_scope(engine) as s:
        me = jr.get_or_create_default_person(s)
        with pytest.raises(NotFoundError, match="photo_id"):
            jr.add_measurement(s, person_id=me.id, taken_at="2025-03-01", site="v", area_cm2=1, photo_id=99)
        with pytest.raises(NotFoundError, match="device"):
            jr.get_device(s, person_id=me.id, device_id=7)


def test_first_dose_is_the_earliest_of_that_kind_for_that_person(engine):
    with jr.session_scope(engine) as s:
        me = jr.get_or_create_default_person(s).id
        other = jr.create_person(s, display_name="someone else").id
        assert jr.first_dose(s, person_id=me, kind="minoxidil") is None
        jr.add_dose(s, person_id=me, kind="minoxidil", taken_at="2025-03-02T08:00", strength="5%")
        jr.add_dose(s, person_id=me, kind="finasteride", taken_at="2025-02-01T08:00")
        jr.add_dose(s, person_id=other, kind="minoxidil", taken_at="2025-01-01T08:00")
        jr.add_dose(s, person_id=me, kind="minoxidil", taken_at="2025-03-01T20:00", strength="2%")
        jr.add_dose(
            s,
            person_id=me,
            kind="minoxidil",
            taken_at="2025-03-01T20:00",
            strength="3%",  # stored second at the same time
            allow_duplicate=True,
        )
        first = jr.first_dose(s, person_id=me, kind="minoxidil")
        # Written by hand: my earliest minoxidil is 2025-03-01 20:00, and of two at that time the first stored.
        assert (first.taken_at, first.strength) == (dt.datetime(2025, 3, 1, 20, 0), "2%")
        assert jr.first_dose(s, person_id=me, kind="finasteride").taken_at == dt.datetime(2025, 2, 1, 8, 0)
        assert jr.first_dose(s, person_id=other, kind="minoxidil").taken_at == dt.datetime(2025, 1, 1, 8, 0)
        assert jr.first_dose(s, person_id=me, kind="prp") is None


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_import_round_trip_is_exact(engine, fresh_url, tmp_path, fmt):
    _fill(engine)
    with jr.session_scope(engine) as s:
        original = jr.snapshot(s)
        target = (
            jr.export_json(s, tmp_path / "x.json")
            if fmt == "json"
            else jr.export_csv(s, tmp_path / "csv")[-1]
        )
    restored_engine = jr.open_journal(fresh_url())
    try:
        with jr.session_scope(restored_engine) as s:
            counts = jr.import_data(s, jr.read_export(target))
        with jr.session_scope(restored_engine) as s:
            assert jr.snapshot(s) == original
            # ids continue after the imported ones (PostgreSQL sequences were moved on)
            assert jr.add_note(s, person_id=1, text="after").id == original["note"][-1]["id"] + 1
        assert counts["measurement"] == 2 and all(counts[m.__tablename__] >= 1 for m in jr.TABLES)
        # importing again into a journal that has data is refused and changes nothing
        with jr.session_scope(restored_engine) as s:
            before = jr.snapshot(s)
        with pytest.raises(InputError, match="import target"), jr.session_scope(restored_engine) as s:
            jr.import_data(s, jr.read_export(target))
        with jr.session_scope(restored_engine) as s:
            assert jr.snapshot(s) == before
            jr.import_data(s, jr.read_export(target), replace=True)
        with jr.session_scope(restored_engine) as s:
            assert jr.snapshot(s) == original
    finally:
        restored_engine.dispose()


def test_read_export_rejects_foreign_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(DataFileError, match="format"):
        jr.read_export(bad)
    bad.write_text("{not json")
    with pytest.raises(DataFileError, match="not a JSON"):
        jr.read_export(bad)


def test_delete_person_data_removes_everything_and_only_theirs(engine):
    pid = _fill(engine)
    with jr.session_scope(engine) as s:
        other = jr.create_person(s, display_name="someone else")
        jr.add_note(s, person_id=other.id, text="keep me")
    with jr.session_scope(engine) as s:
        result = jr.delete_person_data(s, person_id=pid)
    assert result["deleted"]["photo"] == 1 and result["deleted"]["person"] == 1
    with jr.session_scope(engine) as s:
        assert all(rows == [] for rows in jr.snapshot(s, person_id=pid).values())
        left = jr.snapshot(s)
    assert [r["text"] for r in left["note"]] == ["keep me"]
    assert sum(len(v) for v in left.values()) == 3  # the other person, their note and its history row
    assert [c["table_name"] for c in left["change"]] == ["note"]


def test_session_scope_rolls_back_on_error(engine):
    def fail_after_write():
        with jr.session_scope(engine) as s:
            jr.get_or_create_default_person(s)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_after_write()
    with jr.session_scope(engine) as s:
        assert jr.snapshot(s)["person"] == []


def test_make_engine_rejects_unknown_backend():
    with pytest.raises(InputError, match="database URL"):
        jr.make_engine("mysql://x@y/z")
