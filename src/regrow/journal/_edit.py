"""Edit and delete any single record, review flagged measurements, correct a photo's detections.

Every change goes through the same field checks as adding (one table per record kind), so an edit can never
store what adding would refuse; every change is recorded in the history (see :mod:`._history`) and can be
undone. Records other rows depend on are handled explicitly, never by a silent database cascade:

- deleting a session unlinks its side effects and acknowledgements and gives the device its use back;
- deleting a photo deletes its measurement and its hand corrections (the caller moves the files to the
  photo folder's trash, so undo can restore them);
- a device used by sessions is not deleted: retire it instead (``device_in_use="retire"``), or the
  deletion is refused with the reason;
- a plan is edited by a new version (:func:`regrow.journal.edit_plan`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from regrow.errors import InputError

from ._crud import (
    DOSE_FIELDS,
    EVENT_FIELDS,
    SESSION_FIELDS,
    check_when,
    get_device,
    near_dose,
    refuse_duplicate,
    same_day_session,
)
from ._fields import DEVICE_KINDS, check_choice, check_text, now
from ._measure import MEASUREMENT_FIELDS, apply_count, check_count_density, flag_if_unusual, sites_in_use
from ._models import (
    AdjunctDose,
    AdverseEvent,
    Device,
    Disinfection,
    HairCorrection,
    Measurement,
    Note,
    Photo,
    Plan,
    Profile,
    RuleAcknowledgement,
    ScreeningAnswer,
    TreatmentSession,
)
from ._owned import get_owned, owned_query
from ._plausibility import check_not_before, check_range
from ._sites import canonical_site, check_new_site

__all__ = [
    "EDITABLE",
    "add_correction",
    "delete_correction",
    "delete_profile",
    "delete_record",
    "edit_record",
    "list_corrections",
    "review_measurement",
]

Check = Callable[[Any], Any]

_DEVICE_FIELDS: dict[str, Check] = {
    "name": lambda v: check_text("name", v),
    "kind": lambda v: check_choice("kind", v, DEVICE_KINDS),
    "needle_length_mm": lambda v: check_range("needle_length_mm", v),
    "needle_count": lambda v: check_range("needle_count", v, optional=True),
    "lot": lambda v: check_text("lot", v, optional=True),
    "retired_reason": lambda v: check_text("reason", v, optional=True),
}
_MEASUREMENT_EDITABLE = (
    "site",
    "area_cm2",
    "hair_count",
    "diameter_um",
    "terminal_count",
    "vellus_count",
    "notes",
)

#: Record kinds that can be edited and deleted by id: (model, field checks, date fields).
EDITABLE: dict[str, tuple[type, dict[str, Check], tuple[str, ...]]] = {
    "device": (Device, _DEVICE_FIELDS, ("first_use", "retired_at")),
    "session": (TreatmentSession, {**SESSION_FIELDS, "device_id": lambda v: v}, ("performed_at",)),
    "dose": (AdjunctDose, DOSE_FIELDS, ("taken_at",)),
    "event": (AdverseEvent, {**EVENT_FIELDS, "session_id": lambda v: v}, ("onset_at", "resolved_at")),
    "measurement": (Measurement, {k: MEASUREMENT_FIELDS[k] for k in _MEASUREMENT_EDITABLE}, ("taken_at",)),
    "photo": (Photo, {"site": canonical_site}, ("taken_at",)),
    "acknowledgement": (RuleAcknowledgement, {"reason": lambda v: check_text("reason", v)}, ()),
    "note": (Note, {"text": lambda v: check_text("text", v)}, ("written_at",)),
    "disinfection": (Disinfection, {"method": lambda v: check_text("method", v)}, ("disinfected_at",)),
}
_DATE_ONLY = {"first_use"}


def _kind(kind: str) -> tuple[type, dict[str, Check], tuple[str, ...]]:
    if kind not in EDITABLE:
        raise InputError.invalid("record kind", kind, "one of " + ", ".join(EDITABLE))
    return EDITABLE[kind]


def _row(session: Session, kind: str, row_id: Any, person_id: int) -> Any:
    model, _, _ = _kind(kind)
    return get_owned(session, model, row_id, person_id=person_id, field=f"{kind} id")


def edit_record(
    session: Session,
    *,
    person_id: int,
    kind: str,
    row_id: Any,
    fields: Mapping[str, Any],
    allow_duplicate: bool = False,
    new_site: bool = False,
) -> Any:
    """Change some fields of one record; the others stay as they are.

    Parameters
    ----------
    kind : str
        One of :data:`EDITABLE` (``device``, ``session``, ``dose``, ``event``, ``measurement``, ``photo``,
        ``acknowledgement``, ``note``, ``disinfection``). Profiles: :func:`regrow.journal.set_profile`;
        plans: :func:`regrow.journal.edit_plan`.
    row_id : int
    fields : mapping
        Field name to new value (``None`` clears an optional field). A measurement's ``hair_count`` is a
        count typed by the person: it becomes the photo's ``manual`` count (corrected detections still win).
    allow_duplicate : bool
        Keep the change although it makes the record look like another one of that day.
    new_site : bool
        Confirm a site name never used before that is very close to one in use (as when adding).

    Returns
    -------
    The edited row.

    Raises
    ------
    InputError
        An unknown field, or a value the same checks as adding refuse (range and source named).
    NotFoundError
        No such record of this person.
    DuplicateError
        The edit makes it a duplicate of another record.
    """
    _, checks, dates = _kind(kind)
    row = _row(session, kind, row_id, person_id)
    if not fields:
        raise InputError.invalid("fields", None, "at least one field to change")
    allowed = set(checks) | set(dates)
    for key in fields:
        if key not in allowed:
            raise InputError.invalid(f"{kind} field", key, "one of " + ", ".join(sorted(allowed)))
    for key, value in fields.items():
        if key in dates:
            cleaned = (
                None
                if value is None and key in ("resolved_at", "retired_at", "first_use")
                else check_when(session, key, value, person_id=person_id, date_only=key in _DATE_ONLY)
            )
        else:
            cleaned = checks[key](value)
        if key == "site":  # the same near-name check as adding: "vertx" is not silently a new site
            check_new_site(cleaned, sites_in_use(session, person_id=person_id), allow=new_site)
        if kind == "measurement" and key == "hair_count":
            _check_photo_count(row, cleaned)
            row.manual_count = cleaned
            continue
        setattr(row, key, cleaned)
    _after_edit(session, kind, row, fields, person_id=person_id, allow_duplicate=allow_duplicate)
    session.flush()
    return row


def _check_photo_count(row: Measurement, count: Any) -> None:
    if count is None and row.source == "manual":
        raise InputError.invalid("hair_count", None, "a count (a hand count without one means nothing)")


def _after_edit(
    session: Session, kind: str, row: Any, fields: Mapping[str, Any], *, person_id: int, allow_duplicate: bool
) -> None:
    """Cross-field checks and derived values after an edit (the same rules as adding)."""
    how = "--allow-duplicate (web: tick 'Yes, keep both')"
    if kind == "session":
        if "device_id" in fields and fields["device_id"] != _committed(row, "device_id"):
            new = get_device(session, person_id=person_id, device_id=fields["device_id"])
            if new.retired_at is not None:
                raise InputError.invalid("device_id", new.id, "a device that is not retired")
            old = session.get(Device, _committed(row, "device_id"))
            if old is not None:
                old.use_count = max(0, old.use_count - 1)
            new.use_count += 1
        if "performed_at" in fields:
            refuse_duplicate(
                f"a needling session on {row.performed_at.date().isoformat()}",
                same_day_session(
                    session, person_id=person_id, day=row.performed_at.date(), exclude_id=row.id
                ),
                allow=allow_duplicate,
                how=how,
            )
    elif kind == "dose" and ("taken_at" in fields or "kind" in fields):
        refuse_duplicate(
            f"a {row.kind} dose at {row.taken_at.isoformat(timespec='minutes')}",
            near_dose(session, person_id=person_id, kind=row.kind, at=row.taken_at, exclude_id=row.id),
            allow=allow_duplicate,
            how=how,
        )
    elif kind == "event":
        if fields.get("session_id") is not None:
            get_owned(
                session, TreatmentSession, fields["session_id"], person_id=person_id, field="session_id"
            )
        check_not_before("resolved_at", row.resolved_at, "onset_at", row.onset_at)
    elif kind == "device":
        if row.retired_at is not None and row.first_use is not None:
            check_not_before("retired_at", row.retired_at.date(), "first_use", row.first_use)
    elif kind == "measurement":
        check_count_density({"hair_count": row.manual_count or row.hair_count, "area_cm2": row.area_cm2})
        apply_count(row)
        if "site" in fields and row.photo_id is not None:
            photo = session.get(Photo, row.photo_id)
            photo.site = row.site
        flag_if_unusual(session, row)
    elif kind == "photo":
        for m in session.scalars(owned_query(Measurement, person_id=person_id, photo_id=row.id)):
            m.site, m.taken_at = row.site, row.taken_at
            flag_if_unusual(session, m)


def _committed(row: Any, key: str) -> Any:
    from sqlalchemy import inspect

    history = inspect(row).attrs[key].history
    return history.deleted[0] if history.deleted else getattr(row, key)


def delete_record(
    session: Session, *, person_id: int, kind: str, row_id: Any, device_in_use: str = "refuse"
) -> dict[str, Any]:
    """Delete one record (and what only makes sense with it); recorded in the history, so undoable.

    Parameters
    ----------
    kind : str
        One of :data:`EDITABLE` or ``"plan"`` (one plan version: :func:`regrow.journal.delete_plan`).
    row_id : int
    device_in_use : {"refuse", "retire"}
        What to do with a device that sessions were done with: refuse (the default, with the reason), or
        retire it instead of deleting it.

    Returns
    -------
    dict
        ``{"deleted": {table: n}, "retired": bool, "photo_files": [file_name]}`` (the caller moves a
        deleted photo's files to the trash after the commit).

    Raises
    ------
    InputError
        A device still used by sessions (with ``device_in_use="refuse"``), a measurement that belongs to a
        photo (delete the photo, or correct its count), or a bad ``device_in_use``.
    NotFoundError
        No such record of this person.
    """
    if kind == "plan":
        from ._plans import delete_plan

        delete_plan(session, person_id=person_id, plan_id=row_id)
        return {"deleted": {"plan": 1}, "retired": False, "photo_files": []}
    check_choice("device_in_use", device_in_use, ("refuse", "retire"))
    row = _row(session, kind, row_id, person_id)
    deleted: dict[str, int] = {}
    files: list[str] = []

    def drop(obj: Any) -> None:
        deleted[obj.__tablename__] = deleted.get(obj.__tablename__, 0) + 1
        session.delete(obj)

    if kind == "device":
        used = session.scalars(owned_query(TreatmentSession, person_id=person_id, device_id=row.id)).all()
        if used:
            if device_in_use == "retire":
                if row.retired_at is None:
                    row.retired_at = now()
                    row.retired_reason = row.retired_reason or "retired instead of deleted (it has sessions)"
                session.flush()
                return {"deleted": {}, "retired": True, "photo_files": []}
            raise InputError.invalid(
                "device",
                row.id,
                f"a device no session used ({len(used)} sessions were done with it and keep it in their "
                "history): retire it instead (regrow device retire, or delete --retire)",
            )
        for plan in session.scalars(owned_query(Plan, person_id=person_id, device_id=row.id)):
            plan.device_id = None
        for cleaned in session.scalars(owned_query(Disinfection, person_id=person_id, device_id=row.id)):
            drop(cleaned)
    elif kind == "session":
        for linked in (AdverseEvent, RuleAcknowledgement):
            for other in session.scalars(owned_query(linked, person_id=person_id, session_id=row.id)):
                other.session_id = None
        device = session.get(Device, row.device_id)
        if device is not None:
            device.use_count = max(0, device.use_count - 1)
    elif kind == "measurement" and row.photo_id is not None:
        raise InputError.invalid(
            "measurement",
            row.id,
            f"a hand count: this one belongs to photo {row.photo_id} (delete the photo, or correct its count)",
        )
    elif kind == "photo":
        for child in (HairCorrection, Measurement):
            for other in session.scalars(owned_query(child, person_id=person_id, photo_id=row.id)):
                drop(other)
        session.flush()
        files.append(row.file_name)
    drop(row)
    session.flush()
    return {"deleted": deleted, "retired": False, "photo_files": files}


def delete_profile(session: Session, *, person_id: int) -> dict[str, int]:
    """Delete the profile and the screening answers (the rest of the journal stays)."""
    deleted = {"profile": 0, "screening_answer": 0}
    profile = session.get(Profile, person_id)
    if profile is not None:
        session.delete(profile)
        deleted["profile"] = 1
    for answer in session.scalars(owned_query(ScreeningAnswer, person_id=person_id)):
        session.delete(answer)
        deleted["screening_answer"] += 1
    session.flush()
    return deleted


def review_measurement(session: Session, *, person_id: int, measurement_id: Any, accept: bool) -> Measurement:
    """Accept a flagged measurement (it is analysed from now on) or put the flag back.

    Raises
    ------
    InputError
        The measurement is not flagged (nothing to review).
    """
    row = get_owned(session, Measurement, measurement_id, person_id=person_id, field="measurement id")
    if accept:
        if row.review_status != "flagged":
            raise InputError.invalid("measurement", row.id, "a flagged measurement (this one is not flagged)")
        row.review_status = "accepted"
    else:
        row.review_status = None
        flag_if_unusual(session, row)
    session.flush()
    return row


# --- hand corrections of detections ------------------------------------------------------------------------


def _photo_measurement(session: Session, *, person_id: int, photo_id: Any) -> tuple[Photo, Measurement]:
    photo = get_owned(session, Photo, photo_id, person_id=person_id, field="photo_id")
    measurement = session.scalars(
        owned_query(Measurement, person_id=person_id, photo_id=photo.id).order_by(Measurement.id).limit(1)
    ).first()
    if measurement is None:
        raise InputError.invalid("photo_id", photo.id, "a measured photo (this one has no measurement)")
    return photo, measurement


def _recount(session: Session, *, person_id: int, photo: Photo, measurement: Measurement) -> None:
    corrections = list_corrections(session, person_id=person_id, photo_id=photo.id)
    if not corrections:
        measurement.corrected_count = None
    else:
        base = measurement.automatic_count or 0
        adds = sum(1 for c in corrections if c.action == "add")
        removes = sum(1 for c in corrections if c.action == "remove")
        measurement.corrected_count = max(0, base + adds - removes)
    if measurement.corrected_count is None and measurement.manual_count is None:
        measurement.count_source = "automatic"
    apply_count(measurement)
    flag_if_unusual(session, measurement)


def add_correction(
    session: Session,
    *,
    person_id: int,
    photo_id: Any,
    action: str,
    x_px: Any,
    y_px: Any,
    hair_index: int | None = None,
) -> HairCorrection:
    """Add a missed hair or remove a false detection at a point of a photo; the count follows.

    The photo's count becomes ``corrected``: the detector's count plus the hairs added minus those removed.

    Parameters
    ----------
    action : {"add", "remove"}
    x_px, y_px : float
        Where on the stored image (pixels, inside it).
    hair_index : int, optional
        The detected hair removed (its index in the measurement's hair list).

    Raises
    ------
    InputError
        A point outside the image, a bad action, or removing more hairs than were detected.
    """
    photo, measurement = _photo_measurement(session, person_id=person_id, photo_id=photo_id)
    check_choice("action", action, ("add", "remove"))
    x = _coordinate("x_px", x_px, photo.width)
    y = _coordinate("y_px", y_px, photo.height)
    if action == "remove":
        removed = sum(
            1
            for c in list_corrections(session, person_id=person_id, photo_id=photo.id)
            if c.action == "remove"
        )
        added = sum(
            1 for c in list_corrections(session, person_id=person_id, photo_id=photo.id) if c.action == "add"
        )
        if removed + 1 > (measurement.automatic_count or 0) + added:
            raise InputError.invalid("action", action, "'add': every detected hair is already removed")
    row = HairCorrection(
        person_id=person_id,
        photo_id=photo.id,
        action=action,
        x_px=x,
        y_px=y,
        hair_index=None if hair_index is None else check_range("hair_count", hair_index),
        created_at=now(),
    )
    session.add(row)
    session.flush()
    _recount(session, person_id=person_id, photo=photo, measurement=measurement)
    session.flush()
    return row


def _coordinate(field: str, value: Any, size: int) -> float:
    from ._fields import check_number

    return check_number(field, value, low=0, high=size, unit="px")


def delete_correction(session: Session, *, person_id: int, correction_id: Any) -> HairCorrection:
    """Take back one correction; the photo's count follows."""
    row = get_owned(session, HairCorrection, correction_id, person_id=person_id, field="correction id")
    photo, measurement = _photo_measurement(session, person_id=person_id, photo_id=row.photo_id)
    session.delete(row)
    session.flush()
    _recount(session, person_id=person_id, photo=photo, measurement=measurement)
    session.flush()
    return row


def list_corrections(session: Session, *, person_id: int, photo_id: Any) -> list[HairCorrection]:
    """A photo's corrections, oldest first."""
    query = owned_query(HairCorrection, person_id=person_id, photo_id=photo_id).order_by(HairCorrection.id)
    return list(session.scalars(query))
