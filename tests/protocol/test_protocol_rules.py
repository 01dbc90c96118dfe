"""Every rule at and around its threshold, with its severity and citation (thresholds from clinical-notes)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from regrow import protocol as pr
from regrow.errors import DataFileError, RuleBlockedError

RULES = pr.load_rules()
T0 = dt.datetime(2025, 3, 3, 20, 0)
ALL_NO = {q: False for q in pr._rules.SCREENING_RULES.values()}
PROFILE_OK = pr.ProfileRecord(diagnosis="AGA", diagnosis_confirmed_by_clinician=True)


def journal(**kw):
    base = {"profile": PROFILE_OK, "screening": dict(ALL_NO)}
    return pr.JournalRecords(**{**base, **kw})


def device(**kw):
    return pr.DeviceRecord(**{"id": 1, "kind": "roller", "needle_length_mm": 1.0, **kw})


def session(hours_from_t0=0.0, **kw):
    return pr.SessionRecord(
        **{
            "performed_at": T0 + dt.timedelta(hours=hours_from_t0),
            "needle_length_mm": 1.0,
            "device_id": 1,
            **kw,
        }
    )


def plan(**kw):
    start = kw.pop("start_date", "2025-01-06")
    return pr.make_plan(start_date=start, needle_length_mm=kw.pop("needle_length_mm", 1.0), rules=RULES, **kw)


def ids(findings):
    return {f.rule_id for f in findings}


def session_ids(candidate, **journal_kw):
    return ids(pr.check_session(candidate, journal(**journal_kw), RULES))


def plan_ids(p, **journal_kw):
    return ids(pr.check_plan(p, journal(**journal_kw), RULES))


# (rule id, severity, cases: list of (fires?, callable returning the set of fired ids))
CASES = {
    **{
        rule_id: [
            (True, lambda q=question: session_ids(session(), screening={**ALL_NO, q: True})),
            (False, lambda: session_ids(session())),
            (True, lambda q=question: plan_ids(plan(), screening={**ALL_NO, q: True})),
        ]
        for rule_id, question in pr._rules.SCREENING_RULES.items()
    },
    "screen.incomplete": [
        (
            True,
            lambda: session_ids(session(), screening={k: v for k, v in ALL_NO.items() if k != "pregnancy"}),
        ),
        (False, lambda: session_ids(session())),
    ],
    "screen.diagnosis_unconfirmed": [
        (True, lambda: session_ids(session(), profile=None)),
        (True, lambda: session_ids(session(), profile=pr.ProfileRecord(diagnosis="AGA"))),
        (False, lambda: session_ids(session())),
    ],
    "screen.alopecia_areata": [
        (
            True,
            lambda: session_ids(
                session(), profile=dataclasses.replace(PROFILE_OK, diagnosis="alopecia_areata")
            ),
        ),
        (False, lambda: session_ids(session(), profile=dataclasses.replace(PROFILE_OK, diagnosis="FPHL"))),
    ],
    # clinic only above 1.5 mm (clinical-notes 1.2): 1.5 passes, 1.51 and 2.0 stop
    "needle.clinic_only": [
        (False, lambda: session_ids(session(needle_length_mm=1.5))),
        (True, lambda: session_ids(session(needle_length_mm=1.51))),
        (True, lambda: plan_ids(plan(needle_length_mm=2.0))),
        (False, lambda: plan_ids(plan(needle_length_mm=1.5))),
        (True, lambda: ids(pr.check_device(device(needle_length_mm=2.5), RULES, on=T0.date()))),
    ],
    # tiers: <=0.3 mm no minimum; above, 7 days (clinical-notes 1.2)
    "interval.minimum": [
        (True, lambda: session_ids(session(), sessions=(session(-7 * 24 + 1),))),  # 6 d 23 h
        (False, lambda: session_ids(session(), sessions=(session(-7 * 24),))),  # exactly 7 d
        (
            False,
            lambda: session_ids(
                session(needle_length_mm=0.3), sessions=(session(-24, needle_length_mm=0.3),)
            ),
        ),
        (True, lambda: session_ids(session(needle_length_mm=0.31), sessions=(session(-24),))),
        (True, lambda: plan_ids(plan(loading_interval_days=6))),
        (False, lambda: plan_ids(plan(loading_interval_days=7))),
        (
            False,
            lambda: plan_ids(
                plan(needle_length_mm=0.25, loading_interval_days=2, maintenance_interval_days=2)
            ),
        ),
    ],
    # 24 h hold after sessions at >= 0.5 mm (clinical-notes 1.3)
    "minoxidil.hold": [
        (
            True,
            lambda: ids(
                pr.check_dose(
                    pr.DoseRecord("minoxidil", T0 + dt.timedelta(hours=23.99)),
                    journal(sessions=(session(needle_length_mm=0.5),)),
                    RULES,
                )
            ),
        ),
        (
            False,
            lambda: ids(
                pr.check_dose(
                    pr.DoseRecord("minoxidil", T0 + dt.timedelta(hours=24)),
                    journal(sessions=(session(needle_length_mm=0.5),)),
                    RULES,
                )
            ),
        ),
        (
            False,
            lambda: ids(
                pr.check_dose(
                    pr.DoseRecord("minoxidil", T0 + dt.timedelta(hours=1)),
                    journal(sessions=(session(needle_length_mm=0.49),)),
                    RULES,
                )
            ),
        ),
        (
            False,
            lambda: ids(
                pr.check_dose(
                    pr.DoseRecord("minoxidil", T0 - dt.timedelta(hours=1)),
                    journal(sessions=(session(),)),
                    RULES,
                )
            ),
        ),
        (
            False,
            lambda: ids(
                pr.check_dose(
                    pr.DoseRecord("finasteride", T0 + dt.timedelta(hours=1)),
                    journal(sessions=(session(),)),
                    RULES,
                )
            ),
        ),
        (True, lambda: session_ids(session(applied_after=["Minoxidil 5%"]))),
        (True, lambda: plan_ids(plan(minoxidil=True, minoxidil_hold_hours=23))),
        (False, lambda: plan_ids(plan(minoxidil=True, minoxidil_hold_hours=24))),
        (False, lambda: plan_ids(plan(minoxidil=True, minoxidil_hold_hours=0, needle_length_mm=0.25))),
    ],
    "topical.not_approved": [
        (True, lambda: session_ids(session(applied_during=["vitamin C serum"]))),
        (True, lambda: session_ids(session(applied_during=["sterile saline", "minoxidil"]))),
        (False, lambda: session_ids(session(applied_during=["Sterile Saline"]))),
        (False, lambda: session_ids(session())),
    ],
    # about 10 uses or 6 weeks (clinical-notes 1.5, heuristic)
    "device.use_limit": [
        (False, lambda: session_ids(session(), devices=(device(use_count=9),))),
        (True, lambda: session_ids(session(), devices=(device(use_count=10),))),
        (True, lambda: ids(pr.check_device(device(use_count=11), RULES, on=T0.date()))),
    ],
    "device.age_limit": [
        (
            False,
            lambda: session_ids(session(), devices=(device(first_use=T0.date() - dt.timedelta(days=41)),)),
        ),
        (
            True,
            lambda: session_ids(session(), devices=(device(first_use=T0.date() - dt.timedelta(days=42)),)),
        ),
    ],
    "device.not_disinfected": [
        (True, lambda: session_ids(session(), devices=(device(use_count=1),), sessions=(session(-7 * 24),))),
        (
            False,
            lambda: session_ids(
                session(),
                devices=(device(use_count=1),),
                sessions=(session(-7 * 24),),
                disinfections=(pr.DisinfectionRecord(1, T0 - dt.timedelta(hours=1)),),
            ),
        ),
        (
            True,
            lambda: session_ids(  # cleaned before the last use does not count
                session(),
                devices=(device(use_count=1),),
                sessions=(session(-7 * 24),),
                disinfections=(pr.DisinfectionRecord(1, T0 - dt.timedelta(days=8)),),
            ),
        ),
        (False, lambda: session_ids(session(), devices=(device(),))),  # first use of a new device
    ],
    "device.single_use": [
        (True, lambda: session_ids(session(needle_length_mm=0.5), devices=(device(use_count=1),))),
        (False, lambda: session_ids(session(needle_length_mm=0.5), devices=(device(use_count=0),))),
        (False, lambda: session_ids(session(needle_length_mm=0.3), devices=(device(use_count=3),))),
    ],
    "event.open_serious": [
        (
            True,
            lambda: session_ids(
                session(), events=(pr.EventRecord("infection", "mild", T0 - dt.timedelta(days=2)),)
            ),
        ),
        (
            True,
            lambda: session_ids(
                session(), events=(pr.EventRecord("headache", "severe", T0 - dt.timedelta(days=2)),)
            ),
        ),
        (
            False,
            lambda: session_ids(
                session(), events=(pr.EventRecord("headache", "moderate", T0 - dt.timedelta(days=2)),)
            ),
        ),
        (
            False,
            lambda: session_ids(
                session(), events=(pr.EventRecord("infection", "mild", T0 - dt.timedelta(days=2), T0),)
            ),
        ),
        (
            True,
            lambda: ids(
                pr.check_journal(
                    journal(events=(pr.EventRecord("granuloma", "moderate", T0),)), RULES, now=T0
                )
            ),
        ),
    ],
    "session.endpoint_exceeded": [
        (True, lambda: session_ids(session(endpoint="more_bleeding"))),
        (False, lambda: session_ids(session(endpoint="pinpoint_bleeding"))),
    ],
    # first read-out at 12 weeks, decision at 24 (clinical-notes 1.1)
    "plan.first_evaluation": [
        (True, lambda: plan_ids(plan(first_evaluation_week=11))),
        (False, lambda: plan_ids(plan(first_evaluation_week=12))),
        (True, lambda: plan_ids(plan(length_weeks=11, first_evaluation_week=12, decision_week=24))),
    ],
    "plan.decision_point": [
        (True, lambda: plan_ids(plan(decision_week=23))),
        (False, lambda: plan_ids(plan(decision_week=24))),
        (True, lambda: plan_ids(plan(length_weeks=23))),
    ],
    "plan.photo_interval": [
        (False, lambda: plan_ids(plan(photo_interval_weeks=8))),
        (True, lambda: plan_ids(plan(photo_interval_weeks=9))),
    ],
    "prp.interval": [
        (True, lambda: plan_ids(plan(prp_sessions=3, prp_interval_days=13))),
        (False, lambda: plan_ids(plan(prp_sessions=3, prp_interval_days=14))),
        (False, lambda: plan_ids(plan(prp_sessions=1, prp_interval_days=7))),
    ],
    "plan.off_label": [(True, lambda: plan_ids(plan()))],
    # gap more than 2x the planned interval (7 d in loading) -> > 14 days
    "journal.adherence_gap": [
        (
            False,
            lambda: ids(
                pr.check_journal(
                    journal(plan=plan(start_date="2025-02-01"), sessions=(session(),)),
                    RULES,
                    now=T0 + dt.timedelta(days=14),
                )
            ),
        ),
        (
            True,
            lambda: ids(
                pr.check_journal(
                    journal(plan=plan(start_date="2025-02-01"), sessions=(session(),)),
                    RULES,
                    now=T0 + dt.timedelta(days=15),
                )
            ),
        ),
    ],
}


def test_every_rule_has_threshold_cases():
    assert set(CASES) == pr.KNOWN_RULE_IDS == set(RULES.rules)


@pytest.mark.parametrize(
    ("rule_id", "case"), [(rule_id, i) for rule_id, cases in CASES.items() for i in range(len(cases))]
)
def test_rule_threshold(rule_id, case):
    fires, run = CASES[rule_id][case]
    assert (rule_id in run()) is fires


@pytest.mark.parametrize("rule_id", sorted(pr.KNOWN_RULE_IDS))
def test_rule_has_citation_severity_and_message(rule_id):
    rule = RULES[rule_id]
    assert rule.severity in pr.SEVERITIES
    assert rule.message
    # a source a reader can look up (a year, a URL or a regulation), never our private research notes
    assert "clinical-notes" not in rule.source
    assert any(token in rule.source for token in ("19", "20", "http", "CFR")), rule.source


def test_expected_severities_from_the_issue():
    stops = {r.id for r in RULES.rules.values() if r.severity == "stop"}
    assert {
        "screen.scarring_alopecia",
        "screen.active_infection",
        "screen.keloid",
        "screen.bleeding_risk",
        "screen.pregnancy",
        "needle.clinic_only",
        "topical.not_approved",
    } <= stops
    assert RULES["screen.isotretinoin"].severity == "caution"


def test_finding_shows_reason_and_source():
    (finding,) = [
        f
        for f in pr.check_session(session(needle_length_mm=2.0), journal(), RULES)
        if f.rule_id == "needle.clinic_only"
    ]
    assert "2 mm" in finding.message and "1.5 mm" in finding.message
    assert finding.to_dict()["source"] == RULES["needle.clinic_only"].source


def test_stop_blocks_until_acknowledged_with_reason():
    findings = pr.check_session(session(applied_during=["vitamin C"]), journal(), RULES)
    with pytest.raises(RuleBlockedError, match=r"topical\.not_approved"):
        pr.require_acknowledged(findings, {})
    with pytest.raises(RuleBlockedError):
        pr.require_acknowledged(findings, {"topical.not_approved": "  "})
    acked = pr.require_acknowledged(findings, {"topical.not_approved": "clinic-approved serum"})
    assert [f.rule_id for f in acked] == ["topical.not_approved"]


def test_clinic_override_changes_threshold_and_severity(tmp_path):
    path = tmp_path / "clinic.yaml"
    path.write_text("rules:\n  - id: minoxidil.hold\n    severity: stop\n    params: {hold_hours: 48}\n")
    rules = pr.load_rules(path)
    assert rules["minoxidil.hold"].params == {"hold_hours": 48, "min_needle_mm": 0.5}
    dose = pr.DoseRecord("minoxidil", T0 + dt.timedelta(hours=30))
    (finding,) = pr.check_dose(dose, journal(sessions=(session(),)), rules)
    assert finding.severity == "stop" and "48 h" in finding.message
    path.write_text("rules:\n  - id: no.such.rule\n    severity: info\n")
    with pytest.raises(DataFileError, match=r"no\.such\.rule"):
        pr.load_rules(path)
    path.write_text("rules:\n  - id: minoxidil.hold\n    severity: fatal\n")
    with pytest.raises(DataFileError, match="severity"):
        pr.load_rules(path)
