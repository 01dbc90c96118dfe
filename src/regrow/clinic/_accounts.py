"""Accounts of clinic mode: argon2 passwords, lock-out, TOTP second factor and server-side sign-in sessions.

Passwords are hashed with argon2id through pwdlib (its recommended parameters); only the SHA-256 of a
session cookie is stored, so a stolen database does not sign anybody in. Every function works inside the
caller's transaction (``session``); nothing here commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from regrow.errors import AuthenticationError, DuplicateError, InputError, MissingExtraError, NotFoundError
from regrow.journal._models import Account, ClinicPatient, LoginSession

__all__ = [
    "IDLE_TIMEOUT",
    "LOCKOUT",
    "MAX_FAILED_LOGINS",
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "SESSION_LIFETIME",
    "SignedIn",
    "account_rows",
    "add_account",
    "check_password_rules",
    "confirm_totp",
    "disable_totp",
    "end_session",
    "get_account",
    "hash_password",
    "list_accounts",
    "reset_password",
    "resolve_session",
    "set_password",
    "sign_in",
    "start_totp",
    "temporary_password",
    "unlock",
]

#: The four roles (issue #17); what each may do is the policy table in :mod:`regrow.clinic._policy`.
ROLES = ("admin", "clinician", "assistant", "patient")
#: Shortest password accepted. NIST SP 800-63B (2017, 5.1.1.2) asks for at least 8 characters from users
#: and allows verifiers to require more; 12 follows OWASP's Authentication Cheat Sheet for accounts that
#: reach health data.
MIN_PASSWORD_LENGTH = 12
#: Consecutive wrong passwords (or codes) that lock an account, and for how long (OWASP Authentication Cheat
#: Sheet, "Account lockout": a threshold of a few attempts and a time-limited lock rather than a permanent
#: one, so an attacker cannot lock a clinician out for good).
MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
#: A session ends after this long without a request, and at the latest this long after sign-in (OWASP
#: Session Management Cheat Sheet: idle timeouts of 15-30 minutes for high-value data, an absolute limit).
IDLE_TIMEOUT = dt.timedelta(minutes=30)
SESSION_LIFETIME = dt.timedelta(hours=12)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ISSUER = "regrow"


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def _hasher():
    try:
        from pwdlib import PasswordHash
    except ImportError as exc:  # pragma: no cover - the clinic extra installs it
        raise MissingExtraError("pwdlib[argon2]", "clinic") from exc
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (pwdlib's recommended parameters).

    Parameters
    ----------
    password : str

    Returns
    -------
    str
        A PHC string (``$argon2id$v=19$...``) with its own salt.
    """
    return _hasher().hash(password)


def check_password_rules(password: str, *, email: str) -> str:
    """Refuse a password that is too short or is the e-mail address; return it unchanged otherwise.

    Raises
    ------
    InputError
        Fewer than :data:`MIN_PASSWORD_LENGTH` characters, or the account's e-mail address.
    """
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(
            f"The password is too short; it must have at least {MIN_PASSWORD_LENGTH} characters.",
            field="password",
            allowed=f"at least {MIN_PASSWORD_LENGTH} characters",
        )
    if password.strip().lower() == email.strip().lower():
        raise InputError(
            "The password must not be the e-mail address.", field="password", allowed="not the e-mail address"
        )
    return password


def _check_email(email: str) -> str:
    cleaned = (email or "").strip().lower()
    if not _EMAIL.match(cleaned) or len(cleaned) > 254:
        raise InputError.invalid("email", email, "an e-mail address such as name@clinic.example")
    return cleaned


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError.invalid("role", role, "one of " + ", ".join(ROLES))
    return role


def add_account(
    session: Session,
    *,
    clinic_id: int,
    email: str,
    display_name: str,
    role: str,
    password: str,
    person_id: int | None = None,
    must_change_password: bool = False,
) -> Account:
    """Create an account in ``clinic_id``.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    clinic_id : int
    email : str
        Unique across the database (it is the sign-in name).
    display_name : str
    role : {"admin", "clinician", "assistant", "patient"}
    password : str
        Checked by :func:`check_password_rules`; only its argon2 hash is stored.
    person_id : int, optional
        The patient's journal person; required for (and only for) the ``patient`` role, and it must be a
        patient of the same clinic.
    must_change_password : bool
        Ask for a new password at the first sign-in (accounts made with a temporary password).

    Raises
    ------
    InputError
        Bad e-mail, role, name or password, or a patient account without its own patient.
    DuplicateError
        The e-mail address has an account already.
    """
    email = _check_email(email)
    _check_role(role)
    name = (display_name or "").strip()
    if not name or len(name) > 200:
        raise InputError.invalid("display_name", display_name, "a name of 1 to 200 characters")
    if role == "patient":
        if person_id is None:
            raise InputError.invalid("patient", None, "the patient whose record this account opens")
        link = session.get(ClinicPatient, person_id)
        if link is None or link.clinic_id != clinic_id:
            raise NotFoundError(f"No patient {person_id} in this clinic.")
    elif person_id is not None:
        raise InputError.invalid("patient", person_id, "given only for a patient account")
    check_password_rules(password, email=email)
    if session.scalars(select(Account.id).where(Account.email == email)).first() is not None:
        raise DuplicateError(f"An account with e-mail {email} exists already.", field="email", value=email)
    now = _now()
    account = Account(
        clinic_id=clinic_id,
        email=email,
        display_name=name,
        role=role,
        password_hash=hash_password(password),
        person_id=person_id,
        failed_logins=0,
        must_change_password=must_change_password,
        active=True,
        created_at=now,
        password_changed_at=now,
    )
    session.add(account)
    session.flush()
    return account


def temporary_password() -> str:
    """A random password for a new or reset account (16 URL-safe characters, 96 bits), shown once."""
    return secrets.token_urlsafe(12)


def account_rows(session: Session, *, clinic_id: int, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The clinic's accounts as plain rows (by e-mail): id, email, name, role, patient_id, active, locked
    (a lock-out running at ``now``) and totp (the second factor is on)."""
    now = now or _now()
    return [
        {
            "id": a.id,
            "email": a.email,
            "name": a.display_name,
            "role": a.role,
            "patient_id": a.person_id,
            "active": a.active,
            "locked": a.locked_until is not None and a.locked_until > now,
            "totp": a.totp_secret is not None,
        }
        for a in list_accounts(session, clinic_id=clinic_id)
    ]


def get_account(session: Session, *, clinic_id: int, account_id: int) -> Account:
    """The account ``account_id`` of ``clinic_id``; another clinic's account is :class:`NotFoundError`."""
    account = session.get(Account, account_id)
    if account is None or account.clinic_id != clinic_id:
        raise NotFoundError(f"No account {account_id} in this clinic.")
    return account


def list_accounts(session: Session, *, clinic_id: int) -> list[Account]:
    """The clinic's accounts, by e-mail."""
    return list(
        session.scalars(select(Account).where(Account.clinic_id == clinic_id).order_by(Account.email))
    )


# A hash of a random password, verified when the e-mail is unknown so that a wrong e-mail and a wrong
# password take the same time (no account enumeration by timing).
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASH


@dataclass(frozen=True)
class SignedIn:
    """The result of a successful sign-in: the account and the cookie token (shown once, never stored)."""

    account: Account
    token: str
    expires_at: dt.datetime


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_WRONG = "Wrong e-mail address, password or code."


def sign_in(
    session: Session,
    *,
    email: str,
    password: str,
    totp_code: str | None = None,
    now: dt.datetime | None = None,
) -> SignedIn:
    """Check a password (and TOTP code when the account has one) and open a session.

    A wrong password or code counts towards the lock-out (:data:`MAX_FAILED_LOGINS` in a row lock the account
    for :data:`LOCKOUT`); the counter is written even though the sign-in fails, so the caller must commit on
    :class:`AuthenticationError` (:func:`regrow.clinic.sign_in_and_commit` does).

    Raises
    ------
    AuthenticationError
        Unknown e-mail, wrong password or code, a missing code, a locked or deactivated account. The message
        never says which of e-mail and password was wrong.
    """
    now = now or _now()
    hasher = _hasher()
    account = session.scalars(select(Account).where(Account.email == (email or "").strip().lower())).first()
    if account is None:
        hasher.verify(password or "", _dummy_hash())
        raise AuthenticationError(_WRONG)
    if account.locked_until is not None and account.locked_until > now:
        raise AuthenticationError(
            f"This account is locked after {MAX_FAILED_LOGINS} failed sign-ins until "
            f"{account.locked_until:%H:%M}; try again then, or ask an admin to reset the password."
        )
    valid, new_hash = hasher.verify_and_update(password or "", account.password_hash)
    if valid and account.totp_secret is not None:
        if not totp_code:
            raise AuthenticationError("This account needs the 6-digit code from its authenticator app.")
        valid = _accept_totp(account, totp_code, now)
    if not valid:
        account.failed_logins = (account.failed_logins or 0) + 1
        if account.failed_logins >= MAX_FAILED_LOGINS:
            account.locked_until = now + LOCKOUT
            account.failed_logins = 0
        session.flush()
        raise AuthenticationError(_WRONG)
    if not account.active:
        raise AuthenticationError("This account is deactivated; ask the clinic's admin.")
    if new_hash is not None:
        account.password_hash = new_hash
    account.failed_logins = 0
    account.locked_until = None
    token = secrets.token_urlsafe(32)
    expires = now + SESSION_LIFETIME
    session.add(
        LoginSession(
            account_id=account.id,
            token_sha256=_token_hash(token),
            created_at=now,
            last_seen_at=now,
            expires_at=expires,
        )
    )
    session.flush()
    return SignedIn(account=account, token=token, expires_at=expires)


def resolve_session(session: Session, token: str | None, *, now: dt.datetime | None = None) -> Account:
    """The account signed in with cookie ``token``; refreshes the idle timer.

    Raises
    ------
    AuthenticationError
        No token, an unknown or ended one, or one past its idle or absolute expiry.
    """
    if not token:
        raise AuthenticationError("Please sign in.")
    now = now or _now()
    row = session.scalars(select(LoginSession).where(LoginSession.token_sha256 == _token_hash(token))).first()
    if row is None or row.ended_at is not None:
        raise AuthenticationError("Please sign in.")
    if row.expires_at <= now or row.last_seen_at + IDLE_TIMEOUT <= now:
        row.ended_at = now
        session.flush()
        raise AuthenticationError("Your session has expired; please sign in again.")
    account = session.get(Account, row.account_id)
    if account is None or not account.active:
        row.ended_at = now
        session.flush()
        raise AuthenticationError("This account is deactivated; ask the clinic's admin.")
    if (now - row.last_seen_at).total_seconds() >= 60:  # one write a minute at most
        row.last_seen_at = now
        session.flush()
    return account


def end_session(session: Session, token: str | None) -> None:
    """Sign out: the session of ``token`` ends (nothing happens for an unknown token)."""
    if not token:
        return
    row = session.scalars(select(LoginSession).where(LoginSession.token_sha256 == _token_hash(token))).first()
    if row is not None and row.ended_at is None:
        row.ended_at = _now()
        session.flush()


def _end_all_sessions(session: Session, account_id: int) -> None:
    now = _now()
    for row in session.scalars(
        select(LoginSession).where(LoginSession.account_id == account_id, LoginSession.ended_at.is_(None))
    ):
        row.ended_at = now
    session.flush()


def set_password(session: Session, account: Account, *, current: str, new: str) -> None:
    """Change one's own password (the current one is asked again); other sessions of the account end.

    Raises
    ------
    AuthenticationError
        ``current`` is wrong.
    InputError
        ``new`` breaks :func:`check_password_rules` or equals the current one.
    """
    if not _hasher().verify(current or "", account.password_hash):
        raise AuthenticationError("The current password is wrong.")
    check_password_rules(new, email=account.email)
    if new == current:
        raise InputError("The new password must differ from the current one.", field="new_password")
    account.password_hash = hash_password(new)
    account.password_changed_at = _now()
    account.must_change_password = False
    _end_all_sessions(session, account.id)


def reset_password(session: Session, account: Account) -> str:
    """An admin's reset: a random temporary password (returned once), changed at the next sign-in.

    The lock-out is lifted and every session of the account ends.
    """
    temporary = temporary_password()
    account.password_hash = hash_password(temporary)
    account.password_changed_at = _now()
    account.must_change_password = True
    account.failed_logins = 0
    account.locked_until = None
    _end_all_sessions(session, account.id)
    return temporary


def unlock(account: Account) -> None:
    """Lift a lock-out now (an admin's action)."""
    account.failed_logins = 0
    account.locked_until = None


# --- TOTP (RFC 6238, 30 s steps, 6 digits: what authenticator apps use) --------------------------------


def _pyotp():
    try:
        import pyotp
    except ImportError as exc:  # pragma: no cover - the clinic extra installs it
        raise MissingExtraError("pyotp", "clinic") from exc
    return pyotp


def start_totp(account: Account) -> dict[str, Any]:
    """A new TOTP secret for ``account`` (not active until :func:`confirm_totp` accepts a code from it).

    Returns
    -------
    dict
        ``{"secret": base32, "uri": otpauth://...}`` for the authenticator app.
    """
    pyotp = _pyotp()
    secret = pyotp.random_base32()
    uri = pyotp.TOTP(secret).provisioning_uri(name=account.email, issuer_name=_ISSUER)
    return {"secret": secret, "uri": uri}


def confirm_totp(account: Account, *, secret: str, code: str, now: dt.datetime | None = None) -> None:
    """Turn the second factor on once a code made from ``secret`` is right.

    Raises
    ------
    InputError
        The secret is not base32 or the code does not match it.
    """
    pyotp = _pyotp()
    if not re.fullmatch(r"[A-Z2-7]{16,64}", secret or ""):
        raise InputError.invalid("secret", secret, "the base32 secret shown when setting up the app")
    probe = Account(totp_secret=secret, totp_last_step=None)
    if not _accept_totp(probe, code, now or _now(), pyotp=pyotp):
        raise InputError.invalid("code", code, "the 6-digit code the authenticator app shows now")
    account.totp_secret = secret
    account.totp_last_step = probe.totp_last_step


def disable_totp(account: Account) -> None:
    """Turn the second factor off (own account after a fresh sign-in, or an admin's reset)."""
    account.totp_secret = None
    account.totp_last_step = None


def _accept_totp(account: Account, code: str, now: dt.datetime, *, pyotp: Any = None) -> bool:
    """Accept a code of the current 30 s step or the one before or after (clock drift), each only once."""
    pyotp = pyotp or _pyotp()
    code = (code or "").strip().replace(" ", "")
    if not re.fullmatch(r"\d{6}", code) or not account.totp_secret:
        return False
    totp = pyotp.TOTP(account.totp_secret)
    step = int(now.timestamp()) // totp.interval
    for candidate in (step - 1, step, step + 1):
        if secrets.compare_digest(totp.at(candidate * totp.interval), code):
            if account.totp_last_step is not None and candidate <= account.totp_last_step:
                return False  # replayed
            account.totp_last_step = candidate
            return True
    return False
