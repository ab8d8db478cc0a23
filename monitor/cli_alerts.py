"""Alerts: ``tocsin alerts list|show``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from monitor.cli_common import ConfigOption, JsonOption, console, fail, open_app, print_json, short
from storage.models import Alert
from storage.repository import list_alerts

alerts_app = typer.Typer(help="Alerts and their deliveries.", no_args_is_help=True)


def alert_dict(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id, "event": alert.event_type, "severity": alert.severity, "subject": alert.subject,
        "title": alert.title, "state": alert.state, "first_seen": alert.first_seen_at,
        "last_seen": alert.last_seen_at, "sources": len({m.item_id for m in alert.matches}),
        "deliveries": [{"channel": d.channel, "kind": d.kind, "status": d.status, "attempts": d.attempts,
                        "last_error": d.last_error, "delivered_at": d.delivered_at} for d in alert.deliveries],
    }


@alerts_app.command("list")
def alerts_list(
    config: ConfigOption = None,
    state: Annotated[str | None, typer.Option(help="new, updated, acknowledged or dismissed")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="only alerts with a dead delivery")] = False,
    limit: int = 50,
    as_json: JsonOption = False,
) -> None:
    """List alerts, newest first."""
    with open_app(config) as app, app.database.read() as session:
        alerts = list_alerts(session, state=state, failed=failed, limit=limit)
        if as_json:
            print_json([alert_dict(a) for a in alerts])
            return
        table = Table("id", "severity", "event", "subject", "sources", "state", "title")
        for a in alerts:
            table.add_row(str(a.id), a.severity, a.event_type, a.subject or "",
                          str(len({m.item_id for m in a.matches})), a.state, short(a.title, 60))
        console.print(table)


@alerts_app.command("show")
def alerts_show(alert_id: int, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Show one alert with its sources and deliveries."""
    with open_app(config) as app, app.database.read() as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise fail(f"no alert {alert_id}")
        data = alert_dict(alert)
        data["items"] = [{"item": m.item_id, "rule": m.rule_id, "url": m.item.url, "title": m.item.title}
                         for m in alert.matches]
        if as_json:
            print_json(data)
            return
        console.print(f"[bold]#{alert.id} [{alert.severity.upper()}] {alert.title}[/]", highlight=False)
        for row in data["items"]:
            console.print(f"  • {row['title']} — {row['url']} (rule {row['rule']})", highlight=False)
        for d in data["deliveries"]:
            console.print(f"  → {d['channel']}: {d['status']} after {d['attempts']} attempt(s)"
                          + (f" — {d['last_error']}" if d["last_error"] else ""), highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
