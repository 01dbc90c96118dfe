"""Plans with cited defaults, the planned calendar, what is due today, minoxidil holds and adherence."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import statistics
from collections.abc import Iterable, Sequence
from typing import Any

from regrow.errors import InputError

from ._records import DoseRecord, PlanRecord, SessionRecord
from ._rules import RuleSet, hold_applies

__all__ = [
    "Adherence",
    "Hold",
    "ScheduleItem",
    "active_holds",
    "adherence",
    "check_session_date",
    "due_today",
    "make_plan",
    "next_session_due",
    "plan_schedule",
    "planned_session_dates",
]

#: Defaults, each from ../shared/research/clinical-notes.md:
PLAN_DEFAULTS: dict[str, Any] = {
    "length_weeks": 24,  # a real decision needs >= 24 weeks (1.1 design implications)
    "loading_interval_days": 7,  # weekly x4 then every 2 weeks (Dhurat 2015; Kumar 2018/19; 1.1)
    "loading_sessions": 4,
    "maintenance_interval_days": 14,
    "minoxidil_strength_pct": 5.0,  # 5% minoxidil twice daily in the trials (Dhurat 2013; 1.1)
    "minoxidil_times": ["08:00", "20:00"],
    "prp_interval_days": 28,  # PRP series of 3-4 at 4-week intervals (1.4 product rule)
    "photo_interval_weeks": 4,  # photos every 4 weeks (Indonesian RCT, TrichoScale; 1.1, 5.5)
    "first_evaluation_week": 12,  # first read-out at 12 weeks in trials (1.1)
    "decision_week": 24,  # decision at >= 24 weeks (1.1)
}


@dataclasses.dataclass(frozen=True)
class ScheduleItem:
    """One planned thing: a session, a daily minoxidil dose (``start`` to ``until``), PRP, a checkpoint."""

    kind: str
    title: str
    start: dt.datetime
    all_day: bool = True
    until: dt.date | None = None
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "kind": self.kind,
            "title": self.title,
            "start": self.start.date().isoformat()
            if self.all_day
            else self.start.isoformat(timespec="minutes"),
            "all_day": self.all_day,
            "until": None if self.until is None else self.until.isoformat(),
            "description": self.description,
        }


@dataclasses.dataclass(frozen=True)
class Hold:
    """A minoxidil hold after a session: no minoxidil from ``start`` until ``end``."""

    start: dt.datetime
    end: dt.datetime
    needle_length_mm: float
    source: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "kind": "minoxidil_hold",
            "start": self.start.isoformat(timespec="minutes"),
            "ends_at": self.end.isoformat(timespec="minutes"),
            "needle_length_mm": self.needle_length_mm,
            "source": self.source,
        }


@dataclasses.dataclass(frozen=True)
class Adherence:
    """Sessions done vs planned and how regular the intervals were, as numbers."""

    as_of: dt.date
    planned_to_date: int
    done_to_date: int
    ratio: float | None
    mean_interval_days: float | None
    sd_interval_days: float | None
    on_time_fraction: float | None
    tolerance_days: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            k: v.isoformat() if isinstance(v, dt.date) else v for k, v in dataclasses.asdict(self).items()
        }


def make_plan(
    *, start_date: Any, needle_length_mm: float, rules: RuleSet | None = None, **overrides: Any
) -> PlanRecord:
    """A plan with the cited defaults (``PLAN_DEFAULTS``) and the rule file's minoxidil hold.

    Parameters
    ----------
    start_date : date or ISO 8601 str
    needle_length_mm : float
    rules : RuleSet, optional
        Where the default ``minoxidil_hold_hours`` comes from (the ``minoxidil.hold`` rule; 24 h bundled).
    **overrides
        Any :class:`PlanRecord` field.

    Returns
    -------
    PlanRecord

    Raises
    ------
    InputError
        An unknown field.
    """
    from regrow.journal import parse_date  # parsing only; no database access

    fields = {f.name for f in dataclasses.fields(PlanRecord)}
    unknown = set(overrides) - fields
    if unknown:
        raise InputError.invalid("plan field", sorted(unknown)[0], "one of " + ", ".join(sorted(fields)))
    values = {**PLAN_DEFAULTS, **{k: v for k, v in overrides.items() if v is not None}}
    if "minoxidil_hold_hours" not in values:
        values["minoxidil_hold_hours"] = (
            float(rules["minoxidil.hold"].params["hold_hours"]) if rules else 24.0
        )
    if not values.get("minoxidil"):
        values["minoxidil"] = False
    return PlanRecord(
        start_date=parse_date("start_date", start_date), needle_length_mm=needle_length_mm, **values
    )


def planned_session_dates(plan: PlanRecord) -> list[dt.date]:
    """Planned needling days: ``loading_sessions`` at the loading interval, then the maintenance interval."""
    dates, day, index = [], plan.start_date, 0
    while day < plan.end_date:
        dates.append(day)
        step = (
            plan.loading_interval_days
            if index + 1 < plan.loading_sessions
            else plan.maintenance_interval_days
        )
        day += dt.timedelta(days=step)
        index += 1
    return dates


def _in_plan(plan: PlanRecord, sessions: Iterable[SessionRecord]) -> list[SessionRecord]:
    return sorted(
        (s for s in sessions if s.performed_at.date() >= plan.start_date), key=lambda s: s.performed_at
    )


def next_session_due(plan: PlanRecord, sessions: Iterable[SessionRecord]) -> dt.date | None:
    """The day the next session is due (from the last one done), or ``None`` after the plan ends."""
    done = _in_plan(plan, sessions)
    if not done:
        due = plan.start_date
    else:
        step = (
            plan.loading_interval_days
            if len(done) < plan.loading_sessions
            else plan.maintenance_interval_days
        )
        due = done[-1].performed_at.date() + dt.timedelta(days=step)
    return due if due < plan.end_date else None


def _checkpoints(plan: PlanRecord) -> list[ScheduleItem]:
    items = []
    week = 0
    while week < plan.length_weeks + 1:
        day = plan.start_date + dt.timedelta(weeks=week)
        label = "baseline photos" if week == 0 else f"week {week} photos"
        items.append(
            ScheduleItem(
                "photo",
                f"regrow: {label}",
                dt.datetime.combine(day, dt.time()),
                description="Same site, dry hair, no product, same light; 2-3 replicate photos.",
            )
        )
        week += plan.photo_interval_weeks
    for week, kind, text in (
        (plan.first_evaluation_week, "evaluation", "first evaluation (trials read out at 12 weeks)"),
        (plan.decision_week, "decision", "decision: is it working? (24 weeks or more)"),
    ):
        day = plan.start_date + dt.timedelta(weeks=week)
        items.append(ScheduleItem(kind, f"regrow: {text}", dt.datetime.combine(day, dt.time())))
    return items


def plan_schedule(plan: PlanRecord, *, rules: RuleSet | None = None) -> list[ScheduleItem]:
    """The whole planned calendar: sessions, minoxidil doses, PRP series, photo and decision checkpoints.

    Returns
    -------
    list of ScheduleItem
        Ordered by start.
    """
    hold = f"No minoxidil for {plan.minoxidil_hold_hours:g} h afterwards." if plan.minoxidil else ""
    if (
        rules is not None
        and plan.minoxidil
        and not hold_applies(rules["minoxidil.hold"], plan.needle_length_mm)
    ):
        hold = ""
    items = [
        ScheduleItem(
            "session",
            f"regrow: micro-needling {plan.needle_length_mm:g} mm (session {i + 1})",
            dt.datetime.combine(day, dt.time()),
            description=f"Disinfect the device first; stop at erythema or pinpoint bleeding. {hold}".rstrip(),
        )
        for i, day in enumerate(planned_session_dates(plan))
    ]
    if plan.minoxidil:
        strength = f"{plan.minoxidil_strength_pct:g}% " if plan.minoxidil_strength_pct else ""
        for time_text in plan.minoxidil_times:
            items.append(
                ScheduleItem(
                    "minoxidil",
                    f"regrow: minoxidil {strength}".strip(),
                    dt.datetime.combine(plan.start_date, dt.time.fromisoformat(time_text)),
                    all_day=False,
                    until=plan.end_date - dt.timedelta(days=1),
                    description="Skip it during the hold after a needling session.",
                )
            )
    for i in range(plan.prp_sessions):
        day = plan.start_date + dt.timedelta(days=i * plan.prp_interval_days)
        items.append(ScheduleItem("prp", f"regrow: PRP session {i + 1}", dt.datetime.combine(day, dt.time())))
    if plan.prp_sessions and plan.prp_maintenance_months:
        last = plan.start_date + dt.timedelta(days=(plan.prp_sessions - 1) * plan.prp_interval_days)
        day = last + dt.timedelta(days=round(30.44 * plan.prp_maintenance_months))
        if day < plan.end_date:
            items.append(ScheduleItem("prp", "regrow: PRP maintenance", dt.datetime.combine(day, dt.time())))
    items += _checkpoints(plan)
    return sorted(items, key=lambda item: (item.start, item.kind))


def active_holds(
    sessions: Iterable[SessionRecord], rules: RuleSet, *, now: dt.datetime, hold_hours: float | None = None
) -> list[Hold]:
    """Minoxidil holds in force at ``now`` (after sessions at or above the rule's needle length)."""
    rule = rules["minoxidil.hold"]
    hours = float(rule.params["hold_hours"] if hold_hours is None else hold_hours)
    holds = []
    for session in sessions:
        if not hold_applies(rule, session.needle_length_mm):
            continue
        end = session.performed_at + dt.timedelta(hours=hours)
        if session.performed_at <= now < end:
            holds.append(Hold(session.performed_at, end, session.needle_length_mm, rule.source))
    return holds


def due_today(
    plan: PlanRecord,
    sessions: Sequence[SessionRecord],
    doses: Sequence[DoseRecord],
    *,
    today: dt.date,
) -> list[dict[str, Any]]:
    """What is due today: a needling session (also when overdue), minoxidil doses, PRP, checkpoints."""
    out: list[dict[str, Any]] = []
    if not (plan.start_date <= today < plan.end_date):
        return out
    due = next_session_due(plan, sessions)
    done_today = any(s.performed_at.date() == today for s in sessions)
    if due is not None and due <= today and not done_today:
        out.append({"kind": "session", "due": due.isoformat(), "overdue_days": (today - due).days})
    if plan.minoxidil:
        taken = sum(1 for d in doses if d.kind == "minoxidil" and d.taken_at.date() == today)
        for index, time_text in enumerate(plan.minoxidil_times):
            out.append({"kind": "minoxidil", "time": time_text, "done": index < taken})
    for item in plan_schedule(plan):
        if item.kind in ("prp", "photo", "evaluation", "decision") and item.start.date() == today:
            out.append({"kind": item.kind, "title": item.title})
    return out


def adherence(
    plan: PlanRecord, sessions: Iterable[SessionRecord], *, as_of: dt.date, tolerance_days: int = 2
) -> Adherence:
    """Sessions done vs planned up to ``as_of`` and interval regularity.

    ``ratio`` = done / planned; intervals are days between consecutive sessions done; an interval is on
    time when within ``tolerance_days`` of the planned interval for its position (loading, then maintenance).
    """
    planned = [d for d in planned_session_dates(plan) if d <= as_of]
    done = [s for s in _in_plan(plan, sessions) if s.performed_at.date() <= as_of]
    intervals = [
        (b.performed_at - a.performed_at).total_seconds() / 86400 for a, b in itertools.pairwise(done)
    ]
    on_time = []
    for index, days in enumerate(intervals):
        target = (
            plan.loading_interval_days
            if index + 1 < plan.loading_sessions
            else plan.maintenance_interval_days
        )
        on_time.append(abs(days - target) <= tolerance_days)
    return Adherence(
        as_of=as_of,
        planned_to_date=len(planned),
        done_to_date=len(done),
        ratio=len(done) / len(planned) if planned else None,
        mean_interval_days=statistics.fmean(intervals) if intervals else None,
        sd_interval_days=statistics.stdev(intervals) if len(intervals) > 1 else None,
        on_time_fraction=sum(on_time) / len(on_time) if on_time else None,
        tolerance_days=tolerance_days,
    )


def check_session_date(plan: PlanRecord | None, performed_at: dt.datetime) -> None:
    """Refuse a session dated before the active plan starts.

    Raises
    ------
    InputError
        Naming ``performed_at`` and the earliest allowed date.
    """
    if plan is not None and performed_at.date() < plan.start_date:
        raise InputError.invalid(
            "performed_at",
            performed_at.isoformat(timespec="minutes"),
            f"on or after the plan start {plan.start_date.isoformat()}",
        )
