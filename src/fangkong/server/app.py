"""The FastAPI application: API, pages, static assets, offline docs, error translation.

Everything is served from this process (no CDN): the Swagger UI, htmx and Vega files
are vendored in ``fangkong/web/static/vendor`` (see the README there for versions and
licences), because health networks are often air-gapped.
"""

from __future__ import annotations

import html
import logging
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from fangkong import __version__, bounds, clock
from fangkong.api.alerts_routes import alerts_api
from fangkong.api.arrivals_routes import arrivals_api
from fangkong.api.care_routes import care_api
from fangkong.api.command_routes import command_api
from fangkong.api.crossing_endpoint import CrossingEndpoint
from fangkong.api.healthcode_routes import healthcode_api
from fangkong.api.logistics_routes import logistics_api
from fangkong.api.passes_routes import passes_api
from fangkong.api.quarantine_routes import quarantine_api
from fangkong.api.roads_routes import roads_api
from fangkong.api.routes import SCAN_BODY_MALFORMED, SCAN_PATH, api, health
from fangkong.api.scan_endpoint import ScanEndpoint
from fangkong.api.supply_routes import supply_api
from fangkong.api.testing_routes import testing_api
from fangkong.api.tracing_routes import tracing_api
from fangkong.audit import anchor
from fangkong.errors import BadInput, FangkongError, Problem, Unauthenticated
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.qr import load_or_create_keys
from fangkong.healthcode.scan_writer import ScanWriter
from fangkong.http import problems
from fangkong.http.context import AppContext
from fangkong.http.headers import SecurityHeaders
from fangkong.identity.sealing import Sealer, load_or_create_key
from fangkong.keys import ServerKeys, load_server_keys
from fangkong.policy.loader import load_pack
from fangkong.settings import Settings
from fangkong.store.engine import engine_for
from fangkong.web.alert_pages import alert_pages
from fangkong.web.arrivals_pages import arrivals_pages
from fangkong.web.care_pages import care_pages
from fangkong.web.command_pages import command_pages
from fangkong.web.i18n import HERE as WEB_DIR
from fangkong.web.i18n import render, translations
from fangkong.web.logistics_pages import logistics_pages
from fangkong.web.pages import page_lang, pages
from fangkong.web.pass_pages import pass_pages
from fangkong.web.place_pages import place_pages
from fangkong.web.quarantine_pages import quarantine_pages
from fangkong.web.riskarea_pages import riskarea_pages
from fangkong.web.roads_pages import roads_pages
from fangkong.web.search_pages import search_pages
from fangkong.web.supply_pages import supply_pages
from fangkong.web.testing_pages import testing_pages
from fangkong.web.tracing_pages import tracing_pages

log = logging.getLogger("fangkong.api")

STATIC_DIR = WEB_DIR / "static"
_MACHINE_PREFIXES = ("/api/", "/health", "/ready", "/openapi.json", "/static/")
# Vega compiles its expressions with Function(): 'unsafe-eval' until vega-interpreter is used
_PAGE_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
_DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'"
)

DESCRIPTION = """fangkong (防控): outbreak prevention and control.

Errors are `application/problem+json` (RFC 9457) with a stable `code`, `detail` in the
language of `Accept-Language` (zh, the default, or en) and, for invalid input, `errors`
naming each field. People authenticate with the session cookie of the login page
(state-changing calls also send `X-CSRF-Token`, from `GET /api/v1/session`); devices send
`Authorization: Bearer <token>` (`fangkong token issue`).
"""


def _wants_problem(request: Request) -> bool:
    if request.url.path.startswith(_MACHINE_PREFIXES):
        return True
    accept = request.headers.get("accept", "")
    return "json" in accept and "text/html" not in accept


def _api_lang(request: Request) -> str:
    return problems.negotiate(request.headers.get("accept-language"))


def _error_page(request: Request, status: int, problem: Problem) -> HTMLResponse:
    lang = page_lang(request)
    html = render(
        lang,
        "error.html",
        request_path=request.url.path,
        actor=None,
        csrf=None,
        status=status,
        message=problem.text(lang),
        code=problem.code,
    )
    return HTMLResponse(html, status_code=status)


def _with_way_back(swagger: HTMLResponse, lang: str) -> HTMLResponse:
    """Swagger UI's page with the app's bar on top: the page has no navigation of its own,
    so without it a reader who came from the menu has no way back (styles inline: the
    page does not load app.css, which would restyle Swagger UI)."""
    back = html.escape(translations(lang).gettext("Back to the home page"))
    bar = (
        '<nav id="docs-back" style="display:flex;align-items:center;gap:1rem;'
        'padding:.5rem 1rem;background:#1d2733;font:17px/1.5 system-ui,sans-serif">'
        '<a href="/" style="color:#fff;font-weight:700;text-decoration:none">防控 fangkong</a>'
        f'<a href="/" style="color:#fff;min-height:44px;display:inline-flex;align-items:center">'
        f"← {back}</a></nav>"
    )
    body = bytes(swagger.body).decode().replace("<body>", "<body>\n" + bar, 1)
    return HTMLResponse(
        body.replace("<html>", f'<html lang="{"zh-Hans" if lang == "zh" else "en"}">', 1)
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(FangkongError)
    async def on_error(request: Request, exc: FangkongError) -> Response:
        if _wants_problem(request):
            return problems.from_error(exc, _api_lang(request), request.url.path)
        if isinstance(exc, Unauthenticated):
            target = quote(request.url.path, safe="/")
            return RedirectResponse(f"/login?next={target}&reason={exc.code}", status_code=303)
        return _error_page(request, problems.status_of(exc), exc.problem)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        path = request.url.path
        if path == SCAN_PATH:  # a scanner's bad body keeps the scan's own code
            return problems.from_validation(
                exc, _api_lang(request), path, problem=SCAN_BODY_MALFORMED, status=400
            )
        if _wants_problem(request):
            return problems.from_validation(exc, _api_lang(request), path)
        problem = Problem("request.invalid", "请求中有字段无效", "some fields are invalid")
        return _error_page(request, 422, problem)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_problem(request):
            return problems.from_http(exc, _api_lang(request), request.url.path)
        zh, en = problems.title(exc.status_code)
        return _error_page(request, exc.status_code, Problem(f"http.{exc.status_code}", zh, en))

    @app.exception_handler(Exception)
    async def on_crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problems.internal(_api_lang(request), request.url.path)


def refuse_control_characters(request: Request) -> None:
    """Every route's first dependency: a path or query holding a control character is
    refused (400, ``value.text_control``) before any parameter reaches a service."""
    query = request.query_params.multi_items()
    if (problem := bounds.request_problem(request.url.path, query)) is not None:
        raise BadInput(problem)


def _install_headers(app: FastAPI, https: bool) -> None:
    app.add_middleware(SecurityHeaders, page_csp=_PAGE_CSP, docs_csp=_DOCS_CSP, https=https)


def _install_openapi(app: FastAPI) -> None:
    """The generated OpenAPI, with errors as the server sends them (problem+json)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problems.document_problems(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


class FangkongApp(FastAPI):
    """The FastAPI app with the scan and crossing endpoints in front of its middleware: a
    device's ``POST /api/v1/scan`` — the busiest request by far — and a checkpoint
    device's ``POST /api/v1/crossings`` skip the middleware stack and routing
    (``scan_endpoint.ScanEndpoint``, ``crossing_endpoint.CrossingEndpoint`` add the
    security headers themselves)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._front = ScanEndpoint(CrossingEndpoint(super().__call__))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self
        await self._front(scope, receive, send)


def _code_context(settings: Settings, sealer: Sealer) -> CodeContext:
    return CodeContext(
        pack=load_pack(settings.policy_pack),
        sealer=sealer,
        qr=load_or_create_keys(settings.qr_key_path),
        tz=ZoneInfo(settings.timezone),
        qr_validity_s=settings.qr_validity_seconds,
        qr_skew_s=settings.qr_clock_skew_seconds,
        offline_s=settings.scan_offline_hours * 3600,
    )


def create_app(
    settings: Settings,
    engine: Engine | None = None,
    *,
    sealer: Sealer | None = None,
    keys: ServerKeys | None = None,
    codes: CodeContext | None = None,
) -> FastAPI:
    """The app over ``engine`` (default: the configured database)."""
    sealer = sealer or Sealer(load_or_create_key(settings))
    engine = engine or engine_for(settings)
    codes = codes or _code_context(settings, sealer)
    clock.configure(settings, engine)  # the server's pages and jobs read this clock
    bounds.configure_from(settings)
    anchor.attach(engine, anchor.Anchor.from_settings(settings))  # audit checkpoints
    ctx = AppContext(
        settings=settings,
        engine=engine,
        sealer=sealer,
        keys=keys or load_server_keys(settings),
        codes=codes,
        # scans are group-committed: SQLite has one writer; on PostgreSQL a commit per scan
        # waits for the WAL's flush each time (issue 21: 0.2x SQLite's scans/s)
        scan_writer=ScanWriter(engine, codes),
    )
    app = FangkongApp(
        title="fangkong",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        dependencies=[Depends(refuse_control_characters)],
    )
    app.state.ctx = ctx
    app.include_router(health)
    app.include_router(api)
    app.include_router(healthcode_api)
    app.include_router(pages)
    app.include_router(place_pages)
    app.include_router(tracing_pages)
    app.include_router(quarantine_pages)
    app.include_router(riskarea_pages)
    app.include_router(alert_pages)
    app.include_router(alerts_api)
    app.include_router(arrivals_api)
    app.include_router(arrivals_pages)
    app.include_router(quarantine_api)
    app.include_router(testing_api)
    app.include_router(testing_pages)
    app.include_router(tracing_api)
    app.include_router(command_api)
    app.include_router(command_pages)
    app.include_router(roads_api)
    app.include_router(roads_pages)
    app.include_router(search_pages)
    app.include_router(passes_api)
    app.include_router(logistics_api)
    app.include_router(logistics_pages)
    app.include_router(pass_pages)
    app.include_router(supply_api)  # issue 20: necessities
    app.include_router(supply_pages)
    app.include_router(care_api)  # issue 20: the care register
    app.include_router(care_pages)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        swagger = get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="fangkong API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
            swagger_ui_parameters={"validatorUrl": None},
        )
        return _with_way_back(swagger, page_lang(request))

    _install_error_handlers(app)
    _install_openapi(app)
    _install_headers(app, settings.https)
    return app
