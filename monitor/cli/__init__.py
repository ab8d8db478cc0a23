"""The ``tocsin`` command. Thin: each subcommand parses options and calls one function elsewhere."""

from __future__ import annotations

import logging
import sys

import typer

from config.errors import USER_ERRORS
from monitor.cli import alerts, cases, corpus, evidence, items, ops, rules, service, sources, web
from monitor.cli.common import err_console

app = typer.Typer(
    name="tocsin",
    help="Tocsin: early warning for human-rights emergencies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# Each area registers its own commands; the order is the order of `tocsin --help`.
for area in (ops, service, web, sources, items, rules, corpus, alerts, evidence, cases):
    area.register(app)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        app()
    except USER_ERRORS as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
