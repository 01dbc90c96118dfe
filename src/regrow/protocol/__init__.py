"""Plans, schedules, safety rules and reminders for micro-needling; never touches the database.

Callers pass plain records (:class:`SessionRecord`, :class:`PlanRecord`, ... built from journal rows with
``Record.from_mapping(row.as_dict())``) and get findings and schedules back; the caller stores them.
Rules are data in ``rules.yaml`` (id, severity, message, source, params), overridable by a clinic file.

Plans are effective-dated: :func:`revise_plan` turns an edit into a new version effective from a date, and
the schedule, due-today, adherence and journal checks take a plan or all its versions oldest first
(``JournalRecords.plan_versions``), judging each day by the version in force on it (:func:`plan_in_force`).
"""

from __future__ import annotations

from ._ical import schedule_to_ical
from ._records import (
    DeviceRecord,
    DisinfectionRecord,
    DoseRecord,
    EventRecord,
    JournalRecords,
    PlanRecord,
    ProfileRecord,
    SessionRecord,
)
from ._rules import (
    DEFAULT_RULES_PATH,
    KNOWN_RULE_IDS,
    SEVERITIES,
    Finding,
    Rule,
    RuleSet,
    check_device,
    check_dose,
    check_journal,
    check_plan,
    check_session,
    load_rules,
    min_interval_days,
    require_acknowledged,
)
from ._schedule import (
    PLAN_DEFAULTS,
    Adherence,
    Hold,
    ScheduleItem,
    VersionAdherence,
    active_holds,
    adherence,
    check_session_date,
    due_today,
    make_plan,
    next_session_due,
    plan_schedule,
    planned_session_dates,
    revise_plan,
)
from ._versions import PlanVersions, governs_from, plan_in_force, version_chain

__all__ = [
    "DEFAULT_RULES_PATH",
    "KNOWN_RULE_IDS",
    "PLAN_DEFAULTS",
    "SEVERITIES",
    "Adherence",
    "DeviceRecord",
    "DisinfectionRecord",
    "DoseRecord",
    "EventRecord",
    "Finding",
    "Hold",
    "JournalRecords",
    "PlanRecord",
    "PlanVersions",
    "ProfileRecord",
    "Rule",
    "RuleSet",
    "ScheduleItem",
    "SessionRecord",
    "VersionAdherence",
    "active_holds",
    "adherence",
    "check_device",
    "check_dose",
    "check_journal",
    "check_plan",
    "check_session",
    "check_session_date",
    "due_today",
    "governs_from",
    "load_rules",
    "make_plan",
    "min_interval_days",
    "next_session_due",
    "plan_in_force",
    "plan_schedule",
    "planned_session_dates",
    "require_acknowledged",
    "revise_plan",
    "schedule_to_ical",
    "version_chain",
]
