"""The console as one ASGI app: the pages, the static files, ``/api/v1`` and the feeds, behind the security
headers; a page without a login redirects to the login form."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from monitor.console import feeds, pages_admin, pages_alerts, pages_auth, pages_items, pages_watch
from monitor.console.api import api_app
from monitor.console.deps import ConsoleState, LoginRequired, login_redirect, template_environment
from monitor.console.host import ConsoleHost, ConsoleServices, web_settings
from monitor.console.security import SECURITY_HEADERS, LoginThrottle

STATIC = Path(__file__).resolve().parent / "static"


def create_app(host: ConsoleHost, services: ConsoleServices) -> FastAPI:
    """The console over ``host``'s config, database and rules."""
    settings = web_settings(host.config)
    console = ConsoleState(host, services, template_environment(),
                           LoginThrottle(settings.login_attempts, settings.login_window))
    app = FastAPI(title="Tocsin console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = console

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, _exc: LoginRequired) -> Response:
        if request.headers.get("hx-request") == "true":  # the session ended while a page was open
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        return login_redirect(request)

    @app.exception_handler(HTTPException)
    async def error_page(request: Request, exc: HTTPException) -> Response:
        page = console.templates.get_template("error.html").render(status=exc.status_code, message=str(exc.detail))
        return HTMLResponse(page, status_code=exc.status_code, headers=exc.headers)

    for module in (pages_auth, pages_alerts, pages_items, pages_watch, pages_admin, feeds):
        app.include_router(module.router)
    app.mount("/api/v1", api_app(console))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
