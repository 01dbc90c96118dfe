"""FHIR export validates resource by resource, and export -> import -> export loses nothing (SQLite and
PostgreSQL): the same bundle apart from ids, the same journal rows apart from row ids, the same photo bytes."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from conftest import normalise_bundle, normalise_snapshot
from regrow import journal as jr
from regrow.fhir import BASE_URL, CODE_SYSTEMS, FHIR_VERSION, export_bundle, import_bundle


def _export(engine, store, person_id, **kwargs):
    with jr.session_scope(engine) as s:
        return export_bundle(s, store, person_id, **kwargs)


def _snapshot(engine, person_id):
    with jr.session_scope(engine) as s:
        return jr.snapshot(s, person_id=person_id)


def test_every_exported_resource_validates_with_fhir_resources_r4b(example):
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.bundle import Bundle

    engine, store, me, _ = example
    bundle = _export(engine, store, me)
    kinds = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        kinds[resource["resourceType"]] = kinds.get(resource["resourceType"], 0) + 1
    Bundle.model_validate(bundle)
    assert bundle["type"] == "collection"
    assert bundle["meta"]["tag"] == [{"system": "http://hl7.org/fhir/FHIR-version", "code": FHIR_VERSION}]
    assert set(kinds) == {
        "Patient", "Condition", "Observation", "Device", "Procedure", "CarePlan", "MedicationStatement",
        "AdverseEvent", "Media", "Basic",
    }  # fmt: skip
    with jr.session_scope(engine) as s:
        assert kinds["MedicationStatement"] == len(jr.list_doses(s, person_id=me))
        assert kinds["Media"] == len(jr.list_photos(s, person_id=me)) == 2
        assert kinds["CarePlan"] == 2  # the plan and its edited version


def test_measurements_carry_ucum_quantities_and_regrow_codes(example):
    engine, store, me, _ = example
    bundle = _export(engine, store, me)
    observations = [
        e["resource"] for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation" and "component" in e["resource"]
    ]  # fmt: skip
    with jr.session_scope(engine) as s:
        rows = jr.list_measurements(s, person_id=me)
        by_time = {(r.taken_at, r.site, r.hair_count) for r in rows}
    assert len(observations) == len(rows)
    units = {}
    for obs in observations:
        for component in obs["component"]:
            coding = component["code"]["coding"][0]
            assert coding["system"] == f"{BASE_URL}/CodeSystem/measurement"
            assert coding["code"] in CODE_SYSTEMS["measurement"]
            quantity = component["valueQuantity"]
            assert quantity["system"] == "http://unitsofmeasure.org"
            units[coding["code"]] = quantity["code"]
    assert units["hair-density"] == "/cm2" and units["hair-diameter-mean"] == "um"
    assert units["hair-count"] == units["terminal-count"] == units["vellus-count"] == "{hairs}"
    assert units["area"] == "cm2"
    assert len(by_time) == len(rows)
    photo_obs = [o for o in observations if "derivedFrom" in o]
    assert len(photo_obs) == 2 and all(o["status"] == "final" for o in photo_obs)
    assert sum(o["status"] == "preliminary" for o in observations) == 1  # the flagged value


def test_sessions_are_procedures_with_device_and_needle_length(example):
    engine, store, me, _ = example
    bundle = _export(engine, store, me)
    urls = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    sessions = [
        r for r in urls.values()
        if r["resourceType"] == "Procedure" and r["code"]["coding"][0]["code"] == "micro-needling"
    ]  # fmt: skip
    with jr.session_scope(engine) as s:
        assert len(sessions) == len(jr.list_sessions(s, person_id=me)) > 3
    for procedure in sessions:
        device = urls[procedure["focalDevice"][0]["manipulated"]["reference"]]
        assert device["resourceType"] == "Device"
        assert device["property"][0]["valueQuantity"][0] == {
            "value": 0.5, "unit": "mm", "system": "http://unitsofmeasure.org", "code": "mm"
        }  # fmt: skip
        row = {e["url"]: e for e in procedure["extension"][0]["extension"]}
        assert row["needle_length_mm"]["valueQuantity"]["code"] == "mm"


def test_photos_carry_bytes_sha256_and_fhir_sha1_hash(example):
    engine, store, me, _ = example
    bundle = _export(engine, store, me)
    media = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Media"]
    for item in media:
        data = base64.b64decode(item["content"]["data"])
        sha = item["identifier"][0]["value"]
        assert hashlib.sha256(data).hexdigest() == sha
        assert store.path(f"{sha}.png").read_bytes() == data
        assert item["content"]["hash"] == base64.b64encode(hashlib.sha1(data).digest()).decode()
        assert item["content"]["contentType"] == "image/png" and item["content"]["size"] == len(data)
    without = _export(engine, store, me, include_photos=False)
    assert all(
        "data" not in e["resource"]["content"]
        for e in without["entry"]
        if e["resource"]["resourceType"] == "Media"
    )


def test_export_twice_gives_the_same_entries(example):
    engine, store, me, _ = example
    first, second = _export(engine, store, me), _export(engine, store, me)
    assert first["entry"] == second["entry"]
    assert first["identifier"] != second["identifier"]  # one identifier per export


def test_round_trip_loses_nothing(source, make_journal):
    engine, store, me = source
    bundle = _export(engine, store, me)
    target, target_store, _ = make_journal()
    with jr.session_scope(target) as s:
        default = jr.get_or_create_default_person(s).id
    summary = import_bundle(target, target_store, json.dumps(bundle).encode(), person_id=default)
    assert summary.person_id == default and not summary.created_person
    assert summary.photo_files_written == 2 and summary.photos_without_files == []
    # the journal rows are the same apart from row ids (and the undo history, which is not exported)
    original, restored = _snapshot(engine, me), _snapshot(target, default)
    assert len(original["measurement"]) > 10 and len(original["hair_correction"]) == 2
    assert normalise_snapshot(restored) == normalise_snapshot(original)
    # the bundle exported again is the same apart from ids and full URLs
    again = _export(target, target_store, default)
    assert normalise_bundle(again) == normalise_bundle(bundle)
    # the photo files and their derived files are byte-identical, stored under their hash
    for row in original["photo"]:
        for name in (row["file_name"], f"{row['sha256']}.overlay.png", f"{row['sha256']}.json"):
            assert (target_store.root / name).read_bytes() == (store.root / name).read_bytes()
    assert summary.rows["adjunct_dose"] == len(original["adjunct_dose"])


def test_import_creates_a_new_patient_beside_others(source, make_journal):
    engine, store, me = source
    bundle = _export(engine, store, me)
    target, target_store, _ = make_journal()
    with jr.session_scope(target) as s:
        first = jr.create_person(s, display_name="Existing patient").id
        jr.add_note(s, person_id=first, text="Mine.", written_at="2026-01-02")
    summary = import_bundle(target, target_store, bundle)
    assert summary.created_person and summary.person_id != first
    restored = normalise_snapshot(_snapshot(target, summary.person_id))
    original = normalise_snapshot(_snapshot(engine, me))
    assert restored["person"][0].pop("is_default") is False
    assert original["person"][0].pop("is_default") is True
    assert restored == original
    assert [n["text"] for n in _snapshot(target, first)["note"]] == ["Mine."]


def test_import_without_photo_bytes_keeps_the_values_and_leaves_the_photos_out(source, make_journal):
    engine, store, me = source
    bundle = _export(engine, store, me, include_photos=False)
    target, target_store, _ = make_journal()
    summary = import_bundle(target, target_store, bundle)
    assert len(summary.photos_without_files) == 2 and summary.rows["photo"] == 0
    restored = _snapshot(target, summary.person_id)
    assert restored["hair_correction"] == []
    assert len(restored["measurement"]) == len(_snapshot(engine, me)["measurement"])
    assert all(m["photo_id"] is None for m in restored["measurement"])


@pytest.mark.parametrize("microsecond", [0, 250000])
def test_times_keep_the_local_wall_clock_to_the_microsecond(make_journal, microsecond):
    import datetime as dt

    engine, store, _ = make_journal()
    written = dt.datetime(2026, 6, 20, 10, 0, 0, microsecond)
    with jr.session_scope(engine) as s:
        me = jr.get_or_create_default_person(s).id
        jr.add_note(s, person_id=me, text="x", written_at="2026-01-01").written_at = written
    target, target_store, _ = make_journal()
    summary = import_bundle(target, target_store, _export(engine, store, me))
    assert _snapshot(target, summary.person_id)["note"][0]["written_at"] == written.isoformat()


def test_code_systems_hold_exactly_the_journal_choices():
    assert set(CODE_SYSTEMS["diagnosis"]) == set(jr.DIAGNOSES)
    assert set(CODE_SYSTEMS["measurement-source"]) == set(jr.MEASUREMENT_SOURCES)
    assert set(CODE_SYSTEMS["device-kind"]) == set(jr.DEVICE_KINDS)
    assert set(CODE_SYSTEMS["dose-kind"]) == set(jr.DOSE_KINDS)
    assert set(CODE_SYSTEMS["endpoint"]) == set(jr.ENDPOINTS)
    assert set(CODE_SYSTEMS["screening"]) == set(jr.SCREENING_QUESTIONS)
    assert set(CODE_SYSTEMS["count-source"]) == set(jr.COUNT_PRECEDENCE)


def test_public_names_are_pinned():
    import regrow.fhir

    assert set(regrow.fhir.__all__) == {
        "BASE_URL", "CODE_SYSTEMS", "COMPONENT_CODES", "FHIR_VERSION", "MAX_BUNDLE_BYTES", "MAX_PHOTO_BYTES",
        "ImportSummary", "ROW_COLUMNS", "check_bundle", "code_system", "export_bundle", "import_bundle",
        "load_bundle", "patient_key", "validate_bundle",
    }  # fmt: skip
    assert all(hasattr(regrow.fhir, name) for name in regrow.fhir.__all__)
