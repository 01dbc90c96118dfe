"""Clinic mode pages: sign-in, the patient list, accounts (admin), the audit log (admin), one's own account.

Access is decided before these routes run (:class:`regrow.web._clinic.ClinicMiddleware` and the policy table
:data:`regrow.clinic.ROUTES`); the routes read the signed-in account from ``request.state.actor``.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from regrow import clinic as cl
from regrow import journal as jr
from regrow._hosts import is_loopback
from regrow.errors import AuthenticationError, InputError, NotFoundError, TooManyAttemptsError

from ._app import render
from ._clinic import SESSION_COOKIE, Actor, is_secure_request
from ._security import verify_csrf

__all__ = ["LoginThrottle", "client_of", "render_patients", "router"]

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


class LoginThrottle:
    """Failed sign-ins per client address in a sliding window (in memory; the lock-out per account is in the
    database and survives restarts).

    Parameters
    ----------
    limit : int
        Failures allowed from one address within ``window_s``; the next attempt gets 429.
    window_s : float
    """

    #: 10 failures in 5 minutes per address (OWASP Authentication Cheat Sheet: throttle by source as well
    #: as lock accounts, so one address cannot try passwords across many accounts).
    def __init__(self, limit: int = 10, window_s: float = 300.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._failures: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        """Raise :class:`TooManyAttemptsError` when ``client`` used up its failures in the window."""
        now = time.monotonic()
        with self._lock:
            recent = self._failures.get(client)
            while recent and now - recent[0] > self.window_s:
                recent.popleft()
            if recent and len(recent) >= self.limit:
                wait = int(self.window_s - (now - recent[0])) + 1
                raise TooManyAttemptsError(
                    f"Too many failed sign-ins from this address; wait {wait} s and try again."
                )

    def failed(self, client: str) -> None:
        """Count one failure of ``client``."""
        with self._lock:
            self._failures.setdefault(client, collections.deque()).append(time.monotonic())
            if len(self._failures) > 10_000:  # bounded memory under a spray of addresses
                self._failures.pop(next(iter(self._failures)))


def _engine(request: Request):
    return request.app.state.engine


def _actor(request: Request) -> Actor:
    return request.state.actor


def client_of(request: Request) -> str:
    """The client's address (behind the proxy, the one it forwarded), for throttling and the audit log."""
    return request.client.host if request.client else ""


def _safe_next(target: str | None, actor: Actor) -> str:
    """Where to go after signing in: a local path only (no other site), else the role's home."""
    local = target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc
    if local and not target.startswith(("/login", "/logout")):
        return target
    if actor.role == "patient" and actor.person_id is not None:
        return f"/patients/{actor.person_id}/"
    return "/clinic/accounts" if actor.role == "admin" else "/clinic"


_WHY = {
    "expired": "Your session has expired; please sign in again.",
    "signin": "Please sign in.",
    "password": "Your password was changed; sign in with the new one.",
    "signedout": "You are signed out.",
}


@router.get("/login")
async def login_page(request: Request) -> Response:
    """The sign-in form."""
    why = _WHY.get(request.query_params.get("why", ""))
    return render(
        request, "clinic/login.html", "login", notice=why, next=request.query_params.get("next", "")
    )


@router.post("/login")
async def login_post(request: Request) -> Response:
    """Check e-mail, password and code; set the session cookie (HttpOnly, SameSite=Strict, Secure on HTTPS)."""
    form = await request.form()
    email = str(form.get("email") or "").strip()
    password = str(form.get("password") or "")
    code = str(form.get("code") or "").strip() or None
    target = str(form.get("next") or "")
    throttle: LoginThrottle = request.app.state.login_throttle
    client = client_of(request)
    host = (request.url.hostname or "").lower()
    if not is_secure_request(request) and not is_loopback(host):
        return render(
            request,
            "clinic/login.html",
            "login",
            status_code=400,
            errors={"_form": "Clinic mode needs HTTPS: open it through the clinic's TLS reverse proxy."},
            email=email,
            next=target,
        )
    try:
        throttle.check(client)
        signed = await run_in_threadpool(_sign_in, _engine(request), email, password, code)
    except AuthenticationError as exc:
        if not isinstance(exc, TooManyAttemptsError):
            throttle.failed(client)
        await run_in_threadpool(
            cl.record,
            _engine(request),
            clinic_id=None,
            actor=email[:254] or "(empty)",
            action="sign-in-refused",
            what=f"POST /login: {exc}"[:300],
            status=exc.http_status,
            client=client,
        )
        return render(
            request,
            "clinic/login.html",
            "login",
            status_code=exc.http_status,
            errors={"_form": str(exc)},
            email=email,
            next=target,
        )
    response = RedirectResponse(_safe_next(target, signed.actor), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        signed.token,
        httponly=True,
        samesite="strict",
        secure=is_secure_request(request),
        path="/",
    )
    return response


def _sign_in(engine, email: str, password: str, code: str | None):
    """Sign in inside one transaction; a refusal still commits the failure counter (and the lock-out)."""
    error: AuthenticationError | None = None
    with jr.session_scope(engine) as session:
        try:
            signed = cl.sign_in(session, email=email, password=password, totp_code=code)
        except AuthenticationError as exc:
            error = exc
        else:
            actor = Actor.of(signed.account)
            token = signed.token
    if error is not None:
        raise error
    actor.audit(engine, action="sign-in", what="POST /login", status=303)
    return _Signed(actor, token)


@dataclasses.dataclass(frozen=True)
class _Signed:
    """Who signed in and the new session's cookie token."""

    actor: Actor
    token: str


@router.post("/logout")
async def logout_post(request: Request) -> Response:
    """End the session and drop the cookie."""
    actor = _actor(request)

    def work() -> None:
        with jr.session_scope(_engine(request)) as session:
            cl.end_session(session, request.cookies.get(SESSION_COOKIE))
        actor.audit(
            _engine(request), action="sign-out", what="POST /logout", status=303, client=client_of(request)
        )

    await run_in_threadpool(work)
    response = RedirectResponse("/login?why=signedout", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- one's own account ------------------------------------------------------------------------------


@router.get("/account")
async def account_page(request: Request) -> Response:
    """Change one's password; turn the authenticator-app code on or off."""
    notice = "Choose a new password before going on." if request.query_params.get("why") == "change" else None
    return render(request, "clinic/account.html", "account", notice=notice)


def _own_account(request: Request, session) -> Any:
    actor = _actor(request)
    return cl.get_account(session, clinic_id=actor.clinic_id, account_id=actor.id)


@router.post("/account/password")
async def password_post(request: Request) -> Response:
    """Change one's own password (the current one is asked again); every session ends."""
    form = await request.form()

    def work() -> None:
        with jr.session_scope(_engine(request)) as session:
            cl.set_password(
                session,
                _own_account(request, session),
                current=str(form.get("current_password") or ""),
                new=str(form.get("new_password") or ""),
            )

    try:
        await run_in_threadpool(work)
    except (InputError, AuthenticationError) as exc:
        return render(
            request, "clinic/account.html", "account", status_code=400, errors={"password": str(exc)}
        )
    _audit_account(request, "changed own password")
    response = RedirectResponse("/login?why=password", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/account/totp")
async def totp_start(request: Request) -> Response:
    """A new secret for the authenticator app, shown with a form to confirm it with a code."""

    def work() -> dict[str, Any]:
        with jr.session_scope(_engine(request)) as session:
            return cl.start_totp(_own_account(request, session))

    setup = await run_in_threadpool(work)
    return render(request, "clinic/account.html", "account", totp_setup=setup)


@router.post("/account/totp/confirm")
async def totp_confirm(request: Request) -> Response:
    """Turn the second factor on once a code from the new secret is right."""
    form = await request.form()
    secret = str(form.get("secret") or "")

    def work() -> None:
        with jr.session_scope(_engine(request)) as session:
            cl.confirm_totp(_own_account(request, session), secret=secret, code=str(form.get("code") or ""))

    try:
        await run_in_threadpool(work)
    except InputError as exc:
        return render(
            request,
            "clinic/account.html",
            "account",
            status_code=400,
            totp_setup={"secret": secret, "uri": ""},
            errors={"code": str(exc)},
        )
    _audit_account(request, "turned on the authenticator-app code")
    return render(
        request,
        "clinic/account.html",
        "account",
        notice="The authenticator-app code is now asked at sign-in.",
    )


@router.post("/account/totp/disable")
async def totp_disable(request: Request) -> Response:
    """Turn the second factor off (the password is asked again)."""
    form = await request.form()

    def work() -> None:
        from pwdlib import PasswordHash

        with jr.session_scope(_engine(request)) as session:
            account = _own_account(request, session)
            if not PasswordHash.recommended().verify(str(form.get("password") or ""), account.password_hash):
                raise AuthenticationError("The password is wrong; the code stays on.")
            cl.disable_totp(account)

    try:
        await run_in_threadpool(work)
    except AuthenticationError as exc:
        return render(request, "clinic/account.html", "account", status_code=400, errors={"totp": str(exc)})
    _audit_account(request, "turned off the authenticator-app code")
    return render(request, "clinic/account.html", "account", notice="The authenticator-app code is off.")


def _audit_account(request: Request, what: str, person_id: int | None = None) -> None:
    actor = _actor(request)
    actor.audit(
        _engine(request),
        action="account",
        what=what,
        status=200,
        person_id=person_id,
        client=client_of(request),
    )


# --- the clinic ----------------------------------------------------------------------------------------


def patients_view(request: Request) -> dict[str, Any]:
    """The patient list of the signed-in account's clinic (``?q=``: part of a name or record number)."""
    search = request.query_params.get("q", "").strip()[:100]
    with jr.session_scope(_engine(request)) as session:
        patients = cl.list_patients(session, clinic_id=_actor(request).clinic_id, search=search or None)
    return {"patients": patients, "q": search}


async def render_patients(request: Request, status_code: int = 200, **values: Any) -> Response:
    """The Patients page with the clinic's list, and ``values`` (errors, what was typed, a refused import)."""
    view = await run_in_threadpool(patients_view, request)
    return render(request, "clinic/patients.html", "clinic", status_code=status_code, **view, **values)


@router.get("/clinic")
async def patients_page(request: Request) -> Response:
    """The clinic's patients (search by name or record number) and the form to register one."""
    return await render_patients(request)


@router.post("/clinic/patients")
async def patient_add(request: Request) -> Response:
    """Register a patient (name, the clinic's record number)."""
    actor = _actor(request)
    form = await request.form()
    name = str(form.get("name") or "")
    number = str(form.get("record_number") or "")

    def work() -> int:
        with jr.session_scope(_engine(request)) as session:
            return cl.add_patient(session, clinic_id=actor.clinic_id, name=name, record_number=number).id

    try:
        person_id = await run_in_threadpool(work)
    except InputError as exc:
        return await render_patients(
            request,
            exc.http_status,
            errors={exc.field or "_form": str(exc)},
            values={"name": name, "record_number": number},
        )
    if actor.role == "admin":
        return RedirectResponse("/clinic", status_code=303)
    return RedirectResponse(f"/patients/{person_id}/", status_code=303)


# --- accounts (admin) ------------------------------------------------------------------------------------


async def _render_accounts(request: Request, status_code: int = 200, **values: Any) -> Response:
    """The Accounts page with the clinic's accounts and patients, and ``values`` (errors, a notice, the
    temporary password to show once)."""
    clinic_id = _actor(request).clinic_id

    def view() -> dict[str, Any]:
        with jr.session_scope(_engine(request)) as session:
            return {
                "accounts": cl.account_rows(session, clinic_id=clinic_id),
                "patients": cl.list_patients(session, clinic_id=clinic_id),
                "roles": cl.ROLES,
            }

    page = await run_in_threadpool(view)
    return render(request, "clinic/accounts.html", "accounts", status_code=status_code, **page, **values)


@router.get("/clinic/accounts")
async def accounts_page(request: Request) -> Response:
    """The clinic's accounts, and the form to add one."""
    return await _render_accounts(request)


@router.post("/clinic/accounts")
async def account_add(request: Request) -> Response:
    """Add an account with a temporary password (shown once; changed at the first sign-in)."""
    actor = _actor(request)
    form = await request.form()
    values = {k: str(form.get(k) or "") for k in ("email", "name", "role", "patient")}
    temporary = cl.temporary_password()

    def work() -> None:
        patient = values["patient"].strip()
        if patient and not patient.isdigit():
            raise InputError.invalid("patient", patient, "a patient id from the list")
        with jr.session_scope(_engine(request)) as session:
            cl.add_account(
                session,
                clinic_id=actor.clinic_id,
                email=values["email"],
                display_name=values["name"],
                role=values["role"],
                password=temporary,
                person_id=int(patient) if patient else None,
                must_change_password=True,
            )

    try:
        await run_in_threadpool(work)
    except (InputError, NotFoundError) as exc:
        field = getattr(exc, "field", None) or "_form"
        return await _render_accounts(request, exc.http_status, errors={field: str(exc)}, values=values)
    await run_in_threadpool(_audit_account, request, f"added account {values['email']} ({values['role']})")
    return await _render_accounts(
        request, temporary={"email": values["email"].strip().lower(), "password": temporary}
    )


async def _account_action(request: Request, account_id: int, action: str) -> Response:
    actor = _actor(request)

    def work() -> tuple[str, str | None]:
        with jr.session_scope(_engine(request)) as session:
            account = cl.get_account(session, clinic_id=actor.clinic_id, account_id=account_id)
            if account.id == actor.id and action in ("deactivate",):
                raise InputError("You cannot deactivate your own account.", field="account")
            temporary = None
            if action == "reset":
                temporary = cl.reset_password(session, account)
            elif action == "unlock":
                cl.unlock(account)
            else:
                account.active = action == "activate"
            return account.email, temporary

    try:
        email, temporary = await run_in_threadpool(work)
    except InputError as exc:
        return await _render_accounts(request, 400, errors={"_form": str(exc)})
    await run_in_threadpool(_audit_account, request, f"{action} account {email}")
    done = {
        "reset": "Password reset",
        "unlock": "Unlocked",
        "deactivate": "Deactivated",
        "activate": "Activated",
    }
    return await _render_accounts(
        request,
        notice=f"{done[action]}: {email}.",
        temporary={"email": email, "password": temporary} if temporary else None,
    )


@router.post("/clinic/accounts/{account_id}/reset")
async def account_reset(request: Request, account_id: int) -> Response:
    """Reset an account's password to a temporary one (shown once); its sessions end, its lock is lifted."""
    return await _account_action(request, account_id, "reset")


@router.post("/clinic/accounts/{account_id}/unlock")
async def account_unlock(request: Request, account_id: int) -> Response:
    """Lift a lock-out now."""
    return await _account_action(request, account_id, "unlock")


@router.post("/clinic/accounts/{account_id}/deactivate")
async def account_deactivate(request: Request, account_id: int) -> Response:
    """Stop an account from signing in (its sessions end at their next request)."""
    return await _account_action(request, account_id, "deactivate")


@router.post("/clinic/accounts/{account_id}/activate")
async def account_activate(request: Request, account_id: int) -> Response:
    """Let a deactivated account sign in again."""
    return await _account_action(request, account_id, "activate")


# --- audit (admin) ---------------------------------------------------------------------------------------


def _audit_filter(request: Request) -> int | None:
    raw = request.query_params.get("patient", "").strip()
    if raw and not raw.isdigit():
        raise InputError.invalid("patient", raw, "a patient id (digits)")
    return int(raw) if raw else None


@router.get("/clinic/audit")
async def audit_page(request: Request) -> Response:
    """The newest 500 audit entries (optionally one patient's)."""
    actor = _actor(request)
    person_id = _audit_filter(request)

    def work() -> list[dict[str, Any]]:
        with jr.session_scope(_engine(request)) as session:
            return cl.list_events(session, clinic_id=actor.clinic_id, person_id=person_id)

    events = await run_in_threadpool(work)
    return render(request, "clinic/audit.html", "audit", events=events, patient=person_id)


@router.get("/clinic/audit.csv")
async def audit_csv(request: Request) -> Response:
    """Every audit entry of the clinic (optionally one patient's) as CSV."""
    actor = _actor(request)
    person_id = _audit_filter(request)

    def work() -> str:
        with jr.session_scope(_engine(request)) as session:
            return cl.events_csv(
                cl.list_events(session, clinic_id=actor.clinic_id, person_id=person_id, limit=None)
            )

    text = await run_in_threadpool(work)
    name = f"regrow-audit-patient-{person_id}.csv" if person_id else "regrow-audit.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )
