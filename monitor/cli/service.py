"""The service commands: ``tocsin run`` (the long-running service) and ``tocsin status``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config.loader import TocsinConfig
from monitor.cli.common import ConfigOption, JsonOption, console, open_app, print_json, short
from monitor.service import instance_lock, scheduling
from monitor.service.daemon import run_service
from monitor.service.health import read_state
from storage.db import Database
from storage.models import Alert, Delivery, Item, Source, utcnow

STALE_HEARTBEATS = 3


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


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


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


def service_summary(database: Database, config: TocsinConfig) -> dict[str, Any]:
    """Is an instance active (does it hold the lock), and what did it last publish."""
    lock = instance_lock.lock_for(config.database_url)
    free = lock.try_acquire()
    lock.release()
    state = read_state(database)
    instance = state["instance"].value if "instance" in state else {}
    heartbeat = state["instance"].updated_at if "instance" in state else None
    stale = (
        heartbeat is None
        or utcnow() - heartbeat > STALE_HEARTBEATS * config.settings.service.heartbeat_interval
    )
    return {
        "running": not free,
        "pid": instance.get("pid"),
        "host": instance.get("host"),
        "started_at": instance.get("started_at"),
        "heartbeat_at": _iso(heartbeat),
        "heartbeat_stale": bool(stale and not free),
        "health": instance.get("health") if not free else None,
        "config_error": instance.get("config_error") if not free else None,
        "crawls_running": instance.get("crawls_running", []) if not free else [],
        "next_runs": state["schedule"].value if "schedule" in state and not free else {},
    }


def _next_run(
    source_id: str, service: dict[str, Any], config: TocsinConfig, last_starts: dict[str, datetime]
) -> str | None:
    scheduled = service["next_runs"].get(scheduling.crawl_job_id(source_id))
    if scheduled or service["running"]:
        return str(scheduled) if scheduled else None
    source = config.source(source_id)
    if not source.enabled:
        return None
    last = last_starts.get(source_id)
    if last is None or source.schedule.cron:
        return None
    return _iso(last + scheduling.source_interval(source, config.settings.schedule))


def source_rows(
    session: Session, database: Database, config: TocsinConfig, service: dict[str, Any]
) -> list[dict[str, Any]]:
    states = {row.id: row for row in session.scalars(select(Source))}
    query = select(Item.source_id, func.count()).group_by(Item.source_id)
    counts = {source_id: int(n) for source_id, n in session.execute(query)}
    last_starts = scheduling.last_crawl_starts(database)
    rows = []
    for source in config.sources:
        state = states.get(source.id)
        rows.append(
            {
                "id": source.id,
                "enabled": source.enabled,
                "last_run": _iso(state.last_run_at) if state else None,
                "last_success": _iso(state.last_success_at) if state else None,
                "last_error_at": _iso(state.last_error_at) if state else None,
                "last_error": state.last_error if state and state.consecutive_failures else None,
                "consecutive_failures": state.consecutive_failures if state else 0,
                "items": int(counts.get(source.id, 0)),
                "items_last_run": state.last_item_count if state else 0,
                "next_run": _next_run(source.id, service, config, last_starts),
            }
        )
    return rows


def outbox_summary(session: Session) -> dict[str, Any]:
    query = select(Delivery.status, func.count()).group_by(Delivery.status)
    by_status = {status: int(n) for status, n in session.execute(query)}
    oldest = session.scalar(
        select(func.min(Delivery.created_at)).where(Delivery.status.in_(["pending", "sending"]))
    )
    return {"by_status": {k: int(v) for k, v in by_status.items()}, "oldest_waiting": _iso(oldest)}


def recent_alerts(session: Session, limit: int = 10) -> list[dict[str, Any]]:
    alerts = session.scalars(select(Alert).order_by(Alert.id.desc()).limit(limit))
    return [
        {
            "id": alert.id,
            "severity": alert.severity,
            "event": alert.event_type,
            "title": alert.title,
            "state": alert.state,
            "first_seen": _iso(alert.first_seen_at),
            "deliveries": {d.channel: d.status for d in alert.deliveries},
        }
        for alert in alerts
    ]


def status(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Show whether the service runs, each source's health and next run, the alert queue, recent alerts."""
    with open_app(config, upgrade=False) as app, app.database.read() as session:
        service = service_summary(app.database, app.config)
        report = {
            "service": service,
            "sources": source_rows(session, app.database, app.config, service),
            "outbox": outbox_summary(session),
            "recent_alerts": recent_alerts(session),
        }
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
    table = Table(
        "source", "last success", "last error", "items", "last run", "next run", title="Sources"
    )
    for row in report["sources"]:
        error = (
            f"{_ago(row['last_error_at'])}: {short(row['last_error'], 40)}"
            if row["last_error"]
            else ""
        )
        next_run = "disabled" if not row["enabled"] else _when_next(row["next_run"])
        table.add_row(
            row["id"],
            _ago(row["last_success"]),
            error,
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
