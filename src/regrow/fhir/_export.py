"""One journal person as a FHIR R4B ``collection`` Bundle: every row of every table except the undo history.

Each row becomes one resource (the profile is split over Patient and Condition); fields FHIR has a natural
element for go there, every other column goes into the ``journal-row`` extension, so an import restores the
rows exactly. References between entries use ``urn:uuid:`` full URLs derived from the patient key, the
table and the row id (the same journal exports the same URLs).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from regrow.errors import NotFoundError, StorageError
from regrow.journal import (
    TABLES,
    AdjunctDose,
    AdverseEvent,
    Change,
    Device,
    Disinfection,
    HairCorrection,
    Measurement,
    Note,
    Person,
    Photo,
    PhotoStore,
    Plan,
    Profile,
    RuleAcknowledgement,
    ScreeningAnswer,
    TreatmentSession,
)

from ._codes import (
    BASE_URL,
    BUNDLE_ID_SYSTEM,
    COMPONENT_CODES,
    DERIVED_FILE_URL,
    FHIR_VERSION,
    FHIR_VERSION_SYSTEM,
    MEDIA_SUFFIXES,
    PATIENT_KEY_SYSTEM,
    SHA256_SYSTEM,
    coding,
)
from ._validate import validate_bundle
from ._values import quantity, row_extension, to_date, to_datetime

__all__ = ["ROW_COLUMNS", "SEVERITY_SYSTEM", "export_bundle", "patient_key"]

#: Columns each table carries in the ``journal-row`` extension (the others have a FHIR element).
ROW_COLUMNS: dict[str, tuple[str, ...]] = {
    "person": ("created_at",),
    "profile": ("hair_colour", "fitzpatrick_skin_type", "medications", "updated_at"),
    "screening_answer": (),
    "device": ("first_use", "use_count", "retired_at", "retired_reason", "created_at"),
    "disinfection": ("method",),
    "plan": (
        "length_weeks",
        "device_id",
        "needle_length_mm",
        "loading_interval_days",
        "loading_sessions",
        "maintenance_interval_days",
        "minoxidil",
        "minoxidil_strength_pct",
        "minoxidil_times",
        "minoxidil_hold_hours",
        "prp_sessions",
        "prp_interval_days",
        "prp_maintenance_months",
        "photo_interval_weeks",
        "first_evaluation_week",
        "decision_week",
        "effective_from",
    ),
    "treatment_session": (
        "needle_length_mm",
        "passes",
        "area_cm2",
        "endpoint",
        "pain_0_10",
        "applied_during",
        "applied_after",
        "created_at",
    ),
    "adjunct_dose": ("strength", "amount"),
    "adverse_event": ("resolved_at", "notes"),
    "rule_acknowledgement": (
        "rule_id",
        "reason",
        "acknowledged_at",
        "action",
        "session_id",
        "plan_id",
        "finding_message",
    ),
    "note": ("written_at", "text"),
    "photo": ("created_at",),
    "measurement": (
        "quality_flags",
        "um_per_px",
        "camera",
        "replicate",
        "created_at",
        "count_source",
        "review_status",
        "review_reason",
    ),
    "hair_correction": ("photo_id", "action", "x_px", "y_px", "hair_index", "created_at"),
}
#: AdverseEvent.severity codes (FHIR R4B; the journal's severities are the same three words).
SEVERITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
_OUTCOME_SYSTEM = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
_VERIFICATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_MEDIA_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/media-type"
#: The journal's tables in import order (parents first), without the person, profile and history.
_ORDER = tuple(m for m in TABLES if m not in (Person, Profile, Change))


def patient_key(person: Person) -> str:
    """The stable identifier of a journal person in bundles: SHA-256 of its creation instant (UTC) and name
    (first 32 hex digits).

    An import keeps both (the creation time as the same instant in the importing machine's local time), so
    the imported person has the same key and a second import is recognised, in any time zone.
    """
    created_utc = person.created_at.astimezone(dt.UTC).replace(tzinfo=None).isoformat()
    text = f"{created_utc}|{person.display_name}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass
class _Context:
    key: str
    urls: dict[tuple[str, int], str]
    store: PhotoStore
    include_photos: bool

    @property
    def patient(self) -> dict[str, str]:
        return {"reference": self.urls[("person", 0)]}

    def ref(self, table: str, row_id: int) -> dict[str, str]:
        return {"reference": self.urls[(table, row_id)]}

    def row(self, table: str, row: Any) -> list[dict[str, Any]]:
        return [row_extension(table, row, ROW_COLUMNS[table], self.urls)]


def _url(key: str, table: str, row_id: int) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{BASE_URL}/{key}/{table}/{row_id}')}"


def _kind(name: str) -> dict[str, Any]:
    return {"coding": [coding("resource-kind", name)]}


def _patient(person: Person, profile: Profile | None, ctx: _Context) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [{"system": PATIENT_KEY_SYSTEM, "value": ctx.key}],
        "name": [{"text": person.display_name}],
        "extension": ctx.row("person", person),
    }
    if profile is not None:
        if profile.sex is not None:
            resource["gender"] = profile.sex
        if profile.birth_year is not None:
            resource["birthDate"] = f"{profile.birth_year:04d}"
        resource["extension"] += ctx.row("profile", profile)
    return resource


def _condition(profile: Profile, ctx: _Context) -> dict[str, Any] | None:
    if (
        profile.diagnosis is None
        and profile.grade_scale is None
        and profile.grade is None
        and not profile.diagnosis_confirmed_by_clinician
    ):
        return None
    status = "confirmed" if profile.diagnosis_confirmed_by_clinician else "provisional"
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "subject": ctx.patient,
        "verificationStatus": {"coding": [{"system": _VERIFICATION_SYSTEM, "code": status}]},
    }
    if profile.diagnosis is not None:
        resource["code"] = {"coding": [coding("diagnosis", profile.diagnosis)]}
    if profile.grade_scale is not None or profile.grade is not None:
        stage: dict[str, Any] = {}
        if profile.grade is not None:
            stage["summary"] = {"text": profile.grade}
        if profile.grade_scale is not None:
            stage["type"] = {"coding": [coding("grade-scale", profile.grade_scale)]}
        resource["stage"] = [stage]
    return resource


def _screening(row: ScreeningAnswer, ctx: _Context) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": _CATEGORY_SYSTEM, "code": "survey"}]}],
        "code": {"coding": [coding("screening", row.question)]},
        "subject": ctx.patient,
        "effectiveDateTime": to_datetime(row.answered_at),
        "valueBoolean": row.answer,
    }


def _device(row: Device, ctx: _Context) -> dict[str, Any]:
    properties = [
        {
            "type": {"coding": [coding("device-property", "needle-length")]},
            "valueQuantity": [quantity(row.needle_length_mm, "mm")],
        }
    ]
    if row.needle_count is not None:
        properties.append(
            {
                "type": {"coding": [coding("device-property", "needle-count")]},
                "valueQuantity": [quantity(row.needle_count, "{needles}")],
            }
        )
    resource: dict[str, Any] = {
        "resourceType": "Device",
        "status": "inactive" if row.retired_at is not None else "active",
        "deviceName": [{"name": row.name, "type": "user-friendly-name"}],
        "type": {"coding": [coding("device-kind", row.kind)]},
        "property": properties,
        "patient": ctx.patient,
        "extension": ctx.row("device", row),
    }
    if row.lot is not None:
        resource["lotNumber"] = row.lot
    return resource


def _disinfection(row: Disinfection, ctx: _Context) -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "status": "completed",
        "code": _kind("device-disinfection"),
        "subject": ctx.patient,
        "performedDateTime": to_datetime(row.disinfected_at),
        "focalDevice": [{"manipulated": ctx.ref("device", row.device_id)}],
        "extension": ctx.row("disinfection", row),
    }


def _plan(row: Plan, ctx: _Context) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "CarePlan",
        "status": "active" if row.active else "revoked",
        "intent": "plan",
        "title": row.name,
        "subject": ctx.patient,
        "period": {"start": to_date(row.start_date)},
        "created": to_datetime(row.created_at),
        "extension": ctx.row("plan", row),
    }
    if row.supersedes_id is not None:
        resource["replaces"] = [ctx.ref("plan", row.supersedes_id)]
    return resource


def _session(row: TreatmentSession, ctx: _Context) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Procedure",
        "status": "completed",
        "code": _kind("micro-needling"),
        "subject": ctx.patient,
        "performedDateTime": to_datetime(row.performed_at),
        "focalDevice": [{"manipulated": ctx.ref("device", row.device_id)}],
        "extension": ctx.row("treatment_session", row),
    }
    if row.plan_id is not None:
        resource["basedOn"] = [ctx.ref("plan", row.plan_id)]
    if row.area is not None:
        resource["bodySite"] = [{"text": row.area}]
    if row.notes is not None:
        resource["note"] = [{"text": row.notes}]
    return resource


def _dose(row: AdjunctDose, ctx: _Context) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "status": "completed",
        "medicationCodeableConcept": {"coding": [coding("dose-kind", row.kind)], "text": row.kind},
        "subject": ctx.patient,
        "effectiveDateTime": to_datetime(row.taken_at),
        "extension": ctx.row("adjunct_dose", row),
    }
    dosage = " ".join(part for part in (row.strength, row.amount) if part)
    if dosage:
        resource["dosage"] = [{"text": dosage}]  # for people reading it; the import reads journal-row
    if row.notes is not None:
        resource["note"] = [{"text": row.notes}]
    return resource


def _event(row: AdverseEvent, ctx: _Context) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "AdverseEvent",
        "actuality": "actual",
        "event": {"text": row.kind},
        "subject": ctx.patient,
        "date": to_datetime(row.onset_at),
        "severity": {"coding": [{"system": SEVERITY_SYSTEM, "code": row.severity}]},
        "outcome": {
            "coding": [
                {"system": _OUTCOME_SYSTEM, "code": "resolved" if row.resolved_at is not None else "ongoing"}
            ]
        },
        "extension": ctx.row("adverse_event", row),
    }
    if row.session_id is not None:
        resource["suspectEntity"] = [{"instance": ctx.ref("treatment_session", row.session_id)}]
    return resource


def _basic(table: str, kind: str) -> Callable[[Any, _Context], dict[str, Any]]:
    def build(row: Any, ctx: _Context) -> dict[str, Any]:
        return {
            "resourceType": "Basic",
            "code": _kind(kind),
            "subject": ctx.patient,
            "extension": ctx.row(table, row),
        }

    return build


def _photo(row: Photo, ctx: _Context) -> dict[str, Any]:
    suffix = row.file_name[64:]
    content_type = next(t for t, s in MEDIA_SUFFIXES.items() if s == suffix)
    content: dict[str, Any] = {"contentType": content_type}
    resource: dict[str, Any] = {
        "resourceType": "Media",
        "status": "completed",
        "type": {"coding": [{"system": _MEDIA_TYPE_SYSTEM, "code": "image"}]},
        "subject": ctx.patient,
        "createdDateTime": to_datetime(row.taken_at),
        "bodySite": {"text": row.site},
        "identifier": [{"system": SHA256_SYSTEM, "value": row.sha256}],
        "width": row.width,
        "height": row.height,
        "content": content,
        "extension": ctx.row("photo", row),
    }
    if not ctx.include_photos:
        return resource
    path = ctx.store.path(row.file_name)
    if not path.is_file():
        raise StorageError(
            f"Photo {row.id} ({row.file_name}) is missing from the photo folder {ctx.store.root}; export "
            "without photos, or restore the file."
        )
    data = path.read_bytes()
    content.update(
        data=base64.b64encode(data).decode("ascii"),
        size=len(data),
        hash=base64.b64encode(hashlib.sha1(data).digest()).decode("ascii"),  # FHIR: SHA-1, base64
    )
    for kind, file, mime in (
        ("overlay", ctx.store.overlay_path(row.sha256), "image/png"),
        ("sidecar", ctx.store.sidecar_path(row.sha256), "application/json"),
    ):
        if file.is_file():
            extra = file.read_bytes()
            attachment = {"contentType": mime, "title": kind, "data": base64.b64encode(extra).decode("ascii")}
            resource["extension"].append({"url": DERIVED_FILE_URL, "valueAttachment": attachment})
    return resource


def _measurement(row: Measurement, ctx: _Context) -> dict[str, Any]:
    components = [
        {
            "code": {"coding": [coding("measurement", code)]},
            "valueQuantity": quantity(getattr(row, column), unit),
        }
        for column, (code, unit) in COMPONENT_CODES.items()
        if getattr(row, column) is not None
    ]
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "preliminary" if row.review_status == "flagged" else "final",
        "category": [{"coding": [{"system": _CATEGORY_SYSTEM, "code": "exam"}]}],
        "code": _kind("trichoscopy"),
        "subject": ctx.patient,
        "effectiveDateTime": to_datetime(row.taken_at),
        "bodySite": {"text": row.site},
        "method": {"coding": [coding("measurement-source", row.source)]},
        "component": components,
        "extension": ctx.row("measurement", row),
    }
    if row.photo_id is not None:
        resource["derivedFrom"] = [ctx.ref("photo", row.photo_id)]
    if row.notes is not None:
        resource["note"] = [{"text": row.notes}]
    return resource


_BUILDERS: dict[type, Callable[[Any, _Context], dict[str, Any]]] = {
    ScreeningAnswer: _screening,
    Device: _device,
    Disinfection: _disinfection,
    Plan: _plan,
    TreatmentSession: _session,
    AdjunctDose: _dose,
    AdverseEvent: _event,
    RuleAcknowledgement: _basic("rule_acknowledgement", "rule-acknowledgement"),
    Note: _basic("note", "note"),
    Photo: _photo,
    Measurement: _measurement,
    HairCorrection: _basic("hair_correction", "hair-correction"),
}


def export_bundle(
    session: Session, store: PhotoStore, person_id: int, *, include_photos: bool = True
) -> dict[str, Any]:
    """One journal person as a FHIR R4B ``collection`` Bundle, validated with fhir.resources.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    store : PhotoStore
        The journal's photo folder (read for the photo bytes).
    person_id : int
        The patient (a journal person).
    include_photos : bool
        Put each photo's bytes (and its overlay and measurement summary) into its Media resource as base64;
        without them the Media resources carry the SHA-256 only.

    Returns
    -------
    dict
        The Bundle as JSON-ready data (``json.dumps`` it).

    Raises
    ------
    NotFoundError
        No person ``person_id``.
    StorageError
        A photo file is missing from the photo folder (with ``include_photos``).
    """
    valid = isinstance(person_id, int) and not isinstance(person_id, bool)
    person = session.get(Person, person_id) if valid else None
    if person is None:
        raise NotFoundError(f"No patient {person_id!r} in this journal.")
    key = patient_key(person)
    rows = {
        model: session.scalars(select(model).where(model.person_id == person_id).order_by(model.id)).all()
        for model in _ORDER
    }
    urls = {("person", 0): _url(key, "person", 0)}
    for model, found in rows.items():
        for row in found:
            urls[(model.__tablename__, row.id)] = _url(key, model.__tablename__, row.id)
    ctx = _Context(key, urls, store, include_photos)
    profile = session.get(Profile, person_id)
    entries = [(urls[("person", 0)], _patient(person, profile, ctx))]
    condition = _condition(profile, ctx) if profile is not None else None
    if condition is not None:
        entries.append((_url(key, "condition", 0), condition))
    for model, found in rows.items():
        for row in found:
            entries.append((urls[(model.__tablename__, row.id)], _BUILDERS[model](row, ctx)))
    stamp = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    bundle = {
        "resourceType": "Bundle",
        "meta": {"lastUpdated": stamp, "tag": [{"system": FHIR_VERSION_SYSTEM, "code": FHIR_VERSION}]},
        "identifier": {"system": BUNDLE_ID_SYSTEM, "value": str(uuid.uuid4())},
        "type": "collection",
        "timestamp": stamp,
        "entry": [
            {"fullUrl": url, "resource": {"id": url.removeprefix("urn:uuid:"), **resource}}
            for url, resource in entries
        ],
    }
    validate_bundle(bundle)
    return bundle
