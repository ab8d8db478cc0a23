"""``tocsin demo``: crawl the bundled offline site with the real spiders, match, store, alert, summarise."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.panel import Panel
from rich.text import Text

from config.loader import DEFAULTS_DIR
from crawler.runner import CrawlOutcome
from monitor.cli.common import console
from monitor.demo import DEMO_SITE
from monitor.demo.server import SiteServer
from monitor.messages.text import first_excerpt
from monitor.service.app import App
from monitor.service.crawl_round import run_round
from storage.alerts_repo import count_alerts
from storage.models import Alert

DEMO_PORT = 8765
SEVERITY_STYLE = {"critical": "bold white on red", "warning": "bold black on yellow", "info": "bold white on blue"}


def demo_sources(base_url: str) -> list[dict[str, Any]]:
    """The demo site's sources, as a user would write them in sources.yaml."""
    return [
        {"id": "demo-rights-feed", "kind": "feed", "name": "Iran Rights Monitor (demo)",
         "url": f"{base_url}/feed.xml", "tags": ["human_rights"], "lang": "en"},
        {"id": "demo-state-fa", "kind": "listing", "name": "State news agency, Persian (demo)",
         "url": f"{base_url}/state/fa/index.html", "link_selector": "a.news-link",
         "tags": ["state_media"], "lang": "fa"},
        {"id": "demo-state-en", "kind": "listing", "name": "State news agency, English (demo)",
         "url": f"{base_url}/state/en/index.html", "link_selector": "a.news-link",
         "tags": ["state_media"], "lang": "en"},
        {"id": "demo-telegram", "kind": "telegram", "name": "Rights channel on Telegram (demo)",
         "url": f"{base_url}/t/s/irhrs_demo", "tags": ["human_rights", "telegram"], "max_pages": 3},
    ]


def write_demo_config(config_dir: Path, base_url: str) -> None:
    """A complete config directory: demo sources and channel, the default rules and watchlists."""
    config_dir.mkdir(parents=True, exist_ok=True)
    host_port = base_url.removeprefix("http://")
    settings = {
        "data_dir": "..",
        "crawl": {"obey_robots": True, "autothrottle": False, "concurrent_per_domain": 8},
        "channels": {"demo": {"url": f"json://{host_port}/inbox", "min_severity": "info"}},
    }
    (config_dir / "settings.yaml").write_text(
        "# Written by `tocsin demo` on every run; edit a copy made with `tocsin init`, not this one.\n"
        + yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    (config_dir / "sources.yaml").write_text(
        yaml.safe_dump({"sources": demo_sources(base_url)}, sort_keys=False, allow_unicode=True), encoding="utf-8")
    for name in ("rules", "watchlists"):
        target = config_dir / name
        if target.exists():
            shutil.rmtree(target)
        if (DEFAULTS_DIR / name).is_dir():
            shutil.copytree(DEFAULTS_DIR / name, target)
    for extra in DEFAULTS_DIR.glob("*.yaml"):
        if extra.name not in {"settings.yaml", "sources.yaml"}:
            shutil.copyfile(extra, config_dir / extra.name)


def _evidence(alert: Alert, width: int = 90) -> list[Text]:
    """One highlighted snippet per source item: the text around the first matched span."""
    lines: list[Text] = []
    seen: set[int] = set()
    for match in alert.matches:
        if match.item_id in seen:
            continue
        seen.add(match.item_id)
        item = match.item
        line = Text("  • ")
        line.append(f"{item.source.name if item.source else item.source_id}: ", style="bold")
        line.append(item.title or item.url)
        line.append(f"\n    {item.url}", style="dim")
        cut = first_excerpt(item.title or "", item.text or "", list(match.spans or []), context=width // 2)
        if cut is not None:  # the trigger whole, the words around it as published
            line.append(Text.assemble("\n    ", cut.before, (cut.trigger, "bold reverse"), cut.after))
        lines.append(line)
    return lines


def print_alert(alert: Alert) -> None:
    header = Text()
    header.append(f" {alert.severity.upper()} ", style=SEVERITY_STYLE.get(alert.severity, "bold"))
    header.append(f"  #{alert.id} {alert.event_type}", style="bold")
    if alert.subject:
        header.append(f" · {alert.subject}")
    body = Text(alert.title + "\n", style="bold")
    entities = alert.details.get("entities") or {}
    facts = [f"{key}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
             for key, v in entities.items() if v not in (None, [], "")]
    if facts:
        body.append("; ".join(facts) + "\n", style="cyan")
    for line in _evidence(alert):
        body.append_text(line)
        body.append("\n")
    delivered = [d for d in alert.deliveries if d.status == "sent"]
    body.append(f"delivered to: {', '.join(d.channel for d in delivered) or 'not yet'}", style="dim")
    console.print(Panel(body, title=header, title_align="left"))


def demo(
    data_dir: Annotated[Path, typer.Option("--data-dir", help="where the demo keeps its SQLite database")] = Path(
        "tocsin-demo"),
    port: Annotated[int, typer.Option(help="loopback port for the demo site (0 = any free port)")] = DEMO_PORT,
) -> None:
    """Run Tocsin end to end on the bundled offline demo site and print the alerts it raises."""
    data_dir = data_dir.resolve()
    with SiteServer(DEMO_SITE, port=port) as server:
        config_dir = data_dir / "config"
        write_demo_config(config_dir, server.base_url)
        console.print(f"demo site on {server.base_url}; data in {data_dir}")
        app = App.open(config_dir)
        try:
            def _progress(outcome: CrawlOutcome) -> None:
                status = "[green]ok[/]" if outcome.ok else f"[red]{outcome.status}: {outcome.error}[/]"
                console.print(f"  crawled {outcome.source_id}: {status}, {len(outcome.new_item_ids)} new items",
                              highlight=False)

            report = run_round(app, app.config.sources, on_crawled=_progress)
            fresh = list(dict.fromkeys(report.processing.alerts_new + report.processing.alerts_updated))
            with app.database.read() as session:
                alerts = [session.get_one(Alert, alert_id) for alert_id in fresh]
                for alert in sorted(alerts, key=lambda a: ({"critical": 0, "warning": 1}.get(a.severity, 2), a.id)):
                    print_alert(alert)
                total = count_alerts(session, kind="event")  # not history's escalations
            received = len(server.inbox)
            if fresh:
                new = report.processing.alerts_new
                updated = [a for a in report.processing.alerts_updated if a not in new]
                console.print(f"[bold]{len(new)} new alerts[/]" + (f", {len(updated)} updated" if updated else "")
                              + f"; {received} messages delivered through Apprise to the demo channel.")
            else:
                console.print(f"No new alerts: all {total} alerts from the demo site were already delivered "
                              f"(nothing was sent twice). Delete {data_dir} to start over.")
            console.print(f"Triage them in the analyst console: `tocsin users add NAME --role admin --config "
                          f"{config_dir}`, then `tocsin web --config {config_dir}` (docs/console.md).",
                          highlight=False, markup=False)
            if report.dispatch.retrying or report.dispatch.dead:
                console.print(f"[red]{len(report.dispatch.retrying) + len(report.dispatch.dead)} deliveries "
                              "failed; see `tocsin alerts list --failed`[/]")
        finally:
            app.close()
    failed = [c for c in report.crawls if not c.ok]
    if failed:
        raise typer.Exit(1)
