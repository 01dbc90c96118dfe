"""Keyword-only data access for people, profiles, devices, plans, sessions, doses, events and notes.

Every function takes the session explicitly and never commits: the caller's :func:`session_scope` is the
transaction. Values are shape-checked here (types, ranges, allowed codes); clinical rules are not.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from regrow.errors import DuplicateError, InputError, NotFoundError

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
from ._plausibility import (
    check_date_value,
    check_not_before,
    check_range,
    duplicate_dose_minutes,
)
from ._sites import canonical_site

NEEDLE_RANGE = f"a number in (0, {MAX_NEEDLE_LENGTH_MM:g}] mm"


def _text_list(field: str, values: Iterable[str] | None) -> list[str]:
    if isinstance(values, str):
        values = [values]
    out = []
    for value in values or ():
        item = check_text(field, value)
        if not any(ch.isalnum() for ch in item):  # "[]", "-", "," are not names of anything
            raise InputError.invalid(
                field, item, "names with at least one letter or digit, such as minoxidil"
            )
        out.append(item)
    return out


def birth_year_of(session: Session, *, person_id: int) -> int | None:
    """The person's birth year when their profile has one (dates may not lie before it)."""
    profile = session.get(Profile, person_id) if is_row_id(person_id) else None
    return None if profile is None else profile.birth_year


def check_when(
    session: Session, field: str, value: Any, *, person_id: int, date_only: bool = False, **kwargs: Any
) -> Any:
    """:func:`check_date_value` with this person's birth year as the earliest allowed year."""
    return check_date_value(
        field, value, date_only=date_only, birth_year=birth_year_of(session, person_id=person_id), **kwargs
    )


def refuse_duplicate(what: str, existing: Any, *, allow: bool, how: str) -> None:
    """Refuse a likely duplicate unless the person confirmed it (``allow``).

    Raises
    ------
    DuplicateError
        Naming the stored entry and how to confirm.
    """
    if existing is not None and not allow:
        raise DuplicateError(
            f"This looks like {what} already stored (id {existing.id}); nothing was stored. If it really is "
            f"another one, repeat with {how}.",
            field="allow_duplicate",
            value=existing.id,
            allowed=how,
        )


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
        "birth_year": lambda v: check_range("birth_year", v, optional=True),
        "diagnosis": lambda v: check_choice("diagnosis", v, DIAGNOSES, optional=True),
        "diagnosis_confirmed_by_clinician": lambda v: _bool("diagnosis_confirmed_by_clinician", v),
        "grade_scale": lambda v: check_choice("grade_scale", v, GRADE_SCALES, optional=True),
        "grade": lambda v: check_text("grade", v, optional=True),
        "hair_colour": lambda v: check_text("hair_colour", v, optional=True),
        "fitzpatrick_skin_type": lambda v: check_range("fitzpatrick_skin_type", v, optional=True),
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
    when = (
        now() if answered_at is None else check_when(session, "answered_at", answered_at, person_id=person_id)
    )
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
        needle_count=check_range("needle_count", needle_count, optional=True),
        lot=check_text("lot", lot, optional=True),
        first_use=None
        if first_use is None
        else check_when(session, "first_use", first_use, person_id=person_id, date_only=True),
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
        disinfected_at=check_when(session, "disinfected_at", disinfected_at, person_id=person_id),
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
    when = check_when(session, "retired_at", retired_at, person_id=person_id)
    if device.first_use is not None:
        check_not_before("retired_at", when.date(), "first use", device.first_use)
    device.retired_at = when
    device.retired_reason = check_text("reason", reason, optional=True)
    session.flush()
    return device


# --- sessions, doses, events, acknowledgements, notes ------------------------------------------------


#: Checks of a session's own fields (the date, device and plan need the journal; see add_session).
SESSION_FIELDS = {
    "needle_length_mm": lambda v: check_needle_length("needle_length_mm", v),
    "passes": lambda v: check_range("passes", v, optional=True),
    "area": lambda v: None if v is None or not str(v).strip() else canonical_site(v, field="area"),
    "area_cm2": lambda v: check_range("area_cm2", v, optional=True),
    "endpoint": lambda v: check_choice("endpoint", v, ENDPOINTS, optional=True),
    "pain_0_10": lambda v: check_range("pain_0_10", v, optional=True),
    "applied_during": lambda v: _text_list("applied_during", v),
    "applied_after": lambda v: _text_list("applied_after", v),
    "notes": lambda v: check_text("notes", v, optional=True),
}


def same_day_session(session: Session, *, person_id: int, day: dt.date, exclude_id: int | None = None) -> Any:
    """A needling session already logged on ``day`` (the first), or ``None``."""
    start = dt.datetime.combine(day, dt.time())
    query = owned_query(TreatmentSession, person_id=person_id).where(
        TreatmentSession.performed_at >= start, TreatmentSession.performed_at < start + dt.timedelta(days=1)
    )
    if exclude_id is not None:
        query = query.where(TreatmentSession.id != exclude_id)
    return session.scalars(query.order_by(TreatmentSession.id).limit(1)).first()


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
    allow_duplicate: bool = False,
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
    allow_duplicate : bool
        Store it although a session is already logged that day.

    Returns
    -------
    TreatmentSession

    Raises
    ------
    InputError, NotFoundError
    DuplicateError
        A session is already logged that day and ``allow_duplicate`` is false.
    """
    device = get_device(session, person_id=person_id, device_id=device_id)
    if device.retired_at is not None:
        raise InputError.invalid(
            "device", device_id, "a device that is not retired (see `regrow device list`)"
        )
    if plan_id is not None:
        get_owned(session, Plan, plan_id, person_id=person_id, field="plan_id")
    when = check_when(session, "performed_at", performed_at, person_id=person_id)
    refuse_duplicate(
        f"a needling session on {when.date().isoformat()}",
        same_day_session(session, person_id=person_id, day=when.date()),
        allow=allow_duplicate,
        how="--allow-duplicate (web: tick 'Yes, log another session that day')",
    )
    given = {
        "needle_length_mm": device.needle_length_mm if needle_length_mm is None else needle_length_mm,
        "passes": passes,
        "area": area,
        "area_cm2": area_cm2,
        "endpoint": endpoint,
        "pain_0_10": pain_0_10,
        "applied_during": applied_during,
        "applied_after": applied_after,
        "notes": notes,
    }
    row = TreatmentSession(
        person_id=person_id,
        plan_id=plan_id,
        device_id=device.id,
        performed_at=when,
        created_at=now(),
        **{key: SESSION_FIELDS[key](value) for key, value in given.items()},
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


def check_dose_quantity(field: str, value: Any) -> str | None:
    """A dose's strength or amount: free text that must state a quantity (``5%``, ``1 mL``, ``2.5 mg``).

    Raises
    ------
    InputError
        Text without any number (``abc``), besides the limits of :func:`check_text`.
    """
    text = check_text(field, value, optional=True)
    if text is not None and not re.search(r"\d", text):
        raise InputError.invalid(field, text, "a quantity with a number, e.g. 5% or 1 mL")
    return text


#: Checks of a dose's own fields.
DOSE_FIELDS = {
    "kind": lambda v: check_choice("kind", v, DOSE_KINDS),
    "strength": lambda v: check_dose_quantity("strength", v),
    "amount": lambda v: check_dose_quantity("amount", v),
    "notes": lambda v: check_text("notes", v, optional=True),
}


def near_dose(
    session: Session, *, person_id: int, kind: str, at: dt.datetime, exclude_id: int | None = None
) -> Any:
    """A dose of ``kind`` logged within the duplicate window around ``at`` (plausibility.yaml), or ``None``."""
    window = dt.timedelta(minutes=duplicate_dose_minutes())
    query = owned_query(AdjunctDose, person_id=person_id, kind=kind).where(
        AdjunctDose.taken_at > at - window, AdjunctDose.taken_at < at + window
    )
    if exclude_id is not None:
        query = query.where(AdjunctDose.id != exclude_id)
    return session.scalars(query.order_by(AdjunctDose.id).limit(1)).first()


def add_dose(
    session: Session,
    *,
    person_id: int,
    kind: str,
    taken_at: Any,
    strength: str | None = None,
    amount: str | None = None,
    notes: str | None = None,
    allow_duplicate: bool = False,
) -> AdjunctDose:
    """Log an adjunct: ``kind`` one of minoxidil, prp, finasteride, other (``strength`` e.g. ``"5%"``).

    Raises
    ------
    InputError
        A field out of range or a date in the future.
    DuplicateError
        A dose of the same kind within the hour, unless ``allow_duplicate``.
    """
    values = {
        key: DOSE_FIELDS[key](value)
        for key, value in {"kind": kind, "strength": strength, "amount": amount, "notes": notes}.items()
    }
    when = check_when(session, "taken_at", taken_at, person_id=person_id)
    refuse_duplicate(
        f"a {values['kind']} dose at {when.isoformat(timespec='minutes')}",
        near_dose(session, person_id=person_id, kind=values["kind"], at=when),
        allow=allow_duplicate,
        how="--allow-duplicate (web: tick 'Yes, log it again')",
    )
    row = AdjunctDose(person_id=person_id, taken_at=when, **values)
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


#: Checks of an adverse event's own fields.
EVENT_FIELDS = {
    "kind": lambda v: check_text("kind", v),
    "severity": lambda v: check_choice("severity", v, EVENT_SEVERITIES),
    "notes": lambda v: check_text("notes", v, optional=True),
}


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
    allow_duplicate: bool = False,
) -> AdverseEvent:
    """Log an adverse event (``severity`` mild/moderate/severe; ``resolved_at`` not before onset).

    Raises
    ------
    InputError
        A bad field or date; the resolution before the onset.
    DuplicateError
        The same kind of event with an onset that day, unless ``allow_duplicate``.
    """
    values = {
        key: EVENT_FIELDS[key](value)
        for key, value in {"kind": kind, "severity": severity, "notes": notes}.items()
    }
    onset = check_when(session, "onset_at", onset_at, person_id=person_id)
    resolved = (
        None if resolved_at is None else check_when(session, "resolved_at", resolved_at, person_id=person_id)
    )
    check_not_before("resolved_at", resolved, "onset_at", onset)
    if session_id is not None:
        get_owned(session, TreatmentSession, session_id, person_id=person_id, field="session_id")
    start = dt.datetime.combine(onset.date(), dt.time())
    same = session.scalars(
        owned_query(AdverseEvent, person_id=person_id, kind=values["kind"])
        .where(AdverseEvent.onset_at >= start, AdverseEvent.onset_at < start + dt.timedelta(days=1))
        .limit(1)
    ).first()
    refuse_duplicate(
        f"a '{values['kind']}' side effect starting {onset.date().isoformat()}",
        same,
        allow=allow_duplicate,
        how="--allow-duplicate (web: tick 'Yes, log it again')",
    )
    row = AdverseEvent(
        person_id=person_id, onset_at=onset, resolved_at=resolved, session_id=session_id, **values
    )
    session.add(row)
    session.flush()
    return row


def resolve_event(session: Session, *, person_id: int, event_id: int, resolved_at: Any) -> AdverseEvent:
    """Mark an adverse event resolved."""
    row = get_owned(session, AdverseEvent, event_id, person_id=person_id, field="event_id")
    resolved = check_when(session, "resolved_at", resolved_at, person_id=person_id)
    check_not_before("resolved_at", resolved, "onset", row.onset_at)
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
        else check_when(session, "acknowledged_at", acknowledged_at, person_id=person_id),
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
        written_at=now()
        if written_at is None
        else check_when(session, "written_at", written_at, person_id=person_id),
    )
    session.add(row)
    session.flush()
    return row


def list_notes(session: Session, *, person_id: int) -> list[Note]:
    """Notes, oldest first."""
    return owned_rows(session, Note, person_id=person_id, order_by=(Note.written_at, Note.id))
