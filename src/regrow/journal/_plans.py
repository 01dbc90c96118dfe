"""Treatment plans, effective-dated: a plan is edited by storing a new version effective from a date.

Past sessions keep the version they were done under (their ``plan_id``); the newest version is the active
one. Deleting a version makes the one it superseded active again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from regrow.errors import InputError

from ._crud import _bool, check_needle_length, check_when, get_device
from ._fields import check_text, now
from ._models import Plan, TreatmentSession
from ._owned import get_owned, owned_query, owned_rows
from ._plausibility import check_date_value, check_not_before, check_range, plan_start_future_days

__all__ = [
    "PLAN_FIELDS",
    "add_plan",
    "check_plan_fields",
    "delete_plan",
    "edit_plan",
    "get_active_plan",
    "get_plan",
    "list_plans",
    "plan_in_force",
    "plan_versions",
]

PLAN_FIELDS = {
    "name": lambda v: check_text("name", v),
    "start_date": lambda v: check_date_value(
        "start_date", v, date_only=True, future_days=plan_start_future_days()
    ),
    "length_weeks": lambda v: check_range("length_weeks", v),
    "device_id": lambda v: v,
    "needle_length_mm": lambda v: check_needle_length("needle_length_mm", v),
    "loading_interval_days": lambda v: check_range("loading_interval_days", v),
    "loading_sessions": lambda v: check_range("loading_sessions", v),
    "maintenance_interval_days": lambda v: check_range("maintenance_interval_days", v),
    "minoxidil": lambda v: _bool("minoxidil", v),
    "minoxidil_strength_pct": lambda v: check_range("minoxidil_strength_pct", v, optional=True),
    "minoxidil_times": lambda v: [_time_of_day("minoxidil_times", t) for t in (v or [])],
    "minoxidil_hold_hours": lambda v: check_range("minoxidil_hold_hours", v),
    "prp_sessions": lambda v: check_range("prp_sessions", v),
    "prp_interval_days": lambda v: check_range("prp_interval_days", v),
    "prp_maintenance_months": lambda v: check_range("prp_maintenance_months", v, optional=True),
    "photo_interval_weeks": lambda v: check_range("photo_interval_weeks", v),
    "first_evaluation_week": lambda v: check_range("first_evaluation_week", v),
    "decision_week": lambda v: check_range("decision_week", v),
}


def _time_of_day(field: str, value: Any) -> str:
    try:
        return dt.time.fromisoformat(str(value)).strftime("%H:%M")
    except ValueError as exc:
        raise InputError.invalid(field, value, "times of day such as 08:00,20:00") from exc


def check_plan_fields(session: Session, *, person_id: int, fields: Mapping[str, Any]) -> None:
    """Checks across a plan's fields: start not before birth, decision not before the first evaluation."""
    start = fields.get("start_date")
    if start is not None:
        check_when(
            session,
            "start_date",
            start,
            person_id=person_id,
            date_only=True,
            future_days=plan_start_future_days(),
        )
    first, decision = fields.get("first_evaluation_week"), fields.get("decision_week")
    if first is not None and decision is not None and decision < first:
        raise InputError.invalid(
            "decision_week",
            decision,
            f"no earlier than first_evaluation_week ({first}): decide after evaluating",
        )


def add_plan(session: Session, *, person_id: int, **fields: Any) -> Plan:
    """Store a new plan and make it the active one (earlier plans become inactive).

    Parameters
    ----------
    **fields
        Every key of ``PLAN_FIELDS`` (build them with :func:`regrow.protocol.make_plan`, which fills the
        defaults).

    Raises
    ------
    InputError
        A field is missing or out of range.
    NotFoundError
        ``device_id`` is not one of this person's devices.
    """
    missing = [k for k in PLAN_FIELDS if k not in fields and k not in ("device_id", "prp_maintenance_months")]
    if missing:
        raise InputError.invalid("plan", ", ".join(missing), "all plan fields (missing ones listed)")
    unknown = set(fields) - set(PLAN_FIELDS)
    if unknown:
        raise InputError.invalid("plan field", sorted(unknown)[0], "one of " + ", ".join(PLAN_FIELDS))
    cleaned = {key: PLAN_FIELDS[key](value) for key, value in fields.items()}
    check_plan_fields(session, person_id=person_id, fields=cleaned)
    if cleaned.get("device_id") is not None:
        get_device(session, person_id=person_id, device_id=cleaned["device_id"])
    for plan in session.scalars(select(Plan).where(Plan.person_id == person_id, Plan.active.is_(True))):
        plan.active = False
    plan = Plan(person_id=person_id, active=True, created_at=now(), **cleaned)
    session.add(plan)
    session.flush()
    return plan


def get_plan(session: Session, *, person_id: int, plan_id: int) -> Plan:
    """The plan ``plan_id`` of this person; raises :class:`NotFoundError`."""
    return get_owned(session, Plan, plan_id, person_id=person_id, field="plan_id")


def get_active_plan(session: Session, *, person_id: int) -> Plan | None:
    """The active plan, or ``None`` when no plan was created."""
    query = select(Plan).where(Plan.person_id == person_id, Plan.active.is_(True)).order_by(Plan.id.desc())
    return session.scalars(query).first()


def list_plans(session: Session, *, person_id: int) -> list[Plan]:
    """All plans, oldest first."""
    return owned_rows(session, Plan, person_id=person_id, order_by=(Plan.id,))


def plan_versions(session: Session, *, person_id: int) -> list[Plan]:
    """The versions of the active plan, oldest first (following ``supersedes_id`` back from it)."""
    chain: list[Plan] = []
    plan = get_active_plan(session, person_id=person_id)
    seen: set[int] = set()
    while plan is not None and plan.id not in seen:
        seen.add(plan.id)
        chain.append(plan)
        plan = None if plan.supersedes_id is None else session.get(Plan, plan.supersedes_id)
    return chain[::-1]


def plan_in_force(session: Session, *, person_id: int, on: dt.date) -> Plan | None:
    """The version of the active plan in force on ``on``: the newest whose effective date is not after it
    (``None`` before the plan's first version took effect). Older, replaced plans are never in force."""
    best = None
    for plan in plan_versions(session, person_id=person_id):
        if (plan.effective_from or plan.start_date) <= on:
            best = plan
    return best


def edit_plan(
    session: Session, *, person_id: int, fields: Mapping[str, Any], effective_from: Any = None
) -> Plan:
    """Change the active plan from ``effective_from`` on (today by default): store a new version.

    The new version copies the active one with ``fields`` changed; sessions done before keep the version they
    were done under, so editing never re-scores the past.

    Raises
    ------
    InputError
        No active plan, an unknown or bad field, or an effective date before the active version took effect.
    """
    current = get_active_plan(session, person_id=person_id)
    if current is None:
        raise InputError.invalid("plan", None, "created first (regrow plan create)")
    unknown = set(fields) - set(PLAN_FIELDS)
    if unknown:
        raise InputError.invalid("plan field", sorted(unknown)[0], "one of " + ", ".join(PLAN_FIELDS))
    if not fields:
        raise InputError.invalid("plan fields", None, "at least one field to change")
    effective = check_date_value(
        "effective_from",
        effective_from if effective_from is not None else dt.date.today(),
        date_only=True,
        future_days=plan_start_future_days(),
    )
    check_not_before(
        "effective_from", effective, "the active version's date", current.effective_from or current.start_date
    )
    values = {key: getattr(current, key) for key in PLAN_FIELDS}
    values.update(fields)
    row = add_plan(session, person_id=person_id, **values)
    row.effective_from = effective
    row.supersedes_id = current.id
    session.flush()
    return row


def delete_plan(session: Session, *, person_id: int, plan_id: int) -> Plan:
    """Delete one plan version; its sessions lose the link, the version it replaced becomes active again."""
    plan = get_plan(session, person_id=person_id, plan_id=plan_id)
    for row in session.scalars(owned_query(TreatmentSession, person_id=person_id, plan_id=plan.id)):
        row.plan_id = None
    for later in session.scalars(owned_query(Plan, person_id=person_id, supersedes_id=plan.id)):
        later.supersedes_id = plan.supersedes_id
    was_active = plan.active
    previous = plan.supersedes_id
    session.delete(plan)
    session.flush()
    if was_active:
        others = [p for p in list_plans(session, person_id=person_id)]
        fallback = next((p for p in others if p.id == previous), others[-1] if others else None)
        if fallback is not None:
            fallback.active = True
            session.flush()
    return plan
