"""Clinic mode: clinics, patients, accounts and roles, the access policy and the audit log.

The journal stays the one store of health data: a patient is a journal person, and every journal, progress
and protocol function works per patient through ``person_id``. This package adds who may see it::

    from regrow import journal as jr
    from regrow.clinic import init_clinic, add_patient

    engine = jr.open_journal("postgresql+psycopg://regrow@db/regrow")
    clinic, admin = init_clinic(engine, name="Hair clinic", admin_email="admin@clinic.example",
                                admin_name="Admin", admin_password="a long passphrase")

The web app serves it with ``regrow serve --clinic`` (:mod:`regrow.web._clinic`).
"""

from __future__ import annotations

from ._accounts import (
    IDLE_TIMEOUT,
    LOCKOUT,
    MAX_FAILED_LOGINS,
    MIN_PASSWORD_LENGTH,
    ROLES,
    SESSION_LIFETIME,
    SignedIn,
    account_rows,
    add_account,
    check_password_rules,
    confirm_totp,
    disable_totp,
    end_session,
    get_account,
    hash_password,
    list_accounts,
    reset_password,
    resolve_session,
    set_password,
    sign_in,
    start_totp,
    temporary_password,
    unlock,
)
from ._audit import ACTIONS, cli_actor, events_csv, list_events, record, record_for_patients
from ._clinics import (
    add_patient,
    clinic_of,
    get_patient,
    import_patient,
    init_clinic,
    list_clinics,
    list_patients,
    remove_empty_patient,
)
from ._policy import ALLOWED, KINDS, PATIENT_KINDS, ROUTES, allowed, may_open_patient

__all__ = [
    "ACTIONS",
    "ALLOWED",
    "IDLE_TIMEOUT",
    "KINDS",
    "LOCKOUT",
    "MAX_FAILED_LOGINS",
    "MIN_PASSWORD_LENGTH",
    "PATIENT_KINDS",
    "ROLES",
    "ROUTES",
    "SESSION_LIFETIME",
    "SignedIn",
    "account_rows",
    "add_account",
    "add_patient",
    "allowed",
    "check_password_rules",
    "cli_actor",
    "clinic_of",
    "confirm_totp",
    "disable_totp",
    "end_session",
    "events_csv",
    "get_account",
    "get_patient",
    "hash_password",
    "import_patient",
    "init_clinic",
    "list_accounts",
    "list_clinics",
    "list_events",
    "list_patients",
    "may_open_patient",
    "record",
    "record_for_patients",
    "remove_empty_patient",
    "reset_password",
    "resolve_session",
    "set_password",
    "sign_in",
    "start_totp",
    "temporary_password",
    "unlock",
]
