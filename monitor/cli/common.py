"""Options and helpers shared by every CLI module: --config, --json, one-line errors."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from monitor.service.app import App

console = Console()
err_console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", envvar="TOCSIN_CONFIG", help="configuration directory (see `tocsin init`)",
                 show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable JSON output")]


def fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def open_app(config: Path | None, *, upgrade: bool = True, read_only: bool = False) -> Iterator[App]:
    """The app for one command. ``read_only`` (commands that only read the database): while a config file
    is broken, run on the last good configuration and say so on stderr."""
    app = App.open(config, upgrade=upgrade, read_only=read_only)
    if app.config.fallback:
        err_console.print(Text.assemble(("warning: ", "bold yellow"), app.config.fallback), highlight=False,
                          soft_wrap=True)
    try:
        yield app
    finally:
        app.close()


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=_default) + "\n")


def short(text: str | None, width: int = 80) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def cli_actor() -> str:
    """Who the audit log names for a change made from a shell."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
