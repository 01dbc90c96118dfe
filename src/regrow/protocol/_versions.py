"""Effective-dated plans: which version of a plan governs which days, and the planned session calendar.

Editing a plan stores a new version that takes effect from a date (``PlanRecord.effective_from``); the
versions of one plan form a chain through ``supersedes_id``. Version ``i`` governs the days from its effective
date up to the next version's (or its own end, whichever comes first). Everything that judges the past
(adherence, on-time intervals, due dates, rule checks) asks which version was in force on the day in question,
so editing the plan never re-scores what was done under an earlier version.

The session calendar is walked one planned session at a time: the interval after a session is the one of the
version in force on that session's day; when a later version takes effect before that next date, the next
date becomes ``max(its effective date, previous session + its interval)``, so a change applies from its date
on and is measured from the last session.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from typing import TypeAlias

from regrow.errors import InputError

from ._records import PlanRecord, SessionRecord, add_days

__all__ = [
    "PlanVersions",
    "as_versions",
    "governs_from",
    "next_planned_date",
    "plan_in_force",
    "planned_dates",
    "sessions_in_plan",
    "version_chain",
    "version_index",
]

#: A plan (one version) or its versions oldest first: what the schedule and adherence functions accept.
PlanVersions: TypeAlias = PlanRecord | Sequence[PlanRecord]


def as_versions(plan: PlanVersions) -> tuple[PlanRecord, ...]:
    """The versions of ``plan`` oldest first, checked.

    The first version given governs from the plan's start (a single version passed alone is treated as the
    whole plan, as before plans had versions); each later one from its ``effective_from``.

    Parameters
    ----------
    plan : PlanRecord or sequence of PlanRecord
        One version (a plan never edited) or every version oldest first
        (:attr:`regrow.protocol.JournalRecords.plan_versions`).

    Returns
    -------
    tuple of PlanRecord

    Raises
    ------
    InputError
        No version, an item that is not a :class:`PlanRecord`, versions whose effective dates go backwards, or
        a session interval below one day (the calendar could never advance).
    """
    versions = (plan,) if isinstance(plan, PlanRecord) else tuple(plan)
    if not versions:
        raise InputError.invalid("plan_versions", "()", "at least one plan version")
    for version in versions:
        if not isinstance(version, PlanRecord):
            raise InputError.invalid("plan_versions", type(version).__name__, "PlanRecord items")
        for name in ("loading_interval_days", "maintenance_interval_days"):
            if getattr(version, name) < 1:
                raise InputError.invalid(name, getattr(version, name), "at least 1 day")
    starts = [governs_from(versions, i) for i in range(len(versions))]
    for a, b in itertools.pairwise(starts):
        if b < a:
            raise InputError.invalid(
                "plan_versions",
                f"{b.isoformat()} after {a.isoformat()}",
                "versions oldest first (effective dates never going backwards)",
            )
    return versions


def governs_from(versions: Sequence[PlanRecord], index: int) -> dt.date:
    """The first day version ``index`` governs: the plan's start for the first version given (nothing earlier
    is known), else the version's effective date."""
    return versions[0].start_date if index == 0 else versions[index].effective_start


def version_chain(plans: Iterable[PlanRecord], *, active_id: int | None) -> tuple[PlanRecord, ...]:
    """The versions of the active plan, oldest first, from all of a person's plans.

    Follows ``supersedes_id`` back from the plan ``active_id``. A version whose effective date is after that of
    a version that replaced it never took effect and is left out, so the result always passes
    :func:`as_versions`' order check. Plans outside the chain (an older, separate plan) are not versions of it.

    Parameters
    ----------
    plans : iterable of PlanRecord
        Every plan of the person (with ``id`` set), in any order.
    active_id : int or None
        The active plan's id; ``None`` gives an empty tuple.

    Returns
    -------
    tuple of PlanRecord
        Empty when ``active_id`` is ``None`` or not among ``plans``.
    """
    by_id = {p.id: p for p in plans if p.id is not None}
    chain: list[PlanRecord] = []
    seen: set[int] = set()
    current = by_id.get(active_id) if active_id is not None else None
    while current is not None and current.id not in seen:
        seen.add(current.id)
        if not chain or current.effective_start <= chain[-1].effective_start:
            chain.append(current)
        current = by_id.get(current.supersedes_id) if current.supersedes_id is not None else None
    return tuple(reversed(chain))


def version_index(versions: Sequence[PlanRecord], day: dt.date) -> int:
    """Index of the version in force on ``day`` (the newest whose effective date is not after it); -1 before
    the first."""
    index = -1
    for i in range(len(versions)):
        if governs_from(versions, i) <= day:
            index = i
    return index


def plan_in_force(plan: PlanVersions, day: dt.date) -> PlanRecord | None:
    """The version of ``plan`` in force on ``day``: the newest whose effective date is not after it.

    After the plan's end this is still its last version (the one that says the plan has ended).

    Parameters
    ----------
    plan : PlanRecord or sequence of PlanRecord
        The plan's versions oldest first.
    day : datetime.date

    Returns
    -------
    PlanRecord or None
        ``None`` before the first version took effect.
    """
    versions = as_versions(plan)
    index = version_index(versions, day)
    return None if index < 0 else versions[index]


def _step_days(version: PlanRecord, sessions_so_far: int) -> int:
    """Planned days to the next session after the ``sessions_so_far``-th (loading, then maintenance)."""
    if sessions_so_far < version.loading_sessions:
        return version.loading_interval_days
    return version.maintenance_interval_days


def next_planned_date(versions: Sequence[PlanRecord], previous: dt.date, sessions_so_far: int) -> dt.date:
    """The day the next session is planned after one on ``previous`` (the ``sessions_so_far``-th).

    The interval is that of the version in force on ``previous``; a later version that takes effect on or
    before that date (or after the earlier version ended) moves it to ``max(its effective date, previous + its
    interval)``.

    Parameters
    ----------
    versions : sequence of PlanRecord
        Checked versions (:func:`as_versions`), oldest first.
    previous : datetime.date
        Day of the last session (planned or done).
    sessions_so_far : int
        Sessions up to and including that one (1 after the first).

    Returns
    -------
    datetime.date
    """
    current = max(version_index(versions, previous), 0)
    following = add_days(previous, _step_days(versions[current], sessions_so_far))
    for j in range(current + 1, len(versions)):
        later = versions[j]
        if later.effective_start <= following or following >= versions[current].end_date:
            following = max(later.effective_start, add_days(previous, _step_days(later, sessions_so_far)))
            current = j
        else:
            break
    return following


def planned_dates(plan: PlanVersions) -> list[dt.date]:
    """Every planned needling day, each version governing its own days (see the module notes).

    For a plan never edited: ``loading_sessions`` days at the loading interval from the start, then the
    maintenance interval, until the plan's end (exclusive).
    """
    versions = as_versions(plan)
    end = versions[-1].end_date
    day, count, out = versions[0].start_date, 0, []
    while day < end:
        out.append(day)
        count += 1
        day = next_planned_date(versions, day, count)
    return out


def sessions_in_plan(plan: PlanVersions, sessions: Iterable[SessionRecord]) -> list[SessionRecord]:
    """The sessions on or after the plan took effect, oldest first."""
    start = as_versions(plan)[0].start_date
    return sorted((s for s in sessions if s.performed_at.date() >= start), key=lambda s: s.performed_at)
