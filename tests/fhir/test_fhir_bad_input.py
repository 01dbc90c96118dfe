"""Bad bundles: each refused with one line naming the entry, the resource type and the field, and nothing
written (no row, no photo file)."""

from __future__ import annotations

import base64
import copy
import json

import pytest

from conftest import png_bytes
from regrow import journal as jr
from regrow.errors import DataFileError, DuplicateError, InputError, NotFoundError
from regrow.fhir import import_bundle


@pytest.fixture
def exported(example_bundle):
    return example_bundle


@pytest.fixture
def target(make_journal):
    engine, store, _ = make_journal()
    return engine, store


def _state(engine, store):
    with jr.session_scope(engine) as s:
        rows = jr.snapshot(s)
    files = sorted(p.name for p in store.root.iterdir()) if store.root.is_dir() else []
    return rows, [f for f in files if not f.startswith(".")]


def _refused(target, bundle, error=DataFileError, **kwargs):
    engine, store = target
    before = _state(engine, store)
    with pytest.raises(error) as info:
        import_bundle(engine, store, bundle, **kwargs)
    assert _state(engine, store) == before, "something was written"
    message = str(info.value)
    assert "\n" not in message
    return message


def _index(bundle, resource_type, predicate=lambda r: True):
    return next(
        i for i, e in enumerate(bundle["entry"])
        if e["resource"]["resourceType"] == resource_type and predicate(e["resource"])
    )  # fmt: skip


def _measurement(resource):
    return any(c["code"]["coding"][0]["code"] == "hair-density" for c in resource.get("component", []))


def test_not_json_and_not_a_bundle(target):
    assert "not JSON" in _refused(target, b"{this is not json")
    assert "a FHIR Bundle is expected" in _refused(target, {"resourceType": "Patient"})
    assert "not a JSON object" in _refused(target, b"[1, 2]")


def test_a_resource_fhir_resources_rejects_names_entry_type_and_field(target, exported):
    bundle = copy.deepcopy(exported)
    index = _index(bundle, "Observation", _measurement)
    bundle["entry"][index]["resource"]["effectiveDateTime"] = "last tuesday"
    message = _refused(target, bundle)
    assert message.startswith(f"entry {index} (Observation) effectiveDateTime: rejected by fhir.resources")
    bundle = copy.deepcopy(exported)
    index = _index(bundle, "Device")
    bundle["entry"][index]["resource"]["needleLength"] = 1.5
    assert f"entry {index} (Device) needleLength" in _refused(target, bundle)


def test_an_unknown_code_is_refused(target, exported):
    bundle = copy.deepcopy(exported)
    index = _index(bundle, "Observation", _measurement)
    bundle["entry"][index]["resource"]["component"][0]["code"]["coding"][0]["code"] = "hair-thickness"
    message = _refused(target, bundle)
    assert f"entry {index} (Observation) component[0].code: unknown code 'hair-thickness'" in message
    bundle = copy.deepcopy(exported)
    index = _index(bundle, "Device")
    bundle["entry"][index]["resource"]["type"]["coding"][0]["code"] = "laser"
    assert f"entry {index} (Device) type: unknown code 'laser'" in _refused(target, bundle)


def test_an_unknown_unit_is_refused(target, exported):
    bundle = copy.deepcopy(exported)
    index = _index(bundle, "Observation", _measurement)
    resource = bundle["entry"][index]["resource"]
    position = next(
        i for i, c in enumerate(resource["component"]) if c["code"]["coding"][0]["code"] == "hair-density"
    )
    resource["component"][position]["valueQuantity"]["code"] = "/mm2"
    message = _refused(target, bundle)
    assert f"entry {index} (Observation) component[{position}].valueQuantity: unknown unit" in message
    assert "'/cm2'" in message


def test_a_wrong_fhir_version_is_refused(target, exported):
    bundle = copy.deepcopy(exported)
    bundle["meta"]["tag"][0]["code"] = "5.0.0"
    assert "FHIR version '5.0.0'" in _refused(target, bundle)


def test_a_photo_whose_bytes_do_not_match_its_sha256_is_refused(target, exported):
    bundle = copy.deepcopy(exported)
    index = _index(bundle, "Media")
    bundle["entry"][index]["resource"]["content"]["data"] = base64.b64encode(png_bytes(99)).decode()
    message = _refused(target, bundle)
    assert message.startswith(f"entry {index} (Media) content.data: does not match the photo's SHA-256")
    bundle["entry"][index]["resource"]["content"]["data"] = "not base64!"
    assert f"entry {index} (Media) content.data" in _refused(target, bundle)


def test_an_oversize_bundle_is_refused(target, exported):
    data = json.dumps(exported).encode()
    message = _refused(target, data, max_bytes=len(data) - 1)
    assert f"at most {len(data) - 1} bytes" in message


def test_a_reference_to_no_entry_is_refused(target, exported):
    bundle = copy.deepcopy(exported)
    index = _index(bundle, "Procedure")
    bundle["entry"][index]["resource"]["focalDevice"][0]["manipulated"]["reference"] = "urn:uuid:nowhere"
    assert f"entry {index} (Procedure) focalDevice.manipulated: reference" in _refused(target, bundle)


def test_a_second_import_of_the_same_patient_is_a_duplicate(target, exported):
    engine, store = target
    first = import_bundle(engine, store, exported)
    message = _refused(target, exported, DuplicateError)
    assert f"already in the journal as patient {first.person_id}" in message
    assert "--allow-duplicate" in message
    again = import_bundle(engine, store, exported, allow_duplicate=True)
    assert again.person_id != first.person_id and again.created_person


def test_importing_into_a_patient_that_holds_records_is_refused(target, exported):
    engine, _ = target
    with jr.session_scope(engine) as s:
        busy = jr.create_person(s, display_name="Busy")
        jr.add_note(s, person_id=busy.id, text="Here already.", written_at="2026-01-01")
        busy_id = busy.id
    assert "an empty patient" in _refused(target, exported, InputError, person_id=busy_id)
    assert "No patient 999" in _refused(target, exported, NotFoundError, person_id=999)


def test_a_question_answered_twice_is_refused(target, exported):
    bundle = copy.deepcopy(exported)
    index = _index(bundle, "Observation", lambda r: "valueBoolean" in r)
    twin = copy.deepcopy(bundle["entry"][index])
    twin["fullUrl"] = "urn:uuid:00000000-0000-4000-8000-000000000001"
    bundle["entry"].append(twin)
    message = _refused(target, bundle)
    assert f"entry {len(bundle['entry']) - 1} (Observation) code: screening question" in message


def test_a_bundle_with_two_patients_is_refused(target, exported):
    bundle = copy.deepcopy(exported)
    twin = copy.deepcopy(bundle["entry"][0])
    twin["fullUrl"] = "urn:uuid:00000000-0000-4000-8000-000000000002"
    bundle["entry"].append(twin)
    assert "exactly one Patient" in _refused(target, bundle, InputError)


def test_a_modifier_extension_or_a_misplaced_journal_row_is_refused(target, exported):
    bundle = copy.deepcopy(exported)
    index = _index(bundle, "MedicationStatement")
    bundle["entry"][index]["resource"]["modifierExtension"] = [
        {"url": "https://example.org/not-taken", "valueBoolean": True}
    ]
    assert f"entry {index} (MedicationStatement) modifierExtension" in _refused(target, bundle)
    bundle = copy.deepcopy(exported)
    index = _index(bundle, "MedicationStatement")
    bundle["entry"][index]["resource"]["extension"][0]["extension"][0]["valueCode"] = "device"
    message = _refused(target, bundle)
    assert (
        f"entry {index} (MedicationStatement) extension[journal-row].table: 'device' does not belong"
        in message
    )


@pytest.mark.parametrize("resource_type", ["Transport", "NotAResource"])  # Transport exists in R5 only
def test_a_resource_type_r4b_does_not_have_is_refused(target, exported, resource_type):
    bundle = copy.deepcopy(exported)
    bundle["entry"].append({"fullUrl": "urn:uuid:x", "resource": {"resourceType": resource_type}})
    message = _refused(target, bundle)
    index = len(bundle["entry"]) - 1
    assert (
        f"entry {index} ({resource_type}) resourceType: '{resource_type}' is not a FHIR R4B resource"
        in message
    )


def test_check_bundle_counts_what_an_import_would_read(exported):
    from regrow.fhir import check_bundle

    result = check_bundle(json.dumps(exported))
    assert result["fhir_version"] == "4.3.0" and result["entries"] == len(exported["entry"])
    assert result["resources"]["Media"] == 2 and result["photos_without_bytes"] == 0
    for entry in exported["entry"]:
        entry["resource"].get("content", {}).pop("data", None)
    assert check_bundle(exported)["photos_without_bytes"] == 2
