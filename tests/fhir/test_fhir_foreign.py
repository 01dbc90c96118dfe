"""Bundles regrow did not write (a minimal hand-made one), a failure half-way through the insert, and
export errors."""

from __future__ import annotations

import base64
import hashlib

import pytest

from conftest import png_bytes
from regrow import journal as jr
from regrow.errors import DataFileError, NotFoundError, StorageError
from regrow.fhir import export_bundle, import_bundle

UCUM = "http://unitsofmeasure.org"
CS = "https://regrow.invalid/fhir/CodeSystem"


def _minimal_bundle() -> dict:
    """What another system could send: natural elements only, no regrow extensions, no hash identifier."""
    photo = png_bytes(5)
    patient = {"reference": "urn:uuid:p"}
    entries = [
        ("urn:uuid:p", {"resourceType": "Patient", "name": [{"given": ["Ada"], "family": "Lovelace"}],
                        "gender": "female", "birthDate": "1980-04-02"}),
        ("urn:uuid:d", {"resourceType": "Device", "deviceName": [{"name": "Pen A", "type": "user-friendly-name"}],
                        "type": {"coding": [{"system": f"{CS}/device-kind", "code": "pen"}]},
                        "property": [{"type": {"coding": [{"system": f"{CS}/device-property", "code": "needle-length"}]},
                                      "valueQuantity": [{"value": 1.0, "system": UCUM, "code": "mm"}]}]}),
        ("urn:uuid:s", {"resourceType": "Procedure", "status": "completed", "subject": patient,
                        "code": {"coding": [{"system": f"{CS}/resource-kind", "code": "micro-needling"}]},
                        "performedDateTime": "2026-03-01T18:00:00Z",
                        "focalDevice": [{"manipulated": {"reference": "urn:uuid:d"}}]}),
        ("urn:uuid:m", {"resourceType": "Media", "status": "completed", "subject": patient, "width": 64,
                        "height": 48, "createdDateTime": "2026-03-01T18:30:00+00:00", "bodySite": {"text": "vertex"},
                        "content": {"contentType": "image/png", "data": base64.b64encode(photo).decode()}}),
        ("urn:uuid:o", {"resourceType": "Observation", "status": "final", "subject": patient,
                        "code": {"coding": [{"system": f"{CS}/resource-kind", "code": "trichoscopy"}]},
                        "effectiveDateTime": "2026-03-01T18:30:00+00:00", "bodySite": {"text": "vertex"},
                        "derivedFrom": [{"reference": "urn:uuid:m"}],
                        "component": [
                            {"code": {"coding": [{"system": f"{CS}/measurement", "code": "hair-count"}]},
                             "valueQuantity": {"value": 80, "system": UCUM, "code": "{hairs}"}},
                            {"code": {"coding": [{"system": f"{CS}/measurement", "code": "area"}]},
                             "valueQuantity": {"value": 0.5, "system": UCUM, "code": "cm2"}},
                        ]}),
        ("urn:uuid:x", {"resourceType": "MedicationStatement", "status": "completed", "subject": patient,
                        "medicationCodeableConcept": {"coding": [{"system": f"{CS}/dose-kind", "code": "minoxidil"}]},
                        "effectiveDateTime": "2026-03-01T08:00:00+00:00"}),
    ]  # fmt: skip
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": u, "resource": r} for u, r in entries],
    }


def test_a_minimal_bundle_from_elsewhere_imports(make_journal):
    engine, store, _ = make_journal()
    summary = import_bundle(engine, store, _minimal_bundle())
    with jr.session_scope(engine) as s:
        rows = jr.snapshot(s, person_id=summary.person_id)
    assert rows["person"][0]["display_name"] == "Ada Lovelace"
    assert (rows["profile"][0]["sex"], rows["profile"][0]["birth_year"]) == ("female", 1980)
    assert rows["device"][0]["kind"] == "pen" and rows["device"][0]["needle_length_mm"] == 1.0
    session = rows["treatment_session"][0]
    assert (
        session["device_id"] == rows["device"][0]["id"] and session["needle_length_mm"] == 1.0
    )  # the device's
    photo = rows["photo"][0]
    assert photo["sha256"] == hashlib.sha256(png_bytes(5)).hexdigest()
    assert store.path(photo["file_name"]).read_bytes() == png_bytes(5)
    measurement = rows["measurement"][0]
    assert (measurement["hair_count"], measurement["area_cm2"], measurement["source"]) == (80, 0.5, "image")
    assert measurement["photo_id"] == photo["id"] and measurement["replicate"] == 0
    assert rows["adjunct_dose"][0]["kind"] == "minoxidil"


def test_text_with_a_right_to_left_override_is_refused(make_journal):
    engine, store, _ = make_journal()
    bundle = _minimal_bundle()
    bundle["entry"][1]["resource"]["deviceName"][0]["name"] = "Pen \u202egnp.exe"
    with pytest.raises(DataFileError, match=r"entry 1 \(Device\) name: holds the character U\+202E"):
        import_bundle(engine, store, bundle)
    with jr.session_scope(engine) as s:
        assert jr.snapshot(s)["person"] == []


def test_a_failure_half_way_through_the_insert_writes_no_row(make_journal, example_bundle, monkeypatch):
    import regrow.fhir._import as importer

    engine, store, _ = make_journal()
    real = importer._insert

    def failing(session, model, rows, person_id, new_ids):
        if model.__tablename__ == "measurement":  # after persons, devices, plans, sessions, doses, photos
            raise StorageError("simulated failure while writing measurements")
        real(session, model, rows, person_id, new_ids)

    monkeypatch.setattr(importer, "_insert", failing)
    with pytest.raises(StorageError, match="simulated"):
        import_bundle(engine, store, example_bundle)
    with jr.session_scope(engine) as s:
        assert all(rows == [] for rows in jr.snapshot(s).values())
    monkeypatch.setattr(importer, "_insert", real)
    assert import_bundle(engine, store, example_bundle).rows["measurement"] > 10


def test_export_names_a_missing_patient_and_a_missing_photo_file(source):
    engine, store, me = source
    with jr.session_scope(engine) as s:
        with pytest.raises(NotFoundError, match="No patient 999"):
            export_bundle(s, store, 999)
        name = jr.list_photos(s, person_id=me)[0].file_name
    store.path(name).unlink()
    with jr.session_scope(engine) as s:
        with pytest.raises(StorageError, match="missing from the photo folder"):
            export_bundle(s, store, me)
        assert len(export_bundle(s, store, me, include_photos=False)["entry"]) > 100


@pytest.fixture
def time_zone(monkeypatch):
    """Switch the process's local time zone (restored afterwards)."""
    import time

    def switch(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield switch
    monkeypatch.undo()
    time.tzset()


def test_another_time_zone_keeps_the_instants_and_the_patient_key(make_journal, time_zone):
    import datetime as dt

    from regrow.errors import DuplicateError

    time_zone("Europe/Berlin")
    engine, store, _ = make_journal()
    with jr.session_scope(engine) as s:
        me = jr.create_person(s, display_name="Travelling patient")
        me.created_at = dt.datetime(2026, 5, 1, 9, 30)
        jr.add_note(s, person_id=me.id, text="Seen in Berlin.", written_at="2026-05-01T10:00")
        me_id = me.id
    with jr.session_scope(engine) as s:
        bundle = export_bundle(s, store, me_id)
    time_zone("America/New_York")
    target, target_store, _ = make_journal()
    summary = import_bundle(target, target_store, bundle)
    with jr.session_scope(target) as s:
        rows = jr.snapshot(s, person_id=summary.person_id)
    assert rows["note"][0]["written_at"] == "2026-05-01T04:00:00"  # 10:00 CEST is 04:00 EDT
    assert rows["person"][0]["created_at"] == "2026-05-01T03:30:00"
    with pytest.raises(DuplicateError, match=f"as patient {summary.person_id}"):
        import_bundle(target, target_store, bundle)
