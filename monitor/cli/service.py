"""The service commands: ``tocsin run`` (the long-running service) and ``tocsin status``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from monitor.cli.common import ConfigOption, JsonOption, console, open_app, print_json, short
from monitor.cli.sources import STATE_STYLES
from monitor.service.run import run_service
from monitor.service.status import status_report
from storage.models import utcnow


def run(
    config: ConfigOption = None,
    once: Annotated[
        bool, typer.Option("--once", help="crawl every enabled source once, send, and exit")
    ] = False,
    standby: Annotated[
        bool,
        typer.Option(
            "--standby", help="if another instance is active, wait and take over when it stops"
        ),
    ] = False,
) -> None:
    """Run the monitor as a service: crawl on schedule, match at once, send alerts, until stopped."""
    code = run_service(config, once=once, standby=standby)
    if code:
        raise typer.Exit(code)


def _ago(value: datetime | str | None) -> str:
    if value is None:
        return "never"
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    seconds = int((utcnow() - when).total_seconds())
    if seconds < 0:
        return f"in {_span(-seconds)}"
    return f"{_span(seconds)} ago"


def _span(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def status(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Show whether the service runs, each source's health and next run, the alert queue, recent alerts."""
    with open_app(config, upgrade=False, read_only=True) as app, app.database.read() as session:
        report = status_report(app, session)
    if as_json:
        print_json(report)
        return
    _print_status(report)


def _when_next(value: str | None) -> str:
    if value is None:
        return "at start"
    if datetime.fromisoformat(value) <= utcnow():
        return "due now"
    return _ago(value)


def _print_status(report: dict[str, Any]) -> None:
    service = report["service"]
    if service["running"]:
        line = (
            f"[green]running[/] pid {service['pid']} on {service['host']} since {service['started_at']}, "
            f"heartbeat {_ago(service['heartbeat_at'])}"
        )
        if service["heartbeat_stale"]:
            line += " [yellow](stale: the service may be stuck)[/]"
        console.print(line, highlight=False)
        if service["health"]:
            console.print(
                f"health: {service['health']}/healthz  metrics: {service['health']}/metrics",
                highlight=False,
            )
    else:
        console.print(
            "[yellow]not running[/]"
            + (f" (last seen {_ago(service['heartbeat_at'])})" if service["heartbeat_at"] else ""),
            highlight=False,
        )
    if service["config_error"]:
        console.print(
            f"[red]config error (previous config still active):[/] {service['config_error']}",
            highlight=False,
            markup=True,
        )
    table = Table(title="Sources")
    for name in ("source", "state", "last success", "what is wrong", "items", "last run", "next run"):
        table.add_column(name, no_wrap=name in ("source", "state"))
    for row in report["sources"]:
        next_run = "disabled" if not row["enabled"] else _when_next(row["next_run"])
        table.add_row(
            Text(row["id"]),
            Text(row["state"], style=STATE_STYLES.get(row["state"], "")),
            _ago(row["last_success"]),
            Text(short(row["problem"], 80)),
            str(row["items"]),
            str(row["items_last_run"]),
            next_run,
        )
    console.print(table)
    outbox = report["outbox"]
    counts = (
        ", ".join(f"{n} {status}" for status, n in sorted(outbox["by_status"].items())) or "empty"
    )
    waiting = (
        f"; oldest waiting since {_ago(outbox['oldest_waiting'])}"
        if outbox["oldest_waiting"]
        else ""
    )
    console.print(f"alert queue: {counts}{waiting}", highlight=False)
    alerts = Table("id", "severity", "event", "title", "deliveries", title="Recent alerts")
    for alert in report["recent_alerts"]:
        deliveries = ", ".join(f"{ch}: {st}" for ch, st in alert["deliveries"].items())
        alerts.add_row(
            str(alert["id"]),
            alert["severity"],
            alert["event"],
            short(alert["title"], 50),
            deliveries,
        )
    console.print(alerts)


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(status)
