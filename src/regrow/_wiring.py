"""The journal-to-protocol steps both front ends run (``regrow.cli`` and ``regrow.web``), written once.

:mod:`regrow.protocol` never touches the database and :mod:`regrow.journal` holds no business rules, so the
steps that join them live here: read a person's rows into the protocol's plain records, draft a plan, and
check-then-store plans, sessions and doses (stop findings must be acknowledged first). Nothing is decided
here: every rule is :mod:`regrow.protocol`'s, every shape check and write is :mod:`regrow.journal`'s, and the
caller owns the transaction (``session``) and turns results into text, JSON or pages.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from regrow import journal as jr
from regrow import protocol as pr
from regrow.errors import InputError

__all__ = [
    "check_acknowledged_ids",
    "draft_plan",
    "journal_records",
    "log_dose",
    "log_session",
    "record",
    "store_plan",
]

R = TypeVar("R")

_FIELDS: dict[type, tuple[str, ...]] = {}


def record(cls: type[R], row: Any) -> R:
    """``cls.from_mapping(row.as_dict())`` for a journal row, without building the dict (the hot path).

    The record takes the row's columns that are also fields of ``cls``; the names are worked out once per
    record class.
    """
    names = _FIELDS.get(cls)
    if names is None:
        columns = {c.key for c in row.__table__.columns}
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.name in columns)
    return cls(**{name: getattr(row, name) for name in names})


def journal_records(session: Session, *, person_id: int) -> pr.JournalRecords:
    """Everything the journal-wide rules look at for one person, as the protocol's plain records.

    ``plan`` is the active plan (its newest version) and ``plan_versions`` all its versions oldest first,
    so that schedules, adherence and checks judge each day by the version in force on it.
    """
    profile = jr.get_profile(session, person_id=person_id)
    active = jr.get_active_plan(session, person_id=person_id)
    versions = (
        ()
        if active is None
        else pr.version_chain(
            [record(pr.PlanRecord, p) for p in jr.list_plans(session, person_id=person_id)],
            active_id=active.id,
        )
    )
    return pr.JournalRecords(
        profile=None if profile is None else record(pr.ProfileRecord, profile),
        screening=jr.list_screening(session, person_id=person_id),
        devices=tuple(record(pr.DeviceRecord, d) for d in jr.list_devices(session, person_id=person_id)),
        disinfections=tuple(
            record(pr.DisinfectionRecord, d) for d in jr.list_disinfections(session, person_id=person_id)
        ),
        plan=versions[-1] if versions else None,
        plan_versions=versions,
        sessions=tuple(record(pr.SessionRecord, s) for s in jr.list_sessions(session, person_id=person_id)),
        doses=tuple(record(pr.DoseRecord, d) for d in jr.list_doses(session, person_id=person_id)),
        events=tuple(record(pr.EventRecord, e) for e in jr.list_events(session, person_id=person_id)),
    )


def draft_plan(
    session: Session,
    *,
    person_id: int,
    rules: pr.RuleSet,
    fields: Mapping[str, Any],
    length_allowed: str,
) -> pr.PlanRecord:
    """A plan from the fields a person gave (``None`` means "not given"), not stored yet.

    The needle length defaults to the chosen device's; without minoxidil the plan keeps no minoxidil
    strength or dose times.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    person_id : int
    rules : regrow.protocol.RuleSet
        Where the default minoxidil hold comes from.
    fields : mapping
        ``start_date`` (required), ``needle_length_mm`` and/or ``device_id``, and any other
        :class:`regrow.protocol.PlanRecord` field.
    length_allowed : str
        What the error says is allowed when neither a needle length nor a device is given (the front end
        names its own option or form field).

    Returns
    -------
    regrow.protocol.PlanRecord

    Raises
    ------
    InputError
        No needle length and no device, a needle length out of range, no start date, or a bad field.
    NotFoundError
        ``device_id`` is not one of this person's devices.
    """
    values = {k: v for k, v in fields.items() if v is not None}
    device_id = values.pop("device_id", None)
    length = values.pop("needle_length_mm", None)
    if device_id is not None:
        device = jr.get_device(session, person_id=person_id, device_id=device_id)
        length = device.needle_length_mm if length is None else length
    if length is None:
        raise InputError.invalid("needle_length_mm", None, length_allowed)
    length = jr.check_needle_length("needle_length_mm", length)
    if "start_date" not in values:
        raise InputError.invalid("start_date", None, "an ISO 8601 date such as 2025-03-01")
    if not values.get("minoxidil"):
        values.pop("minoxidil_strength_pct", None)
    plan = pr.make_plan(needle_length_mm=length, rules=rules, device_id=device_id, **values)
    if not plan.minoxidil:
        plan = pr.PlanRecord.from_mapping(
            {**plan.storable(), "minoxidil_strength_pct": None, "minoxidil_times": []}
        )
    return plan


def check_acknowledged_ids(acknowledge: Mapping[str, str], rules: pr.RuleSet) -> None:
    """Refuse an acknowledgement of a rule id that does not exist (a typo would otherwise pass silently).

    Raises
    ------
    InputError
        Naming the unknown id and the stop rules that can be acknowledged.
    """
    stops = sorted(r.id for r in rules.rules.values() if r.severity == "stop")
    for rule_id in acknowledge:
        if rule_id not in rules.rules:
            raise InputError.invalid("acknowledge", rule_id, "the id of a stop rule: " + ", ".join(stops))


def store_plan(
    session: Session,
    *,
    person_id: int,
    plan: pr.PlanRecord,
    rules: pr.RuleSet,
    acknowledge: Mapping[str, str],
) -> tuple[jr.Plan, list[pr.Finding]]:
    """Check a drafted plan, refuse it while a stop finding is unacknowledged, else store it as active.

    Each acknowledged stop finding is recorded with its reason (``action="plan_create"``).

    Returns
    -------
    (regrow.journal.Plan, list of regrow.protocol.Finding)
        The stored row and every finding.

    Raises
    ------
    RuleBlockedError
        A stop finding without an acknowledgement in ``acknowledge`` (``{rule_id: reason}``).
    """
    check_acknowledged_ids(acknowledge, rules)
    findings = pr.check_plan(plan, journal_records(session, person_id=person_id), rules)
    stops = pr.require_acknowledged(findings, acknowledge)
    row = jr.add_plan(session, person_id=person_id, **plan.storable())
    for f in stops:
        jr.add_acknowledgement(
            session,
            person_id=person_id,
            rule_id=f.rule_id,
            reason=acknowledge[f.rule_id],
            action="plan_create",
            plan_id=row.id,
            finding_message=f.message,
        )
    return row, findings


def log_session(
    session: Session,
    *,
    person_id: int,
    rules: pr.RuleSet,
    acknowledge: Mapping[str, str],
    device_id: Any,
    performed_at: dt.datetime,
    **fields: Any,
) -> tuple[jr.TreatmentSession, list[pr.Finding]]:
    """Check a needling session against the rules and store it with its acknowledgements (one flush).

    The needle length defaults to the device's; the session is filed under the version of the active plan in
    force on its day, if any.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    person_id : int
    rules : regrow.protocol.RuleSet
    acknowledge : mapping of str to str
        ``{rule_id: reason}`` for the stop findings the person acknowledged.
    device_id : int
    performed_at : datetime.datetime
    **fields
        The other keywords of :func:`regrow.journal.add_session` (``needle_length_mm``, ``passes``,
        ``area``, ``area_cm2``, ``endpoint``, ``pain_0_10``, ``applied_during``, ``applied_after``,
        ``notes``); ``None`` means not given.

    Returns
    -------
    (regrow.journal.TreatmentSession, list of regrow.protocol.Finding)

    Raises
    ------
    InputError
        A session dated before the active plan starts, or a field out of range.
    NotFoundError
        ``device_id`` is not one of this person's devices.
    RuleBlockedError
        A stop finding without an acknowledgement in ``acknowledge``.
    """
    check_acknowledged_ids(acknowledge, rules)
    device = jr.get_device(session, person_id=person_id, device_id=device_id)
    records = journal_records(session, person_id=person_id)
    versions = records.versions()
    pr.check_session_date(versions, performed_at)
    # filed under the plan version in force on the session's day (not the one active when it is logged)
    in_force = pr.plan_in_force(versions, performed_at.date()) if versions else None
    length = fields.get("needle_length_mm")
    candidate = pr.SessionRecord(
        performed_at=performed_at,
        needle_length_mm=device.needle_length_mm
        if length is None
        else jr.check_needle_length("needle_length_mm", length),
        device_id=device.id,
        endpoint=fields.get("endpoint"),
        pain_0_10=fields.get("pain_0_10"),
        applied_during=list(fields.get("applied_during") or []),
        applied_after=list(fields.get("applied_after") or []),
        area=fields.get("area"),
    )
    findings = pr.check_session(candidate, records, rules)
    stops = pr.require_acknowledged(findings, acknowledge)
    row = jr.add_session(
        session,
        person_id=person_id,
        device_id=device.id,
        performed_at=performed_at,
        plan_id=None if in_force is None else in_force.id,
        acknowledgements=[
            {"rule_id": f.rule_id, "reason": acknowledge[f.rule_id], "message": f.message} for f in stops
        ],
        **fields,
    )
    return row, findings


def log_dose(
    session: Session,
    *,
    person_id: int,
    rules: pr.RuleSet,
    kind: Any,
    taken_at: Any,
    strength: str | None = None,
    amount: str | None = None,
    notes: str | None = None,
    allow_duplicate: bool = False,
) -> tuple[jr.AdjunctDose, list[pr.Finding]]:
    """Store an adjunct dose and return it with its findings (minoxidil inside a post-session hold warns).

    Returns
    -------
    (regrow.journal.AdjunctDose, list of regrow.protocol.Finding)

    Raises
    ------
    InputError
        A field out of range (see :func:`regrow.journal.add_dose`).
    """
    row = jr.add_dose(
        session,
        person_id=person_id,
        kind=kind,
        taken_at=taken_at,
        strength=strength,
        amount=amount,
        notes=notes,
        allow_duplicate=allow_duplicate,
    )
    findings = pr.check_dose(record(pr.DoseRecord, row), journal_records(session, person_id=person_id), rules)
    return row, findings
