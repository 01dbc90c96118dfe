"""``regrow clinic``: init, patients, accounts, audit; clear refusals that change nothing."""

from __future__ import annotations

import csv
import json

import pytest

from regrow import journal as jr
from regrow.cli import main
from regrow.journal._models import Account, AuditEvent, Clinic

PASSWORD = "correct horse battery staple"


def _run(capsys, monkeypatch, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    if stdin is not None:
        import io

        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def clinic_db(db_url, capsys, monkeypatch) -> str:
    code, out, err = _run(
        capsys,
        monkeypatch,
        "clinic", "init", "--db", db_url, "--clinic-name", "Hair clinic", "--admin-email", "Admin@Clinic.example",
        "--password-stdin", "--json",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["admin"] == "admin@clinic.example"
    return db_url


def _count(url: str, model) -> int:
    engine = jr.open_journal(url)
    try:
        with jr.session_scope(engine) as s:
            return s.query(model).count()
    finally:
        engine.dispose()


def test_init_patients_accounts_and_audit(clinic_db, capsys, monkeypatch, tmp_path):
    db = clinic_db
    code, out, _ = _run(
        capsys,
        monkeypatch,
        "clinic",
        "patient",
        "add",
        "--db",
        db,
        "--name",
        "Ann",
        "--record-number",
        "A-1",
        "--json",
    )
    assert code == 0
    patient_id = json.loads(out)["patient_id"]
    code, out, _ = _run(
        capsys, monkeypatch,
        "clinic", "account", "add", "--db", db, "--email", "ann@x.example", "--name", "Ann", "--role", "patient",
        "--patient", str(patient_id), "--temporary", "--json",
    )  # fmt: skip
    assert code == 0
    created = json.loads(out)
    assert len(created["temporary_password"]) >= 12
    code, out, _ = _run(capsys, monkeypatch, "clinic", "account", "list", "--db", db, "--json")
    assert {(a["email"], a["role"], a["patient_id"]) for a in json.loads(out)} == {
        ("admin@clinic.example", "admin", None),
        ("ann@x.example", "patient", patient_id),
    }
    code, out, _ = _run(
        capsys, monkeypatch, "clinic", "patient", "list", "--db", db, "--search", "a-1", "--json"
    )
    assert [p["name"] for p in json.loads(out)] == ["Ann"]
    code, out, _ = _run(
        capsys,
        monkeypatch,
        "clinic",
        "account",
        "reset-password",
        "--db",
        db,
        "--email",
        "ann@x.example",
        "--json",
    )
    assert code == 0 and json.loads(out)["temporary_password"] != created["temporary_password"]
    target = tmp_path / "audit.csv"
    code, out, _ = _run(capsys, monkeypatch, "clinic", "audit", "--db", db, "--csv", str(target))
    assert code == 0
    with target.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    whats = [r["what"] for r in rows]
    assert any("registered patient" in w for w in whats)
    assert any("reset password of ann@x.example" in w for w in whats)
    assert all(r["actor"].startswith("cli:") for r in rows)
    code, out, _ = _run(
        capsys, monkeypatch, "clinic", "audit", "--db", db, "--patient", str(patient_id), "--json"
    )
    assert [e["person_id"] for e in json.loads(out)] == [patient_id]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["account", "add", "--email", "x@x.example", "--name", "X", "--role", "boss", "--password-stdin"],
            "role",
        ),
        (
            [
                "account",
                "add",
                "--email",
                "x@x.example",
                "--name",
                "X",
                "--role",
                "patient",
                "--password-stdin",
            ],
            "patient",
        ),
        (
            [
                "account",
                "add",
                "--email",
                "admin@clinic.example",
                "--name",
                "X",
                "--role",
                "clinician",
                "--password-stdin",
            ],
            "exists already",
        ),
        (["account", "reset-password", "--email", "ghost@x.example"], "--email"),
        (["audit", "--since", "last tuesday"], "--since"),
        (["audit", "--limit", "0"], "--limit"),
    ],
)
def test_bad_input_is_refused_and_nothing_changes(clinic_db, capsys, monkeypatch, args, message):
    accounts = _count(clinic_db, Account)
    code, _, err = _run(capsys, monkeypatch, "clinic", *args, "--db", clinic_db, stdin=PASSWORD + "\n")
    assert code == 2
    assert message in err and "Traceback" not in err
    assert _count(clinic_db, Account) == accounts


def test_a_short_password_and_a_second_clinic(clinic_db, capsys, monkeypatch):
    code, _, err = _run(
        capsys, monkeypatch,
        "clinic", "init", "--db", clinic_db, "--clinic-name", "Second", "--admin-email", "b@b.example", "--password-stdin",
        stdin="short\n",
    )  # fmt: skip
    assert code == 2 and "at least 12 characters" in err
    assert _count(clinic_db, Clinic) == 1  # nothing half-made
    code, out, _ = _run(
        capsys, monkeypatch,
        "clinic", "init", "--db", clinic_db, "--clinic-name", "Second", "--admin-email", "b@b.example", "--password-stdin",
        "--json",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    second = json.loads(out)["clinic_id"]  # not always 2: PostgreSQL's sequence moved on at the refused init
    code, _, err = _run(capsys, monkeypatch, "clinic", "patient", "list", "--db", clinic_db)
    assert code == 2 and "--clinic" in err
    code, out, _ = _run(
        capsys, monkeypatch, "clinic", "patient", "list", "--db", clinic_db, "--clinic", str(second), "--json"
    )
    assert code == 0 and json.loads(out) == []


def test_serve_clinic_needs_a_clinic(db_url, capsys, monkeypatch):
    import regrow.cli.web as web

    monkeypatch.setattr(
        web, "_serve", lambda settings, **_: __import__("regrow.web").web.create_app(settings)
    )
    code, _, err = _run(capsys, monkeypatch, "serve", "--clinic", "--db", db_url)
    assert code == 2 and "regrow clinic init" in err
    code, _, err = _run(capsys, monkeypatch, "serve", "--clinic", "--demo")
    assert code == 2 and "--demo" in err
    assert _count(db_url, AuditEvent) == 0
