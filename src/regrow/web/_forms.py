"""Field tables for every form and JSON body: one table drives form parsing and the API's schemas.

A form posts text; :func:`parse_form` turns it into typed values (``""`` -> ``None``) and raises
:class:`regrow.errors.InputError` naming the field. The same table builds the pydantic models of the JSON API
(:func:`api_model`), so a field has one name everywhere: form input, JSON key and journal argument.
Ranges and allowed codes are checked by the journal and the protocol, not here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pydantic

from regrow.errors import InputError

__all__ = ["FORMS", "api_model", "parse_acknowledgements", "parse_fields", "parse_form"]

# type codes: str, int, float, bool (checkbox or yes/no), list (comma- or newline-separated text), yesno
FORMS: dict[str, dict[str, str]] = {
    "profile": {
        "sex": "str",
        "birth_year": "int",
        "diagnosis": "str",
        "diagnosis_confirmed_by_clinician": "yesno",
        "grade_scale": "str",
        "grade": "str",
        "hair_colour": "str",
        "fitzpatrick_skin_type": "int",
        "medications": "list",
    },
    "screening": {
        "scarring_alopecia": "yesno",
        "active_scalp_infection": "yesno",
        "keloid_tendency": "yesno",
        "bleeding_disorder_or_anticoagulants": "yesno",
        "pregnancy": "yesno",
        "isotretinoin": "yesno",
    },
    "device": {
        "name": "str",
        "kind": "str",
        "needle_length_mm": "float",
        "needle_count": "int",
        "lot": "str",
        "first_use": "str",
    },
    "disinfect": {"method": "str", "at": "str"},
    "retire": {"reason": "str", "at": "str"},
    "plan": {
        "name": "str",
        "start_date": "str",
        "device_id": "int",
        "needle_length_mm": "float",
        "length_weeks": "int",
        "loading_interval_days": "int",
        "loading_sessions": "int",
        "maintenance_interval_days": "int",
        "minoxidil": "bool",
        "minoxidil_strength_pct": "float",
        "minoxidil_times": "list",
        "minoxidil_hold_hours": "float",
        "prp_sessions": "int",
        "prp_interval_days": "int",
        "prp_maintenance_months": "int",
        "photo_interval_weeks": "int",
        "first_evaluation_week": "int",
        "decision_week": "int",
    },
    "session": {
        "device_id": "int",
        "performed_at": "str",
        "needle_length_mm": "float",
        "passes": "int",
        "area": "str",
        "area_cm2": "float",
        "endpoint": "str",
        "pain_0_10": "int",
        "applied_during": "list",
        "applied_after": "list",
        "notes": "str",
        "allow_duplicate": "bool",
    },
    "dose": {
        "kind": "str",
        "taken_at": "str",
        "strength": "str",
        "amount": "str",
        "notes": "str",
        "allow_duplicate": "bool",
    },
    "event": {
        "kind": "str",
        "severity": "str",
        "onset_at": "str",
        "resolved_at": "str",
        "session_id": "int",
        "notes": "str",
        "allow_duplicate": "bool",
    },
    "resolve": {"at": "str"},
    "note": {"text": "str", "written_at": "str"},
    "measurement": {
        "taken_at": "str",
        "site": "str",
        "hair_count": "int",
        "area_cm2": "float",
        "diameter_um": "float",
        "camera": "str",
        "notes": "str",
        "allow_duplicate": "bool",
        "new_site": "bool",
    },
    "photo": {
        "site": "str",
        "taken_at": "str",
        "um_per_px": "float",
        "device": "str",
        "camera": "str",
        "allow_duplicate": "bool",
        "new_site": "bool",
    },
    # correcting: a plan version from a date, a photo's count and its detections, a review, an undo
    "plan_edit": {"effective_from": "str"},
    "photo_count": {"hair_count": "int"},
    "correction": {"action": "str", "x_px": "float", "y_px": "float", "hair_index": "int"},
    "undo": {"group_id": "str"},
}

#: Forms whose actions can be blocked by a "stop" finding and take acknowledgements.
ACKNOWLEDGEABLE = ("plan", "session")

_PY_TYPES = {"str": str, "int": int, "float": float, "bool": bool, "yesno": bool, "list": list[str]}


def _convert(field: str, kind: str, raw: Any) -> Any:
    if kind == "bool":
        return str(raw).strip().lower() in ("1", "on", "true", "yes")
    text = "" if raw is None else str(raw).strip()
    if text == "":
        return [] if kind == "list" else None
    if kind == "str":
        return text
    if kind == "list":
        parts = text.replace("\r", "").replace("\n", ",").split(",")
        return [p.strip() for p in parts if p.strip()]
    if kind == "yesno":
        lowered = text.lower()
        if lowered in ("yes", "y", "true", "1"):
            return True
        if lowered in ("no", "n", "false", "0"):
            return False
        raise InputError.invalid(field, text, "yes or no")
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            raise InputError.invalid(field, text, "a whole number") from None
    try:
        value = float(text)
    except ValueError:
        raise InputError.invalid(field, text, "a number") from None
    if not math.isfinite(value):
        raise InputError.invalid(field, text, "a finite number")
    return value


def parse_form(form: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Typed values of one form's fields from posted text (absent or blank fields are ``None``).

    Parameters
    ----------
    form : str
        A key of :data:`FORMS`.
    data : mapping
        The posted form (``request.form()``); list fields may also arrive as repeated keys.

    Returns
    -------
    dict
        Every field of the form; ``None`` (or ``[]`` for lists, ``False`` for checkboxes) where blank.

    Raises
    ------
    InputError
        A value of the wrong type, naming the field and echoing the value.
    """
    return parse_fields(FORMS[form], data)


def parse_fields(table: Mapping[str, str], data: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`parse_form` for any ``{field: type code}`` table (the edit forms' come from ``_records``)."""
    out = {}
    for field, kind in table.items():
        raw: Any = data.get(field)
        if kind == "list" and hasattr(data, "getlist"):
            values = [v for v in data.getlist(field) if str(v).strip()]
            raw = ",".join(str(v) for v in values)
        out[field] = _convert(field, kind, raw)
    return out


def parse_acknowledgements(rule_ids: list[str], reason: str | None) -> dict[str, str]:
    """``{rule_id: reason}`` from the acknowledgement checkboxes and the one reason text.

    Raises
    ------
    InputError
        Rules ticked without a reason (field ``ack_reason``).
    """
    ids = [r.strip() for r in rule_ids if r and r.strip()]
    text = (reason or "").strip()
    if ids and not text:
        raise InputError.invalid("ack_reason", reason, "your reason for going ahead despite the stop finding")
    return dict.fromkeys(ids, text)


_MODELS: dict[str, type[pydantic.BaseModel]] = {}


def api_model(form: str) -> type[pydantic.BaseModel]:
    """The pydantic body model of ``form`` for the JSON API (unknown keys are refused; strict JSON types:
    no number as text, no boolean as a number)."""
    if form not in _MODELS:
        fields: dict[str, Any] = {name: (_PY_TYPES[kind] | None, None) for name, kind in FORMS[form].items()}
        if form in ACKNOWLEDGEABLE:
            fields["acknowledge"] = (dict[str, str], pydantic.Field(default_factory=dict))
        _MODELS[form] = pydantic.create_model(
            f"{form.title()}In", __config__=pydantic.ConfigDict(extra="forbid", strict=True), **fields
        )
    return _MODELS[form]
