"""The ``tocsin`` command. Thin: each subcommand parses options and calls one function elsewhere."""

from __future__ import annotations

import logging
import sys

import typer

from monitor import (
    cli_alerts,
    cli_cases,
    cli_corpus,
    cli_data,
    cli_evidence,
    cli_ops,
    cli_rules,
    cli_service,
    cli_sources,
)
from monitor.cli_common import err_console
from monitor.errors import USER_ERRORS

app = typer.Typer(
    name="tocsin",
    help="Tocsin: early warning for human-rights emergencies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# Each area registers its own commands; the order is the order of `tocsin --help`.
for area in (cli_ops, cli_service, cli_sources, cli_data, cli_rules, cli_corpus, cli_alerts, cli_evidence, cli_cases):
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


if __name__ == "__main__":
    main()
