"""What every page needs: the console's state, the logged-in viewer, role and CSRF checks, rendering."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader
from sqlalchemy.orm import Session

from monitor.console.host import ConsoleHost, ConsoleServices, web_settings
from monitor.console.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    LoginThrottle,
    Viewer,
    same,
    session_viewer,
)
from monitor.rules.normalize import is_persian_script

TEMPLATES = FilePath(__file__).resolve().parent / "templates"
RTL_LANGS = frozenset({"fa", "ar", "ur", "ku", "ckb", "he"})


# A row id in a path: a number a database column can hold (else 422, not a driver error).
RowId = Annotated[int, Path(ge=0, le=2**62)]


class LoginRequired(Exception):  # noqa: N818 - a signal to redirect, not an error
    """No (valid) session: the page redirects to the login form."""


@dataclass
class ConsoleState:
    host: ConsoleHost
    services: ConsoleServices
    templates: Environment
    throttle: LoginThrottle

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.host.database.read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self.host.database.write() as session:
            yield session


def when(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        moment = value
    return moment.strftime(fmt) + (" UTC" if "%H" in fmt else "")


def text_dir(lang: str | None, text: str | None = None) -> str:
    """``rtl`` for Persian (by language, or by script when the language is unknown), else ``ltr``."""
    if lang:
        return "rtl" if lang.split("-")[0].lower() in RTL_LANGS else "ltr"
    return "rtl" if text and is_persian_script(text[:200]) else "ltr"


def template_environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = when
    env.filters["day"] = lambda value: when(value, "%Y-%m-%d")
    env.globals["text_dir"] = text_dir
    env.globals["qs"] = query_string
    return env


def query_string(values: dict[str, Any], **changes: Any) -> str:
    """``values`` with ``changes`` (None drops a key) as a URL query string."""
    merged = {**values, **changes}
    return urlencode({key: value for key, value in merged.items() if value not in (None, "")})


def state(request: Request) -> ConsoleState:
    found: ConsoleState = request.app.state.console
    return found


def viewer(request: Request) -> Viewer:
    """The logged-in person, or a redirect to the login page."""
    with state(request).read() as session:
        found = session_viewer(session, request.cookies.get(SESSION_COOKIE))
    if found is None:
        raise LoginRequired
    return found


def needs(role: str) -> Callable[[Viewer], Viewer]:
    """A dependency: the viewer, who must have at least ``role`` (403 otherwise)."""

    def check(found: Annotated[Viewer, Depends(viewer)]) -> Viewer:
        if not found.may(role):
            raise HTTPException(403, f"this needs the {role} role; you are {found.role}")
        return found

    return check


def checked_form(role: str) -> Callable[[Request, Viewer], Awaitable[Viewer]]:
    """A dependency for every form post: the role, and the CSRF token (form field or HTMX header)."""

    async def check(request: Request, found: Viewer = Depends(needs(role))) -> Viewer:  # noqa: B008 (a closure)
        sent = request.headers.get(CSRF_HEADER) or str((await request.form()).get(CSRF_FIELD) or "")
        if not sent or not same(sent, found.csrf):
            raise HTTPException(403, "the form is out of date (CSRF token missing or wrong): reload the page")
        return found

    return check


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(request: Request, template: str, found: Viewer | None, *, status: int = 200, **context: Any
           ) -> HTMLResponse:
    current = state(request)
    page = current.templates.get_template(template).render(
        request=request, viewer=found, csrf=found.csrf if found else "", path=request.url.path,
        refresh=int(web_settings(current.host.config).refresh.total_seconds()), **context)
    return HTMLResponse(page, status_code=status)


def back(request: Request, fallback: str) -> Response:
    """After a plain (non-HTMX) form post: back to where the form was, on this site only."""
    target = request.headers.get("referer") or ""
    origin = str(request.base_url)
    return RedirectResponse(target if target.startswith(origin) else fallback, status_code=303)


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
