"""Server-rendered pages. A form that fails is shown again with what was typed and the error by its field."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from regrow import journal as jr
from regrow.errors import DuplicateError, InputError, NotFoundError, RegrowError, RuleBlockedError

from ._api import DELETE_CONFIRMATION, check_delete_confirmation, import_upload, store_photos
from ._app import render
from ._charts import site_chart
from ._edit_service import confirm_key, duplicate_label, duplicate_message
from ._forms import FORMS, parse_acknowledgements, parse_form
from ._security import verify_csrf
from ._service import JournalService
from ._wording import VERDICT_LABELS

__all__ = ["done", "form_error", "router"]

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

_FLASH_MAX = 200


def _svc(request: Request) -> JournalService:
    return request.app.state.service


def _flash_put(request: Request, payload: dict[str, Any]) -> str:
    store: OrderedDict = request.app.state.flash if isinstance(request.app.state.flash, OrderedDict) else None
    if store is None:
        store = request.app.state.flash = OrderedDict()
    key = secrets.token_urlsafe(8)
    store[key] = payload
    while len(store) > _FLASH_MAX:
        store.popitem(last=False)
    return key


def _flash(request: Request) -> dict[str, Any] | None:
    key = request.query_params.get("flash")
    store = request.app.state.flash
    return store.pop(key, None) if key and isinstance(store, OrderedDict) else None


def done(
    request: Request,
    path: str,
    message: str,
    findings: list[dict[str, Any]] | None = None,
    *,
    undo: bool | dict[str, Any] | None = True,
) -> Response:
    """Redirect (303) to ``path`` with a one-time message, its findings and a one-click undo of the change.

    ``undo``: the offer a change answered with, ``True`` to look up the newest change, ``None`` for none.
    """
    offer = request.app.state.service.undo_offer() if undo is True else (undo or None)
    key = _flash_put(request, {"message": message, "findings": findings or [], "undo": offer})
    path, _, anchor = path.partition("#")
    return RedirectResponse(f"{path}?flash={key}" + (f"#{anchor}" if anchor else ""), status_code=303)


#: Form fields every form may carry besides its own (acknowledgements, confirmations, uploads).
_COMMON_FIELDS = ("ack_reason", "files", "confirm", "file")


def form_error(exc: RegrowError, fields: Any, aliases: Any = None) -> dict[str, Any]:
    """Errors keyed by form field (``_form`` for the ones that belong to no single field).

    A stop finding adds ``_blocked`` (the rule ids to acknowledge); a likely duplicate adds ``_duplicate``
    (the label of the box that confirms it).
    """
    field = getattr(exc, "field", None)
    if field is None and isinstance(exc, NotFoundError):  # "Unknown device 7 ...": by the field it names
        names = [*fields, *(aliases or {})]
        field = next((n for n in names if re.search(rf"\b{re.escape(n)}\b", str(exc))), None)
    if field not in fields:
        field = (aliases or {}).get(field, field)
    if isinstance(exc, RuleBlockedError):
        return {
            "_form": str(exc),
            "_blocked": [r.strip() for r in (exc.allowed or "").split(",") if r.strip()],
        }
    if isinstance(exc, DuplicateError):
        return {
            "_form": duplicate_message(exc, api=False),
            "_duplicate": duplicate_label(exc),
            "_confirm": confirm_key(exc),
        }
    if field and (field in fields or field in _COMMON_FIELDS):
        return {field: str(exc)}
    return {"_form": str(exc)}


def _form_error(exc: RegrowError, form: str) -> dict[str, Any]:
    return form_error(exc, FORMS.get(form, {}), {"device": "device_id", "reason": "ack_reason"})


async def _submit(
    request: Request,
    form_name: str,
    action: Callable[[dict[str, Any], Any], Any],
    page: Callable[..., Response],
) -> Response:
    """Parse a posted form, run ``action`` in a thread; on a domain error show the page again, input kept."""
    form = await request.form()
    raw = {k: form.get(k) for k in form}
    try:
        values = parse_form(form_name, form)
        return await run_in_threadpool(action, values, form)
    except RegrowError as exc:
        status = exc.http_status if exc.http_status < 500 else 422
        return await run_in_threadpool(
            page, request, form=form_name, values=raw, errors=_form_error(exc, form_name), status_code=status
        )


# --- today ------------------------------------------------------------------------------------------------


@router.get("/", summary="Today")
def today_page(request: Request) -> Response:
    data, home = _svc(request).home()
    flagged = _svc(request).flagged_count()
    return render(
        request, "today.html", "today", today=data, home=home, flagged=flagged, flash=_flash(request)
    )


# --- profile ----------------------------------------------------------------------------------------------


def _profile_page(request: Request, *, form: str = "", values=None, errors=None, status_code=200) -> Response:
    data = _svc(request).profile()
    current = dict(data["profile"] or {})
    if current.get("medications"):
        current["medications"] = ", ".join(current["medications"])
    screening = {k: ("yes" if v else "no") for k, v in data["screening"].items()}
    return render(
        request,
        "profile.html",
        "profile",
        status_code=status_code,
        data=data,
        form=form,
        values=values if form == "profile" else current,
        screening_values=values if form == "screening" else screening,
        errors=errors or {},
        choices={
            "sex": jr.SEXES,
            "diagnosis": jr.DIAGNOSES,
            "grade_scale": jr.GRADE_SCALES,
            "questions": jr.SCREENING_QUESTIONS,
        },
        flash=_flash(request),
    )


@router.get("/profile")
def profile_page(request: Request) -> Response:
    return _profile_page(request)


@router.post("/profile")
async def profile_post(request: Request) -> Response:
    def action(values, _form):
        # A blank field clears what was stored (a yes/no left blank keeps its answer).
        if values.get("diagnosis_confirmed_by_clinician") is None:
            values.pop("diagnosis_confirmed_by_clinician")
        result = _svc(request).edit_profile(values)
        return done(request, "/profile", "Profile saved.", undo=result["undo"])

    return await _submit(request, "profile", action, _profile_page)


@router.post("/profile/screening")
async def screening_post(request: Request) -> Response:
    def action(values, _form):
        data = _svc(request).set_screening(values)
        return done(request, "/profile", "Screening answers saved.", data["findings"])

    return await _submit(request, "screening", action, _profile_page)


# --- plan -------------------------------------------------------------------------------------------------


def _plan_values(data: dict[str, Any]) -> dict[str, Any]:
    plan = data["plan"]
    if plan is None:
        defaults = dict(data["defaults"])
        defaults["minoxidil_times"] = ", ".join(defaults.get("minoxidil_times") or [])
        return defaults
    values = dict(plan)
    values["minoxidil_times"] = ", ".join(plan.get("minoxidil_times") or [])
    # a change applies from today, or from the active version's own date when that is still ahead
    values["effective_from"] = max(
        dt.date.today().isoformat(), plan.get("effective_from") or plan["start_date"]
    )
    return values


def _plan_page(request: Request, *, form: str = "", values=None, errors=None, status_code=200) -> Response:
    data = _svc(request).plan()
    devices = _svc(request).devices()
    return render(
        request,
        "plan.html",
        "plan",
        status_code=status_code,
        data=data,
        devices=[d for d in devices if not d["retired_at"]],
        values=values if form == "plan" else _plan_values(data),
        form=form,
        errors=errors or {},
        flash=_flash(request),
    )


@router.get("/plan")
def plan_page(request: Request) -> Response:
    return _plan_page(request)


@router.post("/plan")
async def plan_post(request: Request) -> Response:
    def action(values, form):
        acks = parse_acknowledgements(form.getlist("acknowledge"), form.get("ack_reason"))
        result = _svc(request).create_plan(values, acks)
        return done(
            request, "/plan", f"Plan saved; it starts {result['plan']['start_date']}.", result["findings"]
        )

    return await _submit(request, "plan", action, _plan_page)


# --- log --------------------------------------------------------------------------------------------------


def _log_page(request: Request, *, form: str = "", values=None, errors=None, status_code=200) -> Response:
    data = _svc(request).log()
    return render(
        request,
        "log.html",
        "log",
        status_code=status_code,
        data=data,
        form=form,
        values=values or {},
        errors=errors or {},
        choices={"endpoint": jr.ENDPOINTS, "dose_kind": jr.DOSE_KINDS, "severity": jr.EVENT_SEVERITIES},
        notes=_svc(request).records("note")[::-1],
        acks=_svc(request).records("acknowledgement")[::-1],
        flash=_flash(request),
    )


@router.get("/log")
def log_page(request: Request) -> Response:
    return _log_page(request)


@router.post("/log/session")
async def log_session_post(request: Request) -> Response:
    def action(values, form):
        acks = parse_acknowledgements(form.getlist("acknowledge"), form.get("ack_reason"))
        result = _svc(request).log_session(values, acks)
        return done(
            request, "/log", f"Session logged ({result['session']['performed_at']}).", result["findings"]
        )

    return await _submit(request, "session", action, _log_page)


@router.post("/log/dose")
async def log_dose_post(request: Request) -> Response:
    def action(values, _form):
        result = _svc(request).log_dose(values)
        return done(request, "/log", f"Dose of {result['dose']['kind']} logged.", result["findings"])

    return await _submit(request, "dose", action, _log_page)


@router.post("/log/event")
async def log_event_post(request: Request) -> Response:
    def action(values, _form):
        result = _svc(request).log_event(values)
        return done(request, "/log", f"Side effect '{result['event']['kind']}' logged.")

    return await _submit(request, "event", action, _log_page)


@router.post("/log/note")
async def log_note_post(request: Request) -> Response:
    def action(values, _form):
        _svc(request).add_note(values)
        return done(request, "/log#notes", "Note added.")

    return await _submit(request, "note", action, _log_page)


@router.post("/log/event/{event_id}/resolve")
async def resolve_event_post(request: Request, event_id: int) -> Response:
    def action(values, _form):
        _svc(request).resolve_event(event_id, at=values["at"])
        return done(request, "/log", "Side effect marked resolved.")

    return await _submit(request, "resolve", action, _log_page)


# --- devices ------------------------------------------------------------------------------------------------


def _devices_page(request: Request, *, form: str = "", values=None, errors=None, status_code=200) -> Response:
    return render(
        request,
        "devices.html",
        "devices",
        status_code=status_code,
        devices=_svc(request).devices(),
        form=form,
        values=values or {},
        errors=errors or {},
        kinds=jr.DEVICE_KINDS,
        flash=_flash(request),
    )


@router.get("/devices")
def devices_page(request: Request) -> Response:
    return _devices_page(request)


@router.post("/devices")
async def devices_post(request: Request) -> Response:
    def action(values, _form):
        device = _svc(request).add_device(values)
        return done(request, "/devices", f"Device '{device['name']}' added.", device["findings"])

    return await _submit(request, "device", action, _devices_page)


@router.post("/devices/{device_id}/disinfect")
async def disinfect_post(request: Request, device_id: int) -> Response:
    def action(values, _form):
        _svc(request).disinfect_device(device_id, method=values["method"], at=values["at"])
        return done(request, "/devices", "Disinfection recorded.")

    return await _submit(request, "disinfect", action, _devices_page)


@router.post("/devices/{device_id}/retire")
async def retire_post(request: Request, device_id: int) -> Response:
    def action(values, _form):
        _svc(request).retire_device(device_id, reason=values["reason"], at=values["at"])
        return done(request, "/devices", "Device retired.")

    return await _submit(request, "retire", action, _devices_page)


# --- photos -------------------------------------------------------------------------------------------------


def _device_profiles() -> list[str]:
    try:
        from regrow.measure import device_profiles
    except ImportError:
        return []
    return sorted(p.name for p in device_profiles().values())


def _photos_page(
    request: Request, *, form: str = "", values=None, errors=None, status_code=200, results=None
) -> Response:
    return render(
        request,
        "photos.html",
        "photos",
        status_code=status_code,
        data=_svc(request).photos(),
        form=form,
        values=values or {},
        errors=errors or {},
        results=results or [],
        profiles=_device_profiles(),
        counts=_svc(request).measurements()[::-1],
        flagged=_svc(request).flagged(),
        flash=_flash(request),
    )


@router.get("/photos")
def photos_page(request: Request) -> Response:
    return _photos_page(request)


@router.post("/photos")
async def photos_post(request: Request) -> Response:
    form = await request.form(max_files=request.app.state.settings.max_upload_files + 1)
    raw = {k: form.get(k) for k in form if k != "files"}
    try:
        items, _ = await store_photos(request, form)
    except RegrowError as exc:
        await form.close()
        return await run_in_threadpool(
            _photos_page, request, form="photo", values=raw, errors=_form_error(exc, "photo"), status_code=422
        )
    await form.close()
    failed = [i for i in items if "error" in i]
    if failed:
        errors = {"files": "; ".join(f"{i['name']}: {i['error']['message']}" for i in failed)}
        duplicates = [i for i in failed if "duplicate_label" in i]
        if duplicates:
            errors["_duplicate"] = duplicates[0]["duplicate_label"]
            errors["_confirm"] = duplicates[0]["confirm"]
        status = 422 if len(failed) == len(items) else 200
        return await run_in_threadpool(
            _photos_page, request, form="photo", values=raw, errors=errors, status_code=status, results=items
        )
    # one undo reverts one change: offered when one image was stored (each image is its own change)
    return done(request, "/photos", f"{len(items)} image(s) measured and stored.", undo=len(items) == 1)


@router.post("/photos/count")
async def count_post(request: Request) -> Response:
    def action(values, _form):
        m = _svc(request).add_measurement(values)
        return done(
            request, "/photos", f"Count for {m['site']} stored ({m['density_per_cm2']:.0f} hairs/cm²)."
        )

    return await _submit(request, "measurement", action, _photos_page)


# --- progress and evidence ---------------------------------------------------------------------------------


def _progress_charts(request: Request, report: Any, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Per site: its report entry and the narrow and wide chart of it (with the expected band and events)."""
    visits = [v["measured_on"] for site in body["sites"] for v in site["visits"]]
    events = _svc(request).treatment_events(last_day=dt.date.fromisoformat(max(visits)) if visits else None)
    start = dt.date.fromisoformat(body["start"]) if body.get("start") else None
    return [
        {
            "data": data,
            "charts": [
                site_chart(site, size=size, expected=data.get("expected"), events=events, start=start)
                for size in ("narrow", "wide")
            ],
            "events": events,
        }
        for data, site in zip(body["sites"], report.sites, strict=True)
    ]


@router.get("/progress")
def progress_page(request: Request) -> Response:
    body, report = _svc(request).progress(trajectory=True)
    caveats = list(
        {c["code"]: c for c in body["caveats"] + [c for s in body["sites"] for c in s["caveats"]]}.values()
    )
    return render(
        request,
        "progress.html",
        "progress",
        report=body,
        sites=_progress_charts(request, report, body),
        caveats=caveats,
        labels=VERDICT_LABELS,
    )


@router.get("/evidence")
def evidence_page(request: Request) -> Response:
    return render(request, "evidence.html", "evidence", ev=_svc(request).evidence())


# --- data ---------------------------------------------------------------------------------------------------


def _data_page(request: Request, *, form: str = "", values=None, errors=None, status_code=200) -> Response:
    return render(
        request,
        "data.html",
        "data",
        status_code=status_code,
        form=form,
        values=values or {},
        errors=errors or {},
        phrase=DELETE_CONFIRMATION,
        flash=_flash(request),
    )


@router.get("/data")
def data_page(request: Request) -> Response:
    return _data_page(request)


@router.post("/data/import")
async def import_post(request: Request) -> Response:
    form = await request.form(max_files=2)
    try:
        result = await import_upload(request, form)
    except RegrowError as exc:
        await form.close()
        return await run_in_threadpool(
            _data_page, request, form="import", errors=_form_error(exc, "import"), status_code=exc.http_status
        )
    await form.close()
    return done(request, "/data", f"Restored {sum(result['restored'].values())} records.", undo=None)


@router.post("/data/delete")
async def delete_post(request: Request) -> Response:
    form = await request.form()
    try:
        check_delete_confirmation(form.get("confirm"))
    except InputError as exc:
        return await run_in_threadpool(
            _data_page,
            request,
            form="delete",
            values={"confirm": form.get("confirm")},
            errors={"confirm": str(exc)},
            status_code=422,
        )
    result = await run_in_threadpool(_svc(request).delete_everything)
    return done(
        request, "/data", f"Deleted {sum(result['deleted'].values())} records and all photo files.", undo=None
    )


@router.get("/api")
def api_index(request: Request) -> Response:
    spec = request.app.openapi()
    endpoints = [
        {
            "method": method.upper(),
            "path": path,
            "summary": op.get("summary", ""),
            "tag": (op.get("tags") or [""])[0],
        }
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    ]
    return render(request, "api.html", "api", endpoints=endpoints)
