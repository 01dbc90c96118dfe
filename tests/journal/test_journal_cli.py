"""The journal commands end to end, in-process, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

import icalendar
import pytest

from regrow.cli import main


def run(capsys, db_url, *args):
    rc = main([*args, "--db", db_url])
    out, err = capsys.readouterr()
    return rc, out, err


def run_json(capsys, db_url, *args):
    rc, out, err = run(capsys, db_url, *args, "--json")
    assert rc == 0, err
    return json.loads(out)


def setup_journal(capsys, db_url):
    run_json(capsys, db_url, "profile", "set", "--sex", "male", "--diagnosis", "AGA", "--confirmed")
    run_json(
        capsys,
        db_url,
        "profile",
        "screen",
        *[
            x
            for q in (
                "scarring-alopecia",
                "active-scalp-infection",
                "keloid-tendency",
                "bleeding-disorder-or-anticoagulants",
                "pregnancy",
                "isotretinoin",
            )
            for x in (f"--{q}", "no")
        ],
    )
    dev = run_json(
        capsys,
        db_url,
        "device",
        "add",
        "--name",
        "roller",
        "--kind",
        "roller",
        "--needle-length-mm",
        "1.5",
        "--needle-count",
        "192",
    )["device"]
    plan = run_json(
        capsys,
        db_url,
        "plan",
        "create",
        "--start",
        "2025-01-06",
        "--device",
        str(dev["id"]),
        "--minoxidil",
        "--weeks",
        "24",
    )["plan"]
    return dev, plan


def test_profile_device_plan_log_today(capsys, db_url):
    dev, plan = setup_journal(capsys, db_url)
    assert plan["needle_length_mm"] == 1.5 and plan["minoxidil_hold_hours"] == 24.0
    body = run_json(
        capsys,
        db_url,
        "log",
        "session",
        "--device",
        str(dev["id"]),
        "--at",
        "2025-01-06T20:00",
        "--endpoint",
        "erythema",
        "--pain",
        "3",
        "--applied-during",
        "sterile saline",
    )
    assert body["session"]["needle_length_mm"] == 1.5
    assert [f["rule_id"] for f in body["findings"]] == []
    # the hold after a 1.5 mm session ends 24 h later; the next session is due 7 days later
    today = run_json(capsys, db_url, "today", "--at", "2025-01-07T08:00")
    assert today["holds"] == [
        {
            "kind": "minoxidil_hold",
            "start": "2025-01-06T20:00",
            "ends_at": "2025-01-07T20:00",
            "needle_length_mm": 1.5,
            "source": today["holds"][0]["source"],
        }
    ]
    assert "clinical-notes 1.3" in today["holds"][0]["source"]
    assert {"kind": "minoxidil", "time": "08:00", "done": False} in today["due"]
    assert run_json(capsys, db_url, "today", "--at", "2025-01-07T20:00")["holds"] == []
    due = run_json(capsys, db_url, "today", "--at", "2025-01-13T09:00")["due"]
    assert {"kind": "session", "due": "2025-01-13", "overdue_days": 0} in due
    # a dose inside the hold is stored with a caution finding
    dose = run_json(capsys, db_url, "log", "dose", "--kind", "minoxidil", "--at", "2025-01-07T08:00")
    assert [f["rule_id"] for f in dose["findings"]] == ["minoxidil.hold"]
    event = run_json(
        capsys,
        db_url,
        "log",
        "event",
        "--kind",
        "pruritus",
        "--severity",
        "mild",
        "--onset",
        "2025-01-06T21:00",
    )
    assert event["severity"] == "mild"
    devices = run_json(capsys, db_url, "device", "list")
    assert devices[0]["use_count"] == 1 and devices[0]["first_use"] == "2025-01-06"
    run_json(capsys, db_url, "device", "disinfect", str(dev["id"]), "--at", "2025-01-06T21:00")
    assert run_json(capsys, db_url, "device", "list")[0]["last_disinfected_at"] == "2025-01-06T21:00:00"
    shown = run_json(capsys, db_url, "plan", "show")
    assert shown["planned_sessions"][:6] == [
        "2025-01-06",
        "2025-01-13",
        "2025-01-20",
        "2025-01-27",
        "2025-02-10",
        "2025-02-24",
    ]
    checked = run_json(capsys, db_url, "plan", "check")
    assert "plan.off_label" in [f["rule_id"] for f in checked["findings"]]
    run_json(capsys, db_url, "device", "retire", str(dev["id"]), "--reason", "blunt")
    rc, _, err = run(capsys, db_url, "log", "session", "--device", str(dev["id"]), "--at", "2025-01-13T20:00")
    assert rc == 2 and "not retired" in err


def test_stop_finding_blocks_until_acknowledged_and_is_recorded(capsys, db_url, snapshot_at):
    dev, _ = setup_journal(capsys, db_url)
    before = snapshot_at(db_url)
    args = (
        "log",
        "session",
        "--device",
        str(dev["id"]),
        "--at",
        "2025-01-06T20:00",
        "--applied-during",
        "vitamin C serum",
    )
    rc, _, err = run(capsys, db_url, *args)
    assert rc == 2 and "topical.not_approved" in err and "Soltani-Arabshahi" in err and "--acknowledge" in err
    assert snapshot_at(db_url) == before
    rc, _, err = run(capsys, db_url, *args, "--acknowledge", "topical.not_approved")
    assert rc == 2 and "reason" in err
    body = run_json(
        capsys, db_url, *args, "--acknowledge", "topical.not_approved", "--reason", "clinic approved it"
    )
    acks = snapshot_at(db_url)["rule_acknowledgement"]
    assert [(a["rule_id"], a["reason"], a["session_id"], a["action"]) for a in acks] == [
        ("topical.not_approved", "clinic approved it", body["session"]["id"], "log_session")
    ]


@pytest.mark.parametrize(
    ("args", "field", "allowed"),
    [
        (
            ("device", "add", "--name", "x", "--kind", "roller", "--needle-length-mm", "0"),
            "needle_length_mm",
            "(0, 3]",
        ),
        (
            ("device", "add", "--name", "x", "--kind", "roller", "--needle-length-mm", "12"),
            "needle_length_mm",
            "(0, 3]",
        ),
        (
            ("device", "add", "--name", "x", "--kind", "wand", "--needle-length-mm", "1"),
            "kind",
            "roller, pen",
        ),
        (
            ("log", "session", "--device", "99", "--at", "2025-01-13T20:00"),
            "device",
            "one of your device ids: 1",
        ),
        (("log", "session", "--device", "1", "--at", "13/01/2025"), "performed_at", "ISO 8601"),
        (
            ("log", "session", "--device", "1", "--at", "2025-01-05T20:00"),
            "performed_at",
            "plan start 2025-01-06",
        ),
        (
            ("log", "session", "--device", "1", "--at", "2025-01-13", "--needle-length-mm", "12"),
            "needle_length_mm",
            "(0, 3]",
        ),
        (("log", "session", "--device", "1", "--at", "2025-01-13", "--pain", "11"), "pain_0_10", "[0, 10]"),
        (("log", "dose", "--kind", "minoxidil", "--at", "2025-02-30"), "taken_at", "ISO 8601"),
        (("plan", "create", "--start", "2025-1-6", "--device", "1"), "start_date", "ISO 8601"),
        (("log", "event", "--kind", "x", "--severity", "awful"), "severity", "mild, moderate, severe"),
    ],
)
def test_bad_input_is_rejected_and_nothing_changes(capsys, db_url, args, field, allowed, snapshot_at):
    setup_journal(capsys, db_url)
    before = snapshot_at(db_url)
    rc, _, err = run(capsys, db_url, *args)
    assert rc == 2
    assert field in err and allowed in err
    assert snapshot_at(db_url) == before


def test_schedule_ics_parses_with_the_right_events(capsys, db_url, tmp_path):
    setup_journal(capsys, db_url)
    ics = tmp_path / "plan.ics"
    body = run_json(capsys, db_url, "schedule", "--ics", str(ics))
    calendar = icalendar.Calendar.from_ical(ics.read_bytes())
    events = list(calendar.walk("VEVENT"))
    by_kind: dict[str, list] = {}
    for event in events:
        by_kind.setdefault(str(event.get("categories").cats[0]), []).append(event)
    sessions = sorted(e.decoded("dtstart") for e in by_kind["session"])
    # 24 weeks: weekly x4 from 2025-01-06, then every 14 days until before 2025-06-23 (= start + 168 days)
    expected = [dt.date(2025, 1, 6) + dt.timedelta(days=d) for d in (0, 7, 14, 21)]
    expected += [dt.date(2025, 1, 27) + dt.timedelta(days=14 * k) for k in range(1, 11)]
    assert sessions == expected and len(sessions) == len([i for i in body["items"] if i["kind"] == "session"])
    photos = sorted(e.decoded("dtstart") for e in by_kind["photo"])
    assert photos == [dt.date(2025, 1, 6) + dt.timedelta(weeks=w) for w in range(0, 25, 4)]
    assert [e.decoded("dtstart") for e in by_kind["evaluation"]] == [dt.date(2025, 3, 31)]  # week 12
    assert [e.decoded("dtstart") for e in by_kind["decision"]] == [dt.date(2025, 6, 23)]  # week 24
    doses = by_kind["minoxidil"]
    assert sorted(e.decoded("dtstart") for e in doses) == [
        dt.datetime(2025, 1, 6, 8),
        dt.datetime(2025, 1, 6, 20),
    ]
    assert all(e.get("rrule")["FREQ"] == ["DAILY"] for e in doses)
    assert all(e.get("rrule")["UNTIL"][0].date() == dt.date(2025, 6, 22) for e in doses)
    assert len({str(e.get("uid")) for e in events}) == len(events)


@pytest.mark.parametrize("fmt", ["archive", "csv"])
def test_export_import_and_delete_via_cli(capsys, db_url, fresh_url, tmp_path, fmt, snapshot_at):
    dev, _ = setup_journal(capsys, db_url)
    run_json(capsys, db_url, "log", "session", "--device", str(dev["id"]), "--at", "2025-01-06T20:00")
    original = snapshot_at(db_url)
    body = run_json(capsys, db_url, "export", "--out", str(tmp_path / "out"), "--format", fmt)
    source = body["file"] if fmt == "archive" else body["files"][-1]
    other = fresh_url()
    restored = run_json(capsys, other, "import", source)["restored"]
    assert restored["treatment_session"] == 1
    assert snapshot_at(other) == original
    rc, _, err = run(capsys, db_url, "profile", "delete")
    assert rc == 2 and "--yes" in err and snapshot_at(db_url) == original
    run_json(capsys, db_url, "profile", "delete", "--yes")
    assert all(rows == [] for rows in snapshot_at(db_url).values())
