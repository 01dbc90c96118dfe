"""A patient's whole record out and in (clinic mode): the consult report (PDF) and the FHIR R4 bundle.

``/record/...`` routes are served under ``/patients/<id>/`` (the clinic middleware checks access and writes
the audit entry, action ``export``); ``POST /clinic/import`` makes a new patient from a FHIR bundle.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from regrow import clinic as cl
from regrow import journal as jr
from regrow.errors import InputError, RegrowError

from ._clinic_pages import client_of, render_patients
from ._context import current_person
from ._security import verify_csrf

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _patient() -> int:
    person_id = current_person.get()
    if person_id is None:  # pragma: no cover - the middleware serves /record/ only under a patient
        raise InputError.invalid("patient", None, "a patient opened under /patients/<id>/")
    return person_id


def _attachment(name: str) -> dict[str, str]:
    return {"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"}


@router.get("/record/report.pdf")
async def report_pdf(request: Request) -> Response:
    """The consult report of this patient for a visit (``?visit=YYYY-MM-DD``; default: the latest)."""
    from regrow.report import consult_report_pdf

    service = request.app.state.service
    person_id = _patient()
    visit = request.query_params.get("visit") or None
    pdf = await run_in_threadpool(
        consult_report_pdf,
        service.engine,
        service.store,
        person_id,
        visit=visit,
        rules=request.app.state.settings.rules_file,
        evidence_file=service.evidence_file,
    )
    name = f"regrow-consult-patient-{person_id}{'-' + visit if visit else ''}.pdf"
    return Response(pdf, media_type="application/pdf", headers=_attachment(name))


@router.get("/record/fhir.json")
async def fhir_export(request: Request) -> Response:
    """This patient's record as a FHIR R4 Bundle (JSON), photos included unless ``?photos=no``."""
    from regrow.fhir import export_bundle

    service = request.app.state.service
    person_id = _patient()
    photos = request.query_params.get("photos", "yes") != "no"

    def work() -> dict[str, Any]:
        with jr.session_scope(service.engine) as session:
            return export_bundle(session, service.store, person_id, include_photos=photos)

    bundle = await run_in_threadpool(work)
    return JSONResponse(
        bundle,
        media_type="application/fhir+json",
        headers=_attachment(f"regrow-patient-{person_id}.fhir.json"),
    )


@router.post("/clinic/import")
async def fhir_import(request: Request) -> Response:
    """A FHIR bundle (form field ``file``) as a new patient of the clinic; opens the patient."""
    actor = request.state.actor
    form = await request.form(max_files=1)
    try:
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InputError.invalid(
                "file", None, "a FHIR bundle (.json) exported by regrow or another system"
            )
        data = await upload.read()
        file_name = upload.filename or ""
        allow_duplicate = form.get("allow_duplicate") in ("on", "true", "1")
    finally:
        await form.close()
    service = request.app.state.service

    def work() -> int:
        return cl.import_patient(
            service.engine,
            service.store,
            data,
            clinic_id=actor.clinic_id,
            allow_duplicate=allow_duplicate,
        ).person_id

    try:
        person_id = await run_in_threadpool(work)
    except RegrowError as exc:
        if "text/html" not in request.headers.get("accept", ""):
            raise
        return await render_patients(request, exc.http_status, import_error=str(exc))
    actor.audit(
        service.engine,
        action="import",
        what=f"POST /clinic/import: FHIR bundle {file_name}",
        status=303,
        person_id=person_id,
        client=client_of(request),
    )
    if "text/html" in request.headers.get("accept", ""):
        return RedirectResponse(f"/patients/{person_id}/", status_code=303)
    return JSONResponse({"patient_id": person_id, "url": f"/patients/{person_id}/"}, status_code=201)
