"""Operational commands: init, demo, crawl, db upgrade, config check."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from config.errors import ConfigError
from config.loader import DEFAULTS_DIR, load_config
from crawler.runner import CrawlOutcome, RecheckOutcome
from monitor.cli.common import ConfigOption, JsonOption, console, fail, open_app, print_json
from monitor.delivery.notify import redact, validate_channel_url
from monitor.service.crawl_round import run_round
from storage import migrate
from storage.crawl_repo import article_failure_counts, format_reasons
from storage.db import Database

db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)
config_app = typer.Typer(help="Validate and inspect the configuration.", no_args_is_help=True)


def init(
    directory: Annotated[Path, typer.Argument(help="where to write an editable copy of the default config")],
    force: Annotated[bool, typer.Option("--force", help="overwrite files that already exist")] = False,
) -> None:
    """Write an editable copy of the default configuration to DIRECTORY."""
    written = 0
    for path in sorted(DEFAULTS_DIR.rglob("*.yaml")):
        target = directory / path.relative_to(DEFAULTS_DIR)
        if target.exists() and not force:
            console.print(f"kept existing {target}")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        written += 1
    console.print(f"wrote {written} files to {directory}. Check them with: tocsin config check --config {directory}")


RecheckFlag = Annotated[bool, typer.Option(
    "--recheck", help="after crawling, fetch again every matched article due for an edit/deletion check "
    "(from every source); a deleted one raises an article_removed alert")]


def crawl(
    config: ConfigOption = None,
    source: Annotated[list[str] | None, typer.Option("--source", "-s", help="only this source id (repeatable)")] = None,
    recheck: RecheckFlag = False,
    as_json: JsonOption = False,
) -> None:
    """Crawl enabled sources once, match new items, and send the alerts.

    With --recheck, matched articles are then fetched again, as the service does every
    service.recheck_interval: an edit is matched again, a deletion raises an article_removed alert.
    Articles checked within the last hour wait. Exits 1 when a crawl or the re-check failed.
    """
    with open_app(config) as app:
        chosen = [app.config.source(s) for s in source] if source else [s for s in app.config.sources if s.enabled]
        if not chosen and not recheck:
            raise fail("no enabled sources to crawl (see sources.yaml)")

        def _progress(outcome: CrawlOutcome) -> None:
            if not as_json:
                console.print(progress_line(outcome), highlight=False)

        if not as_json:
            console.print(f"crawling {len(chosen)} source(s)" + (", then re-checking matched articles…"
                                                                  if recheck else "…"))
        report = run_round(app, chosen, on_crawled=_progress, recheck=recheck)
    removal_alerts = [r.alert_id for r in report.removals if r.created]
    summary: dict[str, Any] = {
        "crawls": [{"source": c.source_id, "status": c.status, "new": len(c.new_item_ids),
                    "updated": len(c.updated_item_ids), "error": c.error,
                    "article_failures": article_failure_counts(c.stats)[1]} for c in report.crawls],
        "recheck": _recheck_summary(report.recheck),
        "items_matched": report.processing.items,
        "matches": report.processing.matches,
        "alerts_new": report.processing.alerts_new,
        "alerts_updated": report.processing.alerts_updated,
        "removal_alerts": removal_alerts,
        "deliveries_sent": len(report.dispatch.sent),
        "deliveries_retrying": len(report.dispatch.retrying),
        "deliveries_dead": len(report.dispatch.dead),
    }
    if as_json:
        print_json(summary)
    else:
        if report.recheck is not None:
            console.print(_recheck_line(report.recheck), highlight=False, markup=False)
        removed = f", {len(removal_alerts)} removal alerts" if removal_alerts else ""
        console.print(f"matched {report.processing.items} items: {report.processing.matches} matches, "
                      f"{len(report.processing.alerts_new)} new alerts{removed}; sent {len(report.dispatch.sent)} "
                      f"deliveries, {len(report.dispatch.retrying)} to retry, {len(report.dispatch.dead)} failed")
    recheck_failed = report.recheck is not None and report.recheck.status != "ok"
    if recheck_failed or any(not c.ok for c in report.crawls):
        raise typer.Exit(1)


def progress_line(outcome: CrawlOutcome) -> Text:
    """``  hrana: degraded 3 new, 0 updated — 2 of 5 articles failed: HTTP 404 Not Found ×2``."""
    requested, reasons = article_failure_counts(outcome.stats)
    failed = sum(reasons.values())
    if not outcome.ok:
        mark, style, detail = outcome.status, "red", outcome.error or ""
    elif failed:
        of = f" of {requested}" if requested >= failed else ""
        mark, style, detail = "degraded", "yellow", f"{failed}{of} articles failed: {format_reasons(reasons)}"
    else:
        mark, style, detail = "ok", "green", ""
    return Text.assemble(f"  {outcome.source_id}: ", (mark, style),
                         f" {len(outcome.new_item_ids)} new, {len(outcome.updated_item_ids)} updated",
                         f" — {detail}" if detail else "")


def _recheck_summary(outcome: RecheckOutcome | None) -> dict[str, Any] | None:
    if outcome is None:
        return None
    return {"status": outcome.status, "checked": outcome.checked, "edited": outcome.updated_item_ids,
            "removed": outcome.removed_item_ids, "error": outcome.error}


def _recheck_line(outcome: RecheckOutcome) -> str:
    line = (f"  re-check: {outcome.status}, {outcome.checked} matched article(s) fetched again, "
            f"{len(outcome.updated_item_ids)} edited, {len(outcome.removed_item_ids)} removed")
    return line + (f" — {outcome.error}" if outcome.error else "")


@contextmanager
def _database(config: Path | None) -> Iterator[Database]:
    """The configured database, without upgrading it (these commands move the schema themselves)."""
    database = Database(load_config(config).database_url)
    try:
        yield database
    finally:
        database.dispose()


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None, revision: str = "head") -> None:
    """Upgrade the database schema (the service also does this on start)."""
    with _database(config) as database:
        migrate.upgrade(database, revision)
        console.print(f"database {database.safe_url} is at revision {migrate.current_revision(database)}")


@db_app.command("downgrade")
def db_downgrade(revision: str, config: ConfigOption = None) -> None:
    """Downgrade the schema to REVISION (e.g. -1). Data in dropped tables is lost."""
    with _database(config) as database:
        migrate.downgrade(database, revision)
        console.print(f"database {database.safe_url} is at revision {migrate.current_revision(database)}")


@config_app.command("check")
def config_check(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Validate every config file (and compile the rules); print a summary with secrets redacted."""
    from monitor.rules import RuleEngine

    cfg = load_config(config)
    engine = RuleEngine.load(cfg.rule_files, cfg.watchlist_files)
    for name, url in cfg.channel_urls.items():
        if problem := validate_channel_url(url):
            raise ConfigError(f"channel {name!r}: {problem}", file=cfg.directory / "settings.yaml",
                              keypath=("channels", name, "url"))
    channels = {name: {"url": redact(cfg.channel_urls[name]) if name in cfg.channel_urls else "(disabled)",
                       "min_severity": ch.min_severity, "enabled": ch.enabled}
                for name, ch in cfg.settings.channels.items()}
    enabled = sum(s.enabled for s in cfg.sources)
    if as_json:
        print_json({
            "directory": str(cfg.directory), "database": _safe_url(cfg.database_url), "data_dir": str(cfg.data_dir),
            "sources": {"total": len(cfg.sources), "enabled": enabled}, "rules": len(engine.rules),
            "rule_files": [str(p) for p in cfg.rule_files], "watchlist_files": [str(p) for p in cfg.watchlist_files],
            "channels": channels,
        })
        return
    console.print(f"[green]configuration OK[/]: {cfg.directory}")
    table = Table(show_header=False, box=None)
    table.add_row("database", _safe_url(cfg.database_url))
    table.add_row("sources", f"{enabled} enabled of {len(cfg.sources)}")
    table.add_row("rules", f"{len(engine.rules)} in {len(cfg.rule_files)} files")
    table.add_row("watchlists", f"{len(cfg.watchlist_files)} files")
    for name, ch in channels.items():
        table.add_row(f"channel {name}", f"{ch['url']} (min severity {ch['min_severity']})")
    console.print(table)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception as exc:  # noqa: BLE001 - report, do not crash the check
        raise ConfigError(f"invalid database URL: {exc}") from None


def register(app: typer.Typer) -> None:
    from monitor.cli.demo import demo

    app.command()(init)
    app.command()(demo)
    app.command()(crawl)
    app.add_typer(db_app, name="db")
    app.add_typer(config_app, name="config")
