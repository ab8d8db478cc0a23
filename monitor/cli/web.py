"""The analyst console from a shell: ``tocsin web`` serves it, ``tocsin users add|list|disable|passwd|token``
manages who may use it (the same functions as the console's users page)."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from config.errors import UserError
from monitor.cli.common import ConfigOption, JsonOption, cli_actor, console, err_console, fail, open_app, print_json
from monitor.console import users as accounts
from monitor.console.host import web_settings
from monitor.service.web import ConsoleServer
from storage import console_repo as repo
from storage.console_models import ROLES

users_app = typer.Typer(help="Who may use the analyst console and its API.", no_args_is_help=True)
NameArgument = Annotated[str, typer.Argument(help="the user's name", show_default=False)]


def read_password(prompt: str = "Password") -> str:
    """From stdin when it is not a terminal (one line), else asked twice without echo."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"{prompt}: ")
    if getpass.getpass(f"{prompt} again: ") != first:
        raise fail("the two passwords differ")
    return first


def web(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="address to listen on (default web.host, 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default web.port, 8080; 0 = any free port)")] = None,
) -> None:
    """Serve the analyst console (and its API under /api/v1) until interrupted."""
    with open_app(config) as app:
        settings = web_settings(app.config)
        overrides = {key: value for key, value in (("host", host), ("port", port)) if value is not None}
        settings = settings.model_copy(update=overrides)
        server = ConsoleServer(app, in_service=False, settings=settings)
        with app.database.read() as session:
            nobody = repo.count_users(session) == 0
        console.print(f"Tocsin console on {server.address} (Ctrl-C stops it)", highlight=False)
        if nobody:
            console.print("No user yet: add one with `tocsin users add NAME --role admin`.", highlight=False)
        server.serve()


@users_app.command("add")
def users_add(
    name: NameArgument,
    role: Annotated[str, typer.Option(help=f"one of {', '.join(ROLES)}")] = "viewer",
    api_only: Annotated[bool, typer.Option("--api-only", help="no password: the user only has API tokens")] = False,
    config: ConfigOption = None,
) -> None:
    """Add a user. The password is read from stdin when it is not a terminal, else asked for."""
    password = None if api_only else read_password()
    with open_app(config) as app:
        try:
            with app.database.write() as session:
                accounts.add_user(session, name, role=role, password=password, actor=cli_actor())
        except UserError as exc:
            raise fail(str(exc)) from None
    console.print(Text(f"added {name} ({role})"))


@users_app.command("list")
def users_list(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """List the users, their roles and last logins."""
    with open_app(config) as app, app.database.read() as session:
        rows: list[dict[str, Any]] = [
                {"name": u.name, "role": u.role, "disabled": u.disabled_at is not None, "created_at": u.created_at,
                 "last_login_at": u.last_login_at,
                 "api_tokens": len(repo.live_tokens(session, u.id, scope="api"))} for u in repo.all_users(session)]
    if as_json:
        print_json(rows)
        return
    table = Table("name", "role", "state", "last login", "API tokens")
    for row in rows:
        login = f"{row['last_login_at']:%Y-%m-%d %H:%M}" if row["last_login_at"] else "never"
        table.add_row(Text(row["name"]), row["role"], "disabled" if row["disabled"] else "active", login,
                      str(row["api_tokens"]))
    console.print(table)


@users_app.command("disable")
def users_disable(
    name: NameArgument,
    enable: Annotated[bool, typer.Option("--enable", help="enable the user again")] = False,
    config: ConfigOption = None,
) -> None:
    """Disable a user: their sessions end and their tokens stop working (``--enable`` undoes it)."""
    with open_app(config) as app:
        try:
            with app.database.write() as session:
                accounts.set_disabled(session, name, disabled=not enable, actor=cli_actor())
        except UserError as exc:
            raise fail(str(exc)) from None
    console.print(Text(f"{name} {'enabled' if enable else 'disabled'}"))


@users_app.command("passwd")
def users_passwd(name: NameArgument, config: ConfigOption = None) -> None:
    """Set a user's password (from stdin when it is not a terminal); their open sessions end."""
    password = read_password("New password")
    with open_app(config) as app:
        try:
            with app.database.write() as session:
                accounts.set_password(session, name, password=password, actor=cli_actor())
        except UserError as exc:
            raise fail(str(exc)) from None
    console.print(Text(f"password of {name} changed"))


@users_app.command("token")
def users_token(
    name: NameArgument,
    replace: Annotated[bool, typer.Option("--replace", help="revoke the user's other API tokens")] = False,
    config: ConfigOption = None,
) -> None:
    """Make an API token (printed once, on stdout; only its hash is kept): Authorization: Bearer TOKEN."""
    with open_app(config) as app:
        try:
            with app.database.write() as session:
                token = accounts.new_api_token(session, name, actor=cli_actor(), replace=replace)
        except UserError as exc:
            raise fail(str(exc)) from None
    sys.stdout.write(token + "\n")
    err_console.print(f"API token for {name}: shown once; keep it secret.", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.command("web")(web)
    app.add_typer(users_app, name="users")
