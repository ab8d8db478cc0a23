"""Sources: ``tocsin sources list`` (what is configured) and ``tocsin sources status`` (how each is doing)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from config.sources import SourceBase
from config.types import format_duration
from monitor.cli.common import ConfigOption, JsonOption, console, open_app, print_json, short
from storage.crawl_repo import SourceHealth, source_health

STATE_STYLES = {"ok": "green", "degraded": "yellow", "failing": "bold red", "empty": "bold red",
                "never run": "yellow", "disabled": "dim"}
sources_app = typer.Typer(help="Configured sources and their health.", no_args_is_help=True)


def _schedule(source: SourceBase, default: str) -> str:
    if source.schedule.cron:
        return f"cron {source.schedule.cron}"
    return f"every {format_duration(source.schedule.interval)}" if source.schedule.interval else default


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "never"


def source_dict(source: SourceBase, default_schedule: str) -> dict[str, Any]:
    return {"id": source.id, "kind": source.kind, "name": source.label, "url": source.url,
            "lang": source.lang, "tags": list(source.tags), "enabled": source.enabled,
            "schedule": _schedule(source, default_schedule), "proxy": bool(source.proxy), "note": source.note}


def health_state(source: SourceBase, health: SourceHealth | None) -> str:
    """disabled, never run, or the source's own state: ok, degraded, failing or empty."""
    if not source.enabled:
        return "disabled"
    if health is None or health.last_run_at is None:
        return "never run"
    return health.state


def status_dict(source: SourceBase, health: SourceHealth | None) -> dict[str, Any]:
    row: dict[str, Any] = {"id": source.id, "kind": source.kind, "enabled": source.enabled,
                           "state": health_state(source, health)}
    if health is not None:
        row.update({
            "last_run": health.last_run_at, "last_success": health.last_success_at,
            "last_error_at": health.last_error_at, "last_error": health.last_error,
            "consecutive_failures": health.consecutive_failures,
            "consecutive_empty_runs": health.consecutive_empty_runs,
            "consecutive_degraded_runs": health.consecutive_degraded_runs,
            "items_last_run": health.last_item_count,
            "articles_requested": health.article_failures.get("requested", 0),
            "articles_failed": health.article_failures.get("failed", 0),
            "article_failures": dict(health.article_failures.get("reasons") or {}),
            "problem": health.description if health.state != "ok" else None,
            "operator_alerted": health.problem is not None,
        })
    return row


@sources_app.command("list")
def sources_list(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """List the configured sources (``sources.yaml``)."""
    with open_app(config, upgrade=False, read_only=True) as app:
        default = f"every {format_duration(app.config.settings.schedule.interval)}"
        rows = [source_dict(s, default) for s in app.config.sources]
    if as_json:
        print_json(rows)
        return
    table = Table()
    for name in ("id", "kind", "lang", "tags", "enabled", "schedule", "url / note"):
        # The id is what `--source` needs: never wrapped or cut; the URL and note give way (folded).
        last = name == "url / note"
        table.add_column(name, no_wrap=name in ("id", "kind", "lang", "enabled"),
                         overflow="fold" if last else "ellipsis", ratio=3 if last else None)
    for row in rows:
        detail = row["url"] if row["enabled"] or not row["note"] else f"{row['url']}\n{row['note']}"
        table.add_row(Text(row["id"]), row["kind"], Text(row["lang"] or "-"), Text(", ".join(row["tags"])),
                      "yes" if row["enabled"] else "no", Text(row["schedule"]), Text(short(detail, 120)))
    console.print(table)


@sources_app.command("status")
def sources_status(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Health of each source: last success and error, failures in a row, items found per run."""
    with open_app(config, read_only=True) as app:
        threshold = app.config.settings.crawl.unhealthy_after
        with app.database.read() as session:
            health = source_health(session, threshold)
        rows = [status_dict(s, health.get(s.id)) for s in app.config.sources]
    if as_json:
        print_json(rows)
        return
    table = Table()
    for name in ("id", "state", "last run", "last success", "items", "what is wrong"):
        table.add_column(name, no_wrap=name in ("id", "state"), ratio=3 if name == "what is wrong" else None)
    for row in rows:
        table.add_row(Text(row["id"]), Text(row["state"], style=STATE_STYLES.get(row["state"], "")),
                      _when(row.get("last_run")), _when(row.get("last_success")),
                      str(row.get("items_last_run", "")), Text(row.get("problem") or ""))
    console.print(table)
    alerted = [row["id"] for row in rows if row.get("operator_alerted")]
    if alerted:
        runs = "run" if threshold == 1 else "runs"
        console.print(Text(f"{len(alerted)} source(s) not ok for {threshold} {runs} in a row (the operator is "
                           f"alerted): {', '.join(alerted)}", style="red"))


def register(app: typer.Typer) -> None:
    app.add_typer(sources_app, name="sources")
