"""The ``tocsin`` command. Thin: each subcommand parses options and calls one function elsewhere."""

from __future__ import annotations

import logging
import sys

import typer

from monitor import cli_data, cli_ops
from monitor.cli_common import err_console
from monitor.errors import USER_ERRORS

app = typer.Typer(
    name="tocsin",
    help="Tocsin: early warning for human-rights emergencies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
cli_ops.register(app)
cli_data.register(app)


def _mount_optional() -> None:
    """Areas that live in their own modules mount themselves here (rules, alerts, service, ...)."""
    import importlib

    for name in ("monitor.cli_rules", "monitor.cli_alerts", "monitor.cli_service", "monitor.cli_sources",
                 "monitor.cli_evidence", "monitor.cli_cases"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(app)


_mount_optional()


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
