"""Plausibility rules as data (``plausibility.yaml``): allowed ranges with sources, date checks, unusual values.

A value outside its range is refused with the range and its source in the message. Dates may not lie in the
future beyond a day's slack, nor before the person's birth year or 1900, and an end is never before its start.
A value that is possible but unusual is stored with a review flag (see :func:`unusual_measurement`).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regrow.errors import InputError

from ._fields import check_number, parse_date, parse_datetime

__all__ = [
    "PLAUSIBILITY_FILE",
    "PlausibleRange",
    "check_date_value",
    "check_not_before",
    "check_range",
    "duplicate_dose_minutes",
    "plausibility",
    "plausible_range",
    "quality_gate",
    "unusual_measurement",
]

PLAUSIBILITY_FILE = Path(__file__).with_name("plausibility.yaml")


@dataclass(frozen=True)
class PlausibleRange:
    """The allowed range of one field, with the source the bound rests on."""

    field: str
    low: float
    high: float
    low_open: bool
    integer: bool
    unit: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "field": self.field,
            "min": self.low,
            "max": self.high,
            "min_open": self.low_open,
            "integer": self.integer,
            "unit": self.unit,
            "source": self.source,
        }


@functools.cache
def plausibility() -> dict[str, Any]:
    """The parsed ``plausibility.yaml`` (ranges, dates, unusual, duplicates)."""
    import yaml

    return yaml.safe_load(PLAUSIBILITY_FILE.read_text(encoding="utf-8"))


def plausible_range(field: str) -> PlausibleRange:
    """The range of ``field`` (``this_year`` resolved to the current year).

    Raises
    ------
    KeyError
        ``field`` has no range in the rules (a programming error, not bad input).
    """
    spec = plausibility()["ranges"][field]
    high = dt.date.today().year if spec["max"] == "this_year" else spec["max"]
    return PlausibleRange(
        field=field,
        low=spec["min"],
        high=high,
        low_open=bool(spec.get("min_open", False)),
        integer=bool(spec.get("integer", False)),
        unit=str(spec.get("unit", "")),
        source=" ".join(str(spec["source"]).split()),
    )


def check_range(field: str, value: Any, *, optional: bool = False, name: str | None = None) -> Any:
    """Check ``value`` against the plausible range of ``field``; return it (int or float).

    Parameters
    ----------
    field : str
        The rule's key in ``plausibility.yaml``.
    value : object
    optional : bool
        ``None`` passes.
    name : str, optional
        The field name to show (default ``field``).

    Raises
    ------
    InputError
        Outside the range: the message gives the range, its unit and the source of the bound.
    """
    rule = plausible_range(field)
    try:
        return check_number(
            name or field,
            value,
            low=rule.low,
            high=rule.high,
            low_open=rule.low_open,
            integer=rule.integer,
            optional=optional,
            unit=rule.unit,
        )
    except InputError as exc:
        raise InputError(
            f"{exc} (Source: {rule.source})", field=exc.field, value=exc.value, allowed=exc.allowed
        ) from None


def _dates() -> dict[str, Any]:
    return plausibility()["dates"]


def check_date_value(
    field: str,
    value: Any,
    *,
    date_only: bool = False,
    birth_year: int | None = None,
    future_days: float | None = None,
    today: dt.date | None = None,
) -> Any:
    """Parse an ISO 8601 date (or date-time) and check it is a plausible date for the journal.

    Parameters
    ----------
    field : str
    value : object
        A ``date``, ``datetime`` or ISO 8601 text.
    date_only : bool
        Return a ``date`` (else a naive local ``datetime``).
    birth_year : int, optional
        Not before the start of this year.
    future_days : float, optional
        How far ahead the value may lie (default: the rules' one-day slack; plans use their own).
    today : datetime.date, optional
        For tests.

    Raises
    ------
    InputError
        Not ISO 8601, too far in the future, before the birth year or before 1900 (names the bound).
    """
    rules = _dates()
    parsed = parse_date(field, value) if date_only else parse_datetime(field, value)
    day = parsed if date_only else parsed.date()
    today = today or dt.date.today()
    ahead = rules["future_slack_days"] if future_days is None else future_days
    latest = today + dt.timedelta(days=ahead)
    earliest_year = max(rules["earliest_year"], birth_year or 0)
    if day > latest:
        raise InputError.invalid(
            field,
            day.isoformat(),
            f"a date no later than {latest.isoformat()} (the journal records what happened; "
            f"{int(ahead)} day(s) of slack for time zones)",
        )
    if day.year < earliest_year:
        why = "your birth year" if birth_year and birth_year >= rules["earliest_year"] else "1900"
        raise InputError.invalid(
            field, day.isoformat(), f"a date in {earliest_year} or later (not before {why})"
        )
    return parsed


def check_not_before(end_field: str, end: Any, start_field: str, start: Any) -> None:
    """Refuse an end before its start (both dates or both date-times; ``None`` passes)."""
    if end is None or start is None:
        return
    if end < start:
        raise InputError.invalid(end_field, end.isoformat(), f"not before {start_field} {start.isoformat()}")


def plan_start_future_days() -> int:
    """How far ahead a plan may start (days)."""
    return int(_dates()["plan_start_future_days"])


def duplicate_dose_minutes() -> int:
    """Two doses of one kind closer than this are treated as one logged twice."""
    return int(plausibility()["duplicates"]["dose_minutes"])


def quality_gate(flags: Any) -> str | None:
    """Why an image's quality flags make its count unreliable (stored, flagged for review), or ``None``."""
    gate = plausibility()["quality_gate"]["flags"]
    names = list(flags) if isinstance(flags, list | tuple) else [k for k, v in dict(flags or {}).items() if v]
    hits = [str(f) for f in names if str(f) in gate]
    if not hits:
        return None
    return "image quality: " + "; ".join(f"{f} ({gate[f]})" for f in hits) + " - retake it, or accept it"


def unusual_measurement(
    *, density_per_cm2: float | None, diameter_um: float | None, previous_density_per_cm2: float | None
) -> str | None:
    """Why a measurement is possible but unusual (stored, flagged for review), or ``None``.

    Parameters
    ----------
    density_per_cm2, diameter_um : float, optional
        The new values.
    previous_density_per_cm2 : float, optional
        The last usable density of the same site before this one.
    """
    rules = plausibility()["unusual"]
    drop = rules["density_drop_fraction"]["value"]
    if (
        density_per_cm2 is not None
        and previous_density_per_cm2
        and density_per_cm2 < previous_density_per_cm2 * (1 - drop)
    ):
        fall = 1 - density_per_cm2 / previous_density_per_cm2
        return (
            f"density fell {fall:.0%} since the last visit of this site ({previous_density_per_cm2:.0f} -> "
            f"{density_per_cm2:.0f} hairs/cm²), more than the {drop:.0%} a real change could explain: check it "
            "is the same spot and a sharp, well-lit image, then accept or correct it"
        )
    high = rules["density_high_per_cm2"]["value"]
    if density_per_cm2 is not None and density_per_cm2 > high:
        return (
            f"density {density_per_cm2:.0f} hairs/cm² is above {high} (higher than adult scalps usually hold)"
        )
    thick = rules["diameter_high_um"]["value"]
    if diameter_um is not None and diameter_um > thick:
        return f"mean diameter {diameter_um:.0f} µm is above {thick} µm (thicker than scalp hair usually is)"
    return None
