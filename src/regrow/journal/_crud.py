"""Keyword-only data access for people, profiles, devices, plans, sessions, doses, events and notes.

Every function takes the session explicitly and never commits: the caller's :func:`session_scope` is the
transaction. Values are shape-checked here (types, ranges, allowed codes); clinical rules are not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from regrow.errors import InputError, NotFoundError

from ._fields import (
    DEVICE_KINDS,
    DIAGNOSES,
    DOSE_KINDS,
    ENDPOINTS,
    EVENT_SEVERITIES,
    GRADE_SCALES,
    MAX_NEEDLE_LENGTH_MM,
    SCREENING_QUESTIONS,
    SEXES,
    check_choice,
    check_number,
    check_text,
    now,
    parse_date,
    parse_datetime,
)
from ._hooks import pause_point
from ._models import (
    AdjunctDose,
    AdverseEvent,
    Device,
    Disinfection,
    Note,
    Person,
    Plan,
    Profile,
    RuleAcknowledgement,
    ScreeningAnswer,
    TreatmentSession,
)
from ._owned import get_owned, is_row_id, owned_query, owned_rows

NEEDLE_RANGE = f"a number in (0, {MAX_NEEDLE_LENGTH_MM:g}] mm"


def _text_list(field: str, values: Iterable[str] | None) -> list[str]:
    out = []
    for value in values or ():
        out.append(check_text(field, value))
    return out


def check_needle_length(field: str, value: Any) -> float:
    """Check a needle length in mm lies in (0, MAX_NEEDLE_LENGTH_MM]; return it as float.

    Raises
    ------
    InputError
        Naming ``field`` and the allowed range.
    """
    return check_number(field, value, low=0, high=MAX_NEEDLE_LENGTH_MM, low_open=True, unit="mm")


# --- people and profiles -------------------------------------------------------------------------------


def create_person(session: Session, *, display_name: str, is_default: bool = False) -> Person:
    """Add a person (clinic mode will add logins; local mode uses the default person)."""
    person = Person(
        display_name=check_text("display_name", display_name), is_default=is_default, created_at=now()
    )
    session.add(person)
    session.flush()
    return person


def get_or_create_default_person(session: Session) -> Person:
    """The single local person of a home journal, created on first use.

    Returns
    -------
    Person
    """
    person = session.scalars(select(Person).where(Person.is_default.is_(True)).order_by(Person.id)).first()
    if person is None:
        person = create_person(session, display_name="me", is_default=True)
    return person


def get_person(session: Session, *, person_id: int) -> Person:
    """The person ``person_id``; raises :class:`NotFoundError` when absent."""
    person = session.get(Person, person_id)
    if person is None:
        raise NotFoundError(f"Unknown person_id {person_id!r}.")
    return person


def get_profile(session: Session, *, person_id: int) -> Profile | None:
    """This person's profile, or ``None`` when none was entered."""
    return session.get(Profile, person_id)


def set_profile(session: Session, *, person_id: int, **fields: Any) -> Profile:
    """Create or update the profile; only the given fields change.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    person_id : int
    **fields
        Any of ``sex`` (female/male/other), ``birth_year`` (1900..this year), ``diagnosis``
        (AGA/FPHL/alopecia_areata/other), ``diagnosis_confirmed_by_clinician`` (bool), ``grade_scale``
        (norwood_hamilton/ludwig/sinclair/basp), ``grade`` (text, e.g. ``"III-vertex"``), ``hair_colour``,
        ``fitzpatrick_skin_type`` (1..6), ``medications`` (list of text).

    Raises
    ------
    InputError
        An unknown field or a value out of range (named in the message).
    """
    checks = {
        "sex": lambda v: check_choice("sex", v, SEXES, optional=True),
        "birth_year": lambda v: check_number(
            "birth_year", v, low=1900, high=dt.date.today().year, integer=True, optional=True
        ),
        "diagnosis": lambda v: check_choice("diagnosis", v, DIAGNOSES, optional=True),
        "diagnosis_confirmed_by_clinician": lambda v: _bool("diagnosis_confirmed_by_clinician", v),
        "grade_scale": lambda v: check_choice("grade_scale", v, GRADE_SCALES, optional=True),
        "grade": lambda v: check_text("grade", v, optional=True),
        "hair_colour": lambda v: check_text("hair_colour", v, optional=True),
        "fitzpatrick_skin_type": lambda v: check_number(
            "fitzpatrick_skin_type", v, low=1, high=6, integer=True, optional=True
        ),
        "medications": lambda v: _text_list("medications", v),
    }
    cleaned = {}
    for key, value in fields.items():
        if key not in checks:
            raise InputError.invalid("profile field", key, "one of " + ", ".join(checks))
        cleaned[key] = checks[key](value)
    profile = session.get(Profile, person_id)
    if profile is None:
        get_person(session, person_id=person_id)
        profile = Profile(person_id=person_id, medications=[], diagnosis_confirmed_by_clinician=False)
        session.add(profile)
    for key, value in cleaned.items():
        setattr(profile, key, value)
    profile.updated_at = now()
    session.flush()
    return profile


def _bool(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InputError.invalid(field, value, "true or false")
    return value


def set_screening(
    session: Session, *, person_id: int, answers: Mapping[str, bool], answered_at: Any = None
) -> dict[str, bool]:
    """Store yes/no screening answers (replacing earlier answers to the same questions).

    Parameters
    ----------
    answers : mapping of str to bool
        Keys from ``SCREENING_QUESTIONS``.

    Returns
    -------
    dict
        All of this person's answers after the update.
    """
    when = now() if answered_at is None else parse_datetime("answered_at", answered_at)
    for question, answer in answers.items():
        check_choice("screening question", question, SCREENING_QUESTIONS)
        _bool(question, answer)
    existing = {
        row.question: row for row in session.scalars(owned_query(ScreeningAnswer, person_id=person_id))
    }
    for question, answer in answers.items():
        row = existing.get(question)
        if row is None:
            session.add(
                ScreeningAnswer(person_id=person_id, question=question, answer=answer, answered_at=when)
            )
        else:
            row.answer, row.answered_at = answer, when
    session.flush()
    return list_screening(session, person_id=person_id)


def list_screening(session: Session, *, person_id: int) -> dict[str, bool]:
    """This person's screening answers as ``{question: answer}``."""
    rows = session.scalars(owned_query(ScreeningAnswer, person_id=person_id))
    return {row.question: row.answer for row in rows}


# --- devices -----------------------------------------------------------------------------------------


def add_device(
    session: Session,
    *,
    person_id: int,
    name: str,
    kind: str,
    needle_length_mm: float,
    needle_count: int | None = None,
    lot: str | None = None,
    first_use: Any = None,
) -> Device:
    """Register a roller, pen or stamp.

    Parameters
    ----------
    name : str
    kind : {"roller", "pen", "stamp"}
    needle_length_mm : float
        In (0, 3.0] mm.
    needle_count : int, optional
        >= 1 (a Dermaroller MF8 has 192).
    lot : str, optional
        Lot number or UDI.
    first_use : date or ISO 8601 str, optional

    Raises
    ------
    InputError
    """
    device = Device(
        person_id=person_id,
        name=check_text("name", name),
        kind=check_choice("kind", kind, DEVICE_KINDS),
        needle_length_mm=check_needle_length("needle_length_mm", needle_length_mm),
        needle_count=check_number("needle_count", needle_count, low=1, integer=True, optional=True),
        lot=check_text("lot", lot, optional=True),
        first_use=None if first_use is None else parse_date("first_use", first_use),
        use_count=0,
        created_at=now(),
    )
    session.add(device)
    session.flush()
    return device


def get_device(session: Session, *, person_id: int, device_id: Any) -> Device:
    """The device ``device_id`` of this person.

    Raises
    ------
    NotFoundError
        Unknown device; the message lists the ids that exist.
    """
    device = session.get(Device, device_id) if is_row_id(device_id) else None
    if device is None or device.person_id != person_id:
        known = [d.id for d in list_devices(session, person_id=person_id)]
        listing = ", ".join(map(str, known)) if known else "none yet (add one with `regrow device add`)"
        raise NotFoundError(f"Unknown device {device_id!r}; must be one of your device ids: {listing}.")
    return device


def list_devices(session: Session, *, person_id: int, include_retired: bool = True) -> list[Device]:
    """This person's devices, oldest first."""
    query = owned_query(Device, person_id=person_id)
    if not include_retired:
        query = query.where(Device.retired_at.is_(None))
    return list(session.scalars(query.order_by(Device.id)))


def record_disinfection(
    session: Session, *, person_id: int, device_id: int, disinfected_at: Any, method: str
) -> Disinfection:
    """Record that a device was disinfected (``method`` e.g. ``"70% isopropyl alcohol soak 20 min"``)."""
    get_device(session, person_id=person_id, device_id=device_id)
    row = Disinfection(
        person_id=person_id,
        device_id=device_id,
        disinfected_at=parse_datetime("disinfected_at", disinfected_at),
        method=check_text("method", method),
    )
    session.add(row)
    session.flush()
    return row


def list_disinfections(
    session: Session, *, person_id: int, device_id: int | None = None
) -> list[Disinfection]:
    """Disinfection records, oldest first."""
    return owned_rows(
        session,
        Disinfection,
        person_id=person_id,
        order_by=(Disinfection.disinfected_at, Disinfection.id),
        device_id=device_id,
    )


def retire_device(
    session: Session, *, person_id: int, device_id: int, retired_at: Any, reason: str | None
) -> Device:
    """Mark a device retired (it stays in the history)."""
    device = get_device(session, person_id=person_id, device_id=device_id)
    device.retired_at = parse_datetime("retired_at", retired_at)
    device.retired_reason = check_text("reason", reason, optional=True)
    session.flush()
    return device


# --- plans -------------------------------------------------------------------------------------------

PLAN_FIELDS = {
    "name": lambda v: check_text("name", v),
    "start_date": lambda v: parse_date("start_date", v),
    "length_weeks": lambda v: check_number("length_weeks", v, low=1, high=520, integer=True, unit="weeks"),
    "device_id": lambda v: v,
    "needle_length_mm": lambda v: check_needle_length("needle_length_mm", v),
    "loading_interval_days": lambda v: check_number(
        "loading_interval_days", v, low=1, high=365, integer=True
    ),
    "loading_sessions": lambda v: check_number("loading_sessions", v, low=0, high=520, integer=True),
    "maintenance_interval_days": lambda v: check_number(
        "maintenance_interval_days", v, low=1, high=365, integer=True
    ),
    "minoxidil": lambda v: _bool("minoxidil", v),
    "minoxidil_strength_pct": lambda v: check_number(
        "minoxidil_strength_pct", v, low=0, high=100, low_open=True, optional=True, unit="%"
    ),
    "minoxidil_times": lambda v: [_time_of_day("minoxidil_times", t) for t in (v or [])],
    "minoxidil_hold_hours": lambda v: check_number("minoxidil_hold_hours", v, low=0, high=24 * 14, unit="h"),
    "prp_sessions": lambda v: check_number("prp_sessions", v, low=0, high=52, integer=True),
    "prp_interval_days": lambda v: check_number("prp_interval_days", v, low=1, high=365, integer=True),
    "prp_maintenance_months": lambda v: check_number(
        "prp_maintenance_months", v, low=1, high=24, integer=True, optional=True
    ),
    "photo_interval_weeks": lambda v: check_number("photo_interval_weeks", v, low=1, high=52, integer=True),
    "first_evaluation_week": lambda v: check_number(
        "first_evaluation_week", v, low=1, high=520, integer=True
    ),
    "decision_week": lambda v: check_number("decision_week", v, low=1, high=520, integer=True),
}


def _time_of_day(field: str, value: Any) -> str:
    try:
        return dt.time.fromisoformat(str(value)).strftime("%H:%M")
    except ValueError as exc:
        raise InputError.invalid(field, value, "times of day such as 08:00,20:00") from exc


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


# --- sessions, doses, events, acknowledgements, notes ------------------------------------------------


def add_session(
    session: Session,
    *,
    person_id: int,
    device_id: int,
    performed_at: Any,
    needle_length_mm: float | None = None,
    plan_id: int | None = None,
    passes: int | None = None,
    area: str | None = None,
    area_cm2: float | None = None,
    endpoint: str | None = None,
    pain_0_10: int | None = None,
    applied_during: Iterable[str] | None = None,
    applied_after: Iterable[str] | None = None,
    notes: str | None = None,
    acknowledgements: Iterable[Mapping[str, Any]] = (),
) -> TreatmentSession:
    """Log one needling session, count the device use and store any acknowledgements, all in one flush.

    Parameters
    ----------
    device_id : int
        One of this person's devices, not retired.
    performed_at : datetime or ISO 8601 str
    needle_length_mm : float, optional
        Defaults to the device's needle length; in (0, 3.0] mm.
    plan_id : int, optional
    passes : int, optional
        >= 1.
    area : str, optional
        Scalp area, e.g. ``"vertex"``.
    area_cm2 : float, optional
        > 0.
    endpoint : {"none", "erythema", "pinpoint_bleeding", "more_bleeding"}, optional
    pain_0_10 : int, optional
        0..10.
    applied_during, applied_after : list of str
        What was on the skin during needling and applied afterwards.
    acknowledgements : iterable of mapping
        ``{"rule_id", "reason", "message"}`` for each stop finding the person acknowledged.

    Returns
    -------
    TreatmentSession

    Raises
    ------
    InputError, NotFoundError
    """
    device = get_device(session, person_id=person_id, device_id=device_id)
    if device.retired_at is not None:
        raise InputError.invalid(
            "device", device_id, "a device that is not retired (see `regrow device list`)"
        )
    if plan_id is not None:
        get_plan(session, person_id=person_id, plan_id=plan_id)
    when = parse_datetime("performed_at", performed_at)
    row = TreatmentSession(
        person_id=person_id,
        plan_id=plan_id,
        device_id=device.id,
        performed_at=when,
        needle_length_mm=check_needle_length(
            "needle_length_mm", device.needle_length_mm if needle_length_mm is None else needle_length_mm
        ),
        passes=check_number("passes", passes, low=1, high=50, integer=True, optional=True),
        area=check_text("area", area, optional=True),
        area_cm2=check_number("area_cm2", area_cm2, low=0, low_open=True, optional=True, unit="cm²"),
        endpoint=check_choice("endpoint", endpoint, ENDPOINTS, optional=True),
        pain_0_10=check_number("pain_0_10", pain_0_10, low=0, high=10, integer=True, optional=True),
        applied_during=_text_list("applied_during", applied_during),
        applied_after=_text_list("applied_after", applied_after),
        notes=check_text("notes", notes, optional=True),
        created_at=now(),
    )
    acks = [
        {
            "rule_id": check_text("acknowledge", a["rule_id"]),
            "reason": check_text("reason", a.get("reason")),
            "message": a.get("message"),
        }
        for a in acknowledgements
    ]
    session.add(row)
    session.flush()
    pause_point("add_session")  # tests kill the process here: the row is written but not committed
    device.use_count += 1
    if device.first_use is None or device.first_use > when.date():
        device.first_use = when.date()
    for ack in acks:
        add_acknowledgement(
            session,
            person_id=person_id,
            rule_id=ack["rule_id"],
            reason=ack["reason"],
            action="log_session",
            session_id=row.id,
            finding_message=ack["message"],
            acknowledged_at=row.created_at,
        )
    session.flush()
    return row


def list_sessions(session: Session, *, person_id: int) -> list[TreatmentSession]:
    """All needling sessions, oldest first."""
    return owned_rows(
        session,
        TreatmentSession,
        person_id=person_id,
        order_by=(TreatmentSession.performed_at, TreatmentSession.id),
    )


def add_dose(
    session: Session,
    *,
    person_id: int,
    kind: str,
    taken_at: Any,
    strength: str | None = None,
    amount: str | None = None,
    notes: str | None = None,
) -> AdjunctDose:
    """Log an adjunct: ``kind`` one of minoxidil, prp, finasteride, other (``strength`` e.g. ``"5%"``)."""
    row = AdjunctDose(
        person_id=person_id,
        kind=check_choice("kind", kind, DOSE_KINDS),
        taken_at=parse_datetime("taken_at", taken_at),
        strength=check_text("strength", strength, optional=True),
        amount=check_text("amount", amount, optional=True),
        notes=check_text("notes", notes, optional=True),
    )
    session.add(row)
    session.flush()
    return row


#: Doses oldest first (ties in insertion order).
_DOSE_ORDER = (AdjunctDose.taken_at, AdjunctDose.id)


def list_doses(session: Session, *, person_id: int, kind: str | None = None) -> list[AdjunctDose]:
    """Adjunct doses, oldest first."""
    return owned_rows(session, AdjunctDose, person_id=person_id, order_by=_DOSE_ORDER, kind=kind)


def first_dose(session: Session, *, person_id: int, kind: str) -> AdjunctDose | None:
    """This person's earliest adjunct dose of ``kind`` (e.g. ``"minoxidil"``), or ``None`` when there is none.

    One row is read, in the order of :func:`list_doses`.
    """
    query = owned_query(AdjunctDose, person_id=person_id, kind=kind).order_by(*_DOSE_ORDER).limit(1)
    return session.scalars(query).first()


def add_event(
    session: Session,
    *,
    person_id: int,
    kind: str,
    severity: str,
    onset_at: Any,
    resolved_at: Any = None,
    session_id: int | None = None,
    notes: str | None = None,
) -> AdverseEvent:
    """Log an adverse event (``severity`` mild/moderate/severe; ``resolved_at`` not before onset)."""
    onset = parse_datetime("onset_at", onset_at)
    resolved = None if resolved_at is None else parse_datetime("resolved_at", resolved_at)
    if resolved is not None and resolved < onset:
        raise InputError.invalid(
            "resolved_at", resolved.isoformat(), f"not before onset_at {onset.isoformat()}"
        )
    if session_id is not None:
        get_owned(session, TreatmentSession, session_id, person_id=person_id, field="session_id")
    row = AdverseEvent(
        person_id=person_id,
        kind=check_text("kind", kind),
        severity=check_choice("severity", severity, EVENT_SEVERITIES),
        onset_at=onset,
        resolved_at=resolved,
        session_id=session_id,
        notes=check_text("notes", notes, optional=True),
    )
    session.add(row)
    session.flush()
    return row


def resolve_event(session: Session, *, person_id: int, event_id: int, resolved_at: Any) -> AdverseEvent:
    """Mark an adverse event resolved."""
    row = get_owned(session, AdverseEvent, event_id, person_id=person_id, field="event_id")
    resolved = parse_datetime("resolved_at", resolved_at)
    if resolved < row.onset_at:
        raise InputError.invalid(
            "resolved_at", resolved.isoformat(), f"not before onset {row.onset_at.isoformat()}"
        )
    row.resolved_at = resolved
    session.flush()
    return row


def list_events(session: Session, *, person_id: int) -> list[AdverseEvent]:
    """Adverse events, oldest first."""
    return owned_rows(
        session, AdverseEvent, person_id=person_id, order_by=(AdverseEvent.onset_at, AdverseEvent.id)
    )


def add_acknowledgement(
    session: Session,
    *,
    person_id: int,
    rule_id: str,
    reason: str,
    action: str,
    session_id: int | None = None,
    plan_id: int | None = None,
    finding_message: str | None = None,
    acknowledged_at: Any = None,
) -> RuleAcknowledgement:
    """Record that a person acknowledged a stop finding, with their reason."""
    row = RuleAcknowledgement(
        person_id=person_id,
        rule_id=check_text("rule_id", rule_id),
        reason=check_text("reason", reason),
        action=check_text("action", action),
        session_id=session_id,
        plan_id=plan_id,
        finding_message=finding_message,
        acknowledged_at=now()
        if acknowledged_at is None
        else parse_datetime("acknowledged_at", acknowledged_at),
    )
    session.add(row)
    session.flush()
    return row


def list_acknowledgements(session: Session, *, person_id: int) -> list[RuleAcknowledgement]:
    """Recorded acknowledgements, oldest first."""
    return owned_rows(session, RuleAcknowledgement, person_id=person_id, order_by=(RuleAcknowledgement.id,))


def add_note(session: Session, *, person_id: int, text: str, written_at: Any = None) -> Note:
    """Add a free-text note."""
    row = Note(
        person_id=person_id,
        text=check_text("text", text),
        written_at=now() if written_at is None else parse_datetime("written_at", written_at),
    )
    session.add(row)
    session.flush()
    return row


def list_notes(session: Session, *, person_id: int) -> list[Note]:
    """Notes, oldest first."""
    return owned_rows(session, Note, person_id=person_id, order_by=(Note.written_at, Note.id))
