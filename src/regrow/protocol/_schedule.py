"""Plans with cited defaults, the planned calendar, what is due today, minoxidil holds and adherence."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from regrow.errors import InputError

from ._records import DoseRecord, PlanRecord, SessionRecord, add_days
from ._rules import RuleSet, hold_applies
from ._versions import (
    PlanVersions,
    as_versions,
    governs_from,
    next_planned_date,
    plan_in_force,
    planned_dates,
    sessions_in_plan,
    version_index,
)

__all__ = [
    "Adherence",
    "Hold",
    "ScheduleItem",
    "VersionAdherence",
    "active_holds",
    "adherence",
    "check_session_date",
    "due_today",
    "make_plan",
    "next_session_due",
    "plan_schedule",
    "planned_session_dates",
    "revise_plan",
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
class VersionAdherence:
    """Sessions planned and done while one version of the plan was in force (up to the ``as_of`` day)."""

    plan_id: int | None
    effective_from: dt.date
    until: dt.date | None
    planned_to_date: int
    done_to_date: int


@dataclasses.dataclass(frozen=True)
class Adherence:
    """Sessions done vs planned and how regular the intervals were, as numbers.

    ``versions`` breaks the counts down by plan version (one entry for a plan never edited); every session and
    interval is judged by the version in force on its day.
    """

    as_of: dt.date
    planned_to_date: int
    done_to_date: int
    ratio: float | None
    mean_interval_days: float | None
    sd_interval_days: float | None
    on_time_fraction: float | None
    tolerance_days: int
    versions: tuple[VersionAdherence, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (dates as ISO strings)."""

        def plain(value: Any) -> Any:
            return value.isoformat() if isinstance(value, dt.date) else value

        out = {k: plain(v) for k, v in dataclasses.asdict(self).items() if k != "versions"}
        out["versions"] = [{k: plain(v) for k, v in dataclasses.asdict(x).items()} for x in self.versions]
        return out


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


def revise_plan(active: PlanRecord, changes: Mapping[str, Any], *, effective_from: Any) -> PlanRecord:
    """A new version of the active plan: ``changes`` apply from ``effective_from`` on (not stored yet).

    Earlier days stay under the versions that governed them, so adherence and due dates of the past do not
    change. Store the result as the new active version (its ``supersedes_id`` is ``active.id``); check it
    first with :func:`regrow.protocol.check_plan`.

    Parameters
    ----------
    active : PlanRecord
        The version in force now (the plan's newest version).
    changes : mapping of str to value
        :class:`PlanRecord` fields and their new values (a value equal to the current one is allowed and
        changes nothing). Turning minoxidil off clears its strength and times; turning it on without times
        uses the cited defaults (``PLAN_DEFAULTS``).
    effective_from : date or ISO 8601 str
        The first day the new version governs: on or after the day ``active`` took effect, and before the
        plan ends.

    Returns
    -------
    PlanRecord
        The new version (``id`` None, ``effective_from`` and ``supersedes_id`` set).

    Raises
    ------
    InputError
        An unknown field; a change of ``start_date`` (the treatment start is not a property of one version:
        correct the plan or create a new one) or of ``id``, ``effective_from`` or ``supersedes_id`` (set
        here); an effective date before the active version's or on or after the plan's end; or no value that
        differs from the active version.
    """
    from regrow.journal import parse_date  # parsing only; no database access

    day = parse_date("effective_from", effective_from)
    names = [f.name for f in dataclasses.fields(PlanRecord)]
    fixed = ("id", "start_date", "effective_from", "supersedes_id")
    unknown = sorted(set(changes) - set(names))
    if unknown:
        allowed = ", ".join(n for n in names if n not in fixed)
        raise InputError.invalid("plan field", unknown[0], "one of " + allowed)
    for name in fixed:
        if name in changes and changes[name] != getattr(active, name):
            allowed = (
                f"{active.start_date.isoformat()} (a version cannot move the treatment start; correct the plan "
                "or create a new one)"
                if name == "start_date"
                else f"left out (a new version's {name} is set by revise_plan)"
            )
            raise InputError.invalid(name, changes[name], allowed)
    if day < active.effective_start:
        raise InputError.invalid(
            "effective_from",
            day.isoformat(),
            f"on or after {active.effective_start.isoformat()}, the day the current version took effect",
        )
    values = {**dataclasses.asdict(active), **{k: v for k, v in changes.items() if k not in fixed}}
    if active.minoxidil and not values["minoxidil"]:
        values.update(minoxidil=False, minoxidil_strength_pct=None, minoxidil_times=[])
    elif values["minoxidil"] and not active.minoxidil:
        values["minoxidil_times"] = list(values["minoxidil_times"] or PLAN_DEFAULTS["minoxidil_times"])
        if values["minoxidil_strength_pct"] is None:
            values["minoxidil_strength_pct"] = PLAN_DEFAULTS["minoxidil_strength_pct"]
    content = {k: v for k, v in values.items() if k not in fixed}
    if content == {k: v for k, v in dataclasses.asdict(active).items() if k not in fixed}:
        raise InputError.invalid(
            "plan fields", dict(changes) or None, "at least one value that differs from the active version"
        )
    revised = PlanRecord(**{**values, "id": None, "effective_from": day, "supersedes_id": active.id})
    if day >= revised.end_date:
        raise InputError.invalid(
            "effective_from", day.isoformat(), f"before the plan ends on {revised.end_date.isoformat()}"
        )
    return revised


def planned_session_dates(plan: PlanVersions) -> list[dt.date]:
    """Planned needling days: ``loading_sessions`` at the loading interval, then the maintenance interval.

    Parameters
    ----------
    plan : PlanRecord or sequence of PlanRecord
        A plan, or all its versions oldest first (each version governs the days from its effective date; see
        :mod:`regrow.protocol._versions`).

    Returns
    -------
    list of datetime.date
    """
    return planned_dates(plan)


def next_session_due(plan: PlanVersions, sessions: Iterable[SessionRecord]) -> dt.date | None:
    """The day the next session is due (from the last one done), or ``None`` after the plan ends.

    With several versions the interval after the last session is the version in force then, unless a later
    version has taken effect since (:func:`regrow.protocol.revise_plan`).
    """
    versions = as_versions(plan)
    done = sessions_in_plan(versions, sessions)
    if not done:
        due = versions[0].start_date
    else:
        due = next_planned_date(versions, done[-1].performed_at.date(), len(done))
    return due if due < versions[-1].end_date else None


def _windows(versions: Sequence[PlanRecord]) -> list[tuple[dt.date, dt.date | None]]:
    """Days each version governs for its checkpoints, PRP and doses: ``[effective date, next one)``; the last
    version has no upper bound (its own items decide, as for a plan never edited)."""
    out: list[tuple[dt.date, dt.date | None]] = []
    for i in range(len(versions)):
        stop = versions[i + 1].effective_start if i + 1 < len(versions) else None
        out.append((governs_from(versions, i), stop))
    return out


def _inside(day: dt.date, window: tuple[dt.date, dt.date | None]) -> bool:
    start, stop = window
    return start <= day and (stop is None or day < stop)


def _at(day: dt.date, time: dt.time | None = None) -> dt.datetime:
    return dt.datetime.combine(day, time or dt.time())


def _checkpoints(plan: PlanRecord) -> list[ScheduleItem]:
    items = []
    week = 0
    while week < plan.length_weeks + 1:
        day = add_days(plan.start_date, 7 * week)
        label = "baseline photos" if week == 0 else f"week {week} photos"
        items.append(
            ScheduleItem(
                "photo",
                f"regrow: {label}",
                _at(day),
                description="Same site, dry hair, no product, same light; 2-3 replicate photos.",
            )
        )
        week += plan.photo_interval_weeks
    for week, kind, text in (
        (plan.first_evaluation_week, "evaluation", "first evaluation (trials read out at 12 weeks)"),
        (plan.decision_week, "decision", "decision: is it working? (24 weeks or more)"),
    ):
        items.append(ScheduleItem(kind, f"regrow: {text}", _at(add_days(plan.start_date, 7 * week))))
    return items


def _prp(plan: PlanRecord) -> list[ScheduleItem]:
    days = [add_days(plan.start_date, i * plan.prp_interval_days) for i in range(plan.prp_sessions)]
    items = [ScheduleItem("prp", f"regrow: PRP session {i + 1}", _at(day)) for i, day in enumerate(days)]
    if days and plan.prp_maintenance_months:
        day = add_days(days[-1], round(30.44 * plan.prp_maintenance_months))
        if day < plan.end_date:
            items.append(ScheduleItem("prp", "regrow: PRP maintenance", _at(day)))
    return items


def plan_schedule(plan: PlanVersions, *, rules: RuleSet | None = None) -> list[ScheduleItem]:
    """The whole planned calendar: sessions, minoxidil doses, PRP series, photo and decision checkpoints.

    Parameters
    ----------
    plan : PlanRecord or sequence of PlanRecord
        A plan, or all its versions oldest first: each item comes from the version in force on its day
        (sessions: :func:`planned_session_dates`; daily minoxidil: one item per version that has it, over the
        days it governs; PRP and checkpoints: each version's own, on the days it governs).
    rules : RuleSet, optional
        Decides whether a session is followed by a minoxidil hold (needle length).

    Returns
    -------
    list of ScheduleItem
        Ordered by start.
    """
    versions = as_versions(plan)
    windows = _windows(versions)
    items = []
    for i, day in enumerate(planned_dates(versions)):
        version = versions[version_index(versions, day)]
        hold = f"No minoxidil for {version.minoxidil_hold_hours:g} h afterwards." if version.minoxidil else ""
        if rules is not None and hold and not hold_applies(rules["minoxidil.hold"], version.needle_length_mm):
            hold = ""
        items.append(
            ScheduleItem(
                "session",
                f"regrow: micro-needling {version.needle_length_mm:g} mm (session {i + 1})",
                _at(day),
                description=f"Disinfect the device first; stop at erythema or pinpoint bleeding. {hold}".rstrip(),
            )
        )
    for version, (first, stop) in zip(versions, windows, strict=True):
        last = add_days(min(version.end_date, stop or version.end_date), -1)
        if version.minoxidil and first <= last:
            strength = f"{version.minoxidil_strength_pct:g}% " if version.minoxidil_strength_pct else ""
            for time_text in version.minoxidil_times:
                items.append(
                    ScheduleItem(
                        "minoxidil",
                        f"regrow: minoxidil {strength}".strip(),
                        _at(first, dt.time.fromisoformat(time_text)),
                        all_day=False,
                        until=last,
                        description="Skip it during the hold after a needling session.",
                    )
                )
    for version, window in zip(versions, windows, strict=True):
        own = _prp(version) + _checkpoints(version)
        items += [item for item in own if _inside(item.start.date(), window)]
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
    plan: PlanVersions,
    sessions: Sequence[SessionRecord],
    doses: Sequence[DoseRecord],
    *,
    today: dt.date,
) -> list[dict[str, Any]]:
    """What is due today: a needling session (also when overdue), minoxidil doses, PRP, checkpoints.

    ``plan`` is a plan or all its versions oldest first; today's doses and checkpoints come from the version
    in force today.
    """
    versions = as_versions(plan)
    out: list[dict[str, Any]] = []
    if not (versions[0].start_date <= today < versions[-1].end_date):
        return out
    version = plan_in_force(versions, today)
    due = next_session_due(versions, sessions)
    done_today = any(s.performed_at.date() == today for s in sessions)
    if due is not None and due <= today and not done_today:
        out.append({"kind": "session", "due": due.isoformat(), "overdue_days": (today - due).days})
    if version is not None and version.minoxidil and today < version.end_date:
        taken = sum(1 for d in doses if d.kind == "minoxidil" and d.taken_at.date() == today)
        for index, time_text in enumerate(version.minoxidil_times):
            out.append({"kind": "minoxidil", "time": time_text, "done": index < taken})
    for item in plan_schedule(versions):
        if item.kind in ("prp", "photo", "evaluation", "decision") and item.start.date() == today:
            out.append({"kind": item.kind, "title": item.title})
    return out


def adherence(
    plan: PlanVersions, sessions: Iterable[SessionRecord], *, as_of: dt.date, tolerance_days: int = 2
) -> Adherence:
    """Sessions done vs planned up to ``as_of`` and interval regularity, each day judged by its own version.

    ``ratio`` = done / planned; intervals are days between consecutive sessions done; an interval is on
    time when the next session came within ``tolerance_days`` of the day the plan in force set for it (the
    loading, then the maintenance interval; after a plan edit, the edited interval from its effective date
    on: :func:`regrow.protocol.revise_plan`). Sessions done under an earlier version are never re-scored by a
    later one.

    Parameters
    ----------
    plan : PlanRecord or sequence of PlanRecord
        A plan, or all its versions oldest first.
    sessions : iterable of SessionRecord
    as_of : datetime.date
    tolerance_days : int

    Returns
    -------
    Adherence
        With ``versions``: planned and done per version.
    """
    versions = as_versions(plan)
    planned = [d for d in planned_dates(versions) if d <= as_of]
    done = [s for s in sessions_in_plan(versions, sessions) if s.performed_at.date() <= as_of]
    intervals = [
        (b.performed_at - a.performed_at).total_seconds() / 86400 for a, b in itertools.pairwise(done)
    ]
    on_time = []
    for index, (a, days) in enumerate(zip(done, intervals, strict=False)):
        day = a.performed_at.date()
        target = (next_planned_date(versions, day, index + 1) - day).days
        on_time.append(abs(days - target) <= tolerance_days)
    per_version = []
    for i, version in enumerate(versions):
        stop = versions[i + 1].effective_start if i + 1 < len(versions) else None
        per_version.append(
            VersionAdherence(
                plan_id=version.id,
                effective_from=governs_from(versions, i),
                until=stop,
                planned_to_date=sum(1 for d in planned if version_index(versions, d) == i),
                done_to_date=sum(1 for s in done if version_index(versions, s.performed_at.date()) == i),
            )
        )
    return Adherence(
        as_of=as_of,
        planned_to_date=len(planned),
        done_to_date=len(done),
        ratio=len(done) / len(planned) if planned else None,
        mean_interval_days=statistics.fmean(intervals) if intervals else None,
        sd_interval_days=statistics.stdev(intervals) if len(intervals) > 1 else None,
        on_time_fraction=sum(on_time) / len(on_time) if on_time else None,
        tolerance_days=tolerance_days,
        versions=tuple(per_version),
    )


def check_session_date(plan: PlanVersions | None, performed_at: dt.datetime) -> None:
    """Refuse a session dated before the plan starts (with versions: before the first took effect).

    Raises
    ------
    InputError
        Naming ``performed_at`` and the earliest allowed date.
    """
    if plan is None or (not isinstance(plan, PlanRecord) and len(plan) == 0):
        return
    start = as_versions(plan)[0].start_date
    if performed_at.date() < start:
        raise InputError.invalid(
            "performed_at",
            performed_at.isoformat(timespec="minutes"),
            f"on or after the plan start {start.isoformat()}",
        )
