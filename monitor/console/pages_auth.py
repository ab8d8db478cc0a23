"""Logging in and out, and ``/healthz`` (the one page anyone may see)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from monitor.console.deps import checked_form, render, state
from monitor.console.host import web_settings
from monitor.console.security import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Viewer,
    end_session,
    new_secret,
    same,
    start_session,
)
from monitor.console.users import authenticate
from storage import console_repo as repo

router = APIRouter()


def _secure(request: Request) -> bool:
    configured = web_settings(state(request).host.config).secure_cookies
    return configured if configured is not None else request.url.scheme == "https"


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never ``//host`` or a scheme) may follow the login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/alerts"
    return target


def _login_page(request: Request, *, error: str = "", status: int = 200, name: str = "") -> HTMLResponse:
    token = new_secret()
    with state(request).read() as session:
        no_users = repo.count_users(session) == 0
    response = render(request, "login.html", None, status=status, error=error, login_csrf=token, name=name,
                      next=_safe_next(request.query_params.get("next")), no_users=no_users)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request),
                        path="/login", max_age=3600)
    return response


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(request: Request) -> HTMLResponse:
    return _login_page(request)


@router.post("/login", include_in_schema=False)
def login(request: Request, name: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
          csrf_token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/alerts") -> Response:
    current = state(request)
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not same(cookie, csrf_token):
        return _login_page(request, error="The login form was out of date; try again.", status=403, name=name)
    keys = (f"name:{name.strip().lower()}", f"address:{request.client.host if request.client else '?'}")
    wait = current.throttle.wait_seconds(*keys)
    if wait:
        return _login_page(request, status=429, name=name,
                           error=f"Too many failed logins. Try again in {max(1, round(wait / 60))} minute(s).")
    settings = web_settings(current.host.config)
    with current.write() as session:
        user = authenticate(session, name.strip(), password)
        if user is None:
            current.throttle.failed(*keys)
            return _login_page(request, error="Wrong name or password (or the user is disabled).", status=401,
                               name=name)
        cookie_value, _ = start_session(session, user, lifetime=settings.session_lifetime)
        repo.add_audit(session, actor=user.name, action="user.login", target=user.name)
    current.throttle.succeeded(keys[0])
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, cookie_value, httponly=True, samesite="strict", secure=_secure(request),
                        max_age=int(settings.session_lifetime.total_seconds()), path="/")
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request, _viewer: Annotated[Viewer, Depends(checked_form("viewer"))]) -> Response:
    with state(request).write() as session:
        end_session(session, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/healthz", response_class=PlainTextResponse, include_in_schema=False)
def healthz() -> str:
    return "ok\n"
