"""The audit log: every read and write of health data and every security event, appended, never changed.

``record`` appends one :class:`~regrow.journal._models.AuditEvent` in its own transaction; the table refuses
UPDATE and DELETE by trigger (migration 0005). ``list_events`` and ``events_csv`` are the admin's view.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from sqlalchemy import select

from regrow import journal as jr
from regrow.journal._models import AuditEvent

__all__ = ["ACTIONS", "cli_actor", "events_csv", "list_events", "record", "record_for_patients"]

#: What an entry says was done: a read or write of health data, an export or import of a patient's record,
#: or a security event (sign-in, sign-in refused, sign-out, account change).
ACTIONS = ("read", "write", "export", "import", "sign-in", "sign-in-refused", "sign-out", "account")

_COLUMNS = ("id", "at", "actor", "role", "person_id", "action", "what", "status", "client")


def record(
    engine,
    *,
    clinic_id: int | None,
    actor: str,
    action: str,
    what: str,
    account_id: int | None = None,
    role: str | None = None,
    person_id: int | None = None,
    status: int | None = None,
    client: str | None = None,
) -> None:
    """Append one audit entry (its own committed transaction).

    Parameters
    ----------
    engine : sqlalchemy.Engine
    clinic_id : int or None
    actor : str
        Who: the account's e-mail, ``cli:<user>`` for the command line, or the e-mail typed at a refused
        sign-in.
    action : str
        One of :data:`ACTIONS`.
    what : str
        The route or command, e.g. ``GET /progress`` (cut to 300 characters).
    account_id, role, person_id, status, client : optional
        The account, its role, the patient concerned, the HTTP status and the client address.

    Raises
    ------
    StorageError
        The entry could not be written (the caller then refuses the request it was for).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    with jr.session_scope(engine) as session:
        session.add(
            AuditEvent(
                at=dt.datetime.now().replace(microsecond=0),
                clinic_id=clinic_id,
                account_id=account_id,
                actor=actor[:254],
                role=role,
                person_id=person_id,
                action=action,
                what=what[:300],
                status=status,
                client=(client or None) and client[:100],
            )
        )


def cli_actor() -> str:
    """``cli:<user>``: who ran a command on the server (the operating-system user)."""
    import getpass
    import os

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name in a container
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"cli:{user}"


def record_for_patients(engine, person_ids, *, action: str, what: str, actor: str | None = None) -> int:
    """Audit a command that read or wrote the records of ``person_ids``, one entry per clinic patient.

    A person who is no clinic's patient (a home journal) gets no entry, so the single-person journal is
    unchanged. Returns the number of entries written.
    """
    from regrow.journal._models import ClinicPatient

    ids = sorted({int(p) for p in person_ids})
    if not ids:
        return 0
    with jr.session_scope(engine) as session:
        clinics = dict(
            session.execute(
                select(ClinicPatient.person_id, ClinicPatient.clinic_id).where(
                    ClinicPatient.person_id.in_(ids)
                )
            ).all()
        )
    for person_id, clinic_id in sorted(clinics.items()):
        record(
            engine,
            clinic_id=clinic_id,
            actor=actor or cli_actor(),
            action=action,
            what=what,
            person_id=person_id,
        )
    return len(clinics)


def list_events(
    session,
    *,
    clinic_id: int,
    person_id: int | None = None,
    since: dt.datetime | None = None,
    limit: int | None = 500,
) -> list[dict[str, Any]]:
    """The clinic's audit entries, newest first (``person_id``: one patient's; ``since``: from then on)."""
    query = select(AuditEvent).where(AuditEvent.clinic_id == clinic_id)
    if person_id is not None:
        query = query.where(AuditEvent.person_id == person_id)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    query = query.order_by(AuditEvent.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [{key: getattr(row, key) for key in _COLUMNS} for row in session.scalars(query)]


def events_csv(events: list[dict[str, Any]]) -> str:
    """The entries as CSV text (one header row; times in ISO 8601)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for event in events:
        row = dict(event)
        if isinstance(row["at"], dt.datetime):
            row["at"] = row["at"].isoformat()
        writer.writerow(row)
    return out.getvalue()
