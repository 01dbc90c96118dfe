"""Effective-dated plans: a version governs the days from its effective date, and editing never re-scores the
past. Calendars are computed by hand; the property tests compare against the unedited plan."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regrow import protocol as pr
from regrow.errors import InputError

D = dt.date
RULES = pr.load_rules()
PROPERTY = settings(max_examples=150, deadline=None, derandomize=True, database=None)


def S(when: str, mm: float = 1.5) -> pr.SessionRecord:
    return pr.SessionRecord(performed_at=dt.datetime.fromisoformat(when), needle_length_mm=mm, device_id=1)


def plan(**kw) -> pr.PlanRecord:
    kw.setdefault("start_date", "2025-01-06")
    kw.setdefault("needle_length_mm", 1.5)
    kw.setdefault("id", 1)
    return pr.make_plan(**kw)


# --- revise_plan ------------------------------------------------------------------------------------------


def test_revise_plan_makes_a_version_effective_from_the_date():
    v1 = plan(length_weeks=8)
    v2 = pr.revise_plan(v1, {"maintenance_interval_days": 7}, effective_from="2025-02-01")
    assert (v2.id, v2.supersedes_id, v2.effective_from) == (None, 1, D(2025, 2, 1))
    assert v2.start_date == v1.start_date and v2.maintenance_interval_days == 7
    assert v2.effective_start == D(2025, 2, 1) and v1.effective_start == D(2025, 1, 6)
    # everything else is the old version's
    same = {f.name for f in dataclasses.fields(pr.PlanRecord)} - {
        "id",
        "effective_from",
        "supersedes_id",
        "maintenance_interval_days",
    }
    assert all(getattr(v1, n) == getattr(v2, n) for n in same)
    assert v2.storable()["effective_from"] == D(2025, 2, 1) and v2.storable()["supersedes_id"] == 1
    assert "effective_from" not in v1.storable() and "supersedes_id" not in v1.storable()


@pytest.mark.parametrize(
    ("changes", "effective", "field", "allowed"),
    [
        ({"maintenance_interval_days": 7}, "2025-01-05", "effective_from", "on or after 2025-01-06"),
        (
            {"maintenance_interval_days": 7},
            "2025-06-23",
            "effective_from",
            "before the plan ends on 2025-06-23",
        ),
        ({"start_date": D(2025, 2, 1)}, "2025-02-01", "start_date", "cannot move the treatment start"),
        ({"supersedes_id": 7}, "2025-02-01", "supersedes_id", "set by revise_plan"),
        ({"colour": "red"}, "2025-02-01", "plan field", "one of needle_length_mm, name, length_weeks"),
        ({"maintenance_interval_days": 14}, "2025-02-01", "plan fields", "differs from the active version"),
        ({}, "2025-02-01", "plan fields", "differs from the active version"),
        ({"loading_sessions": 3}, "2025-02-30", "effective_from", ""),
    ],
)
def test_revise_plan_refuses_with_the_field_and_what_is_allowed(changes, effective, field, allowed):
    with pytest.raises(InputError) as err:
        pr.revise_plan(plan(), changes, effective_from=effective)
    assert err.value.field == field
    assert allowed in str(err.value)


def test_a_version_cannot_start_before_the_version_it_replaces():
    v2 = pr.revise_plan(plan(), {"loading_sessions": 2}, effective_from="2025-03-01")
    with pytest.raises(InputError, match="on or after 2025-03-01, the day the current version took effect"):
        pr.revise_plan(v2, {"loading_sessions": 3}, effective_from="2025-02-28")
    v3 = pr.revise_plan(v2, {"loading_sessions": 3}, effective_from="2025-03-01")  # same day is allowed
    assert v3.effective_from == D(2025, 3, 1)


def test_minoxidil_switched_on_gets_cited_defaults_and_off_clears_them():
    off = pr.PlanRecord.from_mapping(
        {**plan().storable(), "minoxidil_strength_pct": None, "minoxidil_times": []}
    )
    on = pr.revise_plan(off, {"minoxidil": True}, effective_from="2025-02-01")
    assert (on.minoxidil_strength_pct, on.minoxidil_times) == (5.0, ["08:00", "20:00"])
    back = pr.revise_plan(on, {"minoxidil": False}, effective_from="2025-03-01")
    assert (back.minoxidil, back.minoxidil_strength_pct, back.minoxidil_times) == (False, None, [])


# --- the calendar, piecewise -------------------------------------------------------------------------------


def test_planned_dates_switch_interval_from_the_effective_date():
    v1 = plan(length_weeks=8)
    v2 = pr.revise_plan(v1, {"maintenance_interval_days": 7}, effective_from="2025-02-01")
    # v1: 6, 13, 20, 27 Jan (weekly x4), next would be 10 Feb (+14). v2 takes effect 1 Feb, before 10 Feb, so
    # the next is max(1 Feb, 27 Jan + 7) = 3 Feb, then weekly to the end (3 Mar, exclusive).
    assert pr.planned_session_dates([v1, v2]) == [
        D(2025, 1, 6),
        D(2025, 1, 13),
        D(2025, 1, 20),
        D(2025, 1, 27),
        D(2025, 2, 3),
        D(2025, 2, 10),
        D(2025, 2, 17),
        D(2025, 2, 24),
    ]
    # a longer interval from 1 Feb: after 27 Jan the next is max(1 Feb, 27 Jan + 21) = 17 Feb
    v3 = pr.revise_plan(v1, {"maintenance_interval_days": 21}, effective_from="2025-02-01")
    assert pr.planned_session_dates([v1, v3])[4:] == [D(2025, 2, 17)]


def test_a_version_that_shortens_the_plan_ends_it_early():
    v1 = plan(length_weeks=24)
    v2 = pr.revise_plan(v1, {"length_weeks": 6}, effective_from="2025-02-03")
    dates = pr.planned_session_dates([v1, v2])
    assert dates[-1] < D(2025, 2, 17) == v2.end_date
    assert pr.next_session_due([v1, v2], [S("2025-02-10T09:00")]) is None  # 10 Feb + 14 is past the end


def test_next_due_uses_the_version_in_force_after_the_last_session():
    v1 = plan()
    done = [S("2025-01-06T20:00"), S("2025-01-13T20:00"), S("2025-01-20T20:00"), S("2025-01-27T20:00")]
    assert pr.next_session_due(v1, done) == D(2025, 2, 10)
    v2 = pr.revise_plan(v1, {"maintenance_interval_days": 28}, effective_from="2025-02-01")
    assert pr.next_session_due([v1, v2], done) == D(2025, 2, 24)  # max(1 Feb, 27 Jan + 28)
    late = pr.revise_plan(v1, {"maintenance_interval_days": 28}, effective_from="2025-03-01")
    assert pr.next_session_due([v1, late], done) == D(2025, 2, 10)  # not in force yet on 10 Feb


def test_due_today_minoxidil_and_schedule_follow_the_version_in_force():
    v1 = pr.PlanRecord.from_mapping(
        {**plan(length_weeks=8).storable(), "id": 1, "minoxidil_strength_pct": None, "minoxidil_times": []}
    )
    v2 = dataclasses.replace(pr.revise_plan(v1, {"minoxidil": True}, effective_from="2025-02-01"), id=2)
    before = pr.due_today([v1, v2], [], [], today=D(2025, 1, 31))
    after = pr.due_today([v1, v2], [], [], today=D(2025, 2, 1))
    assert [d for d in before if d["kind"] == "minoxidil"] == []
    assert [d["time"] for d in after if d["kind"] == "minoxidil"] == ["08:00", "20:00"]
    doses = [i for i in pr.plan_schedule([v1, v2]) if i.kind == "minoxidil"]
    assert {(i.start, i.until) for i in doses} == {
        (dt.datetime(2025, 2, 1, 8), D(2025, 3, 2)),
        (dt.datetime(2025, 2, 1, 20), D(2025, 3, 2)),
    }
    assert pr.plan_in_force([v1, v2], D(2025, 1, 31)) is v1
    assert pr.plan_in_force([v1, v2], D(2025, 2, 1)) is v2
    assert pr.plan_in_force([v1, v2], D(2025, 1, 5)) is None
    assert pr.plan_in_force([v1, v2], D(2026, 1, 1)) is v2  # after the end: the last version


def test_checkpoints_of_each_version_on_the_days_it_governs():
    v1 = plan(length_weeks=24)
    v2 = pr.revise_plan(v1, {"decision_week": 30, "length_weeks": 30}, effective_from="2025-03-03")
    kinds = {(i.kind, i.start.date()) for i in pr.plan_schedule([v1, v2])}
    assert ("decision", D(2025, 6, 23)) not in kinds  # v1's week 24 falls under v2, which moved it
    assert ("decision", D(2025, 8, 4)) in kinds  # week 30
    assert ("evaluation", D(2025, 3, 31)) in kinds  # week 12 under v2 (unchanged)
    early = pr.revise_plan(v1, {"first_evaluation_week": 4}, effective_from="2025-04-07")
    kinds = {(i.kind, i.start.date()) for i in pr.plan_schedule([v1, early])}
    # v1's week 12 evaluation (31 Mar) happened under v1; v2's week 4 is before v2 took effect: not re-planned
    assert ("evaluation", D(2025, 3, 31)) in kinds and ("evaluation", D(2025, 2, 3)) not in kinds


def test_adherence_is_scored_per_version_and_the_edit_does_not_re_score_the_past():
    v1 = plan(id=1)
    # loading weekly x4 then every 14 days, done on time: 6, 13, 20, 27 Jan; 10, 24 Feb
    done = [S(f"2025-{d}T20:00") for d in ("01-06", "01-13", "01-20", "01-27", "02-10", "02-24")]
    v2 = dataclasses.replace(
        pr.revise_plan(v1, {"maintenance_interval_days": 7}, effective_from="2025-03-01"), id=2
    )
    done_v2 = [*done, S("2025-03-03T20:00"), S("2025-03-10T20:00")]
    a = pr.adherence([v1, v2], done_v2, as_of=D(2025, 3, 10))
    # planned: the six v1 days, then max(1 Mar, 24 Feb + 7) = 3 Mar, 10 Mar: 8 planned, 8 done, all on time
    assert (a.planned_to_date, a.done_to_date, a.ratio, a.on_time_fraction) == (8, 8, 1.0, 1.0)
    assert [(v.plan_id, v.planned_to_date, v.done_to_date) for v in a.versions] == [(1, 6, 6), (2, 2, 2)]
    assert a.to_dict()["versions"][1] == {
        "plan_id": 2,
        "effective_from": "2025-03-01",
        "until": None,
        "planned_to_date": 2,
        "done_to_date": 2,
    }
    # the bug this replaces: the newest version alone (what callers passed before plans had versions) governs
    # the whole plan, as it did then, and re-scores the 14-day intervals as late
    wrong = pr.adherence(v2, done_v2, as_of=D(2025, 3, 10))
    assert wrong.on_time_fraction < 1.0 and wrong.planned_to_date > 8
    assert wrong == pr.adherence(dataclasses.replace(v2, effective_from=None), done_v2, as_of=D(2025, 3, 10))


def test_journal_gap_rule_uses_the_interval_of_the_version_in_force():
    v1 = plan(maintenance_interval_days=28)
    done = tuple(S(f"2025-{d}T20:00") for d in ("01-06", "01-13", "01-20", "01-27"))
    now = dt.datetime(2025, 3, 20, 12)  # 51 whole days after the last session
    quiet = pr.check_journal(pr.JournalRecords(plan=v1, sessions=done), RULES, now=now)
    assert "journal.adherence_gap" not in {f.rule_id for f in quiet}  # 51 <= 2 x 28
    v2 = pr.revise_plan(v1, {"maintenance_interval_days": 7}, effective_from="2025-02-01")
    records = pr.JournalRecords(plan=v2, plan_versions=(v1, v2), sessions=done)
    gap = [f for f in pr.check_journal(records, RULES, now=now) if f.rule_id == "journal.adherence_gap"]
    # next due max(1 Feb, 27 Jan + 7) = 3 Feb: a 7-day interval, and 51 > 2 x 7
    assert [f.context for f in gap] == [{"gap_days": 51, "interval_days": 7}]


def test_session_date_check_uses_the_first_versions_start():
    v1 = plan()
    v2 = pr.revise_plan(v1, {"loading_sessions": 2}, effective_from="2025-03-01")
    pr.check_session_date([v1, v2], dt.datetime(2025, 2, 1, 9))  # before v2, after the plan start: fine
    with pytest.raises(InputError, match="plan start 2025-01-06"):
        pr.check_session_date([v1, v2], dt.datetime(2025, 1, 5, 9))
    pr.check_session_date([], dt.datetime(2000, 1, 1))  # no plan: nothing to check


def test_versions_must_be_plan_records_in_effective_order():
    v1 = plan()
    v2 = pr.revise_plan(v1, {"loading_sessions": 2}, effective_from="2025-03-01")
    v3 = pr.revise_plan(v2, {"loading_sessions": 3}, effective_from="2025-04-01")
    with pytest.raises(InputError, match=r"2025-03-01 after 2025-04-01.*oldest first"):
        pr.planned_session_dates([v1, v3, v2])
    with pytest.raises(InputError, match="at least one plan version"):
        pr.adherence([], [], as_of=D(2025, 1, 1))
    with pytest.raises(InputError, match="PlanRecord items"):
        pr.plan_schedule([v1, {"id": 2}])
    with pytest.raises(InputError, match="maintenance_interval_days"):
        pr.planned_session_dates(dataclasses.replace(v1, maintenance_interval_days=0))


def test_version_chain_follows_supersedes_from_the_active_plan():
    old_plan = dataclasses.replace(plan(start_date="2024-01-01"), id=1)
    v1 = dataclasses.replace(plan(), id=2)
    v2 = dataclasses.replace(pr.revise_plan(v1, {"loading_sessions": 2}, effective_from="2025-03-01"), id=3)
    v3 = dataclasses.replace(pr.revise_plan(v2, {"loading_sessions": 3}, effective_from="2025-04-01"), id=4)
    assert pr.version_chain([v3, old_plan, v1, v2], active_id=4) == (v1, v2, v3)
    assert pr.version_chain([v3, v1, v2], active_id=None) == ()
    assert pr.version_chain([v1], active_id=99) == ()
    # a version replaced before it took effect never governed a day: left out
    never = dataclasses.replace(v2, effective_from=D(2025, 5, 1))
    assert pr.version_chain([v1, never, v3], active_id=4) == (v1, v3)
    # a corrupt cycle ends the walk instead of looping
    loop = dataclasses.replace(v1, supersedes_id=4)
    assert pr.version_chain([loop, v2, v3], active_id=4) == (loop, v2, v3)


def test_dates_near_the_end_of_the_calendar_do_not_overflow():
    far = plan(start_date="9999-12-01", minoxidil=True, prp_sessions=2)
    assert far.end_date == D.max
    assert pr.planned_session_dates(far)[:2] == [D(9999, 12, 1), D(9999, 12, 8)]
    assert pr.plan_schedule(far)  # no OverflowError
    # weekly x4 (1, 8, 15, 22 Dec); the next (+14 days) is past the last representable day
    assert pr.adherence(far, [], as_of=D(9999, 12, 31)).planned_to_date == 4


# --- properties: an edit never changes the past ---------------------------------------------------------

plans = st.builds(
    lambda loading_n, loading_d, maint_d, weeks: plan(
        loading_sessions=loading_n,
        loading_interval_days=loading_d,
        maintenance_interval_days=maint_d,
        length_weeks=weeks,
    ),
    st.integers(0, 6),
    st.integers(1, 21),
    st.integers(1, 35),
    st.integers(4, 52),
)


@PROPERTY
@given(
    v1=plans,
    effective_day=st.integers(0, 200),
    new_interval=st.integers(1, 35),
    new_loading=st.integers(0, 6),
    done_offsets=st.lists(st.integers(0, 364), max_size=30),
    as_of_day=st.integers(0, 400),
)
def test_editing_never_changes_what_was_planned_or_scored_before_its_date(
    v1, effective_day, new_interval, new_loading, done_offsets, as_of_day
):
    effective = v1.start_date + dt.timedelta(days=effective_day)
    if effective >= v1.end_date:
        return
    changes = {"maintenance_interval_days": new_interval, "loading_sessions": new_loading}
    try:
        v2 = pr.revise_plan(v1, changes, effective_from=effective)
    except InputError:  # nothing changed
        return
    sessions = [S(f"{v1.start_date + dt.timedelta(days=d)}T09:00") for d in done_offsets]
    before = [d for d in pr.planned_session_dates(v1) if d < effective]
    assert [d for d in pr.planned_session_dates([v1, v2]) if d < effective] == before
    as_of = min(v1.start_date + dt.timedelta(days=as_of_day), effective - dt.timedelta(days=1))
    if as_of >= v1.start_date:
        old = pr.adherence(v1, sessions, as_of=as_of).to_dict()
        new = pr.adherence([v1, v2], sessions, as_of=as_of).to_dict()
        old.pop("versions"), new.pop("versions")
        assert new == old
    # after the effective date, consecutive planned sessions are spaced by the new version's intervals
    dates = pr.planned_session_dates([v1, v2])
    for i in range(1, len(dates) - 1):
        if dates[i] >= effective:
            step = v2.loading_interval_days if i + 1 < v2.loading_sessions else v2.maintenance_interval_days
            assert (dates[i + 1] - dates[i]).days == step


@PROPERTY
@given(v1=plans, effective_day=st.integers(0, 364), new_interval=st.integers(1, 35))
def test_planned_dates_lie_inside_the_plan_and_strictly_increase(v1, effective_day, new_interval):
    effective = v1.start_date + dt.timedelta(days=effective_day)
    try:
        v2 = pr.revise_plan(v1, {"maintenance_interval_days": new_interval}, effective_from=effective)
    except InputError:
        return
    dates = pr.planned_session_dates([v1, v2])
    assert dates[0] == v1.start_date and dates[-1] < v2.end_date
    assert all(a < b for a, b in itertools.pairwise(dates))
