"""Clinics and their patients: ``init_clinic`` (the schema and the first admin), patients as journal persons.

A patient is a journal person (:class:`regrow.journal.Person`) linked to one clinic by a
:class:`~regrow.journal._models.ClinicPatient` row; everything else about them is the ordinary journal, so
every journal function works per patient through its ``person_id``.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from regrow import journal as jr
from regrow.errors import DuplicateError, InputError, NotFoundError
from regrow.journal._models import Account, Clinic, ClinicPatient, Measurement, Person

from ._accounts import add_account

__all__ = [
    "add_patient",
    "clinic_of",
    "get_patient",
    "import_patient",
    "init_clinic",
    "list_clinics",
    "list_patients",
    "remove_empty_patient",
]


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def init_clinic(
    engine, *, name: str, admin_email: str, admin_name: str, admin_password: str
) -> tuple[Clinic, Account]:
    """Create (migrating first) the clinic tables, a clinic and its first admin account, in one transaction.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        A journal engine (:func:`regrow.journal.open_journal` has migrated it).
    name : str
        The clinic's name.
    admin_email, admin_name, admin_password : str
        The first admin account (the password is checked by
        :func:`regrow.clinic.check_password_rules`).

    Returns
    -------
    (Clinic, Account)

    Raises
    ------
    InputError
        A bad name, e-mail or password (nothing is created).
    DuplicateError
        The e-mail address has an account already.
    """
    cleaned = (name or "").strip()
    if not cleaned or len(cleaned) > 200:
        raise InputError.invalid("clinic name", name, "a name of 1 to 200 characters")
    with jr.session_scope(engine) as session:
        clinic = Clinic(name=cleaned, secret=secrets.token_hex(32), created_at=_now())
        session.add(clinic)
        session.flush()
        admin = add_account(
            session,
            clinic_id=clinic.id,
            email=admin_email,
            display_name=admin_name,
            role="admin",
            password=admin_password,
        )
        session.expunge_all()
    return clinic, admin


def list_clinics(session: Session) -> list[Clinic]:
    """Every clinic in the database, oldest first."""
    return list(session.scalars(select(Clinic).order_by(Clinic.id)))


def clinic_of(session: Session, clinic_id: int | None = None) -> Clinic:
    """The clinic ``clinic_id``, or the only one when not given.

    Raises
    ------
    NotFoundError
        No clinic yet (run ``regrow clinic init``), or no clinic ``clinic_id``.
    InputError
        Several clinics and none chosen.
    """
    if clinic_id is not None:
        clinic = session.get(Clinic, clinic_id)
        if clinic is None:
            raise NotFoundError(f"No clinic {clinic_id} in this database.")
        return clinic
    clinics = list_clinics(session)
    if not clinics:
        raise NotFoundError("This database has no clinic yet; create one with `regrow clinic init`.")
    if len(clinics) > 1:
        raise InputError.invalid(
            "clinic", None, "one of the clinic ids " + ", ".join(str(c.id) for c in clinics) + " (--clinic)"
        )
    return clinics[0]


def add_patient(session: Session, *, clinic_id: int, name: str, record_number: str | None = None) -> Person:
    """A new patient of ``clinic_id``: a journal person linked to the clinic.

    Parameters
    ----------
    record_number : str, optional
        The clinic's own patient number (unique in the clinic).

    Raises
    ------
    InputError
        A missing or over-long name or record number.
    DuplicateError
        The record number is taken in this clinic.
    """
    number = (record_number or "").strip() or None
    if number is not None and len(number) > 60:
        raise InputError.invalid("record number", record_number, "at most 60 characters")
    if number is not None:
        taken = session.scalars(
            select(ClinicPatient.person_id).where(
                ClinicPatient.clinic_id == clinic_id, ClinicPatient.record_number == number
            )
        ).first()
        if taken is not None:
            raise DuplicateError(
                f"Record number {number} belongs to patient {taken} already.",
                field="record_number",
                value=number,
            )
    person = jr.create_person(session, display_name=name)
    session.add(
        ClinicPatient(person_id=person.id, clinic_id=clinic_id, record_number=number, created_at=_now())
    )
    session.flush()
    return person


def import_patient(engine, store, bundle, *, clinic_id: int, allow_duplicate: bool = False, max_bytes=None):
    """A FHIR bundle as a new patient of ``clinic_id`` (:func:`regrow.fhir.import_bundle`).

    The patient is registered in the clinic first and the bundle fills it; when the import is refused the
    patient is removed again, so a failed import leaves nothing. Duplicates are looked for among this
    clinic's patients only: an import never reveals another clinic's patient.

    Returns
    -------
    regrow.fhir.ImportSummary
    """
    from regrow.fhir import MAX_BUNDLE_BYTES, import_bundle

    with jr.session_scope(engine) as session:
        within = [p["id"] for p in list_patients(session, clinic_id=clinic_id)]
        person_id = add_patient(session, clinic_id=clinic_id, name="(importing)").id
    try:
        return import_bundle(
            engine,
            store,
            bundle,
            person_id=person_id,
            within=within,
            allow_duplicate=allow_duplicate,
            max_bytes=max_bytes or MAX_BUNDLE_BYTES,
        )
    except BaseException:
        with jr.session_scope(engine) as session:
            remove_empty_patient(session, clinic_id=clinic_id, person_id=person_id)
        raise


def remove_empty_patient(session: Session, *, clinic_id: int, person_id: int) -> None:
    """Delete a patient of ``clinic_id`` made for an import that then failed (the person and its link)."""
    person, _link = get_patient(session, clinic_id=clinic_id, person_id=person_id)
    session.delete(person)
    session.flush()


def get_patient(session: Session, *, clinic_id: int, person_id: int) -> tuple[Person, ClinicPatient]:
    """Patient ``person_id`` of ``clinic_id``.

    Raises
    ------
    NotFoundError
        No such patient in this clinic: an unknown id and another clinic's patient get the same answer.
    """
    link = session.get(ClinicPatient, person_id)
    if link is None or link.clinic_id != clinic_id:
        raise NotFoundError(f"No patient {person_id} in this clinic.")
    return session.get(Person, person_id), link


def list_patients(session: Session, *, clinic_id: int, search: str | None = None) -> list[dict]:
    """The clinic's patients by name: id, name, record number, registered, last visit (the newest day with a
    measurement); ``search`` matches part of the name or record number."""
    last_visit = (
        select(Measurement.person_id, func.max(Measurement.taken_at).label("last_visit"))
        .group_by(Measurement.person_id)
        .subquery()
    )
    query = (
        select(
            Person.id,
            Person.display_name,
            ClinicPatient.record_number,
            ClinicPatient.created_at,
            last_visit.c.last_visit,
        )
        .join(ClinicPatient, ClinicPatient.person_id == Person.id)
        .outerjoin(last_visit, last_visit.c.person_id == Person.id)
        .where(ClinicPatient.clinic_id == clinic_id)
        .order_by(func.lower(Person.display_name), Person.id)
    )
    if search:
        like = f"%{search.strip().lower()}%"
        query = query.where(
            func.lower(Person.display_name).like(like) | func.lower(ClinicPatient.record_number).like(like)
        )
    return [
        {"id": pid, "name": display, "record_number": number, "created_at": created, "last_visit": visit}
        for pid, display, number, created, visit in session.execute(query)
    ]
