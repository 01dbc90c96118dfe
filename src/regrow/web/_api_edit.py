"""The JSON API for correcting the journal: edit, delete, undo, history, hand corrections and count review.

One scheme for every record kind (see :data:`regrow.web._records.RECORDS`): ``GET /api/<plural>`` lists,
``GET /api/<plural>/{id}`` reads one, ``PATCH /api/<plural>/{id}`` changes the fields given (``null`` clears an
optional one) and ``DELETE /api/<plural>/{id}`` deletes. Every change answers with ``undo``: the history group
it made, which ``POST /api/undo`` with that ``group_id`` reverts.
"""

from __future__ import annotations

from typing import Any

import pydantic
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ._api import ERROR_RESPONSES
from ._forms import api_model
from ._records import RECORDS, edit_model
from ._security import verify_csrf
from ._service import JournalService

__all__ = ["router"]

router = APIRouter(prefix="/api", dependencies=[Depends(verify_csrf)], responses=ERROR_RESPONSES)

ProfileIn = api_model("profile")
PlanEditIn = pydantic.create_model(
    "PlanEdit",
    __base__=api_model("plan"),
    effective_from=(str | None, None),
)


class UndoIn(pydantic.BaseModel):
    """Which change to undo: the ``group_id`` a change answered with (refused if another came after it)."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True)
    group_id: str | None = None


class CorrectionIn(pydantic.BaseModel):
    """A hand correction: ``add`` a missed hair at (``x_px``, ``y_px``), or ``remove`` a false detection
    (``hair_index``, or the detection nearest to the point)."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True)
    action: str
    x_px: float | None = None
    y_px: float | None = None
    hair_index: int | None = None


class CountIn(pydantic.BaseModel):
    """Your count of a photo (``null``: back to the automatic count)."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True)
    hair_count: int | None


class ReviewIn(pydantic.BaseModel):
    """``accept: true`` uses a flagged measurement from now on; ``false`` checks it again."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True)
    accept: bool


def _svc(request: Request) -> JournalService:
    return request.app.state.service


# --- every record kind: list, read, edit, delete ------------------------------------------------------------

#: Kinds whose list or single read another route already serves.
_LISTED_ELSEWHERE = {"device", "photo", "measurement"}
_READ_ELSEWHERE = {"photo"}


def _register(kind: str) -> None:
    spec = RECORDS[kind]
    body_model = edit_model(kind)
    tag = "correct"

    if kind not in _LISTED_ELSEWHERE:

        def list_records(request: Request):
            return {spec.plural: _svc(request).records(kind)}

        router.get(f"/{spec.plural}", tags=[tag], summary=f"Every {spec.label}, oldest first")(list_records)

    if kind not in _READ_ELSEWHERE:

        def get_record(request: Request, row_id: int):
            return _svc(request).record(kind, row_id)

        router.get(f"/{spec.plural}/{{row_id}}", tags=[tag], summary=f"One {spec.label}")(get_record)

    def patch_record(request: Request, row_id: int, body: Any):
        fields = body.model_dump(exclude_unset=True)
        allow = bool(fields.pop("allow_duplicate", False))
        new_site = bool(fields.pop("new_site", False))
        return _svc(request).edit(kind, row_id, fields, allow_duplicate=allow, new_site=new_site)

    # the body's model is made per kind at run time (string annotations cannot name a local)
    patch_record.__annotations__ = {"request": Request, "row_id": int, "body": body_model}

    router.patch(
        f"/{spec.plural}/{{row_id}}",
        tags=[tag],
        summary=f"Change fields of a {spec.label} (the same checks as adding it; null clears)",
    )(patch_record)

    if kind == "device":

        def delete_record(
            request: Request,
            row_id: int,
            device_in_use: str = Query(
                "refuse", description="refuse, or retire: a device sessions used is retired instead"
            ),
        ):
            return _svc(request).delete(kind, row_id, device_in_use=device_in_use)

    else:

        def delete_record(request: Request, row_id: int):
            return _svc(request).delete(kind, row_id)

    summary = {
        "device": "Delete a device no session used (?device_in_use=retire retires a used one instead)",
        "photo": "Delete a photo, its measurement and corrections (files go to the trash until undo)",
        "measurement": "Delete a hand count (a photo's measurement goes with its photo)",
    }.get(kind, f"Delete a {spec.label} (undo brings it back)")
    router.delete(f"/{spec.plural}/{{row_id}}", tags=[tag], summary=summary)(delete_record)


for _kind_name in RECORDS:
    _register(_kind_name)


# --- profile and plan ------------------------------------------------------------------------------------


@router.patch("/profile", tags=["correct"], summary="Change profile fields (null clears an optional one)")
def patch_profile(request: Request, body: ProfileIn):
    return _svc(request).edit_profile(body.model_dump(exclude_unset=True))


@router.delete(
    "/profile", tags=["correct"], summary="Clear the profile and screening answers (undo brings them back)"
)
def delete_profile(request: Request):
    return _svc(request).clear_profile()


@router.patch(
    "/plan",
    tags=["correct"],
    summary="Change the active plan from effective_from on (a new version; earlier sessions keep theirs)",
)
def patch_plan(request: Request, body: PlanEditIn):
    fields = body.model_dump(exclude_unset=True)
    acknowledge = fields.pop("acknowledge", None) or {}
    effective_from = fields.pop("effective_from", None)
    return _svc(request).edit_plan(fields, effective_from=effective_from, acknowledge=acknowledge)


@router.delete(
    "/plans/{plan_id}",
    tags=["correct"],
    summary="Delete one plan version (the version it replaced becomes active again)",
)
def delete_plan(request: Request, plan_id: int):
    return _svc(request).delete("plan", plan_id)


# --- history and undo -------------------------------------------------------------------------------------


@router.get(
    "/history", tags=["correct"], summary="What changed, newest first: when, interface, old and new values"
)
def get_history(request: Request, limit: int = Query(50, ge=1, le=10000)):
    return _svc(request).history(limit=limit)


@router.post(
    "/undo", tags=["correct"], summary="Revert the newest change (group_id: only if it is still the newest)"
)
def post_undo(request: Request, body: UndoIn | None = None):
    return _svc(request).undo(None if body is None else body.group_id)


# --- photos: count, corrections, review, labels ----------------------------------------------------------


@router.get(
    "/photos/{photo_id}/corrections",
    tags=["photos"],
    summary="A photo's count with its provenance, its detections and the hand corrections",
)
def get_corrections(request: Request, photo_id: int):
    return _svc(request).corrections(photo_id)


@router.post(
    "/photos/{photo_id}/corrections",
    tags=["photos"],
    status_code=201,
    summary="Add a missed hair or remove a false detection; the count becomes 'corrected'",
)
def post_correction(request: Request, photo_id: int, body: CorrectionIn):
    return _svc(request).add_correction(photo_id, **body.model_dump())


@router.delete(
    "/corrections/{correction_id}", tags=["photos"], summary="Take back a hand correction (the count follows)"
)
def delete_correction(request: Request, correction_id: int):
    return _svc(request).delete_correction(correction_id)


@router.put(
    "/photos/{photo_id}/count",
    tags=["photos"],
    summary="Your count of a photo (replaces the automatic one, never averaged; null: automatic again)",
)
def put_count(request: Request, photo_id: int, body: CountIn):
    return _svc(request).set_photo_count(photo_id, body.hair_count)


@router.post(
    "/measurements/{measurement_id}/review",
    tags=["photos"],
    summary="Accept a measurement flagged as unusual (it is analysed from then on), or check it again",
)
def post_review(request: Request, measurement_id: int, body: ReviewIn):
    return _svc(request).review(measurement_id, accept=body.accept)


@router.get(
    "/labels/voc.zip",
    tags=["photos"],
    summary="Corrected photos as Pascal-VOC labels (training data for regrow measure train)",
    response_class=Response,
)
async def get_labels(request: Request) -> Response:
    data, written = await run_in_threadpool(_svc(request).labels_zip)
    headers: dict[str, Any] = {
        "content-disposition": 'attachment; filename="regrow-labels-voc.zip"',
        "cache-control": "no-store",
        "x-regrow-images": str(written["images"]),
        "x-regrow-boxes": str(written["boxes"]),
    }
    return Response(data, media_type="application/zip", headers=headers)
