"""Plain records the protocol engine reads (built from journal rows by the caller; no database here)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeVar

__all__ = [
    "DeviceRecord",
    "DisinfectionRecord",
    "DoseRecord",
    "EventRecord",
    "JournalRecords",
    "PlanRecord",
    "ProfileRecord",
    "SessionRecord",
]

T = TypeVar("T")


def add_days(day: dt.date, days: int) -> dt.date:
    """``day + days`` days, clamped to the calendar's first or last day instead of overflowing."""
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return dt.date.max if days > 0 else dt.date.min


class _FromMapping:
    @classmethod
    def from_mapping(cls: type[T], values: Mapping[str, Any]) -> T:
        """Build the record from a mapping (e.g. ``row.as_dict()``), ignoring keys it does not have."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


@dataclasses.dataclass(frozen=True)
class ProfileRecord(_FromMapping):
    """The clinical profile (all optional: an empty profile is a valid, if incomplete, answer)."""

    sex: str | None = None
    birth_year: int | None = None
    diagnosis: str | None = None
    diagnosis_confirmed_by_clinician: bool = False
    grade_scale: str | None = None
    grade: str | None = None
    hair_colour: str | None = None
    fitzpatrick_skin_type: int | None = None
    medications: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class DeviceRecord(_FromMapping):
    """A device as the rules see it (``use_count`` is uses so far, before the one being checked)."""

    id: int | None
    kind: str
    needle_length_mm: float
    name: str = ""
    use_count: int = 0
    first_use: dt.date | None = None
    retired_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class DisinfectionRecord(_FromMapping):
    """A disinfection of ``device_id`` at ``disinfected_at``."""

    device_id: int
    disinfected_at: dt.datetime
    method: str = ""


@dataclasses.dataclass(frozen=True)
class SessionRecord(_FromMapping):
    """A needling session, done or about to be logged."""

    performed_at: dt.datetime
    needle_length_mm: float
    device_id: int | None = None
    id: int | None = None
    endpoint: str | None = None
    pain_0_10: int | None = None
    applied_during: list[str] = dataclasses.field(default_factory=list)
    applied_after: list[str] = dataclasses.field(default_factory=list)
    area: str | None = None


@dataclasses.dataclass(frozen=True)
class DoseRecord(_FromMapping):
    """An adjunct dose: ``kind`` minoxidil, prp, finasteride or other."""

    kind: str
    taken_at: dt.datetime
    strength: str | None = None
    id: int | None = None


@dataclasses.dataclass(frozen=True)
class EventRecord(_FromMapping):
    """An adverse event; open while ``resolved_at`` is ``None``."""

    kind: str
    severity: str
    onset_at: dt.datetime
    resolved_at: dt.datetime | None = None
    id: int | None = None


@dataclasses.dataclass(frozen=True)
class PlanRecord(_FromMapping):
    """A treatment plan (build one with :func:`regrow.protocol.make_plan`, which fills cited defaults)."""

    start_date: dt.date
    needle_length_mm: float
    name: str = "micro-needling plan"
    length_weeks: int = 24
    device_id: int | None = None
    loading_interval_days: int = 7
    loading_sessions: int = 4
    maintenance_interval_days: int = 14
    minoxidil: bool = False
    minoxidil_strength_pct: float | None = None
    minoxidil_times: list[str] = dataclasses.field(default_factory=list)
    minoxidil_hold_hours: float = 24.0
    prp_sessions: int = 0
    prp_interval_days: int = 28
    prp_maintenance_months: int | None = None
    photo_interval_weeks: int = 4
    first_evaluation_week: int = 12
    decision_week: int = 24
    id: int | None = None
    #: The day this version took effect (``None``: its ``start_date``); see :func:`regrow.protocol.revise_plan`.
    effective_from: dt.date | None = None
    #: The version this one replaced (``None`` for a plan's first version).
    supersedes_id: int | None = None

    @property
    def effective_start(self) -> dt.date:
        """The day this version took effect: ``effective_from``, else ``start_date``."""
        return self.effective_from or self.start_date

    @property
    def end_date(self) -> dt.date:
        """First day after the plan (``start_date + length_weeks`` weeks; the last representable day when that
        overflows the calendar)."""
        return add_days(self.start_date, 7 * self.length_weeks)

    def storable(self) -> dict[str, Any]:
        """The fields :func:`regrow.journal.add_plan` stores: everything but ``id``, and the version fields
        (``effective_from``, ``supersedes_id``) only when they are set."""
        values = dataclasses.asdict(self)
        values.pop("id")
        for key in ("effective_from", "supersedes_id"):
            if values[key] is None:
                values.pop(key)
        return values


@dataclasses.dataclass(frozen=True)
class JournalRecords:
    """Everything the journal-wide rules look at, for one person."""

    profile: ProfileRecord | None = None
    screening: Mapping[str, bool] = dataclasses.field(default_factory=dict)
    devices: tuple[DeviceRecord, ...] = ()
    disinfections: tuple[DisinfectionRecord, ...] = ()
    plan: PlanRecord | None = None
    #: Every version of the active plan, oldest first (``plan`` is the last); empty means ``(plan,)``.
    plan_versions: tuple[PlanRecord, ...] = ()
    sessions: tuple[SessionRecord, ...] = ()
    doses: tuple[DoseRecord, ...] = ()
    events: tuple[EventRecord, ...] = ()

    def device(self, device_id: int | None) -> DeviceRecord | None:
        """The device with this id, or ``None``."""
        return next((d for d in self.devices if d.id == device_id), None)

    def versions(self) -> tuple[PlanRecord, ...]:
        """The plan's versions oldest first: ``plan_versions``, else ``(plan,)``, else ``()``."""
        if self.plan_versions:
            return tuple(self.plan_versions)
        return () if self.plan is None else (self.plan,)
