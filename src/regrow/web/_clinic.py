"""Clinic mode for the web app: sign-in required, one policy table, patients under ``/patients/<id>/``, audit.

:class:`ClinicMiddleware` sits between the guard (host check, body limit, CSRF cookie, security headers) and
the routes. For every request it

1. finds the route and its kind in :data:`regrow.clinic.ROUTES` (no kind: refused for everybody);
2. resolves the signed-in account from the ``regrow_session`` cookie (none or expired: the sign-in page, or
   401 for the API);
3. for ``/patients/<id>/<rest>``: answers 404 when the account may not open that patient (another clinic's
   patient, somebody else's record, an admin), 403 when its role may not use that route, and otherwise
   serves ``<rest>`` (the home journal's own pages and API) for that patient, with the links of HTML pages
   and redirects kept under the patient's prefix;
4. appends an audit entry (who, when, which patient, what, the status) before any byte of the answer leaves:
   when the entry cannot be written the answer is replaced by a 503 and nothing is shown.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any
from urllib.parse import quote

from anyio.to_thread import run_sync
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from regrow import clinic as cl
from regrow import journal as jr
from regrow._interface import interface
from regrow.errors import AuthenticationError, RegrowError

from ._context import current_person

_AUDIT_FAILED = "The access could not be recorded in the audit log, so nothing is shown; try again."

__all__ = ["SESSION_COOKIE", "Actor", "ClinicMiddleware", "flat_routes", "is_secure_request"]

SESSION_COOKIE = "regrow_session"
_PATIENT = re.compile(r"^/patients/(\d{1,12})(/.*)?$")
#: Links that stay as they are inside a patient's pages: the same for everybody, or the clinic's own.
_GLOBAL = ("/static/", "/favicon.ico", "/clinic", "/account", "/login", "/logout", "/docs", "/patients/")
_GLOBAL_EXACT = ("/evidence", "/api", "/api/evidence", "/openapi.json")
_LINK = re.compile(rb'((?:href|action|src|formaction|data-[\w-]+)=")(/[^"]*)(")')


@dataclasses.dataclass(frozen=True)
class Actor:
    """The signed-in account of a request (a plain copy: no database session attached)."""

    id: int
    clinic_id: int
    email: str
    display_name: str
    role: str
    person_id: int | None
    must_change_password: bool
    totp: bool

    @classmethod
    def of(cls, account: Any) -> Actor:
        return cls(
            id=account.id,
            clinic_id=account.clinic_id,
            email=account.email,
            display_name=account.display_name,
            role=account.role,
            person_id=account.person_id,
            must_change_password=bool(account.must_change_password),
            totp=account.totp_secret is not None,
        )

    def audit(self, engine: Any, *, action: str, what: str, status: int | None, **where: Any) -> None:
        """Append an audit entry by this account (``where``: ``person_id``, ``client``)."""
        cl.record(
            engine,
            clinic_id=self.clinic_id,
            account_id=self.id,
            actor=self.email,
            role=self.role,
            action=action,
            what=what,
            status=status,
            **where,
        )


def flat_routes(routes: Any) -> list[Any]:
    """Every route of an app, those of included routers too (FastAPI lists an included router as one)."""
    out: list[Any] = []
    for route in routes:
        if hasattr(route, "original_router"):
            out.extend(flat_routes(route.original_router.routes))
        else:
            out.append(route)
    return out


def is_secure_request(request: Request) -> bool:
    """Whether the browser reached us over HTTPS (directly, or through the trusted reverse proxy)."""
    return request.url.scheme == "https"


def _is_global(path: str) -> bool:
    return path.startswith(_GLOBAL) or path in _GLOBAL_EXACT or path.startswith("/api/evidence/")


def _prefixed(base: str, path: str) -> str:
    return path if _is_global(path) else base + path


def _rewrite_html(body: bytes, base: str) -> bytes:
    """Keep the links of a patient's page under ``base`` (``/patients/<id>``) and tell the script."""

    def fix(match: re.Match[bytes]) -> bytes:
        path = match.group(2).decode("utf-8", "replace")
        return match.group(1) + _prefixed(base, path).encode() + match.group(3)

    body = _LINK.sub(fix, body)
    return body.replace(b"<body>", f'<body data-base="{base}">'.encode(), 1)


class ClinicMiddleware:
    """ASGI middleware of clinic mode (see the module docstring).

    Parameters
    ----------
    app : ASGI app
        The FastAPI app (its routes are matched against :data:`regrow.clinic.ROUTES`).
    engine : sqlalchemy.Engine
        The clinic's journal database (accounts, sessions, audit).
    """

    def __init__(self, app: ASGIApp, *, engine: Any, routes: list[Any]) -> None:
        self.app = app
        self.engine = engine
        self.routes = routes

    # --- lookups (run in a worker thread: they touch the database) --------------------------------

    def kind_of(self, method: str, path: str) -> str | None:
        """The policy kind of the route serving ``method path`` (``None``: no such route)."""
        method = "GET" if method == "HEAD" else method
        if path.startswith("/static/"):
            return "open"
        for route in self.routes:
            regex = getattr(route, "path_regex", None)
            if regex is None or not regex.match(path):
                continue
            methods = getattr(route, "methods", None)
            if methods and method not in methods:
                continue
            return cl.ROUTES.get((method, route.path), "unlisted")
        return None

    def _identify(self, token: str | None, person_id: int | None) -> tuple[Actor, dict[str, Any] | None]:
        """The signed-in account of ``token`` and, for a request under ``/patients/<person_id>/``, that patient
        when the account may open it (else ``None``), in one transaction: one database round trip per request.

        Raises
        ------
        AuthenticationError
            No session, or an ended or expired one (which is marked ended, and that is committed).
        """
        with jr.session_scope(self.engine) as session:
            try:
                actor = Actor.of(cl.resolve_session(session, token))
            except AuthenticationError as exc:
                error = exc  # the ended session is committed when the block ends
            else:
                return actor, None if person_id is None else _patient_of(session, actor, person_id)
        raise error

    def _audit(
        self, actor: Actor, *, action: str, what: str, person_id: int | None, status: int, client: str
    ):
        try:
            actor.audit(
                self.engine, action=action, what=what, status=status, person_id=person_id, client=client
            )
        except RegrowError:
            return False
        return True

    # --- the request ------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        match = _PATIENT.match(path)
        inner = (match.group(2) or "/") if match else path
        kind = self.kind_of(method, inner)
        if kind == "open" and not match:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        token = request.cookies.get(SESSION_COOKIE)
        person_id = int(match.group(1)) if match else None
        try:
            actor, patient = await run_sync(self._identify, token, person_id)
        except AuthenticationError as exc:
            await self._refuse_sign_in(request, exc)(scope, receive, send)
            return
        scope.setdefault("state", {})["actor"] = actor
        if (
            actor.must_change_password
            and inner not in ("/account", "/account/password", "/logout")
            and kind
            not in (
                "open",
                None,
            )
        ):
            if _wants_page(request):
                await RedirectResponse("/account?why=change", status_code=303)(scope, receive, send)
            else:
                await self._error(
                    request, 403, "forbidden", "Change your temporary password first (/account)."
                )(scope, receive, send)
            return
        if person_id is not None:
            await self._patient_request(scope, receive, send, request, actor, person_id, patient, inner, kind)
            return
        if kind is None:
            await self.app(scope, receive, send)  # no such route: the app's own 404
            return
        if kind in cl.PATIENT_KINDS:
            await self._outside_patient(request, actor)(scope, receive, send)
            return
        if kind == "home-only":
            await self._error(
                request,
                404,
                "not_found",
                "Not in clinic mode: a patient's record leaves as a FHIR bundle (Export on the patient's page).",
            )(scope, receive, send)
            return
        if kind == "unlisted" or not cl.allowed(actor.role, kind):
            if (
                actor.role == "patient"
                and actor.person_id is not None
                and _wants_page(request)
                and method == "GET"
            ):
                await RedirectResponse(f"/patients/{actor.person_id}/", status_code=303)(scope, receive, send)
                return
            await self._error(request, 403, "forbidden", f"A {actor.role} account may not open {path}.")(
                scope, receive, send
            )
            return
        if kind in ("open", "signed-in"):
            await self.app(scope, receive, send)
            return
        action = {"accounts": "account", "import": "import"}.get(kind, "read" if method == "GET" else "write")
        await self._audited(scope, receive, send, actor, action=action, person_id=None, base=None)

    async def _patient_request(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request: Request,
        actor: Actor,
        person_id: int,
        patient: dict[str, Any] | None,
        inner: str,
        kind: str | None,
    ) -> None:
        if patient is None or kind is None or kind not in cl.PATIENT_KINDS:
            await self._error(request, 404, "not_found", f"No patient {person_id} here.")(
                scope, receive, send
            )
            return
        if not cl.allowed(actor.role, kind):
            await self._error(
                request,
                403,
                "forbidden",
                f"A {actor.role} account may not do this ({scope['method']} {inner}).",
            )(scope, receive, send)
            return
        base = f"/patients/{person_id}"
        scope = dict(scope, path=inner, raw_path=inner.encode())
        scope["state"] = dict(scope.get("state") or {}, patient=patient, base=base)
        action = "export" if kind == "export" else ("read" if scope["method"] in ("GET", "HEAD") else "write")
        reset = current_person.set(person_id)
        try:
            with interface("api" if inner.startswith("/api") else "web"):
                await self._audited(
                    scope, receive, send, actor, action=action, person_id=person_id, base=base
                )
        finally:
            current_person.reset(reset)

    async def _audited(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        actor: Actor,
        *,
        action: str,
        person_id: int | None,
        base: str | None,
    ) -> None:
        """Run the app; write the audit entry (with the status) before the first byte of the answer leaves."""
        held: dict[str, Any] = {}
        chunks: list[bytes] = []
        state = {"audited": False, "failed": False}
        what = f"{scope['method']} {scope.get('root_path', '')}{base or ''}{scope['path']}"
        if scope.get("query_string"):
            what += "?" + scope["query_string"].decode("latin-1")
        client = (scope.get("client") or ("", 0))[0]

        async def audit_now() -> bool:
            state["audited"] = True
            ok = await run_sync(
                lambda: self._audit(
                    actor, action=action, what=what, person_id=person_id, status=held["status"], client=client
                )
            )
            if not ok:
                state["failed"] = True
                body = json.dumps({"error": {"code": "storage", "message": _AUDIT_FAILED}}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 503,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
            return ok

        async def wrapped(message: Message) -> None:
            if state["failed"]:
                return
            if message["type"] == "http.response.start":
                headers = []
                for name, value in message.get("headers", []):
                    if base and name.lower() == b"location" and value.startswith(b"/"):
                        value = _prefixed(base, value.decode("latin-1")).encode("latin-1")
                    headers.append((name, value))
                held.update(message, headers=headers)
                held["html"] = bool(base) and any(
                    n.lower() == b"content-type" and v.startswith(b"text/html") for n, v in headers
                )
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            if not state["audited"] and not await audit_now():
                return
            if held.get("html"):
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                body = _rewrite_html(b"".join(chunks), base or "")
                headers = [(n, v) for n, v in held["headers"] if n.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({"type": "http.response.start", "status": held["status"], "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            if "sent" not in held:
                held["sent"] = True
                await send(
                    {"type": "http.response.start", "status": held["status"], "headers": held["headers"]}
                )
            await send(message)

        await self.app(scope, receive, wrapped)

    # --- refusals ---------------------------------------------------------------------------------

    def _refuse_sign_in(self, request: Request, exc: AuthenticationError) -> Response:
        if _wants_page(request) and request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            why = "expired" if "expired" in str(exc) else "signin"
            response = RedirectResponse(f"/login?why={why}&next={quote(target, safe='')}", status_code=303)
        else:
            response = self._error(request, exc.http_status, exc.code, str(exc))
        if request.cookies.get(SESSION_COOKIE):
            response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    def _outside_patient(self, request: Request, actor: Actor) -> Response:
        if actor.role == "patient" and actor.person_id is not None:
            target = f"/patients/{actor.person_id}{request.url.path}"
            if request.method == "GET" and _wants_page(request):
                return RedirectResponse(target, status_code=303)
            return self._error(request, 404, "not_found", f"In clinic mode your record is at {target}.")
        if request.method == "GET" and _wants_page(request):
            return RedirectResponse("/clinic", status_code=303)
        return self._error(
            request, 404, "not_found", f"Open a patient first: /patients/<id>{request.url.path}."
        )

    @staticmethod
    def _error(request: Request, status: int, code: str, message: str) -> Response:
        if _wants_page(request):
            from ._app import error_response

            return error_response(request, status, {"error": {"code": code, "message": message}})
        return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _patient_of(session: Any, actor: Actor, person_id: int) -> dict[str, Any] | None:
    """Patient ``person_id`` as the page header shows it, when ``actor`` may open it; else ``None``."""
    from regrow.journal._models import ClinicPatient, Person

    link = session.get(ClinicPatient, person_id)
    if not cl.may_open_patient(
        actor, person_id=person_id, clinic_id_of_patient=None if link is None else link.clinic_id
    ):
        return None
    person = session.get(Person, person_id)
    return {"id": person_id, "name": person.display_name, "record_number": link.record_number}


def _wants_page(request: Request) -> bool:
    path = request.url.path
    if "/api/" in path or path.endswith("/api") or path.endswith(".json"):
        return False
    return "text/html" in request.headers.get("accept", "")
