"""Planned dates, due items, holds and adherence against hand-computed calendars."""

from __future__ import annotations

import datetime as dt

import pytest

from regrow import protocol as pr
from regrow.errors import InputError

RULES = pr.load_rules()
D = dt.date


def S(when: str, mm: float = 1.5) -> pr.SessionRecord:
    return pr.SessionRecord(performed_at=dt.datetime.fromisoformat(when), needle_length_mm=mm, device_id=1)


def test_planned_dates_loading_then_maintenance():
    plan = pr.make_plan(start_date="2025-01-06", needle_length_mm=1.5, length_weeks=8)
    # weekly x4 (6, 13, 20, 27 Jan), then every 14 days (10 Feb, 24 Feb); end = 3 Mar (exclusive)
    assert pr.planned_session_dates(plan) == [
        D(2025, 1, 6),
        D(2025, 1, 13),
        D(2025, 1, 20),
        D(2025, 1, 27),
        D(2025, 2, 10),
        D(2025, 2, 24),
    ]


def test_next_due_and_due_today():
    plan = pr.make_plan(start_date="2025-01-06", needle_length_mm=1.5, minoxidil=True)
    assert pr.next_session_due(plan, []) == D(2025, 1, 6)
    done = [S("2025-01-06T20:00"), S("2025-01-14T20:00"), S("2025-01-21T20:00"), S("2025-01-28T20:00")]
    assert pr.next_session_due(plan, done[:2]) == D(2025, 1, 21)
    assert pr.next_session_due(plan, done) == D(2025, 2, 11)  # 4 loading sessions done: +14 days
    due = pr.due_today(
        plan, done, [pr.DoseRecord("minoxidil", dt.datetime(2025, 2, 12, 8))], today=D(2025, 2, 12)
    )
    assert {"kind": "session", "due": "2025-02-11", "overdue_days": 1} in due
    assert [d["done"] for d in due if d["kind"] == "minoxidil"] == [True, False]


def test_holds_end_24h_after_sessions_at_or_above_half_mm():
    sessions = [S("2025-01-06T20:00", 0.5), S("2025-01-06T21:00", 0.25)]
    holds = pr.active_holds(sessions, RULES, now=dt.datetime(2025, 1, 7, 19, 59))
    assert [h.end for h in holds] == [dt.datetime(2025, 1, 7, 20, 0)]
    assert pr.active_holds(sessions, RULES, now=dt.datetime(2025, 1, 7, 20, 0)) == []


def test_adherence_numbers_by_hand():
    plan = pr.make_plan(start_date="2025-01-06", needle_length_mm=1.5)
    done = [S("2025-01-06T20:00"), S("2025-01-14T20:00"), S("2025-01-24T20:00"), S("2025-02-07T20:00")]
    a = pr.adherence(plan, done, as_of=D(2025, 2, 10))
    # planned by 10 Feb: 6, 13, 20, 27 Jan and 10 Feb = 5; done 4; intervals 8, 10, 14 days
    assert (a.planned_to_date, a.done_to_date, a.ratio) == (5, 4, 0.8)
    assert a.mean_interval_days == pytest.approx((8 + 10 + 14) / 3)
    assert a.sd_interval_days == pytest.approx(3.0550504633)  # sample SD of 8, 10, 14
    # targets 7, 7, 7 (loading); within 2 days: 8 yes, 10 no, 14 no
    assert a.on_time_fraction == pytest.approx(1 / 3)


def test_session_before_plan_start_is_refused():
    plan = pr.make_plan(start_date="2025-01-06", needle_length_mm=1.5)
    with pytest.raises(InputError, match=r"performed_at.*plan start 2025-01-06"):
        pr.check_session_date(plan, dt.datetime(2025, 1, 5, 23, 59))
    pr.check_session_date(plan, dt.datetime(2025, 1, 6, 0, 0))


def test_prp_series_and_maintenance():
    plan = pr.make_plan(
        start_date="2025-01-06", needle_length_mm=0.5, prp_sessions=3, prp_maintenance_months=3
    )
    prp = [i.start.date() for i in pr.plan_schedule(plan) if i.kind == "prp"]
    # 0, 28, 56 days, then about 3 months (91 days) after the last one
    assert prp == [D(2025, 1, 6), D(2025, 2, 3), D(2025, 3, 3), D(2025, 6, 2)]


def test_public_names():
    assert set(pr.__all__) == {n for n in dir(pr) if not n.startswith("_")} - {"annotations"}
