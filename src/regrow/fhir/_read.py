"""Bundle entries back into journal rows: which table each resource is, and its column values.

Nothing here touches the database: every entry is read and checked first (:mod:`regrow.fhir._import` writes
only when all of them pass).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

from regrow.journal import EVENT_SEVERITIES, SEXES

from ._codes import COMPONENT_CODES, MEDIA_SUFFIXES, SHA256_SYSTEM, code_system
from ._export import ROW_COLUMNS, SEVERITY_SYSTEM
from ._values import (
    Where,
    check_row,
    from_date,
    from_datetime,
    journal_row_tables,
    read_coding,
    read_quantity,
    read_row_extension,
    reference,
)

__all__ = ["PARSERS", "classify"]

_KINDS = {
    ("Observation", "trichoscopy"): "measurement",
    ("Procedure", "micro-needling"): "treatment_session",
    ("Procedure", "device-disinfection"): "disinfection",
    ("Basic", "rule-acknowledgement"): "rule_acknowledgement",
    ("Basic", "note"): "note",
    ("Basic", "hair-correction"): "hair_correction",
}
_PLAIN = {
    "Patient": "person",
    "Condition": "condition",
    "Device": "device",
    "CarePlan": "plan",
    "MedicationStatement": "adjunct_dose",
    "AdverseEvent": "adverse_event",
    "Media": "photo",
}
_COMPONENTS = {code: (column, unit) for column, (code, unit) in COMPONENT_CODES.items()}


def _codes(concept: Any, system: str) -> list[str]:
    if not isinstance(concept, dict):
        return []
    return [c.get("code") for c in concept.get("coding", []) if c.get("system") == system]


def classify(resource: dict[str, Any], where: Where) -> str:
    """The journal table a resource is read into.

    Raises
    ------
    DataFileError
        A resource type or a kind code regrow does not import.
    """
    kind = resource["resourceType"]
    if kind in _PLAIN:
        return _PLAIN[kind]
    if kind == "Observation" and _codes(resource.get("code"), code_system("screening")):
        return "screening_answer"
    if kind in ("Observation", "Procedure", "Basic"):
        found = _codes(resource.get("code"), code_system("resource-kind"))
        if not found:
            raise where.error("code", f"needs a coding of {code_system('resource-kind')}")
        table = _KINDS.get((kind, found[0]))
        if table is None:
            allowed = ", ".join(code for k, code in _KINDS if k == kind)
            raise where.error("code", f"unknown code {found[0]!r} for a {kind}; must be one of {allowed}")
        return table
    raise where.error(
        "resourceType",
        f"{kind} is not a resource regrow imports; allowed: "
        + ", ".join(sorted({*_PLAIN, "Observation", "Procedure", "Basic"})),
    )


def _one(resource: dict[str, Any], key: str, where: Where) -> Any:
    value = resource.get(key)
    if isinstance(value, list):
        if len(value) > 1:
            raise where.error(key, "must hold at most one item for regrow")
        return value[0] if value else None
    return value


def _text(value: Any) -> Any:
    return value.get("text") if isinstance(value, dict) else None


def _note(resource: dict[str, Any], where: Where) -> Any:
    return _text(_one(resource, "note", where))


def _ref(value: Any, table: str, where: Where, field: str, refs: dict[str, str]) -> Any:
    return None if value is None else reference(value, table, where, field, refs)


def _row(resource: dict[str, Any], table: str, where: Where, refs: dict[str, str]) -> dict[str, Any]:
    return read_row_extension(resource, table, ROW_COLUMNS[table], where, refs)


def _person(resource: dict[str, Any], where: Where, refs: dict[str, str]) -> dict[str, Any]:
    name = _one(resource, "name", where) or {}
    display = name.get("text") or " ".join([*name.get("given", []), name.get("family", "")]).strip()
    person = _row(resource, "person", where, refs)
    person["display_name"] = display or None
    if person["created_at"] is None:
        person["created_at"] = dt.datetime.now().replace(microsecond=0)
    check_row("person", person, where)
    has_profile = "profile" in journal_row_tables(resource) or "gender" in resource or "birthDate" in resource
    profile = None
    if has_profile:
        profile = _row(resource, "profile", where, refs)
        gender = resource.get("gender")
        if gender not in (None, "unknown", *SEXES):
            raise where.error(
                "gender", f"unknown code {gender!r}; must be one of {', '.join(SEXES)}, unknown"
            )
        profile["sex"] = None if gender in (None, "unknown") else gender
        birth = resource.get("birthDate")
        profile["birth_year"] = int(birth[:4]) if isinstance(birth, str) else None
        if profile["updated_at"] is None:
            profile["updated_at"] = dt.datetime.now().replace(microsecond=0)
    return {"person": person, "profile": profile}


def _condition(resource: dict[str, Any], where: Where, refs: dict[str, str]) -> dict[str, Any]:
    code = resource.get("code")
    status = _codes(
        resource.get("verificationStatus"), "http://terminology.hl7.org/CodeSystem/condition-ver-status"
    )
    stage = _one(resource, "stage", where) or {}
    return {
        "diagnosis": None if code is None else read_coding(code, "diagnosis", where, "code"),
        "diagnosis_confirmed_by_clinician": status[:1] == ["confirmed"],
        "grade_scale": None
        if stage.get("type") is None
        else read_coding(stage["type"], "grade-scale", where, "stage.type"),
        "grade": _text(stage.get("summary")),
    }


def _screening(resource: dict[str, Any], where: Where, refs: dict[str, str]) -> dict[str, Any]:
    return {
        "question": read_coding(resource["code"], "screening", where, "code"),
        "answer": resource.get("valueBoolean"),
        "answered_at": from_datetime(resource.get("effectiveDateTime"), where, "effectiveDateTime"),
    }


def _device(resource: dict[str, Any], where: Where, refs: dict[str, str]) -> dict[str, Any]:
    values = _row(resource, "device", where, refs)
    name = _one(resource, "deviceName", where) or {}
    values.update(
        name=name.get("name"),
        kind=read_coding(resource.get("type"), "device-kind", where, "type"),
        lot=resource.get("lotNumber"),
        needle_length_mm=None,
        needle_count=None,
    )
    for index, prop in enumerate(resource.get("property", [])):
        field = f"property[{index}]"
        code = read_coding(prop.get("type"), "device-property", where, f"{field}.type")
        quantities = prop.get("valueQuantity", [])
        if len(quantities) != 1:
            raise where.error(f"{field}.valueQuantity", "must hold exactly one Quantity")
        if code == "needle-length":
            values["needle_length_mm"] = read_quantity(quantities[0], "mm", where, f"{field}.valueQuantity")
        else:
            values["needle_count"] = read_quantity(
                quantities[0], "{needles}", where, f"{field}.valueQuantity"
            )
    return values


def _focal_device(resource: dict[str, Any], where: Where, refs: dict[str, str]) -> Any:
    focal = _one(resource, "focalDevice", where) or {}
    return _ref(focal.get("manipulated"), "device", where, "focalDevice.manipulated", refs)


def _disinfection(resource: dict[str, Any], where: Where, refs: dict[str, str]) -> dict[str, Any]:
    values = _row(resource, "disinfection", where, refs)
    values.update(
        disinfected_at=from_datetime(resource.get("performedDateTime"), where, "performedDateTime"),
        device_id=_focal_device(resource, where, refs),
    )
    return values


def _plan(resource: dict[str, Any], where: Where, refs: dict[str, str]) -> dict[str, Any]:
    values = _row(resource, "plan", where, refs)
    period = resource.get("period") or {}
    values.update(
        name=resource.get("title"),
        start_date=from_date(period.get("start"), where, "period.start"),
        active=resource.get("status") == "active",
        created_at=from_datetime(resource.get("created"), where, "created"),
        supersedes_id=_ref(_one(resource, "replaces", where), "plan", where, "replaces", refs),
    )
    return values


def _session(resource: dict[str, Any], where: Where, refs: dict[str, str]) -> dict[str, Any]:
    values = _row(resource, "treatment_session", where, refs)
    values.update(
        performed_at=from_datetime(resource.get("performedDateTime"), where, "performedDateTime"),
        device_id=_focal_device(resource, where, refs),
        plan_id=_ref(_one(resource, "basedOn", where), "plan", where, "basedOn", refs),
        area=_text(_one(resource, "bodySite", where)),
        notes=_note(resource, where),
    )
    return values


def _dose(resource: dict[str, Any], where: Where, refs: dict[str, str]) -> dict[str, Any]:
    values = _row(resource, "adjunct_dose", where, refs)
    values.update(
        kind=read_coding(
            resource.get("medicationCodeableConcept"), "dose-kind", where, "medicationCodeableConcept"
        ),
        taken_at=from_datetime(resource.get("effectiveDateTime"), where, "effectiveDateTime"),
        notes=_note(resource, where),
    )
    return values


def _event(resource: dict[str, Any], where: Where, refs: dict[str, str]) -> dict[str, Any]:
    values = _row(resource, "adverse_event", where, refs)
    severity = _codes(resource.get("severity"), SEVERITY_SYSTEM)
    if not severity or severity[0] not in EVENT_SEVERITIES:
        raise where.error(
            "severity",
            f"unknown code {severity[:1]!r} of {SEVERITY_SYSTEM}; must be one of "
            + ", ".join(EVENT_SEVERITIES),
        )
    suspect = _one(resource, "suspectEntity", where) or {}
    values.update(
        kind=_text(resource.get("event")),
        severity=severity[0],
        onset_at=from_datetime(resource.get("date"), where, "date"),
        session_id=_ref(suspect.get("instance"), "treatment_session", where, "suspectEntity.instance", refs),
    )
    return values


def _basic(table: str) -> Callable[[dict[str, Any], Where, dict[str, str]], dict[str, Any]]:
    def read(resource: dict[str, Any], where: Where, refs: dict[str, str]) -> dict[str, Any]:
        return _row(resource, table, where, refs)

    return read


def _photo(resource: dict[str, Any], where: Where, refs: dict[str, str]) -> dict[str, Any]:
    values = _row(resource, "photo", where, refs)
    sha = [i.get("value") for i in resource.get("identifier", []) if i.get("system") == SHA256_SYSTEM]
    data = (resource.get("content") or {}).get("data")
    if not sha and isinstance(data, str):  # a bundle from elsewhere: the hash of the bytes it carries
        try:
            sha = [hashlib.sha256(base64.b64decode(data, validate=True)).hexdigest()]
        except (binascii.Error, ValueError) as exc:
            raise where.error("content.data", "is not valid base64") from exc
    if (
        len(sha) != 1
        or not isinstance(sha[0], str)
        or len(sha[0]) != 64
        or not all(c in "0123456789abcdef" for c in sha[0])
    ):
        raise where.error("identifier", f"needs one {SHA256_SYSTEM} identifier of 64 lowercase hex digits")
    content_type = (resource.get("content") or {}).get("contentType")
    if content_type not in MEDIA_SUFFIXES:
        raise where.error(
            "content.contentType",
            f"unknown content type {content_type!r}; must be one of " + ", ".join(MEDIA_SUFFIXES),
        )
    values.update(
        taken_at=from_datetime(resource.get("createdDateTime"), where, "createdDateTime"),
        site=_text(resource.get("bodySite")),
        sha256=sha[0],
        file_name=sha[0] + MEDIA_SUFFIXES[content_type],
        width=resource.get("width"),
        height=resource.get("height"),
    )
    return values


def _measurement(resource: dict[str, Any], where: Where, refs: dict[str, str]) -> dict[str, Any]:
    values = _row(resource, "measurement", where, refs)
    values.update(
        taken_at=from_datetime(resource.get("effectiveDateTime"), where, "effectiveDateTime"),
        site=_text(resource.get("bodySite")),
        source="image"
        if resource.get("derivedFrom")
        else "manual"
        if resource.get("method") is None
        else read_coding(resource.get("method"), "measurement-source", where, "method"),
        photo_id=_ref(_one(resource, "derivedFrom", where), "photo", where, "derivedFrom", refs),
        notes=_note(resource, where),
        **dict.fromkeys(COMPONENT_CODES),
    )
    for index, component in enumerate(resource.get("component", [])):
        field = f"component[{index}]"
        code = read_coding(component.get("code"), "measurement", where, f"{field}.code")
        column, unit = _COMPONENTS[code]
        if values[column] is not None:
            raise where.error(f"{field}.code", f"{code!r} appears twice")
        values[column] = read_quantity(component.get("valueQuantity"), unit, where, f"{field}.valueQuantity")
    return values


PARSERS: dict[str, Callable[[dict[str, Any], Where, dict[str, str]], dict[str, Any]]] = {
    "person": _person,
    "condition": _condition,
    "screening_answer": _screening,
    "device": _device,
    "disinfection": _disinfection,
    "plan": _plan,
    "treatment_session": _session,
    "adjunct_dose": _dose,
    "adverse_event": _event,
    "rule_acknowledgement": _basic("rule_acknowledgement"),
    "note": _basic("note"),
    "photo": _photo,
    "measurement": _measurement,
    "hair_correction": _basic("hair_correction"),
}
