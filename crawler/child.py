"""Entry point of one crawl: ``python -m crawler.child --config DIR --source ID --database-url URL``
(or ``--recheck`` instead of ``--source``: re-fetch matched items to catch edits and deletions).

Scrapy's reactor cannot be restarted in a process (ReactorNotRestartable, PITFALLS.md section 2), and memory
grows across crawls, so every crawl runs in a fresh child process; the service stays in the parent.
The last stdout line is ``TOCSIN {"event": "done", "stats": {...}}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings as ScrapySettings

from config.errors import ConfigError
from config.loader import TocsinConfig, load_config
from config.sources import SourceBase
from crawler import settings as default_settings
from crawler.pipelines import announce
from crawler.recheck import RecheckSpider
from crawler.spiders import SPIDERS
from storage.crawl_repo import due_rechecks, known_item_urls
from storage.db import Database
from storage.models import utcnow

HTTPX_HANDLER = "scrapy.core.downloader.handlers._httpx.HttpxDownloadHandler"
RECHECK_MIN_INTERVAL = timedelta(hours=1)


def scrapy_settings(config: TocsinConfig, source: SourceBase | None, database_url: str,
                    overrides: dict[str, Any] | None = None) -> ScrapySettings:
    """Scrapy settings for one crawl: project defaults, the user's crawl settings, the source's, overrides."""
    crawl = config.settings.crawl
    settings = ScrapySettings()
    settings.setmodule(default_settings, priority="project")
    timeout = (source.schedule.timeout if source else None) or config.settings.schedule.crawl_timeout
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


def run(config: TocsinConfig, source: SourceBase, database_url: str,
        overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    spider_cls = SPIDERS.get(source.kind)
    if spider_cls is None:
        raise ConfigError(f"no spider for source kind {source.kind!r}", keypath=("sources", source.id))
    database = Database(database_url)
    with database.read() as session:
        known = frozenset(known_item_urls(session, source.id))
    database.dispose()
    settings = scrapy_settings(config, source, database_url, overrides)
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider_cls)
    process.crawl(crawler, source=source, known_urls=known,
                  max_items=config.settings.crawl.max_items_per_run)
    process.start()
    return _stats(crawler.stats.get_stats() if crawler.stats else {})


def run_recheck(config: TocsinConfig, database_url: str, overrides: dict[str, Any] | None = None,
                limit: int = 200) -> dict[str, Any]:
    """Re-fetch the items due for an edit/deletion check (crawler.recheck)."""
    database = Database(database_url)
    with database.read() as session:
        targets = due_rechecks(session, now=utcnow(), recheck_for=config.settings.crawl.recheck_matched_for,
                               min_interval=RECHECK_MIN_INTERVAL, limit=limit)
    database.dispose()
    if not targets:
        return {"tocsin/recheck_targets": 0}
    settings = scrapy_settings(config, None, database_url, overrides)
    settings.set("TOCSIN_CONDITIONAL_GET", False, priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(RecheckSpider)
    process.crawl(crawler, targets=targets, sources={s.id: s for s in config.sources})
    process.start()
    stats = _stats(crawler.stats.get_stats() if crawler.stats else {})
    stats["tocsin/recheck_targets"] = len(targets)
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.child", description=__doc__)
    parser.add_argument("--config", required=True)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--source")
    target.add_argument("--recheck", action="store_true")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--settings-json", default="", help="extra Scrapy settings as a JSON object")
    parser.add_argument("--limit", type=int, default=200, help="items re-checked at most (--recheck)")
    args = parser.parse_args(argv)
    overrides = json.loads(args.settings_json) if args.settings_json else None
    try:
        config = load_config(args.config)
        if args.recheck:
            stats = run_recheck(config, args.database_url, overrides, args.limit)
        else:
            stats = run(config, config.source(args.source), args.database_url, overrides)
    except ConfigError as exc:
        announce("done", ok=False, error=str(exc), stats={})
        return 2
    announce("done", ok=True, stats=stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
