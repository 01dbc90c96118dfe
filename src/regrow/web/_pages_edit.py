"""Pages for correcting the journal: edit and delete any record, undo, history, photo counts and corrections.

Every change redirects with a one-time message that carries a one-click undo of exactly that change (a POST
form with its CSRF token); a refused value shows the page again with what was typed and the journal's reason
next to the field (the range and its source).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from regrow.errors import InputError, NotFoundError, RegrowError

from ._app import render
from ._forms import FORMS, parse_acknowledgements, parse_fields, parse_form
from ._pages import _flash, _photos_page, _plan_page, done, form_error
from ._records import RECORDS, changed_fields, field_kinds, form_values
from ._security import verify_csrf
from ._service import JournalService

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _svc(request: Request) -> JournalService:
    return request.app.state.service


def _spec(kind: str) -> Any:
    if kind not in RECORDS:
        raise NotFoundError(f"Nothing to edit called {kind!r}; one of: {', '.join(RECORDS)}.")
    return RECORDS[kind]


def _home(kind: str, row: dict[str, Any]) -> str:
    """Where a record is shown: its photo's page for photos and their measurements, else its list."""
    if kind == "photo":
        return f"/photos/{row['id']}"
    if kind == "measurement" and row.get("photo_id"):
        return f"/photos/{row['photo_id']}"
    return RECORDS[kind].home


def _local(path: Any, default: str) -> str:
    """``path`` when it is a path on this site (never another site: no open redirect), else ``default``."""
    text = str(path or "")
    ok = text.startswith("/") and not text.startswith("//") and "\\" not in text and len(text) < 300
    return text if ok and all(c.isprintable() and not c.isspace() for c in text) else default


def _choices(request: Request, kind: str) -> dict[str, list[tuple[Any, str]]]:
    if kind != "session":
        return {}
    return {
        "device_id": [
            (d["id"], f"{d['name']} ({d['needle_length_mm']} mm{', retired' if d['retired_at'] else ''})")
            for d in _svc(request).devices()
        ]
    }


def _edit_page(
    request: Request,
    kind: str,
    row_id: int,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    spec = _spec(kind)
    row = _svc(request).record(kind, row_id)
    return render(
        request,
        "edit.html",
        "",
        status_code=status_code,
        spec=spec,
        row=row,
        values=form_values(kind, row) if values is None else values,
        errors=errors or {},
        choices=_choices(request, kind),
        back=_home(kind, row),
        flash=_flash(request),
    )


@router.get("/records/{kind}/{row_id}/edit")
def edit_page(request: Request, kind: str, row_id: int) -> Response:
    return _edit_page(request, kind, row_id)


@router.post("/records/{kind}/{row_id}/edit")
async def edit_post(request: Request, kind: str, row_id: int) -> Response:
    spec = _spec(kind)
    form = await request.form()
    raw = {k: form.get(k) for k in form}

    row = await run_in_threadpool(_svc(request).record, kind, row_id)  # 404 when there is no such record

    def action() -> Response:
        values = parse_fields(field_kinds(kind), form)
        changes = changed_fields(kind, row, values)
        if not changes:
            return done(request, _home(kind, row), "Nothing changed.", undo=None)
        allow = str(form.get("allow_duplicate") or "").lower() in ("1", "on", "true", "yes")
        new_site = str(form.get("new_site") or "").lower() in ("1", "on", "true", "yes")
        result = _svc(request).edit(kind, row_id, changes, allow_duplicate=allow, new_site=new_site)
        names = ", ".join(spec.field(k).label.lower() for k in changes)
        return done(
            request,
            _home(kind, row),
            f"{spec.label.capitalize()} {row_id} changed: {names}.",
            undo=result["undo"],
        )

    try:
        return await run_in_threadpool(action)
    except RegrowError as exc:
        errors = form_error(exc, field_kinds(kind), spec.aliases)
        status = exc.http_status if exc.http_status < 500 else 422
        return await run_in_threadpool(
            _edit_page, request, kind, row_id, values=raw, errors=errors, status_code=status
        )


@router.post("/records/{kind}/{row_id}/delete")
async def delete_post(request: Request, kind: str, row_id: int) -> Response:
    spec = _spec(kind)
    form = await request.form()
    in_use = "retire" if form.get("device_in_use") == "retire" else "refuse"

    row = await run_in_threadpool(_svc(request).record, kind, row_id)  # 404 when there is no such record

    def action() -> Response:
        result = _svc(request).delete(kind, row_id, device_in_use=in_use)
        back = _local(form.get("next"), "/photos" if kind == "photo" else _home(kind, row))
        if result.get("retired"):
            message = f"Device {row_id} was used by sessions, so it was retired instead of deleted."
        else:
            message = f"Deleted {spec.label} {row_id}."
        return done(request, back, message, undo=result["undo"])

    try:
        return await run_in_threadpool(action)
    except RegrowError as exc:
        errors = {"_delete": str(exc), "_retire": kind == "device" and exc.field == "device_in_use"}
        return await run_in_threadpool(_edit_page, request, kind, row_id, errors=errors, status_code=422)


# --- profile and plan ----------------------------------------------------------------------------------------


@router.post("/profile/clear")
async def profile_clear_post(request: Request) -> Response:
    result = await run_in_threadpool(_svc(request).clear_profile)
    count = sum(result["deleted"].values())
    return done(
        request, "/profile", f"Profile and screening answers cleared ({count} rows).", undo=result["undo"]
    )


def _plan_changes(active: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The plan fields the form changed (a blank needle length keeps the device's or the stored one)."""
    out = {}
    for key, value in values.items():
        if key == "needle_length_mm" and value is None:
            continue
        old = active.get(key)
        if key == "minoxidil_times":
            old = list(old or [])
        if value != old:
            out[key] = value
    return out


@router.post("/plan/edit")
async def plan_edit_post(request: Request) -> Response:
    form = await request.form()
    raw = {k: form.get(k) for k in form}
    try:
        values = parse_form("plan", form)
        effective = parse_form("plan_edit", form)["effective_from"]
        acks = parse_acknowledgements(form.getlist("acknowledge"), form.get("ack_reason"))

        def action() -> Response:
            active = _svc(request).plan()["plan"] or {}
            changes = _plan_changes(active, values)
            if not changes:
                return done(request, "/plan", "Nothing changed.", undo=None)
            result = _svc(request).edit_plan(changes, effective_from=effective, acknowledge=acks)
            plan = result["plan"]
            return done(
                request,
                "/plan",
                f"Plan changed from {plan['effective_from']} on (version {plan['id']}); sessions before keep "
                "the version they were done under.",
                result["findings"],
                undo=result["undo"],
            )

        return await run_in_threadpool(action)
    except RegrowError as exc:
        fields = {**FORMS["plan"], **FORMS["plan_edit"]}
        errors = form_error(exc, fields, {"reason": "ack_reason"})
        status = exc.http_status if exc.http_status < 500 else 422
        return await run_in_threadpool(
            _plan_page, request, form="plan", values=raw, errors=errors, status_code=status
        )


@router.post("/plans/{plan_id}/delete")
async def plan_delete_post(request: Request, plan_id: int) -> Response:
    try:
        result = await run_in_threadpool(_svc(request).delete, "plan", plan_id)
    except NotFoundError:
        raise
    except RegrowError as exc:
        return await run_in_threadpool(
            _plan_page, request, form="versions", errors={"_form": str(exc)}, status_code=422
        )
    return done(request, "/plan", f"Plan version {plan_id} deleted.", undo=result["undo"])


# --- history and undo --------------------------------------------------------------------------------------


def _history_page(
    request: Request, *, errors: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    data = _svc(request).history(limit=100)
    return render(
        request,
        "history.html",
        "history",
        status_code=status_code,
        data=data,
        errors=errors or {},
        flash=_flash(request),
    )


@router.get("/history")
def history_page(request: Request) -> Response:
    return _history_page(request)


@router.post("/undo")
async def undo_post(request: Request) -> Response:
    form = await request.form()
    back = _local(form.get("next"), "/history")
    try:
        group_id = parse_form("undo", form)["group_id"]
        result = await run_in_threadpool(_svc(request).undo, group_id)
    except RegrowError as exc:
        status = exc.http_status if exc.http_status < 500 else 422
        return await run_in_threadpool(_history_page, request, errors={"_form": str(exc)}, status_code=status)
    return done(request, back, f"Undone: {result['undone']['summary']}.", undo=None)


# --- photos: your count, hand corrections, review -----------------------------------------------------------


def photo_page(
    request: Request,
    photo_id: int,
    *,
    form: str = "",
    values: dict[str, Any] | None = None,
    errors: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    """One photo with its count (and where it comes from), its detections and the correction forms."""
    service = _svc(request)
    photo = service.photo(photo_id)
    fix = service.corrections(photo_id) if photo["measurement"] else None
    return render(
        request,
        "photo.html",
        "photos",
        status_code=status_code,
        photo=photo,
        fix=fix,
        form=form,
        values=values or {},
        errors=errors or {},
        flash=_flash(request),
    )


@router.get("/photos/{photo_id}")
def photo_get(request: Request, photo_id: int) -> Response:
    return photo_page(request, photo_id)


async def _photo_action(request: Request, photo_id: int, form_name: str, action: Any) -> Response:
    form = await request.form()
    raw = {k: form.get(k) for k in form}
    try:
        values = parse_form(form_name, form)
        return await run_in_threadpool(action, values)
    except NotFoundError:
        raise
    except RegrowError as exc:
        errors = form_error(exc, FORMS[form_name])
        status = exc.http_status if exc.http_status < 500 else 422
        return await run_in_threadpool(
            photo_page, request, photo_id, form=form_name, values=raw, errors=errors, status_code=status
        )


def _count_text(fix: dict[str, Any]) -> str:
    return f"{fix['hair_count']} hairs ({fix['count_source']})"


@router.post("/photos/{photo_id}/corrections")
async def correction_post(request: Request, photo_id: int) -> Response:
    def action(values: dict[str, Any]) -> Response:
        if values["action"] not in ("add", "remove"):
            raise InputError.invalid("action", values["action"], "add or remove")
        fix = _svc(request).add_correction(photo_id, **values)
        what = "Hair added" if values["action"] == "add" else "Detection removed"
        return done(
            request, f"/photos/{photo_id}#fix", f"{what}; count now {_count_text(fix)}.", undo=fix["undo"]
        )

    return await _photo_action(request, photo_id, "correction", action)


@router.post("/photos/{photo_id}/corrections/{correction_id}/delete")
async def correction_delete_post(request: Request, photo_id: int, correction_id: int) -> Response:
    fix = await run_in_threadpool(_svc(request).delete_correction, correction_id)
    return done(
        request,
        f"/photos/{fix['photo_id']}#fix",
        f"Correction {correction_id} taken back; count now {_count_text(fix)}.",
        undo=fix["undo"],
    )


@router.post("/photos/{photo_id}/count")
async def photo_count_post(request: Request, photo_id: int) -> Response:
    def action(values: dict[str, Any]) -> Response:
        fix = _svc(request).set_photo_count(photo_id, values["hair_count"])
        return done(request, f"/photos/{photo_id}#fix", f"Count now {_count_text(fix)}.", undo=fix["undo"])

    return await _photo_action(request, photo_id, "photo_count", action)


@router.post("/measurements/{measurement_id}/review")
async def review_post(request: Request, measurement_id: int) -> Response:
    form = await request.form()
    decision = form.get("decision")
    back = _local(form.get("next"), "/photos#review")
    try:
        if decision not in ("accept", "reflag"):
            raise InputError.invalid(
                "decision", decision, "accept (use the value) or reflag (check it again)"
            )
        result = await run_in_threadpool(_svc(request).review, measurement_id, accept=decision == "accept")
    except NotFoundError:
        raise
    except RegrowError as exc:
        return await run_in_threadpool(
            _photos_page, request, form="review", errors={"_form": str(exc)}, status_code=exc.http_status
        )
    word = "accepted: it is used from now on" if decision == "accept" else "checked again"
    return done(request, back, f"Measurement {measurement_id} {word}.", undo=result["undo"])
