"""Clinic commands: ``regrow clinic init``, ``clinic patient add|list``, ``clinic account add|list|reset|unlock``,
``clinic audit``. Thin: parse, call :mod:`regrow.clinic`, print. Run on the clinic's server by whoever holds the
database credentials; every change is written to the audit log as ``cli:<user>``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from regrow.cli._common import DATABASE_URL_ENV, emit_json, lazy_module
from regrow.errors import InputError

__all__ = ["register"]

jr = lazy_module("regrow.journal")
cl = lazy_module("regrow.clinic")

clinic_app = typer.Typer(
    help="Clinic mode: the clinic, its patients, accounts and audit log (see `regrow serve --clinic`).",
    no_args_is_help=True,
)
patient_app = typer.Typer(help="The clinic's patients.", no_args_is_help=True)
account_app = typer.Typer(
    help="The clinic's accounts (admin, clinician, assistant, patient).", no_args_is_help=True
)
clinic_app.add_typer(patient_app, name="patient")
clinic_app.add_typer(account_app, name="account")

DbOption = typer.Option(
    None,
    "--db",
    envvar=DATABASE_URL_ENV,
    help="The clinic's database URL (postgresql+psycopg://user@host/db; SQLite only to try clinic mode out).",
)
JsonOption = typer.Option(False, "--json", help="Print JSON instead of text.")
ClinicOption = typer.Option(None, "--clinic", help="Clinic id, when the database holds several.")
PasswordStdinOption = typer.Option(
    False, "--password-stdin", help="Read the password from standard input (scripts) instead of prompting."
)


def _audit(
    engine, clinic_id: int, what: str, *, action: str = "account", person_id: int | None = None
) -> None:
    cl.record(
        engine, clinic_id=clinic_id, actor=cl.cli_actor(), action=action, what=what, person_id=person_id
    )


@dataclass
class _ClinicCommand:
    """A command's transaction in one clinic, and the audit entries it leaves once that transaction commits."""

    session: Any
    clinic_id: int
    entries: list[tuple[str, str, int | None]] = field(default_factory=list)

    def audit(self, what: str, *, action: str = "account", person_id: int | None = None) -> None:
        """Write an audit entry ``what`` when (and only if) the command's changes are committed."""
        self.entries.append((what, action, person_id))


@contextmanager
def _clinic_command(db: str | None, clinic: int | None) -> Iterator[_ClinicCommand]:
    """One transaction on the database ``db`` in clinic ``clinic`` (or its only clinic); the audit entries the
    block asked for are written after the commit (the audit log takes its own transaction), then the engine
    is disposed."""
    engine = jr.open_journal(db)
    try:
        with jr.session_scope(engine) as session:
            command = _ClinicCommand(session, cl.clinic_of(session, clinic).id)
            yield command
        for what, action, person_id in command.entries:
            _audit(engine, command.clinic_id, what, action=action, person_id=person_id)
    finally:
        engine.dispose()


def _read_password(from_stdin: bool, prompt: str) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt(prompt, hide_input=True, confirmation_prompt=True)


@clinic_app.command("init")
def init(
    clinic_name: str = typer.Option(..., "--clinic-name", help="The clinic's name."),
    admin_email: str = typer.Option(..., "--admin-email", help="E-mail address of the first admin account."),
    admin_name: str = typer.Option("Admin", "--admin-name", help="Name shown for the first admin."),
    db: str | None = DbOption,
    password_stdin: bool = PasswordStdinOption,
    as_json: bool = JsonOption,
) -> None:
    """Create the clinic schema (migrating the database), a clinic and its first admin account."""
    engine = jr.open_journal(db)
    try:
        password = _read_password(password_stdin, "Password for the admin account")
        clinic, admin = cl.init_clinic(
            engine, name=clinic_name, admin_email=admin_email, admin_name=admin_name, admin_password=password
        )
        _audit(engine, clinic.id, f"clinic init: clinic {clinic.name!r}, admin {admin.email}")
    finally:
        engine.dispose()
    result = {
        "clinic_id": clinic.id,
        "clinic": clinic.name,
        "admin_account_id": admin.id,
        "admin": admin.email,
    }
    if as_json:
        emit_json(result)
        return
    typer.echo(f"Clinic {clinic.name!r} (id {clinic.id}) created; admin account {admin.email}.")
    typer.echo(
        "Start the server with: regrow serve --clinic --db URL (behind a TLS reverse proxy; see the docs)."
    )


@patient_app.command("add")
def patient_add(
    name: str = typer.Option(..., "--name", help="The patient's name."),
    record_number: str | None = typer.Option(None, "--record-number", help="The clinic's record number."),
    clinic: int | None = ClinicOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Register a patient (a new journal person of the clinic); prints the patient id."""
    with _clinic_command(db, clinic) as c:
        person_id = cl.add_patient(
            c.session, clinic_id=c.clinic_id, name=name, record_number=record_number
        ).id
        c.audit(f"registered patient {person_id}", action="write", person_id=person_id)
    if as_json:
        emit_json({"patient_id": person_id, "name": name, "record_number": record_number})
        return
    typer.echo(f"Patient {person_id}: {name}" + (f" (record {record_number})" if record_number else ""))


@patient_app.command("list")
def patient_list(
    search: str | None = typer.Option(None, "--search", help="Part of a name or record number."),
    clinic: int | None = ClinicOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """The clinic's patients: id, name, record number."""
    with _clinic_command(db, clinic) as c:
        patients = cl.list_patients(c.session, clinic_id=c.clinic_id, search=search)
        c.audit("listed patients", action="read")
    if as_json:
        emit_json(
            [
                {
                    **p,
                    "created_at": p["created_at"].isoformat(),
                    "last_visit": p["last_visit"].date().isoformat() if p["last_visit"] else None,
                }
                for p in patients
            ]
        )
        return
    if not patients:
        typer.echo("No patients" + (f" matching {search!r}." if search else " yet."))
    for p in patients:
        typer.echo(
            f"{p['id']:>6}  {p['name']}" + (f"  (record {p['record_number']})" if p["record_number"] else "")
        )


@account_app.command("add")
def account_add(
    email: str = typer.Option(..., "--email", help="Sign-in e-mail address."),
    name: str = typer.Option(..., "--name", help="Name shown in the app."),
    role: str = typer.Option(..., "--role", help="admin, clinician, assistant or patient."),
    patient: int | None = typer.Option(None, "--patient", help="The patient id (patient accounts only)."),
    clinic: int | None = ClinicOption,
    db: str | None = DbOption,
    password_stdin: bool = PasswordStdinOption,
    temporary: bool = typer.Option(
        False,
        "--temporary",
        help="Make a random temporary password (printed once, changed at first sign-in).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Add an account to the clinic (prompts for its password unless --temporary or --password-stdin)."""
    password = cl.temporary_password() if temporary else _read_password(password_stdin, "Password")
    with _clinic_command(db, clinic) as c:
        account = cl.add_account(
            c.session,
            clinic_id=c.clinic_id,
            email=email,
            display_name=name,
            role=role,
            password=password,
            person_id=patient,
            must_change_password=temporary,
        )
        account_id, email = account.id, account.email
        c.audit(f"added account {email} ({role})")
    result = {"account_id": account_id, "email": email, "role": role}
    if temporary:
        result["temporary_password"] = password
    if as_json:
        emit_json(result)
        return
    typer.echo(f"Account {account_id}: {email} ({role}).")
    if temporary:
        typer.echo(f"Temporary password (shown once, changed at the first sign-in): {password}")


@account_app.command("list")
def account_list(
    clinic: int | None = ClinicOption, db: str | None = DbOption, as_json: bool = JsonOption
) -> None:
    """The clinic's accounts: e-mail, role, state."""
    with _clinic_command(db, clinic) as c:
        rows = cl.account_rows(c.session, clinic_id=c.clinic_id)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        state = "deactivated" if not r["active"] else ("locked" if r["locked"] else "active")
        typer.echo(f"{r['id']:>4}  {r['email']}  {r['role']}  {state}" + ("  code on" if r["totp"] else ""))


def _change_account(db: str | None, clinic: int | None, email: str, change, what: str):
    """Apply ``change(session, account)`` to the clinic's account ``email`` in one transaction, audit it as
    ``what <email>``; returns ``(email, change's result)``."""
    wanted = email.strip().lower()
    with _clinic_command(db, clinic) as c:
        account = next(
            (a for a in cl.list_accounts(c.session, clinic_id=c.clinic_id) if a.email == wanted), None
        )
        if account is None:
            raise InputError.invalid("--email", email, "the e-mail address of an account of this clinic")
        result = change(c.session, account)
        c.audit(f"{what} {wanted}")
    return wanted, result


@account_app.command("reset-password")
def account_reset(
    email: str = typer.Option(..., "--email", help="The account's e-mail address."),
    clinic: int | None = ClinicOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Reset a password to a temporary one (printed once); the lock-out and the account's sessions end."""
    email, temporary = _change_account(db, clinic, email, cl.reset_password, "reset password of")
    if as_json:
        emit_json({"email": email, "temporary_password": temporary})
        return
    typer.echo(f"Temporary password for {email} (shown once, changed at the next sign-in): {temporary}")


@account_app.command("unlock")
def account_unlock(
    email: str = typer.Option(..., "--email", help="The account's e-mail address."),
    clinic: int | None = ClinicOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Lift a lock-out after too many failed sign-ins."""
    email, _ = _change_account(db, clinic, email, lambda _session, account: cl.unlock(account), "unlocked")
    if as_json:
        emit_json({"email": email, "unlocked": True})
        return
    typer.echo(f"Unlocked {email}.")


@clinic_app.command("audit")
def audit(
    patient: int | None = typer.Option(None, "--patient", help="Only this patient's entries."),
    since: str | None = typer.Option(None, "--since", help="Only entries from this date or time (ISO 8601)."),
    csv_out: Path | None = typer.Option(None, "--csv", help="Write every matching entry to this CSV file."),
    limit: int = typer.Option(50, "--limit", help="Entries shown (newest first); --csv writes all."),
    clinic: int | None = ClinicOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Show or export the audit log: who read or changed which patient's record, and when."""
    if limit < 1:
        raise InputError.invalid("--limit", limit, "a whole number of at least 1")
    start = jr.parse_datetime("--since", since) if since else None
    with _clinic_command(db, clinic) as c:
        events = cl.list_events(
            c.session, clinic_id=c.clinic_id, person_id=patient, since=start, limit=None if csv_out else limit
        )
        c.audit("viewed the audit log" + (" (CSV)" if csv_out else ""), action="read")
    if csv_out is not None:
        try:
            csv_out.write_text(cl.events_csv(events), encoding="utf-8")
        except OSError as exc:
            raise InputError.invalid("--csv", str(csv_out), f"a writable file ({exc.strerror})") from exc
    if as_json:
        emit_json([{**e, "at": e["at"].isoformat()} for e in events[:limit]])
        return
    if csv_out is not None:
        typer.echo(f"Wrote {len(events)} entries to {csv_out}.")
        return
    for e in events:
        who = e["actor"] + (f" ({e['role']})" if e["role"] else "")
        patient_text = f" patient {e['person_id']}" if e["person_id"] is not None else ""
        typer.echo(
            f"{e['at']:%Y-%m-%d %H:%M:%S}  {who}  {e['action']}{patient_text}  {e['what']}  {e['status'] or ''}"
        )


def register(app: typer.Typer) -> None:
    """Mount ``clinic`` on the root app."""
    app.add_typer(clinic_app, name="clinic")
