"""Parsing and shape checks for values coming into the journal (ISO 8601 dates, enums, ranges).

These are storage-level checks (types, physically possible ranges, allowed codes); clinical rules live in
:mod:`regrow.protocol`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

from regrow.errors import InputError

__all__ = [
    "DEFAULT_TEXT_MAX_CHARS",
    "DEVICE_KINDS",
    "DIAGNOSES",
    "DOSE_KINDS",
    "ENDPOINTS",
    "EVENT_SEVERITIES",
    "GRADE_SCALES",
    "MAX_NEEDLE_LENGTH_MM",
    "MEASUREMENT_SOURCES",
    "SCREENING_QUESTIONS",
    "SEXES",
    "TEXT_MAX_CHARS",
    "check_choice",
    "check_number",
    "check_text",
    "now",
    "parse_date",
    "parse_datetime",
]

DEVICE_KINDS = ("roller", "pen", "stamp")
SEXES = ("female", "male", "other")
DIAGNOSES = ("AGA", "FPHL", "alopecia_areata", "other")
GRADE_SCALES = ("norwood_hamilton", "ludwig", "sinclair", "basp")
#: Session endpoints (clinical-notes 1.7: "mild erythema" in Dhurat/Shah, "pinpoint bleeding" in Kumar/Jha).
ENDPOINTS = ("none", "erythema", "pinpoint_bleeding", "more_bleeding")
DOSE_KINDS = ("minoxidil", "prp", "finasteride", "other")
EVENT_SEVERITIES = ("mild", "moderate", "severe")
MEASUREMENT_SOURCES = ("manual", "image")
#: Screening questions (clinical-notes 1.6 contraindications; yes/no answers).
SCREENING_QUESTIONS = (
    "scarring_alopecia",
    "active_scalp_infection",
    "keloid_tendency",
    "bleeding_disorder_or_anticoagulants",
    "pregnancy",
    "isotretinoin",
)
#: Longest needle the journal accepts at all: microneedling studies used 0.5-2.5 mm for hair and up to
#: 3.0 mm for scars (clinical-notes 0.1 English 2022; 1.7 "uniform pinpoint bleeding with 1.5-3.0 mm").
MAX_NEEDLE_LENGTH_MM = 3.0


def now() -> dt.datetime:
    """The local wall-clock time to the second (how the journal stamps rows)."""
    return dt.datetime.now().replace(microsecond=0)


def parse_date(field: str, value: Any) -> dt.date:
    """Parse an ISO 8601 date (``2025-03-01``); a ``date`` passes through, a ``datetime`` is truncated.

    Raises
    ------
    InputError
        Naming ``field`` and echoing ``value`` when it is not an ISO 8601 date.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InputError.invalid(field, value, "an ISO 8601 date such as 2025-03-01")


def parse_datetime(field: str, value: Any) -> dt.datetime:
    """Parse an ISO 8601 date-time; zone-aware values become naive local time, a bare date is midnight.

    Raises
    ------
    InputError
        Naming ``field`` and echoing ``value`` when it is not ISO 8601.
    """
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime.combine(value, dt.time())
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise InputError.invalid(field, value, "an ISO 8601 date-time such as 2025-03-01T20:30") from exc
    else:
        raise InputError.invalid(field, value, "an ISO 8601 date-time such as 2025-03-01T20:30")
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone().replace(tzinfo=None)
    return parsed.replace(microsecond=0)


def check_choice(field: str, value: Any, allowed: Iterable[str], *, optional: bool = False) -> str | None:
    """Return ``value`` when it is one of ``allowed`` (or ``None`` when ``optional``)."""
    allowed = tuple(allowed)
    if value is None and optional:
        return None
    if value not in allowed:
        raise InputError.invalid(field, value, "one of " + ", ".join(allowed))
    return value


#: Longest text each field accepts, in characters: one table, so the CLI, the JSON API and the web forms
#: (which all store through this module) refuse the same values. Fields not listed take
#: :data:`DEFAULT_TEXT_MAX_CHARS`. Each fits its database column (``String(n)``) or is ``Text``.
TEXT_MAX_CHARS = {
    "display_name": 200,
    "name": 200,
    "lot": 100,
    "method": 200,
    "site": 100,
    "area": 100,
    "camera": 200,
    "grade": 20,
    "hair_colour": 40,
    "medications": 200,
    "applied_during": 200,
    "applied_after": 200,
    "strength": 60,
    "amount": 60,
    "kind": 60,
    "rule_id": 80,
    "acknowledge": 80,
    "action": 40,
    "reason": 2000,
    "notes": 5000,
    "text": 20000,
}
DEFAULT_TEXT_MAX_CHARS = 200
#: Fields that may span several lines (newlines and tabs allowed).
MULTILINE_FIELDS = frozenset({"reason", "notes", "text"})
#: Bidirectional embedding, override and isolate controls: they make stored text display differently
#: from what it is (a file name or a device name spoofed right-to-left), so no field accepts them.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _bad_character(value: str, *, multiline: bool) -> str | None:
    """The first character a stored text may not hold (control or bidi-override), or None."""
    import unicodedata

    for char in value:
        if char in _BIDI_CONTROLS:
            return char
        if unicodedata.category(char) == "Cc" and not (multiline and char in "\n\r\t"):
            return char
    return None


def check_text(
    field: str,
    value: Any,
    *,
    optional: bool = False,
    max_len: int | None = None,
    multiline: bool | None = None,
) -> str | None:
    """Return ``value`` stripped when it is a non-empty text within the field's length limit.

    Parameters
    ----------
    field : str
        The field name; it picks the limit from :data:`TEXT_MAX_CHARS` unless ``max_len`` is given.
    value : object
    optional : bool
        ``None`` (and a blank text) is allowed and returned as ``None``.
    max_len : int, optional
        Overrides the field's limit.
    multiline : bool, optional
        Allow newlines and tabs (default: fields in :data:`MULTILINE_FIELDS`).

    Raises
    ------
    InputError
        Not a text, empty, too long, or holding a control character (NUL, ...) or a bidirectional override.
    """
    if optional and (value is None or (isinstance(value, str) and not value.strip())):
        return None
    limit = max_len if max_len is not None else TEXT_MAX_CHARS.get(field, DEFAULT_TEXT_MAX_CHARS)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        shown = (
            value
            if not isinstance(value, str) or len(value) <= 80
            else f"{value[:40]}... ({len(value)} characters)"
        )
        raise InputError(
            f"Invalid {field} {shown!r}; must be a non-empty text of at most {limit} characters.",
            field=field,
            value=shown,
            allowed=f"a non-empty text of at most {limit} characters",
        )
    bad = _bad_character(value, multiline=field in MULTILINE_FIELDS if multiline is None else multiline)
    if bad is not None:
        raise InputError.invalid(
            field,
            f"text with the character U+{ord(bad):04X}",
            "text without control or right-to-left-override characters",
        )
    return value.strip()


_MAX_STORED_INT = 2**31 - 1


def check_number(
    field: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    integer: bool = False,
    optional: bool = False,
    unit: str = "",
) -> Any:
    """Check a finite number lies in ``[low, high]`` (``(low, high]`` with ``low_open``); return it."""
    if value is None and optional:
        return None
    kind = "an integer" if integer else "a number"
    if low is not None and high is not None:
        allowed = f"{kind} in {'(' if low_open else '['}{low:g}, {high:g}]"
    elif low is not None:
        allowed = f"{kind} {'>' if low_open else '>='} {low:g}"
    elif high is not None:
        allowed = f"{kind} <= {high:g}"
    else:
        allowed = kind
    if unit:
        allowed += f" {unit}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError.invalid(field, value, allowed)
    if integer and isinstance(value, int) and abs(value) > _MAX_STORED_INT:
        # Stored in INTEGER columns: 32-bit on PostgreSQL, 64-bit on SQLite; refuse before the database does.
        capped = high is not None and high <= _MAX_STORED_INT
        raise InputError.invalid(
            field, value, allowed if capped else f"{allowed} and at most {_MAX_STORED_INT}"
        )
    if integer and not float(value).is_integer():
        raise InputError.invalid(field, value, allowed)
    if not math.isfinite(value):
        raise InputError.invalid(field, value, allowed)
    if low is not None and (value <= low if low_open else value < low):
        raise InputError.invalid(field, value, allowed)
    if high is not None and value > high:
        raise InputError.invalid(field, value, allowed)
    return int(value) if integer else float(value)
