"""The JSON API: one endpoint per page's data and per action, described by the app's OpenAPI document."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from regrow import journal as jr
from regrow.errors import DuplicateError, InputError, RegrowError, UnsupportedTypeError

from ._app import error_body
from ._edit_service import confirm_key, duplicate_label
from ._forms import api_model
from ._security import csrf_token, verify_csrf
from ._service import JournalService

__all__ = ["ERROR_RESPONSES", "read_upload", "router", "store_photos"]


_ERROR_SCHEMA = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "error": {
                        "type": "object",
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                            "field": {"type": "string"},
                            "allowed": {"type": "string"},
                        },
                        "required": ["code", "message"],
                    }
                },
            }
        }
    }
}
#: Documented error statuses (every one has the same body shape).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    s: {"description": d, **_ERROR_SCHEMA}
    for s, d in (
        (403, "CSRF token missing or wrong, or a request from another site"),
        (404, "Not found"),
        (
            409,
            "Blocked by a stop safety finding (repeat with acknowledge {rule_id: reason}), or a likely "
            'duplicate (code "duplicate"; repeat with "allow_duplicate": true)',
        ),
        (413, "Request body too large"),
        (415, "Unsupported upload type"),
        (422, "Invalid input (names the field and what is allowed)"),
    )
}

router = APIRouter(prefix="/api", dependencies=[Depends(verify_csrf)], responses=ERROR_RESPONSES)

ProfileIn = api_model("profile")
ScreeningIn = api_model("screening")
DeviceIn = api_model("device")
DisinfectIn = api_model("disinfect")
RetireIn = api_model("retire")
PlanIn = api_model("plan")
SessionIn = api_model("session")
DoseIn = api_model("dose")
EventIn = api_model("event")
ResolveIn = api_model("resolve")
NoteIn = api_model("note")
MeasurementIn = api_model("measurement")


def _svc(request: Request) -> JournalService:
    return request.app.state.service


def _split(body: Any) -> tuple[dict[str, Any], dict[str, str]]:
    values = body.model_dump()
    acks = values.pop("acknowledge", None) or {}
    return values, acks


def _created(body: Any) -> JSONResponse:
    return JSONResponse(body, status_code=201)


# --- session basics --------------------------------------------------------------------------------------


@router.get("/csrf", tags=["meta"], summary="A CSRF token (and its cookie) for unsafe requests")
def get_csrf(request: Request) -> dict[str, str]:
    return {"csrf_token": csrf_token(request), "header": "X-CSRF-Token"}


@router.get("/today", tags=["today"], summary="What is due, minoxidil holds, open findings, adherence")
def get_today(
    request: Request, at: str | None = Query(None, description="Pretend it is this time (ISO 8601).")
):
    now = jr.parse_datetime("at", at) if at else None
    return _svc(request).today(now=now)


# --- profile ------------------------------------------------------------------------------------------


@router.get("/profile", tags=["profile"], summary="Profile, screening answers and screening findings")
def get_profile(request: Request):
    return _svc(request).profile()


@router.put(
    "/profile",
    tags=["profile"],
    summary="Set profile fields (omitted ones stay as they are; null clears one)",
)
def put_profile(request: Request, body: ProfileIn):
    _svc(request).edit_profile(body.model_dump(exclude_unset=True))
    return _svc(request).profile()


@router.put("/profile/screening", tags=["profile"], summary="Answer screening questions (true/false)")
def put_screening(request: Request, body: ScreeningIn):
    return _svc(request).set_screening(body.model_dump())


# --- devices ------------------------------------------------------------------------------------------


@router.get("/devices", tags=["devices"], summary="Devices with use counts, disinfection and findings")
def get_devices(request: Request):
    return {"devices": _svc(request).devices()}


@router.post("/devices", tags=["devices"], status_code=201, summary="Register a device")
def post_device(request: Request, body: DeviceIn):
    return _created(_svc(request).add_device(body.model_dump()))


@router.post(
    "/devices/{device_id}/disinfections", tags=["devices"], status_code=201, summary="Record a disinfection"
)
def post_disinfection(request: Request, device_id: int, body: DisinfectIn):
    values = body.model_dump()
    return _created(_svc(request).disinfect_device(device_id, method=values["method"], at=values["at"]))


@router.post("/devices/{device_id}/retire", tags=["devices"], summary="Retire a device")
def post_retire(request: Request, device_id: int, body: RetireIn):
    values = body.model_dump()
    return _svc(request).retire_device(device_id, reason=values["reason"], at=values["at"])


# --- plan ---------------------------------------------------------------------------------------------


@router.get("/plan", tags=["plan"], summary="Active plan, planned sessions, adherence and findings")
def get_plan(request: Request):
    return _svc(request).plan()


@router.post("/plan", tags=["plan"], status_code=201, summary="Create a plan (it becomes the active one)")
def post_plan(request: Request, body: PlanIn):
    values, acks = _split(body)
    return _created(_svc(request).create_plan(values, acks))


@router.post("/plan/check", tags=["plan"], summary="Findings for a draft plan (nothing is stored)")
def post_plan_check(request: Request, body: PlanIn):
    values, acks = _split(body)
    return _svc(request).check_plan(values, acks)


@router.get("/plan/schedule.ics", tags=["plan"], summary="The active plan as an iCalendar file")
def get_schedule_ics(request: Request) -> Response:
    return Response(
        _svc(request).schedule_ics(),
        media_type="text/calendar",
        headers={"content-disposition": 'attachment; filename="regrow-plan.ics"'},
    )


# --- log ----------------------------------------------------------------------------------------------


@router.get("/log", tags=["log"], summary="Latest sessions, doses and adverse events")
def get_log(request: Request, limit: int = Query(20, ge=1, le=1000)):
    return _svc(request).log(limit=limit)


@router.post("/sessions", tags=["log"], status_code=201, summary="Log a needling session (rules checked)")
def post_session(request: Request, body: SessionIn):
    values, acks = _split(body)
    return _created(_svc(request).log_session(values, acks))


@router.post("/doses", tags=["log"], status_code=201, summary="Log an adjunct dose")
def post_dose(request: Request, body: DoseIn):
    return _created(_svc(request).log_dose(body.model_dump()))


@router.post("/events", tags=["log"], status_code=201, summary="Log an adverse event")
def post_event(request: Request, body: EventIn):
    return _created(_svc(request).log_event(body.model_dump()))


@router.post("/notes", tags=["log"], status_code=201, summary="Add a free-text note")
def post_note(request: Request, body: NoteIn):
    return _created(_svc(request).add_note(body.model_dump()))


@router.post("/events/{event_id}/resolve", tags=["log"], summary="Mark an adverse event resolved")
def post_resolve(request: Request, event_id: int, body: ResolveIn):
    return _svc(request).resolve_event(event_id, at=body.model_dump()["at"])


# --- photos and measurements -----------------------------------------------------------------------------


async def read_upload(request: Request, upload: UploadFile) -> tuple[bytes, str]:
    """The bytes of one uploaded image (kept in memory: never written to disk before it is stripped) and
    the suffix it will be stored under.

    Raises
    ------
    UnsupportedTypeError
        Not a JPEG, PNG, TIFF, WebP or BMP upload (415).
    """
    types = request.app.state.settings.image_types
    name = upload.filename or "upload"
    content_type = (upload.content_type or "").split(";")[0].strip().lower()
    suffix = types.get(content_type)
    if suffix is None:
        raise UnsupportedTypeError.invalid(
            "files", f"{name} ({content_type or 'no type'})", "a JPEG, PNG, TIFF, WebP or BMP image"
        )
    # The request body is already capped by GuardMiddleware (max_upload_bytes).
    return await upload.read(), suffix


async def store_photos(
    request: Request, form: Any, *, background: bool = False
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Measure and store every uploaded file of a photo form; per-file results (stored or error).

    ``background``: read and check each file, then leave the measuring to the app's
    :class:`regrow.web._uploads.MeasureQueue`; an item is then ``{"name", "job"}``.
    """
    from ._forms import parse_form

    fields = parse_form("photo", form)
    uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile) and (f.filename or f.size)]
    limit = request.app.state.settings.max_upload_files
    if not uploads:
        raise InputError.invalid("files", None, "one or more image files")
    if len(uploads) > limit:
        raise InputError.invalid("files", f"{len(uploads)} files", f"at most {limit} files per upload")
    if fields["um_per_px"] is None and not fields["device"]:
        raise InputError.invalid("um_per_px", None, "the image scale in um per pixel, or a device profile")
    service = _svc(request)
    items = []
    for upload in uploads:
        name = upload.filename or "upload"
        try:
            data, suffix = await read_upload(request, upload)
            work = functools.partial(
                service.add_photo,
                data,
                suffix=suffix,
                original_name=name,
                site=fields["site"],
                taken_at=fields["taken_at"],
                um_per_px=fields["um_per_px"],
                device=fields["device"],
                camera=fields["camera"],
                allow_duplicate=fields["allow_duplicate"],
                new_site=fields["new_site"],
            )
            if background:
                job = request.app.state.measure_queue.submit(
                    name, fields["site"], work, functools.partial(_job_error, request)
                )
                items.append({"name": name, "job": job})
                continue
            stored = await run_in_threadpool(work)
            items.append({"name": name, **stored})
        except RegrowError as exc:
            body = error_body(request, exc)
            items.append({"name": name, "status": exc.http_status, **body})
            if isinstance(exc, DuplicateError):
                items[-1].update(duplicate_label=duplicate_label(exc), confirm=confirm_key(exc))
    return items, fields


def _job_error(request: Request, exc: RegrowError) -> dict[str, Any]:
    body = error_body(request, exc)
    if isinstance(exc, DuplicateError):
        body.update(duplicate_label=duplicate_label(exc), confirm=confirm_key(exc))
    return body


@router.get(
    "/photos/jobs", tags=["photos"], summary="Photos being measured in the background, and the last done"
)
def get_photo_jobs(request: Request, ids: str | None = Query(None, description="comma-separated job ids")):
    wanted = None
    if ids:
        try:
            wanted = [int(i) for i in ids.split(",") if i.strip()]
        except ValueError as exc:
            raise InputError.invalid("ids", ids, "comma-separated job ids (whole numbers)") from exc
    queue = request.app.state.measure_queue
    return {"jobs": queue.jobs(wanted), "pending": queue.pending()}


@router.get("/photos", tags=["photos"], summary="Photos with their measurements, grouped by site")
def get_photos(request: Request):
    return _svc(request).photos()


@router.post(
    "/photos",
    tags=["photos"],
    status_code=201,
    summary="Upload one or many scalp images; each is stripped of metadata, measured and stored",
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["files", "site"],
                        "properties": {
                            "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                            "site": {"type": "string"},
                            "taken_at": {"type": "string"},
                            "um_per_px": {"type": "number"},
                            "device": {"type": "string"},
                            "camera": {"type": "string"},
                            "allow_duplicate": {"type": "boolean"},
                            "new_site": {"type": "boolean"},
                        },
                    }
                }
            }
        }
    },
)
async def post_photos(
    request: Request,
    background: bool = Query(
        False, description="Answer 202 at once and measure in the background (see GET /api/photos/jobs)"
    ),
):
    form = await request.form(max_files=request.app.state.settings.max_upload_files + 1)
    try:
        items, _ = await store_photos(request, form, background=background)
    finally:
        await form.close()
    if all("error" in i for i in items):
        first = items[0]
        return JSONResponse({"error": first["error"], "items": items}, status_code=first["status"])
    return JSONResponse({"items": items}, status_code=202 if background else 201)


@router.get("/photos/{photo_id}", tags=["photos"], summary="One photo with its full measurement")
def get_photo(request: Request, photo_id: int):
    return _svc(request).photo(photo_id)


@router.get("/photos/{photo_id}/image", tags=["photos"], summary="The stored image (metadata stripped)")
def get_photo_image(request: Request, photo_id: int) -> FileResponse:
    return FileResponse(_svc(request).photo_file(photo_id, "image"), headers={"cache-control": "private"})


@router.get("/photos/{photo_id}/overlay", tags=["photos"], summary="The measurement overlay (PNG)")
def get_photo_overlay(request: Request, photo_id: int) -> FileResponse:
    return FileResponse(_svc(request).photo_file(photo_id, "overlay"), media_type="image/png")


@router.get("/measurements", tags=["photos"], summary="Every measurement")
def get_measurements(request: Request):
    return {"measurements": _svc(request).measurements()}


@router.post("/measurements", tags=["photos"], status_code=201, summary="Record a hand count")
def post_measurement(request: Request, body: MeasurementIn):
    return _created(_svc(request).add_measurement(body.model_dump()))


# --- progress and evidence ------------------------------------------------------------------------------


@router.get("/progress", tags=["progress"], summary="Is it working? Per-site and overall change and verdict")
def get_progress(request: Request, site: str | None = Query(None, description="One site only.")):
    body, _ = _svc(request).progress(site=site, trajectory=False)
    return body


@router.get(
    "/evidence", tags=["evidence"], summary="The evidence review: verdicts, pooled results, certainty"
)
def get_evidence(request: Request):
    return _svc(request).evidence()


@router.get(
    "/evidence/{comparison_id}/{kind}.png",
    tags=["evidence"],
    summary="Forest or funnel plot of one comparison",
    response_class=Response,
)
def get_evidence_plot(request: Request, comparison_id: str, kind: str) -> Response:
    png = _svc(request).evidence_plot(comparison_id, kind)
    return Response(png, media_type="image/png", headers={"cache-control": "private, max-age=3600"})


# --- data -----------------------------------------------------------------------------------------------


@router.get(
    "/export", tags=["data"], summary="Everything in the journal, photo files included, as one archive"
)
def get_export(request: Request) -> Response:
    name, data = _svc(request).export_archive()
    return Response(
        data,
        media_type="application/zip",
        headers={"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"},
    )


async def import_upload(request: Request, form: Any) -> dict[str, Any]:
    """Restore the export uploaded as ``file`` (``replace`` deletes everything first)."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise InputError.invalid("file", None, "a regrow export (.zip, or .json from regrow 0.1)")
    if not upload.filename.lower().endswith((".zip", ".json")):
        raise UnsupportedTypeError.invalid("file", upload.filename, "a .zip export from regrow")
    replace = str(form.get("replace") or "").lower() in ("1", "on", "true", "yes")
    service = _svc(request)
    return await run_in_threadpool(service.import_archive, upload.file, name=upload.filename, replace=replace)


@router.post(
    "/import",
    tags=["data"],
    summary="Restore an export archive (refused into a non-empty journal unless replace=true)",
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "replace": {"type": "boolean"},
                        },
                    }
                }
            }
        }
    },
)
async def post_import(request: Request):
    form = await request.form(max_files=2)
    try:
        return await import_upload(request, form)
    finally:
        await form.close()


DELETE_CONFIRMATION = "delete everything"


def check_delete_confirmation(value: Any) -> None:
    """Refuse unless ``value`` is the confirmation phrase.

    Raises
    ------
    InputError
        Naming ``confirm``.
    """
    if str(value or "").strip().lower() != DELETE_CONFIRMATION:
        raise InputError.invalid("confirm", value, f"the words {DELETE_CONFIRMATION!r} to confirm (no undo)")


@router.post("/delete", tags=["data"], summary="Delete all of your data and photo files (no undo)")
def post_delete(request: Request, body: dict[str, str]):
    check_delete_confirmation(body.get("confirm"))
    return _svc(request).delete_everything()
