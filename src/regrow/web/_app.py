"""The application factory: ``create_app(settings)`` builds one FastAPI app on one journal."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from regrow import __version__
from regrow import journal as jr
from regrow._interface import interface
from regrow.errors import DuplicateError, RegrowError

from ._edit_service import confirm_key, duplicate_label, duplicate_message
from ._records import number_attrs, text_maxlength
from ._security import GuardMiddleware, csrf_token
from ._service import JournalService
from ._settings import Settings
from ._uploads import MeasureQueue
from ._wording import VERDICT_LABELS, first_sentence, plain_text, rule_title, verdict_sentence

__all__ = ["InterfaceMiddleware", "create_app", "error_body", "error_response"]

_HERE = Path(__file__).resolve().parent
_LOG = logging.getLogger("regrow.web")

_HTTP_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "blocked",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
}


def _wants_html(request: Request) -> bool:
    if request.url.path.startswith("/api") or request.url.path == "/openapi.json":
        return False
    return "text/html" in request.headers.get("accept", "")


def _is_api(path: str) -> bool:
    return path == "/api/" or path.startswith("/api/") or path == "/openapi.json"


def error_body(request: Request, exc: RegrowError) -> dict[str, Any]:
    """``exc.to_dict()``; a duplicate says how to confirm it here (JSON key, or the form's tick box)."""
    body = exc.to_dict()
    if isinstance(exc, DuplicateError):
        api = _is_api(request.url.path)
        body["error"]["message"] = duplicate_message(exc, api=api)
        body["error"]["allowed"] = f'"{confirm_key(exc)}": true' if api else duplicate_label(exc)
    return body


class InterfaceMiddleware:
    """Attribute every change a request makes to ``api`` (paths under ``/api``) or ``web`` (form posts).

    The journal's history records the interface of each change (:func:`regrow._interface.interface`); the
    context variable set here reaches the worker threads that run the routes.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with interface("api" if _is_api(scope.get("path", "")) else "web"):
            await self.app(scope, receive, send)


def error_response(request: Request, status: int, body: dict[str, Any]) -> Response:
    """The one error shape ``{"error": {"code", "message", ...}}``: JSON for the API, a page for browsers."""
    if _wants_html(request):
        templates: Jinja2Templates = request.app.state.templates
        return templates.TemplateResponse(
            request,
            "error.html",
            {"error": body["error"], "status": status, "page": "", "csrf_token": csrf_token(request)},
            status_code=status,
        )
    return JSONResponse(body, status_code=status)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the web app on the journal named by ``settings.database_url``.

    Parameters
    ----------
    settings : Settings, optional
        Defaults: ``$REGROW_DATABASE_URL`` or the SQLite journal in the user data folder, bound to 127.0.0.1.

    Returns
    -------
    fastapi.FastAPI
        Pages at ``/``, the JSON API under ``/api`` (OpenAPI at ``/openapi.json``, an index at ``/api``).

    Raises
    ------
    InputError
        A bad database URL or setting.
    StorageError
        The journal could not be opened or migrated.
    """
    settings = settings or Settings()
    url = settings.database_url or jr.default_database_url()
    engine = jr.open_journal(url)
    try:
        if settings.clinic:
            settings = _clinic_settings(settings, engine)
        service = JournalService(
            engine,
            photos_dir=jr.default_photos_dir(url, settings.photos_dir),
            rules_file=settings.rules_file,
            evidence_file=settings.evidence_file,
            max_image_pixels=settings.max_image_pixels,
            clinic=settings.clinic,
        )
    except BaseException:
        engine.dispose()  # no clinic yet, a bad rules file: nothing may keep the database open
        raise
    app = FastAPI(
        title="regrow",
        version=__version__,
        description=(
            "The local regrow journal: today, plan, log, devices, photos, progress and evidence. Every error "
            'has the shape {"error": {"code", "message", "field"?, "allowed"?}}. Unsafe requests need the '
            "CSRF token from GET /api/csrf in the X-CSRF-Token header (with its cookie)."
        ),
        docs_url=None,  # Swagger UI and ReDoc load from a CDN: no external requests, so a local index at /api
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.service = service
    app.state.engine = engine
    app.state.flash = {}
    app.state.measure_queue = MeasureQueue()
    templates = Jinja2Templates(directory=str(_HERE / "templates"))
    templates.env.globals["version"] = __version__
    templates.env.globals["number_attrs"] = number_attrs
    templates.env.globals["text_maxlength"] = text_maxlength
    templates.env.filters["plain"] = plain_text
    templates.env.filters["first_sentence"] = first_sentence
    templates.env.globals["rule_title"] = lambda rule_id: rule_title(service.rules, rule_id)
    templates.env.globals["verdict_sentence"] = verdict_sentence
    templates.env.globals["verdict_labels"] = VERDICT_LABELS
    templates.env.tests["string_startswith"] = lambda value, prefix: str(value).startswith(prefix)
    app.state.templates = templates

    @app.exception_handler(RegrowError)
    async def _regrow_error(request: Request, exc: RegrowError) -> Response:
        return error_response(request, exc.http_status, error_body(request, exc))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or "body"
        value = first.get("input")
        message = f"Invalid {field} {value!r}; {first.get('msg', 'invalid value')}."
        return error_response(
            request, 422, {"error": {"code": "invalid", "message": message, "field": field}}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else "Request refused."
        if exc.status_code == 404:
            message = f"Nothing at {request.url.path}."
        return error_response(request, exc.status_code, {"error": {"code": code, "message": message}})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        _LOG.exception("unexpected error on %s", request.url.path)
        body = {
            "error": {"code": "error", "message": "Internal error; nothing was changed. See the server log."}
        }
        return error_response(request, 500, body)

    from ._api import router as api_router
    from ._api_edit import router as api_edit_router
    from ._pages import router as page_router
    from ._pages_edit import router as page_edit_router
    from ._pages_guide import router as page_guide_router

    if settings.clinic:
        from ._clinic_pages import LoginThrottle
        from ._clinic_pages import router as clinic_router
        from ._clinic_records import router as records_router

        app.state.login_throttle = LoginThrottle()
        app.include_router(clinic_router)
        app.include_router(records_router)
    app.include_router(api_router)
    app.include_router(api_edit_router)
    app.include_router(page_router)
    app.include_router(page_edit_router)
    app.include_router(page_guide_router)
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")

    @app.get("/favicon.ico", include_in_schema=False)
    async def _favicon() -> Response:
        return Response((_HERE / "static" / "favicon.svg").read_bytes(), media_type="image/svg+xml")

    if settings.clinic:
        from ._clinic import ClinicMiddleware, flat_routes

        # inside the guard: its host check, body limits, CSRF cookie and security headers apply first
        app.add_middleware(ClinicMiddleware, engine=engine, routes=flat_routes(app.routes))
    app.add_middleware(
        GuardMiddleware,
        max_body_bytes=settings.max_upload_bytes,
        allowed_hosts=settings.hosts(),
        # An export archive carries every photo: imports get their own, larger limit.
        path_limits={
            "/api/import": settings.max_import_bytes,
            "/data/import": settings.max_import_bytes,
            "/clinic/import": settings.max_import_bytes,  # a FHIR bundle carries its photos
        },
    )
    app.add_middleware(InterfaceMiddleware)
    return app


def page_context(request: Request, page: str, **values: Any) -> dict[str, Any]:
    """The context every page template gets: the CSRF token, the active nav item, the date limits of the
    plausibility rules (``min``/``max`` of date inputs), in clinic mode the signed-in account and the open
    patient, and the values."""
    limits = request.app.state.service.date_limits()
    state = request.scope.get("state") or {}
    patient = state.get("patient")
    measuring = (
        request.app.state.measure_queue.pending() if patient or not request.app.state.settings.clinic else 0
    )
    return {
        "page": page,
        "csrf_token": csrf_token(request),
        "limits": limits,
        "measuring": measuring,
        "clinic": request.app.state.settings.clinic,
        "actor": state.get("actor"),
        "patient": patient,
        **values,
    }


def _clinic_settings(settings: Settings, engine: Any) -> Settings:
    """Clinic mode needs a clinic (``regrow clinic init``); CSRF tokens are signed with its stored secret, so
    forms stay valid across restarts."""
    import dataclasses

    from regrow import clinic as cl
    from regrow.errors import NotFoundError

    with jr.session_scope(engine) as session:
        clinics = cl.list_clinics(session)
        if not clinics:
            raise NotFoundError(
                f"{engine.url.render_as_string(hide_password=True)} has no clinic yet; create one with "
                "`regrow clinic init --db URL --clinic-name NAME --admin-email EMAIL`."
            )
        secret = clinics[0].secret
    return dataclasses.replace(settings, csrf_secret=secret)


def render(request: Request, template: str, page: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    """Render a page template with :func:`page_context`."""
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request, template, page_context(request, page, **values), status_code=status_code
    )
