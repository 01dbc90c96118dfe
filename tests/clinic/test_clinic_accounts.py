"""Accounts: argon2 hashes, the password rules, lock-out, TOTP, sessions that expire, admin resets."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from clinic_helpers import PRODUCTION_HASHER
from sqlalchemy import text

from regrow import clinic as cl
from regrow import journal as jr
from regrow.errors import AuthenticationError, DuplicateError, InputError, NotFoundError, StorageError
from regrow.journal._models import Account, LoginSession

PASSWORD = "correct horse battery staple"


@pytest.fixture
def clinic_engine(db_url):
    engine = jr.open_journal(db_url)
    clinic, _ = cl.init_clinic(
        engine, name="Clinic", admin_email="admin@c.example", admin_name="Admin", admin_password=PASSWORD
    )
    with jr.session_scope(engine) as s:
        cl.add_account(
            s,
            clinic_id=clinic.id,
            email="doc@c.example",
            display_name="Doc",
            role="clinician",
            password=PASSWORD,
        )
    yield engine, clinic.id
    engine.dispose()


def _account(engine, email="doc@c.example") -> Account:
    with jr.session_scope(engine) as s:
        account = s.query(Account).filter_by(email=email).one()
        s.expunge(account)
        return account


def _sign_in(engine, password=PASSWORD, code=None, now=None, email="doc@c.example"):
    error = None
    with jr.session_scope(engine) as s:
        try:
            return cl.sign_in(s, email=email, password=password, totp_code=code, now=now)
        except AuthenticationError as exc:
            error = exc
    raise error


def test_passwords_are_stored_as_argon2id_hashes_only(clinic_engine):
    engine, _ = clinic_engine
    account = _account(engine)
    assert account.password_hash.startswith("$argon2id$")
    assert PASSWORD not in account.password_hash


def test_the_product_hashes_with_the_recommended_argon2id_cost():
    hashed = PRODUCTION_HASHER().hash(PASSWORD)
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")  # 64 MiB, 3 passes (pwdlib's recommendation)
    assert PRODUCTION_HASHER().verify(PASSWORD, hashed)


@pytest.mark.parametrize(
    ("email", "password", "role", "message"),
    [
        ("x@c.example", "short", "clinician", "at least 12"),
        ("longname@c.example", "longname@c.example", "clinician", "must not be the e-mail"),
        ("not-an-email", PASSWORD, "clinician", "e-mail address"),
        ("x@c.example", PASSWORD, "superuser", "admin, clinician, assistant, patient"),
        ("x@c.example", PASSWORD, "patient", "the patient whose record"),
    ],
)
def test_bad_accounts_are_refused_with_the_reason(clinic_engine, email, password, role, message):
    engine, clinic_id = clinic_engine
    with pytest.raises(InputError, match=message), jr.session_scope(engine) as s:
        cl.add_account(s, clinic_id=clinic_id, email=email, display_name="X", role=role, password=password)
    with jr.session_scope(engine) as s:
        assert s.query(Account).filter(Account.email.in_(["x@c.example", "longname@c.example"])).count() == 0


def test_duplicate_email_and_foreign_patient_are_refused(clinic_engine):
    engine, clinic_id = clinic_engine
    with pytest.raises(DuplicateError), jr.session_scope(engine) as s:
        cl.add_account(
            s,
            clinic_id=clinic_id,
            email="DOC@c.example",
            display_name="D",
            role="assistant",
            password=PASSWORD,
        )
    other, _ = cl.init_clinic(
        engine, name="Other", admin_email="a@o.example", admin_name="A", admin_password=PASSWORD
    )
    with jr.session_scope(engine) as s:
        foreign = cl.add_patient(s, clinic_id=other.id, name="Foreign").id
    with pytest.raises(NotFoundError), jr.session_scope(engine) as s:
        cl.add_account(
            s,
            clinic_id=clinic_id,
            email="p@c.example",
            display_name="P",
            role="patient",
            password=PASSWORD,
            person_id=foreign,
        )


def test_wrong_password_counts_and_five_lock_the_account(clinic_engine):
    engine, _ = clinic_engine
    for attempt in range(1, cl.MAX_FAILED_LOGINS):
        with pytest.raises(AuthenticationError, match="Wrong e-mail address, password or code"):
            _sign_in(engine, password="wrong password!")
        assert _account(engine).failed_logins == attempt
    with pytest.raises(AuthenticationError):
        _sign_in(engine, password="wrong password!")
    locked = _account(engine)
    assert locked.locked_until is not None
    with pytest.raises(AuthenticationError, match="locked"):
        _sign_in(engine)  # the right password does not open a locked account
    later = locked.locked_until + dt.timedelta(seconds=1)
    assert _sign_in(engine, now=later).account.email == "doc@c.example"


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(clinic_engine):
    engine, _ = clinic_engine
    with pytest.raises(AuthenticationError) as unknown:
        _sign_in(engine, email="nobody@c.example")
    with pytest.raises(AuthenticationError) as wrong:
        _sign_in(engine, password="wrong password!")
    assert str(unknown.value) == str(wrong.value)


def test_sessions_expire_when_idle_and_at_their_lifetime_and_end_at_sign_out(clinic_engine):
    engine, _ = clinic_engine
    start = dt.datetime(2026, 12, 1, 9, 0)
    signed = _sign_in(engine, now=start)
    with jr.session_scope(engine) as s:
        assert (
            cl.resolve_session(s, signed.token, now=start + dt.timedelta(minutes=29)).email == "doc@c.example"
        )
    step = start + dt.timedelta(minutes=29)
    with jr.session_scope(engine) as s:  # used every 25 minutes, it lives until its lifetime ends
        while step + dt.timedelta(minutes=25) < start + cl.SESSION_LIFETIME:
            step += dt.timedelta(minutes=25)
            cl.resolve_session(s, signed.token, now=step)
    with pytest.raises(AuthenticationError, match="expired"), jr.session_scope(engine) as s:
        cl.resolve_session(s, signed.token, now=start + cl.SESSION_LIFETIME)
    idle = _sign_in(engine, now=start)
    with pytest.raises(AuthenticationError, match="expired"), jr.session_scope(engine) as s:
        cl.resolve_session(s, idle.token, now=start + cl.IDLE_TIMEOUT + dt.timedelta(seconds=1))
    ended = _sign_in(engine)
    with jr.session_scope(engine) as s:
        cl.end_session(s, ended.token)
    with pytest.raises(AuthenticationError), jr.session_scope(engine) as s:
        cl.resolve_session(s, ended.token)
    with jr.session_scope(engine) as s:  # only the hash of a token is stored
        assert s.query(LoginSession).filter_by(token_sha256=ended.token).count() == 0


def test_totp_second_factor(clinic_engine):
    engine, _ = clinic_engine
    now = dt.datetime(2026, 12, 1, 9, 0, 10)
    with jr.session_scope(engine) as s:
        account = s.query(Account).filter_by(email="doc@c.example").one()
        setup = cl.start_totp(account)
        assert setup["uri"].startswith("otpauth://totp/")
        with pytest.raises(InputError, match="6-digit code"):
            cl.confirm_totp(account, secret=setup["secret"], code="000000", now=now)
        cl.confirm_totp(account, secret=setup["secret"], code=pyotp.TOTP(setup["secret"]).at(now), now=now)
    totp = pyotp.TOTP(setup["secret"])
    later = now + dt.timedelta(minutes=2)
    with pytest.raises(AuthenticationError, match="needs the 6-digit code"):
        _sign_in(engine, now=later)
    with pytest.raises(AuthenticationError, match="Wrong"):
        _sign_in(engine, code="123456" if totp.at(later) != "123456" else "654321", now=later)
    assert _sign_in(engine, code=totp.at(later), now=later).account.email == "doc@c.example"
    with pytest.raises(AuthenticationError, match="Wrong"):  # the same code never works twice
        _sign_in(engine, code=totp.at(later), now=later)


def test_admin_reset_gives_a_temporary_password_and_ends_sessions(clinic_engine):
    engine, _ = clinic_engine
    signed = _sign_in(engine)
    with jr.session_scope(engine) as s:
        temporary = cl.reset_password(s, s.query(Account).filter_by(email="doc@c.example").one())
    with pytest.raises(AuthenticationError), jr.session_scope(engine) as s:
        cl.resolve_session(s, signed.token)
    with pytest.raises(AuthenticationError):
        _sign_in(engine)
    fresh = _sign_in(engine, password=temporary)
    assert fresh.account.must_change_password
    with jr.session_scope(engine) as s:
        account = s.query(Account).filter_by(email="doc@c.example").one()
        with pytest.raises(AuthenticationError):
            cl.set_password(s, account, current="not it at all", new="a brand new passphrase")
        cl.set_password(s, account, current=temporary, new="a brand new passphrase")
        assert not account.must_change_password
    assert _sign_in(engine, password="a brand new passphrase").account.email == "doc@c.example"


def test_the_audit_log_is_append_only(clinic_engine):
    engine, clinic_id = clinic_engine
    cl.record(
        engine, clinic_id=clinic_id, actor="doc@c.example", action="read", what="GET /progress", person_id=1
    )
    with jr.session_scope(engine) as s:
        before = s.execute(text("SELECT count(*) FROM audit_event")).scalar()
    for statement in ("UPDATE audit_event SET actor = 'someone else'", "DELETE FROM audit_event"):
        with pytest.raises(StorageError, match="append-only"), jr.session_scope(engine) as s:
            s.execute(text(statement))
    with jr.session_scope(engine) as s:
        assert s.execute(text("SELECT count(*) FROM audit_event")).scalar() == before
        assert s.execute(text("SELECT count(*) FROM audit_event WHERE actor = 'someone else'")).scalar() == 0
