"""Alerts and channels: ``tocsin alerts list|show|ack|dismiss|retry|dispatch`` and ``tocsin notify test``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from config.errors import AlertError
from monitor.alerts.lifecycle import acknowledge, dismiss, escalate, retry, retry_channel
from monitor.cli.common import ConfigOption, JsonOption, cli_actor, console, fail, open_app, print_json, short
from monitor.delivery import notify
from monitor.delivery.channels import channel_for
from monitor.delivery.compose import alert_item_rows
from monitor.delivery.dispatch import dispatch_due
from monitor.messages import AlertView
from monitor.messages.text import clean_block, clean_line, format_value, format_when
from storage import alerts_repo as repo
from storage.models import Alert, Delivery, utcnow

ChannelOption = Annotated[str | None, typer.Option("--channel", help="only this channel (default: all)")]
alerts_app = typer.Typer(help="Alerts and their deliveries.", no_args_is_help=True)
notify_app = typer.Typer(help="Notification channels.", no_args_is_help=True)


def delivery_dict(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id, "channel": delivery.channel, "kind": delivery.kind, "status": delivery.status,
        "attempts": delivery.attempts, "last_error": delivery.last_error,
        "next_attempt_at": delivery.next_attempt_at, "delivered_at": delivery.delivered_at,
        "bundle": delivery.bundle_id,
    }


def alert_dict(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id, "kind": alert.kind, "event": alert.event_type, "severity": alert.severity,
        "subject": alert.subject, "title": alert.title, "state": alert.state, "revision": alert.revision,
        "first_seen": alert.first_seen_at, "last_seen": alert.last_seen_at,
        "dismiss_reason": alert.dismiss_reason,
        "deliveries": [delivery_dict(d) for d in alert.deliveries],
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
    with open_app(config, read_only=True) as app, app.database.read() as session:
        alerts = repo.list_alerts(session, state=state, failed=failed, limit=limit)
        if as_json:
            print_json([{**alert_dict(a), "sources": repo.alert_source_count(session, a.id)} for a in alerts])
            return
        table = Table()
        for name in ("id", "kind", "severity", "event", "subject", "sources", "state", "title"):
            # What a command needs (the id) and the short words never wrap; subject and title give way.
            table.add_column(name, no_wrap=name in ("id", "kind", "severity", "sources"),
                             ratio=2 if name == "title" else None)
        for a in alerts:
            state_text = a.state if a.state != "dismissed" else f"dismissed: {short(a.dismiss_reason, 30)}"
            cells = (str(a.id), a.kind, a.severity, a.event_type, short(a.subject, 30),
                     str(repo.alert_source_count(session, a.id)), state_text, short(a.title, 60))
            table.add_row(*(Text(cell) for cell in cells))  # scraped text is never rich markup
        console.print(table)


@alerts_app.command("show")
def alerts_show(alert_id: int, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Show one alert with its sources, deliveries and every delivery attempt."""
    with open_app(config, read_only=True) as app, app.database.read() as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise fail(f"no alert {alert_id}")
        data = alert_dict(alert)
        data["items"] = alert_item_rows(session, alert)
        data["sources"] = len({row["item"] for row in data["items"]})
        data["attempts"] = [{"delivery": d.id, "number": a.number, "started_at": a.started_at,
                             "outcome": a.outcome, "error": a.error, "retry_after": a.retry_after}
                            for d in alert.deliveries for a in d.attempt_log]
        if as_json:
            print_json(data)
            return
        _print_alert(alert, data["items"])


def _line(*parts: tuple[str, str] | str) -> None:
    """One line of scraped and our own text: never rich markup, never highlighted."""
    console.print(Text.assemble(*parts), highlight=False, soft_wrap=True)


def _print_alert(alert: Alert, items: list[dict[str, Any]]) -> None:
    """``tocsin alerts show``: what happened, to whom, from which sources (with the words that fired), and
    where it was sent."""
    about = f" · {alert.subject}" if alert.subject else ""
    _line((f"#{alert.id} {alert.severity.upper()} {alert.kind} {alert.event_type}{about}", "bold"),
          f" ({alert.state})")
    _line(("  " + alert.title, "bold"))
    if alert.dismiss_reason:
        _line(f"  dismissed: {alert.dismiss_reason}")
    facts = [f"first seen {format_when(alert.first_seen_at)}", f"last seen {format_when(alert.last_seen_at)}"]
    if rule := (alert.details or {}).get("rule"):
        facts.insert(0, f"rule {rule}")
    _line("  " + " · ".join(facts))
    entities = (alert.details or {}).get("entities")
    for key, value in (entities.items() if isinstance(entities, dict) else ()):
        if shown := format_value(value):
            _line(f"  {key}: {shown}")
    if alert.summary:
        for paragraph in clean_block(alert.summary).split("\n"):
            _line("  " + paragraph if paragraph else "")
    if items:
        _line(("Sources", "bold"), f" ({len({row['item'] for row in items})})")
    for row in items:
        when = format_when(row.get("published_at") or row.get("removed_at"))
        meta = ", ".join(p for p in (row.get("lang") or "", when) if p)
        _line(f"  • {row['source']}: {clean_line(row['title'])}" + (f" ({meta})" if meta else ""))
        _line(f"    {row['url']}")
        if row.get("removal_reason"):
            _line(f"    removed: {row['removal_reason']}")
        else:
            _line(f"    rule {row['rule']}" + (f", copy of item {row['copy_of']}" if row["copy_of"] else ""))
        if cut := row.get("excerpt"):
            _line("    “", cut["before"], (cut["trigger"], "bold reverse"), cut["after"], "”")
    if alert.deliveries:
        _line(("Deliveries", "bold"))
    for d in alert.deliveries:
        error = f" — {d.last_error}" if d.last_error else ""
        _line(f"  → {d.channel} ({d.kind}): {d.status} after {d.attempts} attempt(s){error}")
        for a in d.attempt_log:
            error = f": {a.error}" if a.error else ""
            _line(f"      #{a.number} {a.started_at:%Y-%m-%d %H:%M:%S} {a.outcome}{error}")


@alerts_app.command("ack")
def alerts_ack(alert_id: int, config: ConfigOption = None) -> None:
    """Acknowledge an alert: someone is on it (updates still reach channels that want them)."""
    with open_app(config) as app:
        try:
            with app.database.write() as session:
                acknowledge(session, alert_id, actor=cli_actor())
        except AlertError as exc:
            raise fail(str(exc)) from None
    console.print(f"alert {alert_id} acknowledged", highlight=False)


@alerts_app.command("dismiss")
def alerts_dismiss(
    alert_id: int,
    reason: Annotated[str, typer.Option("--reason", "-r", help="why it is a false positive (kept)")],
    config: ConfigOption = None,
) -> None:
    """Dismiss an alert as a false positive; unsent messages about it are cancelled."""
    with open_app(config) as app:
        try:
            with app.database.write() as session:
                dismiss(session, alert_id, reason=reason, actor=cli_actor())
        except AlertError as exc:
            raise fail(str(exc)) from None
    console.print(f"alert {alert_id} dismissed", highlight=False)


@alerts_app.command("escalate")
def alerts_escalate(
    alert_id: int,
    note: Annotated[str, typer.Option("--note", help="what the senior reviewer should look at")] = "",
    config: ConfigOption = None,
) -> None:
    """Escalate an alert: it needs a senior look (updates still reach channels that want them)."""
    with open_app(config) as app:
        try:
            with app.database.write() as session:
                escalate(session, alert_id, actor=cli_actor(), note=note)
        except AlertError as exc:
            raise fail(str(exc)) from None
    console.print(f"alert {alert_id} escalated", highlight=False)


@alerts_app.command("retry")
def alerts_retry(
    alert_id: Annotated[int | None, typer.Argument(help="the alert whose dead deliveries to re-queue",
                                                   show_default=False)] = None,
    channel: Annotated[str | None, typer.Option(
        "--channel", help="re-queue every dead delivery to this channel (after an outage or a fix)",
        show_default=False)] = None,
    config: ConfigOption = None,
) -> None:
    """Re-queue dead deliveries with a fresh attempt budget (after fixing the channel).

    `tocsin alerts retry ID` retries one alert's; `tocsin alerts retry --channel NAME` every one to NAME.
    """
    if (alert_id is None) == (channel is None):
        raise fail("give an alert ID (`tocsin alerts retry 42`) or a channel "
                   "(`tocsin alerts retry --channel telegram`), not both or neither")
    if channel is not None:
        _retry_channel(channel, config)
        return
    assert alert_id is not None
    with open_app(config) as app:
        try:
            with app.database.write() as session:
                channels = [d.channel for d in retry(session, alert_id)]
        except AlertError as exc:
            raise fail(str(exc)) from None
    console.print(f"alert {alert_id}: re-queued for {', '.join(channels)}; sent at the next dispatch",
                  highlight=False, markup=False)


def _retry_channel(channel: str, config: ConfigOption) -> None:
    with open_app(config) as app:
        configured = app.config.settings.channels
        if channel not in configured:
            raise fail(f"no channel named {channel!r} (configured: {', '.join(configured) or 'none'})")
        with app.database.write() as session:
            count = len(retry_channel(session, channel))
    if count:
        console.print(f"{channel}: re-queued {count} dead deliver{'y' if count == 1 else 'ies'}; "
                      "sent at the next dispatch", highlight=False, markup=False)
    else:
        console.print(f"{channel}: re-queued 0 deliveries (none is dead)", highlight=False, markup=False)


@alerts_app.command("dispatch")
def alerts_dispatch(config: ConfigOption = None, limit: int = 100, as_json: JsonOption = False) -> None:
    """Send every delivery that is due now (the service does this every schedule.dispatch_interval)."""
    with open_app(config) as app:
        report = dispatch_due(app.database, app.config, limit=limit)
    if as_json:
        print_json(report.__dict__)
        return
    console.print(f"sent {len(report.sent)}, retrying {len(report.retrying)}, dead {len(report.dead)}, "
                  f"held for digest {len(report.held)}, quiet hours {len(report.deferred)}, "
                  f"over rate limit {len(report.overflowed)}", highlight=False)


def _test_message(channel: str) -> AlertView:
    now = utcnow()
    return AlertView(
        id=0, severity="info", event_type="test", subject=None, title="Tocsin test message",
        summary=f"If you can read this, the channel {channel!r} works.", entities={}, sources=[],
        evidence_url=None, first_seen=now, last_seen=now,
    )


@notify_app.command("test")
def notify_test(
    config: ConfigOption = None,
    channel: ChannelOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send a test message to each channel and print exactly why a send failed. Exits 1 on any failure."""
    with open_app(config) as app:
        settings = app.config.settings
        if channel is not None and channel not in settings.channels:
            raise fail(f"no channel named {channel!r} (configured: {', '.join(settings.channels) or 'none'})")
        names = [channel] if channel else list(app.config.enabled_channels())
        if not names:
            raise fail("no enabled channel in settings.yaml (see docs/alerts.md)")
        results = [_test_channel(name, app.config.channel_urls.get(name)) for name in names]
    if as_json:
        print_json(results)
    else:
        for result in results:
            mark = "[green]ok[/]" if result["ok"] else "[bold red]FAILED[/]"
            console.print(f"{mark} {result['channel']} {result['url']}", highlight=False, soft_wrap=True)
            if result["error"]:
                console.print(f"    {result['error']}", highlight=False, markup=False, soft_wrap=True)
    if not all(r["ok"] for r in results):
        raise typer.Exit(1)


def _test_channel(name: str, url: str | None) -> dict[str, Any]:
    if url is None:
        return {"channel": name, "url": "", "ok": False,
                "error": "the URL uses an environment variable that is not set"}
    shown = notify.redact(url).split("?", 1)[0]  # Apprise's long list of defaults says nothing here
    problem = notify.validate_channel_url(url)
    if problem:
        return {"channel": name, "url": shown, "ok": False, "error": f"invalid channel URL: {problem}"}
    for message in channel_for(url).render(_test_message(name)):
        result = notify.send(url, title=message.title, body=message.body, body_format=message.body_format)
        if not result.ok:
            error = result.error or "send failed"
            if result.retry_after is not None:
                error += f" (the service asks to wait {result.retry_after:g}s)"
            return {"channel": name, "url": shown, "ok": False, "error": error}
    return {"channel": name, "url": shown, "ok": True, "error": None}


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
    app.add_typer(notify_app, name="notify")
