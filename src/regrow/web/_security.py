"""Safety by default: CSRF tokens, request body limits, security headers and the Host-header guard."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from regrow.errors import PermissionDeniedError, UploadTooLargeError

__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "GuardMiddleware",
    "csrf_token",
    "verify_csrf",
]

CSRF_COOKIE = "regrow_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

#: Content-Security-Policy: everything from this origin only; no inline script, no external requests.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)


def _sign(secret: str, nonce: str) -> str:
    return hmac.new(secret.encode(), nonce.encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The CSRF token for this browser: an HMAC of its ``regrow_csrf`` cookie under the app's secret."""
    return _sign(request.app.state.settings.csrf_secret, request.state.csrf_nonce)


async def verify_csrf(request: Request) -> None:
    """Refuse an unsafe request (POST, PUT, PATCH, DELETE) without a valid CSRF token.

    The token comes from the form field ``csrf_token`` or the ``X-CSRF-Token`` header and must be the HMAC
    of the request's ``regrow_csrf`` cookie; a cross-site ``Origin`` is refused as well.

    Raises
    ------
    PermissionDeniedError
        Missing or wrong token, or a foreign origin (403).
    """
    if request.method not in _UNSAFE:
        return
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        raise PermissionDeniedError(f"Refused a request from another site (Origin {origin!r}).")
    nonce = request.cookies.get(CSRF_COOKIE)
    submitted = request.headers.get(CSRF_HEADER)
    form = None
    if submitted is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form(max_files=request.app.state.settings.max_upload_files)
            value = form.get(CSRF_FIELD)
            submitted = value if isinstance(value, str) else None
    expected = _sign(request.app.state.settings.csrf_secret, nonce) if nonce else None
    if not submitted or expected is None or not hmac.compare_digest(submitted, expected):
        if form is not None:
            await form.close()
        raise PermissionDeniedError(
            "Missing or wrong CSRF token; reload the page and try again "
            "(API clients: GET /api/csrf and send the token in the X-CSRF-Token header with its cookie)."
        )


def _error_body(status: int, code: str, message: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return body, [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]


class GuardMiddleware:
    """ASGI middleware: body size limit (413), CSRF cookie, security headers on every response.

    Parameters
    ----------
    app : ASGI app
    max_body_bytes : int
        Largest request body; larger ones are refused before they are read (by Content-Length) or as soon
        as the stream passes the limit.
    allowed_hosts : list of str
        Host header names answered (``"*"``: any); others get 400, which stops DNS-rebinding attacks on a
        server bound to 127.0.0.1.
    path_limits : dict, optional
        Body limits of their own for some paths (imports of export archives).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        allowed_hosts: list[str],
        path_limits: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.allowed_hosts = {h.lower() for h in allowed_hosts}
        self.path_limits = dict(path_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if "*" not in self.allowed_hosts:
            host = headers.get(b"host", b"").decode("latin-1").lower()
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name not in self.allowed_hosts:
                body, hdrs = _error_body(400, "bad_host", f"Host {host!r} is not served here.")
                await send({"type": "http.response.start", "status": 400, "headers": hdrs})
                await send({"type": "http.response.body", "body": body})
                return
        limit = self.path_limits.get(scope.get("path", ""), self.max_body_bytes)
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(send, limit)
            return
        cookie_nonce = None
        for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
            name, _, value = part.strip().partition("=")
            if name == CSRF_COOKIE and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
                cookie_nonce = value
        new_cookie = cookie_nonce is None
        nonce = cookie_nonce or secrets.token_hex(32)
        scope.setdefault("state", {})["csrf_nonce"] = nonce
        if new_cookie:  # the token in the page must match the cookie the browser will send back
            raw = [(k, v) for k, v in scope["headers"] if k != b"cookie"]
            cookies = headers.get(b"cookie", b"")
            raw.append((b"cookie", (cookies + b"; " if cookies else b"") + f"{CSRF_COOKIE}={nonce}".encode()))
            scope["headers"] = raw

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise UploadTooLargeError(
                        f"The request body is larger than {limit} bytes; send smaller or fewer files.",
                        field="body",
                        value=received,
                        allowed=f"at most {limit} bytes",
                    )
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                extra = [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                if new_cookie:
                    extra.append(
                        (b"set-cookie", f"{CSRF_COOKIE}={nonce}; Path=/; HttpOnly; SameSite=Strict".encode())
                    )
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except UploadTooLargeError:
            if started:
                raise
            await self._too_large(guarded_send, limit)

    async def _too_large(self, send: Send, limit: int) -> None:
        body, headers = _error_body(
            413, "too_large", f"The request body is larger than {limit} bytes; send smaller or fewer files."
        )
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
