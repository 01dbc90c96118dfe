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


def check_text(field: str, value: Any, *, optional: bool = False, max_len: int = 200) -> str | None:
    """Return ``value`` stripped when it is a non-empty text of at most ``max_len`` characters."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise InputError.invalid(field, value, f"a non-empty text of at most {max_len} characters")
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
