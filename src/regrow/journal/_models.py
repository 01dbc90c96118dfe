"""SQLAlchemy 2 ORM models of the journal.

Every row that belongs to a person carries ``person_id`` so a clinic mode (many people, logins and roles)
can be added later without reshaping the tables. Datetimes are stored naive, in the person's local wall
clock time (the CLI converts zone-aware ISO 8601 input to local time first). Only portable column types are
used (no SQLite-only or PostgreSQL-only SQL); the schema is created by the Alembic migrations in
``regrow/journal/migrations``, never by ``metadata.create_all``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Account",
    "AdjunctDose",
    "AdverseEvent",
    "AuditEvent",
    "Base",
    "Change",
    "Clinic",
    "ClinicPatient",
    "Device",
    "Disinfection",
    "HairCorrection",
    "LoginSession",
    "Measurement",
    "Note",
    "Person",
    "Photo",
    "Plan",
    "Profile",
    "RuleAcknowledgement",
    "ScreeningAnswer",
    "TreatmentSession",
]

# Deterministic constraint names so migrations are portable between SQLite (batch mode) and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with the naming convention shared by models and migrations."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    def as_dict(self) -> dict[str, Any]:
        """The row as a plain ``{column: value}`` dict (Python values, not strings)."""
        return {col.key: getattr(self, col.key) for col in self.__table__.columns}


def _person_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)


class Person(Base):
    """One person whose journal this is (local mode: a single default person)."""

    __tablename__ = "person"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Profile(Base):
    """Who the person is, clinically: sex, diagnosis and grade, hair colour, skin type, medications."""

    __tablename__ = "profile"
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    sex: Mapped[str | None] = mapped_column(String(20))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    diagnosis: Mapped[str | None] = mapped_column(String(40))
    diagnosis_confirmed_by_clinician: Mapped[bool] = mapped_column(Boolean, default=False)
    grade_scale: Mapped[str | None] = mapped_column(String(40))
    grade: Mapped[str | None] = mapped_column(String(20))
    hair_colour: Mapped[str | None] = mapped_column(String(40))
    fitzpatrick_skin_type: Mapped[int | None] = mapped_column(Integer)
    medications: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


class ScreeningAnswer(Base):
    """One answer to a screening question (``scarring_alopecia``, ``pregnancy``, ...): yes or no."""

    __tablename__ = "screening_answer"
    __table_args__ = (UniqueConstraint("person_id", "question"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = _person_fk()
    question: Mapped[str] = mapped_column(String(60))
    answer: Mapped[bool] = mapped_column(Boolean)
    answered_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Device(Base):
    """A roller, pen or stamp: needle length and count, first use, use count, retirement."""

    __tablename__ = "device"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = _person_fk()
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    needle_length_mm: Mapped[float] = mapped_column(Float)
    needle_count: Mapped[int | None] = mapped_column(Integer)
    lot: Mapped[str | None] = mapped_column(String(100))
    first_use: Mapped[dt.date | None] = mapped_column(Date)
    use_count: Mapped[int] = mapped_column(Integer, default=0)
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    retired_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Disinfection(Base):
    """A disinfection of a device (method, e.g. ``70% isopropyl alcohol soak``, and when)."""

    __tablename__ = "disinfection"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = _person_fk()
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"), index=True)
    disinfected_at: Mapped[dt.datetime] = mapped_column(DateTime)
    method: Mapped[str] = mapped_column(String(200))


class Plan(Base):
    """A treatment plan: needling phases, adjuncts and checkpoints (values only; rules live in protocol)."""

    __tablename__ = "plan"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = _person_fk()
    name: Mapped[str] = mapped_column(String(200))
    start_date: Mapped[dt.date] = mapped_column(Date)
    length_weeks: Mapped[int] = mapped_column(Integer)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id", ondelete="SET NULL"))
    needle_length_mm: Mapped[float] = mapped_column(Float)
    loading_interval_days: Mapped[int] = mapped_column(Integer)
    loading_sessions: Mapped[int] = mapped_column(Integer)
    maintenance_interval_days: Mapped[int] = mapped_column(Integer)
    minoxidil: Mapped[bool] = mapped_column(Boolean, default=False)
    minoxidil_strength_pct: Mapped[float | None] = mapped_column(Float)
    minoxidil_times: Mapped[list[str]] = mapped_column(JSON, default=list)
    minoxidil_hold_hours: Mapped[float] = mapped_column(Float)
    prp_sessions: Mapped[int] = mapped_column(Integer, default=0)
    prp_interval_days: Mapped[int] = mapped_column(Integer)
    prp_maintenance_months: Mapped[int | None] = mapped_column(Integer)
    photo_interval_weeks: Mapped[int] = mapped_column(Integer)
    first_evaluation_week: Mapped[int] = mapped_column(Integer)
    decision_week: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    #: The day this version of the plan took effect (``None``: its start date). Editing a plan stores a new
    #: version effective from the edit's date; sessions keep the version they were done under (``plan_id``).
    effective_from: Mapped[dt.date | None] = mapped_column(Date)
    #: The plan version this one replaced (``None`` for a first version).
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id", ondelete="SET NULL"))


class TreatmentSession(Base):
    """One micro-needling session as it was done."""

    __tablename__ = "treatment_session"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = _person_fk()
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id", ondelete="SET NULL"))
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"), index=True)
    performed_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    needle_length_mm: Mapped[float] = mapped_column(Float)
    passes: Mapped[int | None] = mapped_column(Integer)
    area: Mapped[str | None] = mapped_column(String(100))
    area_cm2: Mapped[float | None] = mapped_column(Float)
    endpoint: Mapped[str | None] = mapped_column(String(40))
    pain_0_10: Mapped[int | None] = mapped_column(Integer)
    applied_during: Mapped[list[str]] = mapped_column(JSON, default=list)
    applied_after: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class AdjunctDose(Base):
    """An adjunct: a minoxidil application (strength, time), a PRP session, finasteride, other."""

    __tablename__ = "adjunct_dose"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = _person_fk()
    kind: Mapped[str] = mapped_column(String(40))
    taken_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    strength: Mapped[str | None] = mapped_column(String(60))
    amount: Mapped[str | None] = mapped_column(String(60))
    notes: Mapped[str | None] = mapped_column(Text)


class AdverseEvent(Base):
    """A side effect: type, severity, onset and (when known) resolution."""

    __tablename__ = "adverse_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = _person_fk()
    session_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_session.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(60))
    severity: Mapped[str] = mapped_column(String(20))
    onset_at: Mapped[dt.datetime] = mapped_column(DateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    notes: Mapped[str | None] = mapped_column(Text)


class RuleAcknowledgement(Base):
    """A person's recorded acknowledgement of a ``stop`` finding, with their reason."""

    __tablename__ = "rule_acknowledgement"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = _person_fk()
    rule_id: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
    acknowledged_at: Mapped[dt.datetime] = mapped_column(DateTime)
    action: Mapped[str] = mapped_column(String(40))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_session.id", ondelete="SET NULL"))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id", ondelete="SET NULL"))
    finding_message: Mapped[str | None] = mapped_column(Text)


class Note(Base):
    """A free-text note."""

    __tablename__ = "note"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = _person_fk()
    written_at: Mapped[dt.datetime] = mapped_column(DateTime)
    text: Mapped[str] = mapped_column(Text)


class Photo(Base):
    """A stored scalp photo: ``file_name`` (``<sha256><suffix>``) inside the journal's photo folder.

    The row never holds a path: the folder is a setting of whoever opens the journal, and the name is
    checked before use (:class:`regrow.journal.PhotoStore`), so nothing can point outside the folder.
    """

    __tablename__ = "photo"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = _person_fk()
    taken_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    site: Mapped[str] = mapped_column(String(100))
    file_name: Mapped[str] = mapped_column(String(80))
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Measurement(Base):
    """A hair measurement at one scalp site and time (manual count or measured from an image).

    A photo's measurement holds one count, ``hair_count``, with its provenance ``count_source``: the
    person's corrected detections (``corrected``) win over a count they typed for the photo (``manual``),
    which wins over the detector's (``automatic``); the three inputs are kept in ``corrected_count``,
    ``manual_count`` and ``automatic_count``. A value that is possible but unusual is stored with
    ``review_status="flagged"`` and its ``review_reason`` and is not used until the person accepts it.
    """

    __tablename__ = "measurement"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = _person_fk()
    taken_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    site: Mapped[str] = mapped_column(String(100), index=True)
    hair_count: Mapped[int | None] = mapped_column(Integer)
    area_cm2: Mapped[float] = mapped_column(Float)
    density_per_cm2: Mapped[float | None] = mapped_column(Float)
    diameter_um: Mapped[float | None] = mapped_column(Float)
    terminal_count: Mapped[int | None] = mapped_column(Integer)
    vellus_count: Mapped[int | None] = mapped_column(Integer)
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("photo.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(20))
    quality_flags: Mapped[Any] = mapped_column(JSON, default=list)
    um_per_px: Mapped[float | None] = mapped_column(Float)
    camera: Mapped[str | None] = mapped_column(String(200))
    replicate: Mapped[int] = mapped_column(Integer, default=0)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    count_source: Mapped[str] = mapped_column(String(20), default="automatic")
    automatic_count: Mapped[int | None] = mapped_column(Integer)
    manual_count: Mapped[int | None] = mapped_column(Integer)
    corrected_count: Mapped[int | None] = mapped_column(Integer)
    #: Standard error of ``hair_count`` (hairs) when the measurer gives one (a low-confidence image counts
    #: for less in the progress model).
    count_se: Mapped[float | None] = mapped_column(Float)
    review_status: Mapped[str | None] = mapped_column(String(20))
    review_reason: Mapped[str | None] = mapped_column(Text)


class HairCorrection(Base):
    """A person's correction of one detection on a photo: a missed hair added or a false one removed.

    ``x_px``/``y_px`` locate it on the stored image; ``hair_index`` names the detected hair removed. Kept as
    future training labels (exported as Pascal-VOC boxes for ``regrow measure train``).
    """

    __tablename__ = "hair_correction"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = _person_fk()
    photo_id: Mapped[int] = mapped_column(ForeignKey("photo.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(10))
    x_px: Mapped[float] = mapped_column(Float)
    y_px: Mapped[float] = mapped_column(Float)
    hair_index: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Change(Base):
    """One change to one row, appended for every create, update and delete (the history behind undo).

    Changes of one action (one transaction) share ``group_id``; an undo appends a new group whose
    ``undo_of`` names the group it reverted. Rows are never updated or deleted, except by "delete
    everything", which removes a person's history with the rest of their data.
    """

    __tablename__ = "change"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[str] = mapped_column(String(32), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    interface: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(10))
    table_name: Mapped[str] = mapped_column(String(40))
    row_id: Mapped[int] = mapped_column(Integer)
    old: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    new: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    undo_of: Mapped[str | None] = mapped_column(String(32))


# --- clinic mode (``regrow serve --clinic``): clinics, accounts, sign-in sessions, patients, audit ---------


class Clinic(Base):
    """A clinic: its accounts and patients are visible only inside it."""

    __tablename__ = "clinic"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: Key for the CSRF tokens of this clinic's server (random, made by ``regrow clinic init``).
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Account(Base):
    """A person who signs in: admin, clinician, assistant or patient (a patient account names its person)."""

    __tablename__ = "account"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(400))
    #: The patient's own journal person (role ``patient`` only).
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    #: The last TOTP time step accepted (a code is never accepted twice).
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    password_changed_at: Mapped[dt.datetime] = mapped_column(DateTime)


class LoginSession(Base):
    """A signed-in browser: only the SHA-256 of its cookie token is stored."""

    __tablename__ = "login_session"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ClinicPatient(Base):
    """A journal person who is a patient of a clinic, with the clinic's record number."""

    __tablename__ = "clinic_patient"
    __table_args__ = (UniqueConstraint("clinic_id", "record_number"),)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"), index=True)
    record_number: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class AuditEvent(Base):
    """One read or write of health data, or one security event: who, when, which patient, what.

    Append-only: database triggers refuse UPDATE and DELETE. No foreign keys, so an entry outlives the
    account and the patient it names (the name and role are copied in).
    """

    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    clinic_id: Mapped[int | None] = mapped_column(Integer, index=True)
    account_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(254))
    role: Mapped[str | None] = mapped_column(String(20))
    person_id: Mapped[int | None] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(20))
    what: Mapped[str] = mapped_column(String(300))
    status: Mapped[int | None] = mapped_column(Integer)
    client: Mapped[str | None] = mapped_column(String(100))
