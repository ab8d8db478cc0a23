"""Entry point of one crawl: ``python -m crawler.child --plan - --die-with-parent`` (what the runner
starts; the plan arrives on stdin) or, by hand, ``python -m crawler.child --config DIR --source ID``
(or ``--recheck`` instead of ``--source``: re-fetch matched items to catch edits and deletions).

Scrapy's reactor cannot be restarted in a process (ReactorNotRestartable, PITFALLS.md section 2), and memory
grows across crawls, so every crawl runs in a fresh child process; the service stays in the parent.
The child never reads the user's configuration files when given a plan (crawler.plan says why), and with
``--die-with-parent`` it dies with its parent (crawler.lifeline).
The last stdout line is ``TOCSIN {"event": "done", "stats": {...}}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings as ScrapySettings

from config.errors import ConfigError
from config.loader import load_config
from config.schema import CrawlSettings
from config.sources import SourceBase
from crawler import settings as default_settings
from crawler.lifeline import die_with_stdin, read_line
from crawler.pipelines import announce
from crawler.plan import CrawlPlan, RecheckTask, recheck_plan, source_plan
from crawler.recheck import RecheckSpider
from crawler.spiders import SPIDERS
from storage.crawl_repo import due_rechecks, known_item_urls
from storage.db import Database
from storage.models import utcnow
from storage.repository import sync_source

HTTPX_HANDLER = "scrapy.core.downloader.handlers._httpx.HttpxDownloadHandler"
RECHECK_MIN_INTERVAL = timedelta(hours=1)
STDIN = 0


def scrapy_settings(crawl: CrawlSettings, source: SourceBase | None, database_url: str, timeout: timedelta,
                    overrides: dict[str, Any] | None = None) -> ScrapySettings:
    """Scrapy settings for one crawl: project defaults, the user's crawl settings, the source's, overrides."""
    settings = ScrapySettings()
    settings.setmodule(default_settings, priority="project")
    obey = crawl.obey_robots if source is None or source.obey_robots is None else source.obey_robots
    settings.setdict({
        "USER_AGENT": crawl.user_agent,
        "ROBOTSTXT_OBEY": obey,
        "DOWNLOAD_TIMEOUT": crawl.download_timeout.total_seconds(),
        "DOWNLOAD_MAXSIZE": crawl.max_response_size,
        "DOWNLOAD_WARNSIZE": min(crawl.max_response_size, default_settings.DOWNLOAD_WARNSIZE),
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrent_per_domain,
        "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
        "RETRY_TIMES": crawl.retries,
        # The spider closes itself (and stores what it has) shortly before the parent's hard kill.
        "CLOSESPIDER_TIMEOUT": max(1, int(timeout.total_seconds()) - 5),
        "TOCSIN_DATABASE_URL": database_url,
        "TOCSIN_PROXY": (source.proxy if source else None) or "",
    }, priority="cmdline")
    if source is not None and source.proxy and source.proxy.startswith("socks"):
        # Scrapy's Twisted handler cannot speak SOCKS; its httpx handler can (with socksio installed).
        settings.set("DOWNLOAD_HANDLERS", {"http": HTTPX_HANDLER, "https": HTTPX_HANDLER}, priority="cmdline")
    if overrides:
        settings.setdict(overrides, priority="cmdline")
    return settings


def _stats(process_stats: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in process_stats.items() if isinstance(value, int | float | str)}


def run(plan: CrawlPlan, source: SourceBase) -> dict[str, Any]:
    spider_cls = SPIDERS.get(source.kind)
    if spider_cls is None:
        raise ConfigError(f"no spider for source kind {source.kind!r}", keypath=("sources", source.id))
    database = Database(plan.database_url)
    with database.read() as session:
        known = frozenset(known_item_urls(session, source.id))
    database.dispose()
    settings = scrapy_settings(plan.crawl, source, plan.database_url, plan.timeout, plan.scrapy)
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider_cls)
    process.crawl(crawler, source=source, known_urls=known, max_items=plan.crawl.max_items_per_run)
    process.start()
    return _stats(crawler.stats.get_stats() if crawler.stats else {})


def run_recheck(plan: CrawlPlan, task: RecheckTask) -> dict[str, Any]:
    """Re-fetch the items due for an edit/deletion check (crawler.recheck)."""
    database = Database(plan.database_url)
    with database.read() as session:
        targets = due_rechecks(session, now=utcnow(), recheck_for=plan.crawl.recheck_matched_for,
                               min_interval=RECHECK_MIN_INTERVAL, limit=task.limit)
    database.dispose()
    if not targets:
        return {"tocsin/recheck_targets": 0}
    settings = scrapy_settings(plan.crawl, None, plan.database_url, plan.timeout, plan.scrapy)
    settings.set("TOCSIN_CONDITIONAL_GET", False, priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(RecheckSpider)
    process.crawl(crawler, targets=targets, sources={s.id: s for s in task.sources})
    process.start()
    stats = _stats(crawler.stats.get_stats() if crawler.stats else {})
    stats["tocsin/recheck_targets"] = len(targets)
    return stats


def execute(plan: CrawlPlan) -> dict[str, Any]:
    if isinstance(plan.work, RecheckTask):
        return run_recheck(plan, plan.work)
    return run(plan, plan.work.source)


def plan_from_directory(args: argparse.Namespace) -> CrawlPlan:
    """By hand: build the plan the service would send, from a configuration directory."""
    config = load_config(args.config)
    database_url = args.database_url or config.database_url
    overrides = json.loads(args.settings_json) if args.settings_json else None
    if args.recheck:
        return recheck_plan(config, database_url=database_url, timeout=config.settings.schedule.crawl_timeout,
                            limit=args.limit, scrapy=overrides)
    source = config.source(args.source)
    timeout = source.schedule.timeout or config.settings.schedule.crawl_timeout
    # The runner records the source before starting a child; by hand, items need its row too.
    database = Database(database_url)
    with database.write() as session:
        sync_source(session, source_id=source.id, kind=source.kind, name=source.label, url=source.url,
                    tags=list(source.tags))
    database.dispose()
    return source_plan(config, source, database_url=database_url, timeout=timeout, scrapy=overrides)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m crawler.child", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plan", help="the crawl plan (JSON, crawler.plan.CrawlPlan) from this file, "
                                       "or '-': one line on stdin")
    parser.add_argument("--die-with-parent", action="store_true",
                        help="with --plan -: stdin stays open while the parent lives; at EOF this crawl "
                             "and its workers are killed")
    parser.add_argument("--origin", default="",
                        help="the configuration directory the plan came from (shown in ps; never read)")
    parser.add_argument("--config", help="by hand: read the configuration from this directory")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--source")
    target.add_argument("--recheck", action="store_true")
    parser.add_argument("--database-url", default="", help="by hand: overrides the configuration's")
    parser.add_argument("--settings-json", default="", help="by hand: extra Scrapy settings as a JSON object")
    parser.add_argument("--limit", type=int, default=200, help="items re-checked at most (--recheck)")
    return parser


def _read_plan(args: argparse.Namespace) -> CrawlPlan:
    if args.plan == "-":
        text = read_line(STDIN)
        if args.die_with_parent:
            die_with_stdin(STDIN)
    else:
        text = Path(args.plan).read_bytes()
    try:
        return CrawlPlan.from_json(text)
    except ValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": str(exc)}
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"invalid crawl plan: {where}: {first['msg']}") from None


def _check_label(args: argparse.Namespace, plan: CrawlPlan) -> None:
    """With --plan, --source/--recheck only label the process for ps; they must agree with the plan."""
    planned = "--recheck" if isinstance(plan.work, RecheckTask) else f"--source {plan.work.source.id}"
    given = "--recheck" if args.recheck else f"--source {args.source}" if args.source else planned
    if given != planned:
        raise ConfigError(f"the command line says {given} but the crawl plan is for {planned}")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.plan and not (args.config and (args.source or args.recheck)):
        parser.error("give --plan, or --config DIR with --source ID or --recheck")
    if args.die_with_parent and args.plan != "-":
        parser.error("--die-with-parent needs --plan - (the plan and the lifeline share stdin)")
    try:
        if args.plan:
            plan = _read_plan(args)
            _check_label(args, plan)
        else:
            plan = plan_from_directory(args)
        stats = execute(plan)
    except ConfigError as exc:
        announce("done", ok=False, error=str(exc), stats={})
        return 2
    announce("done", ok=True, stats=stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
