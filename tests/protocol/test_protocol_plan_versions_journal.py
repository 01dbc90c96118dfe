"""Plan versions stored in a real (temporary SQLite) journal: the records the front ends read, the plan a
session is filed under, and the progress context's adherence."""

from __future__ import annotations

import datetime as dt

import pytest

from regrow import _wiring as wire
from regrow import journal as jr
from regrow import protocol as pr
from regrow.progress._journal import context_from_journal

D = dt.date
RULES = pr.load_rules()


@pytest.fixture
def journal(tmp_path):
    engine = jr.open_journal(f"sqlite:///{tmp_path / 'journal.db'}")
    yield engine
    engine.dispose()


def _store_version(s, me: int, version: pr.PlanRecord) -> jr.Plan:
    """Store a version the way the journal's plan edit does: a new active row, then its version fields."""
    fields = version.storable()
    effective, supersedes = fields.pop("effective_from", None), fields.pop("supersedes_id", None)
    row = jr.add_plan(s, person_id=me, **fields)
    row.effective_from, row.supersedes_id = effective, supersedes
    s.flush()
    return row


def _session(s, me: int, device: int, when: str) -> None:
    wire.log_session(
        s,
        person_id=me,
        rules=RULES,
        acknowledge={},
        device_id=device,
        performed_at=dt.datetime.fromisoformat(when),
        endpoint="erythema",
    )


def test_records_carry_the_version_chain_and_sessions_are_filed_by_their_day(journal):
    with jr.session_scope(journal) as s:
        me = jr.get_or_create_default_person(s).id
        jr.set_profile(s, person_id=me, diagnosis_confirmed_by_clinician=True)
        device = jr.add_device(s, person_id=me, name="roller", kind="roller", needle_length_mm=0.25).id
        other = _store_version(s, me, pr.make_plan(start_date="2024-06-03", needle_length_mm=0.25))
        v1 = _store_version(s, me, pr.make_plan(start_date="2025-01-06", needle_length_mm=0.25))
        for day in ("01-06", "01-13", "01-20", "01-27", "02-10"):
            _session(s, me, device, f"2025-{day}T20:00")
        edit = pr.revise_plan(
            wire.journal_records(s, person_id=me).plan,
            {"maintenance_interval_days": 7},
            effective_from="2025-02-15",
        )
        v2 = _store_version(s, me, edit)
        _session(s, me, device, "2025-02-17T20:00")
        _session(s, me, device, "2025-02-12T20:00")  # logged now, done under v1 (backdated)
        records = wire.journal_records(s, person_id=me)
        filed = {r.performed_at.date(): r.plan_id for r in jr.list_sessions(s, person_id=me)}
        ids = (other.id, v1.id, v2.id)
    assert [v.id for v in records.plan_versions] == [
        ids[1],
        ids[2],
    ]  # the separate older plan is not a version
    assert records.plan.id == ids[2] and records.plan.effective_from == D(2025, 2, 15)
    assert filed[D(2025, 2, 12)] == ids[1] and filed[D(2025, 2, 17)] == ids[2]
    assert all(filed[D(2025, 1, d)] == ids[1] for d in (6, 13, 20, 27))


def test_adherence_in_the_progress_context_is_piecewise(journal):
    with jr.session_scope(journal) as s:
        me = jr.get_or_create_default_person(s).id
        jr.set_profile(s, person_id=me, diagnosis_confirmed_by_clinician=True)
        device = jr.add_device(s, person_id=me, name="roller", kind="roller", needle_length_mm=0.25).id
        v1 = pr.make_plan(start_date="2025-01-06", needle_length_mm=0.25, maintenance_interval_days=28)
        row = _store_version(s, me, v1)
        # on plan: weekly x4, then every 28 days (24 Feb), then the edit: weekly from 1 Mar
        for day in ("01-06", "01-13", "01-20", "01-27", "02-24", "03-03", "03-10"):
            _session(s, me, device, f"2025-{day}T20:00")
        stored = wire.journal_records(s, person_id=me).plan
        assert stored.id == row.id
        _store_version(
            s, me, pr.revise_plan(stored, {"maintenance_interval_days": 7}, effective_from="2025-03-01")
        )
        ctx = context_from_journal(s, person_id=me, as_of=D(2025, 3, 10))
        records = wire.journal_records(s, person_id=me)
    assert ctx.adherence == 1.0  # 7 planned (6, 13, 20, 27 Jan; 24 Feb; 3, 10 Mar), 7 done
    # what judging everything by the newest version gave before plans were versioned: January-February
    # re-scored as weekly, 10 planned and 7 done
    assert pr.adherence(records.plan, records.sessions, as_of=D(2025, 3, 10)).ratio == pytest.approx(0.7)
