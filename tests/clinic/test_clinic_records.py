"""A patient's record out and in, in clinic mode: consult report and FHIR bundle (clinicians only, audited),
imports that join the clinic, refused imports that leave nothing, duplicates looked for in the clinic only."""

from __future__ import annotations

import json

from sqlalchemy import select

from regrow import clinic as cl
from regrow import journal as jr
from regrow.journal._models import AuditEvent, ClinicPatient, Person


def _last_event(engine) -> AuditEvent:
    with jr.session_scope(engine) as s:
        return s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()


def _people(engine) -> int:
    with jr.session_scope(engine) as s:
        return s.query(Person).count()


def _import(client, bundle: bytes, **extra):
    token = client.get("/api/csrf").json()["csrf_token"]
    return client.post(
        "/clinic/import",
        files={"file": ("bundle.json", bundle, "application/fhir+json")},
        data=extra,
        headers={"x-csrf-token": token, "accept": "application/json"},
    )


def test_clinician_exports_report_and_fhir_and_both_are_audited(clinic_world, needs_weasyprint):
    doc = clinic_world.client("clinician")
    p1 = clinic_world.ids["p1"]
    pdf = doc.get(f"/patients/{p1}/record/report.pdf")
    assert pdf.status_code == 200, pdf.text[:300]
    assert pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"
    event = _last_event(clinic_world.engine)
    assert (event.action, event.person_id, event.account_id) == ("export", p1, clinic_world.ids["clinician"])
    exported = doc.get(f"/patients/{p1}/record/fhir.json")
    assert exported.status_code == 200
    bundle = exported.json()
    assert bundle["resourceType"] == "Bundle"
    names = [
        e["resource"]["name"][0]["text"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Patient"
    ]
    assert names == ["Pat One"]
    notes = json.dumps(bundle)
    assert f"note of patient {p1}" in notes and f"note of patient {clinic_world.ids['p2']}" not in notes
    assert _last_event(clinic_world.engine).what == f"GET /patients/{p1}/record/fhir.json"
    for role in ("assistant", "patient"):
        assert clinic_world.client(role).get(f"/patients/{p1}/record/fhir.json").status_code == 403


def test_an_imported_bundle_becomes_a_patient_of_the_importing_clinic(clinic_world):
    doc_a, doc_b = clinic_world.client("clinician"), clinic_world.client("clinician_b")
    p1 = clinic_world.ids["p1"]
    bundle = doc_a.get(f"/patients/{p1}/record/fhir.json").content
    again = _import(doc_a, bundle)
    assert again.status_code == 409  # Pat One is this clinic's patient already
    assert "patient" in again.json()["error"]["message"]
    moved = _import(
        doc_b, bundle
    )  # clinic B has no such patient: no duplicate, and nothing of clinic A shown
    assert moved.status_code == 201, moved.text
    assert "Pat One" not in moved.text and str(p1) not in moved.json()["url"].replace(
        str(moved.json()["patient_id"]), ""
    )
    new_id = moved.json()["patient_id"]
    with jr.session_scope(clinic_world.engine) as s:
        assert s.get(ClinicPatient, new_id).clinic_id == clinic_world.ids["clinic_b"]
        assert s.get(Person, new_id).display_name == "Pat One"
        assert len(jr.list_notes(s, person_id=new_id)) == 1
    assert _last_event(clinic_world.engine).action == "import"
    assert doc_b.get(f"/patients/{new_id}/api/notes").status_code == 200
    assert doc_a.get(f"/patients/{new_id}/api/notes").status_code == 404


def test_a_refused_import_leaves_no_patient(clinic_world):
    doc = clinic_world.client("clinician")
    before = _people(clinic_world.engine)
    for bad in (b"not json", b'{"resourceType": "Patient"}', json.dumps({"resourceType": "Bundle"}).encode()):
        response = _import(doc, bad)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["message"]
    assert _people(clinic_world.engine) == before
    with jr.session_scope(clinic_world.engine) as s:
        names = [p["name"] for p in cl.list_patients(s, clinic_id=clinic_world.ids["clinic_a"])]
    assert "(importing)" not in names


def test_cli_import_into_a_clinic_database_joins_the_clinic(clinic_world, tmp_path, capsys):
    from regrow.cli import main

    doc = clinic_world.client("clinician")
    bundle = doc.get(f"/patients/{clinic_world.ids['p2']}/record/fhir.json?photos=no").content
    target = tmp_path / "p2.json"
    target.write_bytes(bundle)
    code = main(
        [
            "fhir",
            "import",
            str(target),
            "--db",
            clinic_world.url,
            "--clinic",
            str(clinic_world.ids["clinic_b"]),
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    new_id = json.loads(out)["person_id"]
    with jr.session_scope(clinic_world.engine) as s:
        assert s.get(ClinicPatient, new_id).clinic_id == clinic_world.ids["clinic_b"]
    event = _last_event(clinic_world.engine)
    assert (event.action, event.person_id) == ("import", new_id) and event.actor.startswith("cli:")
    code = main(["fhir", "import", str(target), "--db", clinic_world.url, "--json"])
    assert code == 2 and "--clinic" in capsys.readouterr().err  # two clinics: which one is asked
