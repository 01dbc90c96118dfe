"""The records a person can correct, as one table: which fields each kind has, how they are typed and shown.

One table drives the edit forms (labels, input types, ``min``/``max`` from the plausibility rules), the JSON
API's PATCH bodies (:func:`edit_model`) and the routes (``/api/<plural>/{id}``, ``/records/<kind>/{id}``).
Field names are the journal's (:data:`regrow.journal.EDITABLE`), so an error names the same field in the
form, the JSON and the CLI's ``--set``. What a value may be is decided by the journal, never here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import pydantic

from regrow import journal as jr

__all__ = [
    "RECORDS",
    "Field",
    "Kind",
    "changed_fields",
    "edit_model",
    "field_kinds",
    "form_values",
    "number_attrs",
    "text_maxlength",
]


@dataclasses.dataclass(frozen=True)
class Field:
    """One editable field: its journal name, label and how it is typed and entered.

    ``type`` is one of ``str``, ``text`` (several lines), ``int``, ``float``, ``list`` (comma-separated),
    ``date``, ``datetime``, ``choice`` (one of ``choices``) and ``id`` (another record's id).
    """

    name: str
    label: str
    type: str = "str"
    choices: tuple[str, ...] = ()
    required: bool = False
    help: str = ""

    @property
    def form_kind(self) -> str:
        """The type code of :func:`regrow.web._forms.parse_form` (dates and choices arrive as text)."""
        return {"text": "str", "date": "str", "datetime": "str", "choice": "str", "id": "int"}.get(
            self.type, self.type
        )


@dataclasses.dataclass(frozen=True)
class Kind:
    """One kind of record: what it is called, where it is listed, and its editable fields."""

    kind: str
    label: str
    plural: str
    home: str
    fields: tuple[Field, ...]
    #: Error fields of the journal that belong to a differently named form field.
    aliases: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def field(self, name: str) -> Field | None:
        """The field called ``name`` (or ``None``)."""
        return next((f for f in self.fields if f.name == name), None)


_NOTES = Field("notes", "Notes", "text")

RECORDS: dict[str, Kind] = {
    k.kind: k
    for k in (
        Kind(
            "device",
            "device",
            "devices",
            "/devices",
            (
                Field("name", "Name", required=True),
                Field("kind", "Kind", "choice", jr.DEVICE_KINDS, required=True),
                Field("needle_length_mm", "Needle length (mm)", "float", required=True),
                Field("needle_count", "Number of needles", "int"),
                Field("lot", "Lot / UDI"),
                Field("first_use", "First use", "date"),
                Field("retired_at", "Retired", "datetime", help="Empty: in use."),
                Field("retired_reason", "Why it was retired", "text"),
            ),
            aliases={"reason": "retired_reason"},
        ),
        Kind(
            "session",
            "needling session",
            "sessions",
            "/log#recent",
            (
                Field("device_id", "Device", "id", required=True),
                Field("performed_at", "When", "datetime", required=True),
                Field("needle_length_mm", "Needle length (mm)", "float", required=True),
                Field("passes", "Passes", "int"),
                Field("area", "Area"),
                Field("area_cm2", "Area (cm²)", "float"),
                Field("endpoint", "Stopped at", "choice", jr.ENDPOINTS),
                Field("pain_0_10", "Pain (0-10)", "int"),
                Field("applied_during", "On the skin during needling", "list", help="Comma-separated."),
                Field("applied_after", "Applied afterwards", "list", help="Comma-separated."),
                _NOTES,
            ),
            aliases={"device": "device_id"},
        ),
        Kind(
            "dose",
            "dose",
            "doses",
            "/log#recent",
            (
                Field("kind", "Kind", "choice", jr.DOSE_KINDS, required=True),
                Field("taken_at", "When", "datetime", required=True),
                Field("strength", "Strength", help="e.g. 5%"),
                Field("amount", "Amount", help="e.g. 1 mL"),
                _NOTES,
            ),
        ),
        Kind(
            "event",
            "side effect",
            "events",
            "/log#recent",
            (
                Field("kind", "What", required=True),
                Field("severity", "Severity", "choice", jr.EVENT_SEVERITIES, required=True),
                Field("onset_at", "Started", "datetime", required=True),
                Field("resolved_at", "Resolved", "datetime", help="Empty: still going on."),
                Field("session_id", "After session (id)", "id", help="Empty: not linked to a session."),
                _NOTES,
            ),
        ),
        Kind(
            "measurement",
            "hair count",
            "measurements",
            "/photos#counts",
            (
                Field("taken_at", "Day", "datetime", required=True),
                Field("site", "Site", required=True),
                Field(
                    "hair_count",
                    "Hairs counted",
                    "int",
                    help="Your count; for a photo it replaces the automatic count (never averaged).",
                ),
                Field("area_cm2", "Area (cm²)", "float", required=True),
                Field("diameter_um", "Mean diameter (µm)", "float"),
                Field("terminal_count", "Terminal hairs", "int"),
                Field("vellus_count", "Vellus hairs", "int"),
                _NOTES,
            ),
        ),
        Kind(
            "photo",
            "photo",
            "photos",
            "/photos",
            (
                Field("site", "Site", required=True),
                Field("taken_at", "Taken", "datetime", required=True),
            ),
        ),
        Kind(
            "acknowledgement",
            "acknowledged stop finding",
            "acknowledgements",
            "/log#acks",
            (Field("reason", "Your reason", "text", required=True),),
        ),
        Kind(
            "note",
            "note",
            "notes",
            "/log#notes",
            (Field("text", "Note", "text", required=True), Field("written_at", "Written", "datetime")),
        ),
        Kind(
            "disinfection",
            "disinfection",
            "disinfections",
            "/devices",
            (
                Field("method", "Method", required=True),
                Field("disinfected_at", "When", "datetime", required=True),
            ),
        ),
    )
}


def field_kinds(kind: str) -> dict[str, str]:
    """``{field: form type code}`` of one kind (the table :func:`regrow.web._forms.parse_form` reads)."""
    return {f.name: f.form_kind for f in RECORDS[kind].fields}


#: JSON type of each field type (dates and choices are text; ids are integers).
_PY: dict[str, Any] = {
    "str": str,
    "text": str,
    "choice": str,
    "date": str,
    "datetime": str,
    "int": int,
    "id": int,
    "float": float,
    "list": list[str],
}
_MODELS: dict[str, type[pydantic.BaseModel]] = {}


def edit_model(kind: str) -> type[pydantic.BaseModel]:
    """The PATCH body of ``kind``: any of its fields (``null`` clears an optional one), unknown keys refused.

    ``allow_duplicate: true`` keeps a change that makes the record look like another one of that day;
    ``new_site: true`` confirms a new site name very close to one in use (records with a site).
    """
    if kind not in _MODELS:
        fields: dict[str, Any] = {f.name: (_PY[f.type] | None, None) for f in RECORDS[kind].fields}
        fields["allow_duplicate"] = (bool, False)
        if "site" in fields:
            fields["new_site"] = (bool, False)
        _MODELS[kind] = pydantic.create_model(
            f"{kind.title()}Edit", __config__=pydantic.ConfigDict(extra="forbid", strict=True), **fields
        )
    return _MODELS[kind]


def form_values(kind: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row as the edit form shows it (lists comma-separated, times as ``datetime-local`` wants)."""
    out: dict[str, Any] = {}
    for f in RECORDS[kind].fields:
        value = row.get(f.name)
        if f.type == "list":
            value = ", ".join(value or [])
        elif f.type == "datetime" and isinstance(value, str):
            value = value[:16]
        elif f.type == "date" and isinstance(value, str):
            value = value[:10]
        out[f.name] = value
    return out


def _same(field: Field, old: Any, new: Any) -> bool:
    """True when a posted value means what is stored (so the field is not sent as a change)."""
    if old is None or new is None:
        return old is None and new is None
    try:
        if field.type == "datetime":
            return jr.parse_datetime(field.name, new) == jr.parse_datetime(field.name, old)
        if field.type == "date":
            return jr.parse_date(field.name, new) == jr.parse_date(field.name, old)
        if field.type == "float":
            return math.isclose(float(new), float(old), rel_tol=0, abs_tol=1e-12)
        if field.type == "list":
            return list(new) == list(old)
    except (ValueError, TypeError, ArithmeticError):  # InputError is a ValueError: the journal names it
        return False
    return new == old


def changed_fields(kind: str, row: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The posted fields whose value differs from the stored row (only those are edited and checked)."""
    out = {}
    for f in RECORDS[kind].fields:
        if f.name not in values:
            continue
        old = row.get(f.name)
        if isinstance(old, dt.date):
            old = old.isoformat()
        if f.type == "list":
            old = list(old or [])
        if not _same(f, old, values[f.name]):
            out[f.name] = values[f.name]
    return out


#: Text limits of the journal (one table for CLI, API and forms); form fields checked under another name.
_TEXT_LIMIT_NAMES = {"retired_reason": "reason", "ack_reason": "reason"}
#: Number fields whose bounds are not plausibility ranges: (min, step).
_OTHER_NUMBERS = {"x_px": ("0", "any"), "y_px": ("0", "any"), "hair_index": ("0", "1")}
_ID_FIELDS = {"device_id", "session_id", "plan_id"}
_LIST_FIELDS = {"medications", "applied_during", "applied_after", "minoxidil_times"}


def number_attrs(name: str) -> str:
    """``min``, ``max`` and ``step`` of a number input, from the journal's plausibility rules."""
    if name in _ID_FIELDS:
        return 'min="1" step="1" inputmode="numeric"'
    if name in _OTHER_NUMBERS:
        low, step = _OTHER_NUMBERS[name]
        mode = "numeric" if step == "1" else "decimal"
        return f'min="{low}" step="{step}" inputmode="{mode}"'
    try:
        rule = jr.plausible_range(name)
    except KeyError:
        return 'step="any" inputmode="decimal"'
    step, mode = ("1", "numeric") if rule.integer else ("any", "decimal")
    return f'min="{rule.low:g}" max="{rule.high:g}" step="{step}" inputmode="{mode}"'


def text_maxlength(name: str) -> int:
    """The most characters a text field takes (the journal refuses longer ones with the same limit);
    0 for comma-separated lists, whose limit is per item."""
    from regrow.journal._fields import DEFAULT_TEXT_MAX_CHARS, TEXT_MAX_CHARS

    if name in _LIST_FIELDS:
        return 0
    return TEXT_MAX_CHARS.get(_TEXT_LIMIT_NAMES.get(name, name), DEFAULT_TEXT_MAX_CHARS)
